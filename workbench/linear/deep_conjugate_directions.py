r"""The Deep Conjugate Direction Method: CG-like steps along a network's guess of :math:`A^{-1} r`."""
from __future__ import annotations

import numpy as np
import param

from ..core import IncompatibleProblem, InvalidParameter, register_method
from .base import LinearMethod, LinearState

__all__ = ["DeepConjugateDirections"]


def _grid_shape(problem):
    """``(rows, columns)`` of a problem on a 2-D grid, else None (never raises: ``supports`` asks)."""
    grid = getattr(problem, "metadata", {}).get("grid")
    if isinstance(grid, (str, bytes)):
        return None
    try:
        sides = tuple(int(v) for v in grid)
        if any(float(v) != s for v, s in zip(grid, sides)):
            return None
    except (TypeError, ValueError):
        return None
    if len(sides) != 2 or min(sides) < 1 or sides[0] * sides[1] != getattr(problem, "n", -1):
        return None
    return sides


def _input_dtype(net):
    """The network's own precision (float32 for the shipped one; float32 for a module without weights)."""
    import torch

    weight = next(iter(getattr(net, "parameters", lambda: iter(()))()), None)
    return weight.dtype if weight is not None else torch.float32


#: The shortest cosine between a proposal (once A-orthogonalised) and r that is taken as it is;
#: the shipped network's are 0.15 or more, an untrained one's 1e-8.
MIN_COSINE = 1e-3


