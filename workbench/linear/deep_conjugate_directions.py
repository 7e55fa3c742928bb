r"""The Deep Conjugate Direction Method: CG-like steps along a network's guess of :math:`A^{-1} r`."""
from __future__ import annotations

import numpy as np
import param

from ..core import IncompatibleProblem, register_method
from .base import LinearMethod, LinearState

__all__ = ["DeepConjugateDirections"]


def _grid_shape(problem):
    grid = tuple(getattr(problem, "metadata", {}).get("grid") or ())
    return grid if len(grid) == 2 and int(np.prod(grid)) == getattr(problem, "n", -1) else None


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
    proposes; a proposal nearly orthogonal to :math:`r_k` (cosine below 1e-10) is replaced
    by :math:`r_k`. With a good network the iteration count hardly grows with the grid,
    where CG's doubles with every doubling of the side: the shipped network, trained on
    32 x 32 Poisson residuals, needs 8 iterations at 32 x 32, 11 at 64 x 64 and 21 at 128 x 128
    where CG needs 102, 199 and 384 (rtol 1e-8; ``tests/linear/test_deep_conjugate_directions.py``).
    A step costs more than CG's, one network evaluation besides the matvec, so the count is
    the gain, not the wall time on these cheap stencils.

    Needs an SPD system on a 2-D grid (``metadata["grid"]`` of two sides), the setting the
    network was trained for; ``network`` takes one of your own
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
                              doc="A trained direction network (torch module); None: the shipped weights.")

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

        net = self.network if self.network is not None else load_direction_network()
        return {"grid": grid, "net": net, "directions": []}

    def _propose(self, net, r, grid):
        torch = __import__("torch")
        with torch.no_grad():
            image = torch.from_numpy((r / np.linalg.norm(r)).reshape(1, 1, *grid).astype(np.float32))
            return net(image).double().numpy().ravel()

    def step(self, problem, state: LinearState) -> LinearState:
        if state.residual_norm == 0:
            return state
        extra = dict(state.extra)
        r = state.r
        d = self._propose(extra["net"], r, extra["grid"])
        kept = extra["directions"][-self.memory:] if self.memory else []
        # Gram-Schmidt in the A inner product, one earlier direction at a time (modified GS:
        # each projection sees the already-corrected d, which keeps the set A-orthogonal
        # when the network's proposal is close to an earlier direction).
        for dj, Adj, dAd in kept:
            d = d - (float(d @ Adj) / dAd) * dj
        dr = float(d @ r)
        if not np.isfinite(dr) or abs(dr) <= 1e-10 * np.linalg.norm(d) * state.residual_norm:
            d = r.copy()  # (a proposal orthogonal to r cannot reduce the error; steepest descent can)
            dr = float(r @ r)
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
