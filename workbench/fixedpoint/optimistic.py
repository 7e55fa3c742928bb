"""Optimistic gradient descent-ascent (Popov's past extragradient): one operator call a step."""
from __future__ import annotations

import param

from ..core import register_method
from .base import OperatorMethod

__all__ = ["OptimisticGDA"]


@register_method("optimistic_gda", family="fixedpoint")
class OptimisticGDA(OperatorMethod):
    r"""Optimistic GDA, :math:`z_{k+1} = z_k - \eta\,(2F(z_k) - F(z_{k-1}))`.

    The single-call variant of extragradient (Popov 1980): the previous evaluation stands in
    for the look-ahead, so each step costs one operator call. Converges for monotone,
    L-Lipschitz F with :math:`\eta < 1/(2L)`; the first step is a GDA step.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.fixedpoint.OptimisticGDA(lr=0.4), wb.problems.bilinear_game(n=5, condition=2.0), max_steps=5000)
    >>> res.status.name, res.final["operator_evals"] == res.iterations + 1
    ('CONVERGED', True)

    References
    ----------
    L. D. Popov, *A modification of the Arrow-Hurwicz method for search of saddle points*,
    Math. Notes 28, 1980. C. Daskalakis, A. Ilyas, V. Syrgkanis, H. Zeng, *Training GANs with
    optimism*, ICLR 2018.
    """

    lr = param.Number(default=0.4, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Step size eta in units of 1/L (converges below 0.5).")

    def init_extra(self, problem, state):
        state.extra["F_prev"] = state.Fz

    def step(self, problem, state):
        eta = self.step_size(problem)
        state.z = state.z - eta * (2.0 * state.Fz - state.extra["F_prev"])
        state.extra["F_prev"] = state.Fz
        state.Fz = problem.operator(state.z)
        state.operator_evals += 1
        state.t += 1
        return state
