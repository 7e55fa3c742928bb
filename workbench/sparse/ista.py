"""ISTA: proximal gradient descent for the LASSO."""
from __future__ import annotations

from ..core import register_method
from .regression_base import L1Method, RegressionState

__all__ = ["ISTA"]


@register_method("ista", family="sparse_regression")
class ISTA(L1Method):
    r"""Iterative shrinkage-thresholding (proximal gradient with step 1/L).

    .. math:: x_{k+1} = S_{\lambda/L}\big(x_k - \tfrac1L A^T(Ax_k - y)\big),\qquad L = \|A\|_2^2

    The objective gap decays like :math:`L\|x_0 - x^*\|^2 / (2k)`; on
    well-conditioned supports it becomes linear.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.sparse.ISTA(l1_weight=0.1), wb.problems.lasso_diabetes(), max_steps=5000)
    >>> res.status.label
    'converged'

    References
    ----------
    I. Daubechies, M. Defrise, C. De Mol, *An iterative thresholding algorithm for linear inverse
    problems with a sparsity constraint*, CPAM 2004.
    """

    def step(self, problem, state: RegressionState) -> RegressionState:
        self.check_params()
        x = self.prox_gradient(problem, state.x)
        return RegressionState(x=x, iteration=state.iteration + 1, work=state.work + 2)
