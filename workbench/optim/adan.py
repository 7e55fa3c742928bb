"""Adan: adaptive Nesterov momentum."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import register_method
from .base import EPS_MAX, Optimizer, check_beta
from .kernels.adaptive import kernel_param, kernels, use_numba

__all__ = ["Adan"]


@register_method("adan", family="optim")
class Adan(Optimizer):
    r"""Adan: Adam-style scaling with a Nesterov momentum estimate from gradient differences.

    With :math:`\Delta_t = g_t - g_{t-1}` (:math:`\Delta_1 = 0`):

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad
        d_t = \beta_2 d_{t-1} + (1-\beta_2) \Delta_t \\
        n_t &= \beta_3 n_{t-1} + (1-\beta_3) (g_t + \beta_2 \Delta_t)^2 \\
        x_{t+1} &= \frac{1}{1 + \eta_t\lambda}\left[x_t - \eta_t\,
            \frac{\hat m_t + \beta_2 \hat d_t}{\sqrt{\hat n_t} + \epsilon}\right]

    where hats are bias corrections :math:`1/(1-\beta^t)`. The betas here are
    decay rates (the paper's are one minus these), as in ``pytorch_optimizer.Adan``,
    whose trajectory a test matches to 1e-6. With ``decoupled_decay`` the decay is
    applied multiplicatively before the step instead.

    References
    ----------
    X. Xie, P. Zhou, H. Li, Z. Lin, S. Yan, *Adan: Adaptive Nesterov Momentum
    Algorithm for Faster Optimizing Deep Models*, 2022.
    """

    lr = param.Number(default=1e-3, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    beta1 = param.Number(default=0.98, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Gradient decay.")
    beta2 = param.Number(default=0.92, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Gradient-difference decay.")
    beta3 = param.Number(default=0.99, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Second-moment decay.")
    eps = param.Number(default=1e-8, bounds=(0.0, EPS_MAX), inclusive_bounds=(False, True), doc="Added to the denominator; in (0, 1].")
    weight_decay = param.Number(default=0.0, bounds=(0.0, None), doc="Weight decay lambda; in [0, 1e3].")
    decoupled_decay = param.Boolean(default=False, doc="Multiply x by (1 - eta lambda) before the step.")
    kernel = kernel_param()

    def init_buffers(self, problem, state):
        n = state.x.size
        return {"m": np.zeros(n), "d": np.zeros(n), "n": np.zeros(n), "g_prev": None}

    def update(self, problem, state, lr):
        b1, b2, b3 = self._hp["beta1"], self._hp["beta2"], self._hp["beta3"]
        check_beta("beta1", b1)
        buf = state.buffers
        g = state.grad
        t = state.t + 1
        if use_numba(self._hp["kernel"], g.size):
            wd, dec = self._hp["weight_decay"], self._hp["decoupled_decay"]
            state.x = kernels()["adan"](
                state.x, g, g if buf["g_prev"] is None else buf["g_prev"], buf["m"], buf["d"], buf["n"],
                b1, b2, b3, lr / (1.0 - b1 ** t), lr * b2 / (1.0 - b2 ** t), math.sqrt(1.0 - b3 ** t),
                self._hp["eps"], 1.0 - lr * wd if dec else 1.0, 1.0 + lr * wd if wd and not dec else 1.0)
            buf["g_prev"] = g
            return None
        diff = np.zeros_like(g) if buf["g_prev"] is None else g - buf["g_prev"]
        m, d, n = buf["m"], buf["d"], buf["n"]
        m *= b1
        m += (1.0 - b1) * g
        d *= b2
        d += (1.0 - b2) * diff
        u = g + b2 * diff
        n *= b3
        n += (1.0 - b3) * u * u
        denom = np.sqrt(n)
        denom /= math.sqrt(1.0 - b3 ** t)
        denom += self._hp["eps"]
        x = state.x
        wd = self._hp["weight_decay"]
        if wd and self._hp["decoupled_decay"]:
            x = x * (1.0 - lr * wd)
        step = (lr / (1.0 - b1 ** t)) * m + (lr * b2 / (1.0 - b2 ** t)) * d
        x = x - step / denom
        if wd and not self._hp["decoupled_decay"]:
            x /= 1.0 + lr * wd
        state.x = x
        buf["g_prev"] = g
