"""Shampoo: Kronecker-factored preconditioning per parameter block."""
from __future__ import annotations

import numpy as np
import param

from ..core import register_method
from .base import EPS_MAX, Optimizer, check_beta

__all__ = ["Shampoo", "inverse_root"]


def inverse_root(M: np.ndarray, p: float, eps: float = 0.0) -> np.ndarray:
    """:math:`M^{-1/p}` of a symmetric PSD matrix by an eigendecomposition.

    Eigenvalues below ``1e-12 * max`` are raised to that floor so the root stays finite.
    """
    w, V = np.linalg.eigh(M)
    w = np.maximum(w, max(w.max(), 0.0) * 1e-12 + eps + 1e-300)
    return (V * w ** (-1.0 / p)) @ V.T


@register_method("shampoo", family="optim")
class Shampoo(Optimizer):
    r"""Shampoo: one preconditioner per tensor dimension.

    For a matrix block :math:`G_t \in \mathbb R^{m\times n}` of the gradient:

    .. math::
        L_t = L_{t-1} + G_t G_t^T,\quad R_t = R_{t-1} + G_t^T G_t,\quad
        W_{t+1} = W_t - \eta_t L_t^{-1/4} G_t R_t^{-1/4}

    with :math:`L_0 = \epsilon I_m`, :math:`R_0 = \epsilon I_n`. A vector block
    uses full-matrix AdaGrad, :math:`L_t^{-1/2} g_t` (the order-1 case of the
    paper's :math:`-1/(2k)` exponent). A dimension larger than
    ``max_preconditioner_dim`` falls back to a diagonal preconditioner. The
    blocks come from the objective (``Objective.blocks``): the MLP's weight
    matrices and the matrix-sensing factors are matrices, a plain vector is one
    block. Inverse roots are recomputed every ``update_every`` steps by an
    eigendecomposition (:func:`inverse_root`). ``momentum`` > 0 applies heavy-ball
    momentum to the preconditioned direction.

    References
    ----------
    V. Gupta, T. Koren, Y. Singer, *Shampoo: Preconditioned Stochastic Tensor
    Optimization*, ICML 2018.
    """

    lr = param.Number(default=0.1, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    eps = param.Number(default=1e-4, bounds=(0.0, EPS_MAX), inclusive_bounds=(False, True),
                       doc="Initial diagonal of each preconditioner (epsilon I), in (0, 1]; read at the start, a change acts on Reset.")
    momentum = param.Number(default=0.0, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                            doc="Momentum on the preconditioned direction.")
    update_every = param.Integer(default=1, bounds=(1, None), doc="Recompute inverse roots every this many steps.")
    max_preconditioner_dim = param.Integer(default=1024, bounds=(1, None),
                                           doc="Largest dimension with a full preconditioner (read at the start; a change acts on Reset).")

    def init_buffers(self, problem, state):
        blocks = []
        for _, shape in problem.blocks:
            shape = tuple(int(s) for s in shape)
            if len(shape) > 2:  # fold higher-order tensors into matrices
                shape = (shape[0], int(np.prod(shape[1:])))
            dims = shape if len(shape) == 2 else (int(np.prod(shape)),)
            stats = [self._hp["eps"] * np.eye(d) if d <= self._hp["max_preconditioner_dim"] else np.full(d, self._hp["eps"])
                     for d in dims]
            blocks.append({"shape": dims, "stats": stats, "roots": [None] * len(dims)})
        return {"blocks": blocks, "velocity": np.zeros_like(state.x)}

    def update(self, problem, state, lr):
        check_beta("momentum", self._hp["momentum"])
        g = state.grad
        direction = np.empty_like(g)
        refresh = state.t % self._hp["update_every"] == 0
        i = 0
        for blk in state.buffers["blocks"]:
            shape = blk["shape"]
            size = int(np.prod(shape))
            G = g[i:i + size].reshape(shape)
            order = len(shape)
            p = 2 * order  # exponent -1/(2k) for an order-k tensor
            for axis, stat in enumerate(blk["stats"]):
                # Statistic along this axis: contract G with itself over the other axes.
                Gm = G if axis == 0 else G.T
                if stat.ndim == 2:
                    stat += np.outer(Gm, Gm) if order == 1 else Gm @ Gm.T
                else:
                    stat += Gm * Gm if order == 1 else np.sum(Gm * Gm, axis=1)
                if refresh or blk["roots"][axis] is None:
                    blk["roots"][axis] = inverse_root(stat, p) if stat.ndim == 2 else stat ** (-1.0 / p)
            P = G
            for axis, root in enumerate(blk["roots"]):
                if axis == 0:
                    P = root @ P if root.ndim == 2 else root[:, None] * P if order == 2 else root * P
                else:
                    P = P @ root if root.ndim == 2 else P * root[None, :]
            direction[i:i + size] = P.reshape(-1)
            i += size
        vel = state.buffers["velocity"]
        vel *= self._hp["momentum"]
        vel += direction
        state.x = state.x - lr * vel
