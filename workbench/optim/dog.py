"""DoG: distance over gradients, a parameter-free step size."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import register_method
from .base import Optimizer

__all__ = ["DoG"]


@register_method("dog", family="optim")
class DoG(Optimizer):
    r"""DoG ("Distance over Gradients"): the step is the distance travelled over the gradients.

    .. math::
        \bar r_t = \max\left(r_\epsilon, \max_{i \le t} \|x_i - x_0\|\right),\qquad
        \eta_t = \mathrm{lr}\cdot s(t,T)\,\frac{\bar r_t}{\sqrt{\sum_{i \le t} \|g_i\|^2}},\qquad
        x_{t+1} = x_t - \eta_t g_t

    with :math:`r_\epsilon = \mathrm{r\_eps}\,(1 + \|x_0\|)` (the paper's
    :math:`10^{-6}` default). :math:`\bar r_t` estimates the distance
    :math:`D = \|x_0 - x_\star\|` from below and is reported as ``d_estimate``.
    The method keeps the last iterate (the paper's weighted average is not formed).

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.quadratic(dim=10, condition=10.0, distance=5.0)
    >>> res = wb.run(wb.optim.DoG(), prob, max_steps=500)
    >>> 5.0 / 3 < res.final["d_estimate"] < 5.0 * 3
    True

    References
    ----------
    M. Ivgi, O. Hinder, Y. Carmon, *DoG is SGD's Best Friend: A Parameter-Free
    Dynamic Step Size Schedule*, ICML 2023.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Multiplier on the DoG step.")
    r_eps = param.Number(default=1e-6, bounds=(0.0, None), inclusive_bounds=(False, True),
                         doc="Initial distance r_eps (1 + ||x0||) (relative); read at the start, a change acts on Reset.")

    def init_buffers(self, problem, state):
        r0 = self._hp["r_eps"] * (1.0 + float(np.linalg.norm(state.x)))
        return {"x0": state.x.copy(), "r": r0, "g_sq_sum": 0.0}

    def _eta(self, state, lr, g_sq_sum):
        return lr * state.buffers["r"] / math.sqrt(g_sq_sum) if g_sq_sum > 0 else 0.0

    def initial_lr(self, state):
        return self._eta(state, self.step_size(0), state.grad_norm ** 2)

    def update(self, problem, state, lr):
        buf = state.buffers
        d = state.x - buf["x0"]
        buf["r"] = max(buf["r"], float(np.sqrt(d @ d)))
        buf["g_sq_sum"] += state.grad_norm ** 2
        eta = self._eta(state, lr, buf["g_sq_sum"])
        state.x = state.x - eta * state.grad
        return eta

    def method_metrics(self, problem, state):
        return {"d_estimate": float(state.buffers["r"])}
