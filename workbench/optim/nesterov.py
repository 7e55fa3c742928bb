"""Nesterov's accelerated gradient."""
from __future__ import annotations

import numpy as np
import param

from ..core import register_method
from .base import Optimizer, check_beta

__all__ = ["Nesterov"]


@register_method("nesterov", family="optim")
class Nesterov(Optimizer):
    r"""Nesterov's accelerated gradient, in the form of ``torch.optim.SGD(nesterov=True)``.

    .. math::
        b_{t} = \beta_t b_{t-1} + \nabla f(x_t),\qquad
        x_{t+1} = x_t - \eta_t\left(\nabla f(x_t) + \beta_t b_t\right)

    This is the look-ahead form: the iterate :math:`x_t` is the point where the
    gradient is taken (Sutskever et al. 2013), so one evaluation per step
    suffices. With ``convex_momentum`` the momentum follows
    :math:`\beta_t = t/(t+3)`, the schedule of the :math:`O(1/t^2)` rate for
    smooth convex functions; otherwise it is the constant ``momentum``.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.optim.Nesterov(lr=1.0, momentum=0.5), wb.problems.quadratic(condition=10.0),
    ...              max_steps=200)
    >>> res.final["distance"] < 1e-8
    True

    References
    ----------
    Y. Nesterov, *A method of solving a convex programming problem with convergence
    rate O(1/k^2)*, 1983. I. Sutskever et al., *On the importance of initialization
    and momentum in deep learning*, ICML 2013.
    """

    lr = param.Number(default=0.1, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    momentum = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                            doc="Momentum beta (when convex_momentum is off).")
    convex_momentum = param.Boolean(default=False, doc="Use beta_t = t / (t + 3) instead of a constant.")

    def init_buffers(self, problem, state):
        return {"b": np.zeros_like(state.x), "beta": self._hp["momentum"]}

    def update(self, problem, state, lr):
        t = state.t
        beta = t / (t + 3.0) if self._hp["convex_momentum"] else self._hp["momentum"]
        check_beta("momentum", beta)
        b = state.buffers["b"]
        g = state.grad
        if t == 0:
            b[:] = g  # torch initialises the buffer with the first gradient
        else:
            b *= beta
            b += g
        state.buffers["beta"] = beta
        state.x = state.x - lr * (g + beta * b)

    def method_metrics(self, problem, state):
        return {"momentum": float(state.buffers["beta"])}
