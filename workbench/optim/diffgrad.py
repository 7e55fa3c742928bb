"""diffGrad: Adam damped by the change of the gradient."""
from __future__ import annotations

import math

import numpy as np
import param
from scipy.special import expit

from ..core import register_method
from .base import EPS_MAX, Optimizer, check_beta
from .kernels.adaptive import kernel_param, kernels, use_numba

__all__ = ["DiffGrad"]


@register_method("diffgrad", family="optim")
class DiffGrad(Optimizer):
    r"""diffGrad: the Adam step scaled by a friction coefficient.

    .. math::
        \xi_t &= \sigma(|g_{t-1} - g_t|) \in [\tfrac12, 1) \quad (g_0 = 0) \\
        x_{t+1} &= x_t - \eta_t \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}
                    \frac{\xi_t \, m_t}{\sqrt{v_t + 10^{-15}} + \epsilon}

    with Adam's moments :math:`m_t, v_t`. Where the gradient barely changes
    (near a flat minimum) the step halves. The placement of the bias
    corrections and of :math:`\epsilon` follows ``pytorch_optimizer.DiffGrad``
    (a test matches its trajectory).

    References
    ----------
    S. R. Dubey et al., *diffGrad: An Optimization Method for Convolutional Neural
    Networks*, IEEE TNNLS 2019.
    """

    lr = param.Number(default=1e-3, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    beta1 = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="First-moment decay.")
    beta2 = param.Number(default=0.999, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Second-moment decay.")
    eps = param.Number(default=1e-8, bounds=(0.0, EPS_MAX), inclusive_bounds=(False, True), doc="Added to the denominator; in (0, 1].")
    kernel = kernel_param()

    def init_buffers(self, problem, state):
        n = state.x.size
        return {"m": np.zeros(n), "v": np.zeros(n), "g_prev": np.zeros(n), "friction": 1.0}

    def update(self, problem, state, lr):
        b1, b2 = self._hp["beta1"], self._hp["beta2"]
        check_beta("beta1", b1)
        buf = state.buffers
        g = state.grad
        m, v = buf["m"], buf["v"]
        if use_numba(self._hp["kernel"], g.size):
            t = state.t + 1
            step = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
            state.x, friction = kernels()["diffgrad"](state.x, g, buf["g_prev"], m, v, b1, b2, step,
                                                      self._hp["eps"])
            buf["g_prev"] = g
            buf["friction"] = float(friction)
            return None
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * g * g
        t = state.t + 1
        xi = expit(np.abs(buf["g_prev"] - g))
        step = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        state.x = state.x - step * (xi * m) / (np.sqrt(v + 1e-15) + self._hp["eps"])
        buf["g_prev"] = g
        buf["friction"] = float(xi.mean())

    def method_metrics(self, problem, state):
        return {"friction": state.buffers["friction"]}
