"""Simultaneous gradient descent-ascent: the forward step z - eta F(z)."""
from __future__ import annotations

from ..core import register_method
from .base import OperatorMethod

__all__ = ["GDA"]


@register_method("gda", family="fixedpoint")
class GDA(OperatorMethod):
    r"""Gradient descent-ascent, :math:`z_{k+1} = z_k - \eta F(z_k)`.

    On a game, the descent step of one player and the ascent step of the other, taken
    together. For a skew (bilinear) F, :math:`\|z - \eta F z\|^2 = \|z\|^2 + \eta^2\|F z\|^2`: every
    step moves away from the saddle point, by a factor :math:`\sqrt{1 + \eta^2\sigma^2}` on a
    mode with singular value :math:`\sigma`, whatever the step size. It converges only with a
    strongly monotone part (regularisation).

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.fixedpoint.GDA(lr=0.5), wb.problems.bilinear_game(n=1), max_steps=5)
    >>> round(float(res.trace["distance"][1] / res.trace["distance"][0]), 6)   # sqrt(1 + 0.5^2)
    1.118034

    References
    ----------
    K. J. Arrow, L. Hurwicz, H. Uzawa, *Studies in linear and non-linear programming*, 1958.
    """

    def step(self, problem, state):
        state.z = state.z - self.step_size(problem) * state.Fz
        state.Fz = problem.operator(state.z)
        state.operator_evals += 1
        state.t += 1
        return state
