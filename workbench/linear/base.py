"""Shared pieces of the linear solvers: the state, residual metrics, input checks."""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from ..core import InvalidProblem, Method

__all__ = ["LinearState", "LinearMethod"]


@dataclasses.dataclass
class LinearState:
    """Iterate and residual of a linear solver, plus method-specific arrays in ``extra``."""

    x: np.ndarray
    r: np.ndarray
    residual_norm: float
    matvecs: int = 0
    extra: dict = dataclasses.field(default_factory=dict)


class LinearMethod(Method):
    """Base of the solvers of ``A x = b``: stop on ``||b - A x|| <= rtol ||b||``.

    ``metrics`` reports ``residual`` (2-norm of ``b - A x``), ``relative_residual``
    and ``matvecs`` (matrix-vector products so far, the machine-independent cost).
    """

    problem_kind: ClassVar[str] = "linear"
    stop_metric: ClassVar[str] = "residual"
    needs_diagonal: ClassVar[bool] = False

    def init(self, problem) -> LinearState:
        self.check_problem(problem)
        if self.needs_diagonal and np.any(problem.diagonal == 0):
            i = int(np.flatnonzero(problem.diagonal == 0)[0])
            raise InvalidProblem(
                f"{self.registry_name} divides by the diagonal, and A[{i}, {i}] is zero; "
                "reorder the system or use a Krylov method."
            )
        x = problem.x0.copy()
        r = problem.b - problem.A @ x
        return LinearState(x=x, r=r, residual_norm=float(np.linalg.norm(r)), matvecs=1,
                           extra=self.init_extra(problem, x, r))

    def init_extra(self, problem, x, r) -> dict[str, Any]:
        return {}

    def metrics(self, problem, state: LinearState) -> dict[str, float]:
        res = state.residual_norm
        bn = problem.b_norm or 1.0
        return {"residual": res, "relative_residual": res / bn, "matvecs": float(state.matvecs)}

    def stop_scale(self, problem, metrics0) -> float:
        # Relative to ||b||, like scipy.sparse.linalg and PyAMG, so counts compare.
        return problem.b_norm or metrics0["residual"]
