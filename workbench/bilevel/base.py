r"""What the bilevel methods share: the state, the measurements and the step-size knobs."""
from __future__ import annotations

import dataclasses

import numpy as np
import param

from ..core.protocol import Method

__all__ = ["BilevelMethod", "BilevelState"]


@dataclasses.dataclass
class BilevelState:
    """The upper iterate ``x``, the lower iterate ``y``, and the oracle calls made so far."""

    x: np.ndarray
    y: np.ndarray
    t: int = 0
    upper_grads: int = 0
    lower_grads: int = 0
    hessians: int = 0
    extra: dict = dataclasses.field(default_factory=dict)


class BilevelMethod(Method):
    r"""Base of the methods for bilevel problems (kind ``bilevel``).

    Every method is measured the same way, by the problem's exact lower solution
    :math:`y^\star(x)`, whatever the method itself uses. Metrics:

    * ``hypergradient_norm`` :math:`\|\nabla F(x)\|` (the stop metric);
    * ``hyper_objective`` :math:`F(x) = f(x, y^\star(x))`;
    * ``lower_gap`` :math:`g(x, y) - g^\star(x) \ge 0`, how well the method's own ``y``
      solves the lower level;
    * ``upper_grads``, ``lower_grads``, ``hessians`` (oracle calls) and ``cost``, in
      gradient evaluations, a Hessian pair counting as ``lower_dim`` of them;
    * ``distance`` :math:`\|x - x^\star\|` when the problem knows its solution.
    """

    problem_kind = "bilevel"
    stop_metric = "hypergradient_norm"
    default_rtol = 1e-6
    divergence_factor = 1e8
    guard_metrics = ("hyper_objective",)

    lr = param.Number(default=0.5, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Step size of the upper variable x.")
    inner_lr = param.Number(default=1.0, bounds=(0.0, 2.0), inclusive_bounds=(False, False),
                            doc="Step size of the lower gradient steps, in units of 1/L_g (below 2 to be stable).")
    inner_steps = param.Integer(default=1, bounds=(1, 10000),
                                doc="Lower-level gradient steps per upper step (1: a single-loop method).")

    def init(self, problem) -> BilevelState:
        self.check_problem(problem)
        state = BilevelState(x=problem.x0.copy(), y=problem.y0.copy())
        self.init_extra(problem, state)
        return state

    def init_extra(self, problem, state: BilevelState) -> None:
        """Set up the method's own buffers in ``state.extra``."""

    def inner_step_size(self, problem, x) -> float:
        """``inner_lr / L_g(x)``: the knob is in units of ``1/L_g`` so one value suits every problem."""
        return self.inner_lr / max(problem.lower_smoothness(x), 1e-300)

    def metrics(self, problem, state: BilevelState) -> dict[str, float]:
        x = state.x
        out = {"hypergradient_norm": float(np.linalg.norm(problem.hypergradient(x))),
               "hyper_objective": problem.hyper_objective(x),
               "lower_gap": max(problem.lower(x, state.y)[0] - problem.lower_value(x), 0.0),
               "upper_grads": float(state.upper_grads), "lower_grads": float(state.lower_grads),
               "hessians": float(state.hessians),
               "cost": float(state.upper_grads + state.lower_grads + problem.lower_dim * state.hessians)}
        if problem.x_star is not None:
            out["distance"] = float(np.linalg.norm(x - problem.x_star))
        out.update(self.method_metrics(problem, state))
        return out

    def method_metrics(self, problem, state: BilevelState) -> dict[str, float]:
        return {}
