"""Korpelevich's extragradient: a look-ahead step, then the step with the look-ahead's F."""
from __future__ import annotations

from ..core import register_method
from .base import OperatorMethod

__all__ = ["Extragradient"]


@register_method("extragradient", family="fixedpoint")
class Extragradient(OperatorMethod):
    r"""Extragradient (Korpelevich 1976).

    .. math::
        z_{k+1/2} = z_k - \eta F(z_k), \qquad z_{k+1} = z_k - \eta F(z_{k+1/2})

    Converges for monotone, L-Lipschitz F with :math:`\eta < 1/L`. On a bilinear mode with
    singular value :math:`\sigma` it contracts by exactly
    :math:`\sqrt{1 - \eta^2\sigma^2 + \eta^4\sigma^4}` per step, so the modes with small
    :math:`\sigma` converge slowly. Two operator evaluations per step.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.fixedpoint.Extragradient(lr=0.5), wb.problems.bilinear_game(n=1), max_steps=5)
    >>> round(float(res.trace["distance"][1] / res.trace["distance"][0]), 6)   # sqrt(1 - 0.25 + 0.0625)
    0.901388

    References
    ----------
    G. M. Korpelevich, *The extragradient method for finding saddle points and other
    problems*, Ekonomika i Matematicheskie Metody 12, 1976.
    """

    def step(self, problem, state):
        eta = self.step_size(problem)
        half = state.z - eta * state.Fz
        state.z = state.z - eta * problem.operator(half)
        state.Fz = problem.operator(state.z)
        state.operator_evals += 2
        state.t += 1
        return state
