"""Polyak's heavy-ball method."""
from __future__ import annotations

import param

from ..core import register_method
from .base import Optimizer, check_beta

__all__ = ["HeavyBall"]


@register_method("heavy_ball", family="optim")
class HeavyBall(Optimizer):
    r"""Heavy-ball momentum (Polyak 1964).

    .. math:: x_{t+1} = x_t - \eta_t \nabla f(x_t) + \beta (x_t - x_{t-1})

    With a constant step this is ``torch.optim.SGD(momentum=beta)``. On a
    quadratic with eigenvalues in :math:`[\mu, L]` the optimal parameters are
    :math:`\eta = 4/(\sqrt L + \sqrt\mu)^2`, :math:`\beta = ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2`.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.optim.HeavyBall(lr=1.0, momentum=0.5), wb.problems.quadratic(condition=10.0),
    ...              max_steps=200)
    >>> res.final["distance"] < 1e-8
    True

    References
    ----------
    B. T. Polyak, *Some methods of speeding up the convergence of iteration methods*, 1964.
    """

    lr = param.Number(default=0.1, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    momentum = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                            doc="Momentum beta.")

    def init_buffers(self, problem, state):
        return {"x_prev": state.x}

    def update(self, problem, state, lr):
        check_beta("momentum", self._hp["momentum"])
        x = state.x
        state.x = x - lr * state.grad + self._hp["momentum"] * (x - state.buffers["x_prev"])
        state.buffers["x_prev"] = x
