"""Extra-anchored gradient (EAG): extragradient pulled back to the start with weights 1/(k+2)."""
from __future__ import annotations

import math

import param

from ..core import register_method
from .base import OperatorMethod

__all__ = ["AnchoredExtragradient"]


@register_method("anchored_extragradient", family="fixedpoint")
class AnchoredExtragradient(OperatorMethod):
    r"""The extra-anchored gradient method, EAG-C (Yoon and Ryu 2021).

    .. math::
        z_{k+1/2} = z_k + \beta_k (z_0 - z_k) - \eta F(z_k), \qquad
        z_{k+1} = z_k + \beta_k (z_0 - z_k) - \eta F(z_{k+1/2}), \qquad \beta_k = \frac{1}{k+2}

    The anchor :math:`z_0` (Halpern's idea) is what makes the last iterate's residual fall
    like :math:`O(1/k)`, the optimal rate for monotone L-Lipschitz F, where plain
    extragradient's last iterate has only :math:`O(1/\sqrt k)` in the worst case; the price
    is that early steps are pulled back towards the start. The theory takes
    :math:`\eta \le 1/(8L)` (``lr = 0.125``, the default). Metrics add ``anchor_weight``, the
    :math:`\beta` the last step used (NaN before the first step).

    Examples
    --------
    >>> import workbench as wb
    >>> game = wb.problems.bilinear_game(n=10, condition=1000.0)
    >>> res = wb.run(wb.fixedpoint.AnchoredExtragradient(), game, max_steps=1000)
    >>> bool(res.final["residual"] * 1001 < 10 * game.lipschitz)   # (k + 1) ||F(z_k)|| stays bounded
    True

    References
    ----------
    T. Yoon, E. K. Ryu, *Accelerated algorithms for smooth convex-concave minimax problems with
    O(1/k^2) rate on squared gradient norm*, ICML 2021.
    """

    lr = param.Number(default=0.125, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Step size eta in units of 1/L (the theory's 1/8).")

    def step(self, problem, state):
        eta = self.step_size(problem)
        beta = 1.0 / (state.t + 2)
        pulled = state.z + beta * (state.z0 - state.z)
        half = pulled - eta * state.Fz
        state.z = pulled - eta * problem.operator(half)
        state.Fz = problem.operator(state.z)
        state.operator_evals += 2
        state.t += 1
        return state

    def method_metrics(self, problem, state):
        # The weight beta_{k-1} = 1/(k+1) the last step used: a schedule, not a measure of progress,
        # and no step has used one at row 0 (NaN there, so the Runner refuses it as a stop metric).
        return {"anchor_weight": math.nan if state.t == 0 else 1.0 / (state.t + 1)}
