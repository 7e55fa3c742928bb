"""FISTA: accelerated proximal gradient for the LASSO."""
from __future__ import annotations

import math

from ..core import register_method
from .regression_base import L1Method, RegressionState

__all__ = ["FISTA"]


@register_method("fista", family="sparse_regression")
class FISTA(L1Method):
    r"""Fast iterative shrinkage-thresholding (Beck and Teboulle's accelerated ISTA).

    .. math::
        x_{k} = S_{\lambda/L}\big(z_k - \tfrac1L A^T(Az_k - y)\big),\quad
        t_{k+1} = \tfrac{1 + \sqrt{1 + 4t_k^2}}{2},\quad
        z_{k+1} = x_k + \tfrac{t_k - 1}{t_{k+1}}(x_k - x_{k-1})

    with :math:`t_1 = 1, z_1 = x_0`. The objective gap decays like
    :math:`2L\|x_0 - x^*\|^2/(k+1)^2`, a rate ISTA cannot match on worst-case
    instances (see ``ill_conditioned_regression``). The iterates are not monotone.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.sparse.FISTA(l1_weight=0.1), wb.problems.lasso_diabetes(), max_steps=5000)
    >>> res.status.label
    'converged'

    References
    ----------
    A. Beck, M. Teboulle, *A fast iterative shrinkage-thresholding algorithm for linear inverse
    problems*, SIAM J. Imaging Sciences 2009.
    """

    def init(self, problem) -> RegressionState:
        state = super().init(problem)
        state.extra = {"z": state.x.copy(), "t": 1.0}
        return state

    def step(self, problem, state: RegressionState) -> RegressionState:
        self.check_params()
        z, t = state.extra["z"], state.extra["t"]
        x = self.prox_gradient(problem, z)
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        z_next = x + ((t - 1.0) / t_next) * (x - state.x)
        return RegressionState(x=x, iteration=state.iteration + 1, work=state.work + 2,
                               extra={"z": z_next, "t": t_next, "momentum": (t - 1.0) / t_next})

    def metrics(self, problem, state):
        out = super().metrics(problem, state)
        out["momentum"] = float(state.extra.get("momentum", 0.0))
        return out
