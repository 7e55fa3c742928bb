"""Damped Jacobi iteration."""
from __future__ import annotations

import numpy as np
import param

from ..core import register_method
from .base import LinearMethod, LinearState


@register_method("jacobi", family="stationary")
class Jacobi(LinearMethod):
    r"""Damped (weighted) Jacobi iteration.

    .. math:: x_{k+1} = x_k + \omega D^{-1} (b - A x_k)

    with :math:`D = \mathrm{diag}(A)`. Converges for diagonally dominant
    matrices with :math:`0 < \omega \le 1`; on the 2-D Poisson matrix its
    spectral radius is :math:`\cos(\pi h)` (for :math:`\omega = 1`).

    ``matvecs`` counts 1 for the initial residual and 1 a step: the update reuses the residual
    of the previous step, and the new residual ``b - A x`` is the step's one product with A.

    Examples
    --------
    >>> import workbench as wb
    >>> wb.run(wb.linear.Jacobi(), wb.problems.poisson2d(8), rtol=1e-6).status.label
    'converged'

    References
    ----------
    Y. Saad, *Iterative Methods for Sparse Linear Systems*, 2nd ed., SIAM 2003, section 4.1.
    """

    omega = param.Number(default=1.0, bounds=(0.0, 2.0), inclusive_bounds=(False, False),
                         doc="Damping weight; 1 is plain Jacobi, 2/3 the classic smoother.")
    needs_diagonal = True
    converges_on = (frozenset({"diagonally_dominant"}),)

    def init_extra(self, problem, x, r):
        return {"inv_diag": 1.0 / problem.diagonal}

    def step(self, problem, state: LinearState) -> LinearState:
        x = state.x + self.omega * state.extra["inv_diag"] * state.r
        r = problem.b - problem.A @ x
        return LinearState(x, r, float(np.linalg.norm(r)), state.matvecs + 1, state.extra)