@register_method("deep_conjugate_directions", family="krylov")
class DeepConjugateDirections(LinearMethod):
    r"""Search directions from a CNN, A-orthogonalised against the last few (Kaneda et al., 2023).

    A network :math:`N_\theta`, trained without solved systems to make :math:`A N_\theta(r)`
    parallel to :math:`r` (:mod:`workbench.linear.direction_network`), proposes a direction
    from the residual; it is made A-orthogonal to the last ``memory`` directions and taken
    with an exact line search:

    .. math::
        d_k = N_\theta\!\left(\frac{r_k}{\|r_k\|}\right)
              - \sum_{j=k-s}^{k-1} \frac{d_j^T A N_\theta(r_k/\|r_k\|)}{d_j^T A d_j}\, d_j,\qquad
        \alpha_k = \frac{d_k^T r_k}{d_k^T A d_k},\qquad
        x_{k+1} = x_k + \alpha_k d_k,\quad r_{k+1} = r_k - \alpha_k A d_k.

    The line search makes the A-norm error fall at every step, whatever the network
    proposes; a proposal nearly orthogonal to :math:`r_k` (cosine below ``MIN_COSINE`` = 1e-3)
    is replaced by :math:`r_k`, A-orthogonalised the same way, which is CG's own direction,
    so even a useless network converges as CG does. With a good network the iteration count hardly grows with the grid,
    where CG's doubles with every doubling of the side: the shipped network, trained on
    32 x 32 Poisson residuals, needs 8 iterations at 32 x 32, 11 at 64 x 64 and 21 at 128 x 128
    where CG needs 102, 199 and 384 (rtol 1e-8; ``tests/linear/test_deep_conjugate_directions.py``).
    A step costs more than CG's, one network evaluation besides the matvec, so the count is
    the gain, not the wall time on these cheap stencils.

    Needs an SPD system on a 2-D grid (``metadata["grid"]`` of two sides). The shipped network
    was trained on isotropic Poisson: on strongly anisotropic systems (``anisotropic2d`` with
    epsilon 1e-3: 252 iterations, CG 146) and on tiny grids it loses to CG; ``network`` takes one of your own
    (:func:`~workbench.linear.direction_network.train_direction_network`), else the shipped
    weights load (torch is needed). Each step costs one matvec and one network evaluation.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.linear.DeepConjugateDirections(), wb.problems.poisson2d(32), rtol=1e-8)
    >>> res.converged, res.iterations < 20
    (True, True)

    References
    ----------
    A. Kaneda, O. Akar, J. Chen, V. A. T. Kala, D. Hyde, J. Teran. *A Deep Conjugate Direction
    Method for Iteratively Solving Linear Systems*. ICML 2023.
    """

    requires = frozenset({"symmetric"})
    converges_on = (frozenset({"spd", "stencil"}),)

    memory = param.Integer(default=2, bounds=(0, 50),
                           doc="Earlier directions each new one is made A-orthogonal to.")
    network = param.Parameter(default=None, precedence=-1,
                              doc="A trained direction network: a torch module or the path of a file "
                                  "save_direction_network wrote; None: the shipped weights. Read at the start "
                                  "(a change acts on Reset).")

    def check_value(self, name, value, *, with_others=True):
        """As for every param; a ``network`` must be None, a path, or a callable (a torch module)."""
        if name == "network" and value is not None:
            from pathlib import Path

            if isinstance(value, Path):
                value = str(value)
            if not (isinstance(value, str) or callable(value)):
                raise InvalidParameter(f"network is a torch module, or the path of a file save_direction_network "
                                       f"wrote, not a {type(value).__name__}.")
        return super().check_value(name, value, with_others=with_others)

    def spec(self) -> dict:
        """The spec; a network given as a path travels in it, a module cannot (its marker says so)."""
        spec = super().spec()
        if isinstance(self.network, str):
            spec["params"]["network"] = self.network
        elif self.network is not None:
            # (a replay must not quietly use the shipped weights instead: from_spec refuses this)
            spec["params"]["network"] = f"unsaved {type(self.network).__name__}"
        return spec

    @classmethod
    def supports(cls, problem) -> bool:
        """Only systems on a 2-D grid: the network is a 2-D CNN."""
        return super().supports(problem) and _grid_shape(problem) is not None

    def init_extra(self, problem, x, r):
        grid = _grid_shape(problem)
        if grid is None:
            raise IncompatibleProblem(
                f"deep_conjugate_directions applies a 2-D CNN to the residual, and {problem.name} has no 2-D grid "
                "(metadata['grid'] of two sides); use it on poisson2d or anisotropic2d, or use CG.")
        from .direction_network import load_direction_network

        net = self.network
        if net is None or isinstance(net, str):
            if isinstance(net, str) and net.startswith("unsaved "):
                raise InvalidParameter(f"this spec names an {net} network, which did not travel with it; save the "
                                       "network with save_direction_network(net, path) and pass network=path.")
            net = load_direction_network(net)
        dtype = _input_dtype(net)
        # One trial evaluation: a network of the wrong kind is a sentence now, not a failed step.
        trial = self._propose(net, np.ones(problem.n), grid, dtype)
        if trial.size != problem.n or not np.all(np.isfinite(trial)):
            raise InvalidParameter(f"the network maps a {grid[0]} x {grid[1]} residual to "
                                   f"{trial.size} {'finite ' if trial.size != problem.n else 'non-finite '}values; "
                                   f"it must return one finite value per unknown ({problem.n}).")
        return {"grid": grid, "net": net, "dtype": dtype, "directions": []}

    def _propose(self, net, r, grid, dtype):
        import torch

        image = torch.from_numpy((r / np.linalg.norm(r)).reshape(1, 1, *grid)).to(dtype)
        try:
            with torch.no_grad():
                out = net(image)
            out = out.detach().cpu().double().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, float)
        except Exception as exc:
            raise InvalidParameter(f"the direction network failed on a {grid[0]} x {grid[1]} residual image of shape "
                                   f"(1, 1, {grid[0]}, {grid[1]}) ({type(exc).__name__}: {exc}); it must map such "
                                   "an image to one of the same shape.") from None
        return out.ravel()

    @staticmethod
    def _a_orthogonal(d, kept):
        # Gram-Schmidt in the A inner product, one earlier direction at a time (modified GS:
        # each projection sees the already-corrected d, which keeps the set A-orthogonal
        # when the proposal is close to an earlier direction).
        for dj, Adj, dAd in kept:
            d = d - (float(d @ Adj) / dAd) * dj
        return d

    # (each direction is proposed from the current residual: after a replaced one it starts from
    # the true residual with nothing else to restart)
    recurred_residual = True

    def step(self, problem, state: LinearState) -> LinearState:
        if state.residual_norm == 0:
            return state
        extra = dict(state.extra)
        r = state.r
        kept = extra["directions"][-self.memory:] if self.memory else []
        d = self._a_orthogonal(self._propose(extra["net"], r, extra["grid"], extra["dtype"]), kept)
        dr = float(d @ r)
        if not np.isfinite(dr) or dr == 0 or abs(dr) < MIN_COSINE * np.linalg.norm(d) * state.residual_norm:
            # A proposal (nearly) orthogonal to r cannot lower the error. r, A-orthogonalised
            # like a proposal, can: with memory >= 1 that is CG's own direction, so a useless
            # network gives CG, not steepest descent.
            d = self._a_orthogonal(r.copy(), kept)
            dr = float(d @ r)
        Ad = problem.A @ d
        dAd = float(d @ Ad)
        if not dAd > 0:
            raise IncompatibleProblem(f"DeepConjugateDirections met d^T A d = {dAd:.3g} <= 0: A is not positive "
                                      "definite. It needs an SPD system; use scipy.sparse.linalg.minres.")
        alpha = dr / dAd
        x = state.x + alpha * d
        r = r - alpha * Ad
        extra["directions"] = [*kept, (d, Ad, dAd)][-max(self.memory, 1):]
        return LinearState(x, r, float(np.linalg.norm(r)), state.matvecs + 1, extra)
