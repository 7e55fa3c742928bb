"""Halpern's iteration on the resolvent: anchored fixed-point steps with weights 1/(k+2)."""
from __future__ import annotations

import numpy as np
import param

from ..core import register_method
from .base import OperatorMethod

__all__ = ["Halpern"]


@register_method("halpern", family="fixedpoint")
class Halpern(OperatorMethod):
    r"""Halpern's iteration :math:`z_{k+1} = \beta_k z_0 + (1 - \beta_k)\, T(z_k)`, :math:`\beta_k = 1/(k+2)`.

    :math:`T = (I + \eta F)^{-1}` is the resolvent of F (for the linear operators here, one
    LU factorisation at the start and a solve per step); it is firmly nonexpansive and its
    fixed points are the zeros of F. With these anchor weights the fixed-point residual obeys
    the tight bound (Lieder 2021)

    .. math:: \|z_k - T z_k\| \le \frac{2\,\|z_0 - z_\star\|}{k + 1},

    which the tests check at every step; the plain fixed-point iteration :math:`z \leftarrow T z`
    (the proximal point method) has no such last-iterate rate in general. The anchor has a
    price: where the problem allows a linear rate (a nonsingular linear F), Halpern still
    converges like 1/k, far slower than extragradient there. Metrics add
    ``fixed_point_residual`` :math:`\|z - Tz\|` and ``resolvent_evals``; ``lr`` is
    :math:`\eta` in units of 1/L.

    Examples
    --------
    >>> import workbench as wb
    >>> game = wb.problems.bilinear_game(n=10, condition=100.0)
    >>> res = wb.run(wb.fixedpoint.Halpern(), game, max_steps=200)
    >>> bool(res.final["fixed_point_residual"] <= 2 * 1.0 / 201)   # ||z0 - z*|| = 1
    True

    References
    ----------
    B. Halpern, *Fixed points of nonexpanding maps*, Bull. AMS 73, 1967.
    F. Lieder, *On the convergence rate of the Halpern-iteration*, Optim. Lett. 15, 2021.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc=(
        "Resolvent step eta in units of 1/L (a change refactorises I + eta M at the next step)."))

    def init_extra(self, problem, state):
        state.extra["resolvent_evals"] = 0
        self._factor(problem, state)

    def _factor(self, problem, state):
        eta = self.step_size(problem)
        state.extra["eta"], state.extra["T"] = eta, problem.resolvent(eta)
        state.extra["Tz"] = state.extra["T"](state.z)
        state.extra["resolvent_evals"] += 1

    def step(self, problem, state):
        if self.step_size(problem) != state.extra["eta"]:  # lr moved mid-run: T(z_k) with the new eta
            self._factor(problem, state)
        beta = 1.0 / (state.t + 2)
        state.z = beta * state.z0 + (1.0 - beta) * state.extra["Tz"]
        state.extra["Tz"] = state.extra["T"](state.z)
        state.extra["resolvent_evals"] += 1
        state.Fz = problem.operator(state.z)
        state.operator_evals += 1
        state.t += 1
        return state

    def method_metrics(self, problem, state):
        return {"step_size": float(state.extra["eta"]),
                "fixed_point_residual": float(np.linalg.norm(state.z - state.extra["Tz"])),
                "resolvent_evals": float(state.extra["resolvent_evals"])}
