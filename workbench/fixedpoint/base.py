"""What the operator methods share: the state, the residual and the step-size knob."""
from __future__ import annotations

import dataclasses

import numpy as np
import param

from ..core.protocol import Method

__all__ = ["OperatorMethod", "OperatorState"]


@dataclasses.dataclass
class OperatorState:
    """The iterate ``z``, ``F(z)``, the anchor ``z0``, and the work done."""

    z: np.ndarray
    Fz: np.ndarray
    z0: np.ndarray
    t: int = 0
    operator_evals: int = 1
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def x(self) -> np.ndarray:
        """The iterate (what trajectory views and results read)."""
        return self.z


class OperatorMethod(Method):
    """Base of the methods for ``F(z) = 0`` with F monotone (kind ``operator``).

    Metrics: ``residual`` :math:`\\|F(z)\\|` (the stop metric), ``operator_evals``, ``step_size``
    and ``distance`` :math:`\\|z - z_\\star\\|` when the problem knows a solution.
    """

    problem_kind = "operator"
    stop_metric = "residual"
    default_rtol = 1e-8
    divergence_factor = 1e8

    lr = param.Number(default=0.5, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Step size eta (in units of 1/L: the problem's Lipschitz constant is divided out).")

    def step_size(self, problem) -> float:
        """``lr / L``: the knob is in units of ``1/L``, so one value means the same on every problem."""
        return self.lr / max(problem.lipschitz, 1e-300)

    def init(self, problem) -> OperatorState:
        self.check_problem(problem)
        z = problem.z0.copy()
        state = OperatorState(z=z, Fz=problem.operator(z), z0=problem.z0.copy())
        self.init_extra(problem, state)
        return state

    def init_extra(self, problem, state: OperatorState) -> None:
        """Set up the method's own buffers in ``state.extra``."""

    def metrics(self, problem, state: OperatorState) -> dict[str, float]:
        out = {"residual": float(np.linalg.norm(state.Fz)), "operator_evals": float(state.operator_evals),
               "step_size": self.step_size(problem)}
        if problem.z_star is not None:
            # to the set of zeros where the problem knows it (a singular M has a line of them)
            to_set = getattr(problem, "distance_to_solutions", None)
            out["distance"] = float(to_set(state.z)) if to_set else float(np.linalg.norm(state.z - problem.z_star))
        out.update(self.method_metrics(problem, state))
        return out

    def method_metrics(self, problem, state: OperatorState) -> dict[str, float]:
        return {}
