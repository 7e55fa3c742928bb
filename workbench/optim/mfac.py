"""M-FAC: a matrix-free inverse of the damped empirical Fisher over a window of gradients."""
from __future__ import annotations

import numpy as np
import param
import scipy.linalg

from ..core import register_method
from .base import DAMPING_MAX, Optimizer, check_beta

__all__ = ["MFAC", "mfac_direction_reference"]


def mfac_direction_reference(gradients, damping: float, v) -> np.ndarray:
    r""":math:`F^{-1} v` with :math:`F = \lambda I + \frac1k \sum_i g_i g_i^T` built densely.

    ``gradients`` holds the :math:`k` stored gradients as rows. The readable O(d^3)
    reference of :class:`MFAC`'s Woodbury solve; the tests compare the two.
    """
    G = np.atleast_2d(np.asarray(gradients, dtype=float))
    F = damping * np.eye(G.shape[1]) + G.T @ G / G.shape[0]
    return np.linalg.solve(F, np.asarray(v, dtype=float))


@register_method("mfac", family="optim")
class MFAC(Optimizer):
    r"""M-FAC: precondition by the damped empirical Fisher of the last ``window`` gradients.

    With the :math:`k \le m` most recent gradients (``window`` :math:`m`; the one of
    this step included) as the rows of :math:`G \in \mathbb R^{k\times d}`:

    .. math::
        F_t = \lambda I + \tfrac1k G^T G,\qquad
        F_t^{-1} g = \tfrac1\lambda\left(g - G^T (k\lambda I + G G^T)^{-1} G g\right),

    .. math::
        v_t = \beta v_{t-1} + F_t^{-1} g_t,\qquad x_{t+1} = x_t - \eta_t (v_t + w\, x_t)

    (``damping`` :math:`\lambda`, ``momentum`` :math:`\beta`, ``weight_decay`` :math:`w`).
    The average is over the :math:`k` gradients stored, so while the window fills
    :math:`F` weighs each by :math:`1/k` (the paper's :math:`1/m` once it is full). The
    gradient of step :math:`t` enters the window before its direction is formed, so the
    first step is already preconditioned by :math:`g_1`. The inverse is never formed:
    the :math:`k\times k` Gram matrix :math:`G G^T` is updated by one row when a gradient
    enters the ring buffer (the oldest leaves), and the small system is solved by a
    Cholesky factorisation: :math:`O(k d + k^3)` per step.

    Directions outside the span of the window are scaled by :math:`1/\lambda`, so
    :math:`\eta/\lambda` is the gradient step there; the defaults make it 1. A window
    larger than the dimension is allowed (the Gram matrix is then singular, and
    :math:`k\lambda I` keeps the system positive definite). ``window`` is read at the
    start (a change acts on Reset); ``damping`` may be moved mid-run. Metric:
    ``window_fill`` (gradients stored).

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.quadratic(dim=20, condition=10.0)
    >>> res = wb.run(wb.optim.MFAC(), prob, max_steps=200)
    >>> res.final["window_fill"], bool(res.final["loss"] < 1e-4 * res.trace["loss"][0])
    (16.0, True)

    References
    ----------
    E. Frantar, E. Kurtić, D. Alistarh, *M-FAC: Efficient Matrix-Free Approximations of
    Second-Order Information*, NeurIPS 2021.
    """

    lr = param.Number(default=1e-3, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Step size eta (lr / damping is the gradient step outside the window's span).")
    window = param.Integer(default=16, bounds=(1, None),
                           doc="Gradients kept, m (read at the start; a change acts on Reset).")
    # 1e-3 (with lr = 1e-3): outside the window's span the step is the gradient times
    # lr / damping = 1, which is 1/L on a unit-scale problem; smaller damping trusts the
    # Fisher more along the stored gradients.
    damping = param.Number(default=1e-3, bounds=(0.0, DAMPING_MAX), inclusive_bounds=(False, True),
                           doc="Damping lambda added to the empirical Fisher; in (0, 1e12].")
    momentum = param.Number(default=0.0, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                            doc="Momentum on the preconditioned direction.")
    weight_decay = param.Number(default=0.0, bounds=(0.0, None), doc="Decoupled weight decay w; in [0, 1e3].")

    def init_buffers(self, problem, state):
        m, d = self._hp["window"], state.x.size
        return {"G": np.zeros((m, d)), "gram": np.zeros((m, m)), "count": 0,
                "direction": np.zeros(d), "velocity": np.zeros(d)}

    def update(self, problem, state, lr):
        check_beta("momentum", self._hp["momentum"])
        b = state.buffers
        G, gram, g = b["G"], b["gram"], state.grad
        m = G.shape[0]
        slot = b["count"] % m  # the oldest gradient leaves once the window is full
        b["count"] += 1
        k = min(b["count"], m)
        G[slot] = g
        row = G[:k] @ g  # O(k d): the new gradient against every stored one
        gram[slot, :k] = row
        gram[:k, slot] = row
        lam = self._hp["damping"]
        system = gram[:k, :k] + k * lam * np.eye(k)
        try:
            c = scipy.linalg.cho_solve(scipy.linalg.cho_factor(system), row)
        except np.linalg.LinAlgError:
            # Positive definite in exact arithmetic; with huge, nearly parallel gradients k lambda
            # drowns in the Gram matrix's rounding. The least-squares solution is the limit.
            c = scipy.linalg.lstsq(system, row)[0]
        direction = (g - G[:k].T @ c) / lam
        b["direction"] = direction
        vel = b["velocity"]
        vel *= self._hp["momentum"]
        vel += direction
        state.x = state.x - lr * (vel + self._hp["weight_decay"] * state.x)

    def method_metrics(self, problem, state):
        return {"window_fill": float(min(state.buffers["count"], state.buffers["G"].shape[0]))}
