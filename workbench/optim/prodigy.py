"""Prodigy: an Adam whose step size is an adaptive estimate of D."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import register_method
from .base import Optimizer, check_beta
from .kernels.adaptive import kernel_param, kernels, use_numba

__all__ = ["Prodigy"]


@register_method("prodigy", family="optim")
class Prodigy(Optimizer):
    r"""Prodigy: Adam whose step size d_t * lr comes from an on-the-fly estimate d_t of D.

    With :math:`\eta_t = d_t\,\mathrm{lr}\,s(t,T)` and :math:`\beta_3 = \sqrt{\beta_2}` by default:

    .. math::
        r_{t} &= \beta_3 r_{t-1} + \frac{d_t}{d_0}\eta_t \langle g_t, x_0 - x_t\rangle,\qquad
        s_t = \beta_3 s_{t-1} + \frac{d_t}{d_0}\eta_t g_t \\
        m_t &= \beta_1 m_{t-1} + d_t (1-\beta_1) g_t,\qquad
        v_t = \beta_2 v_{t-1} + d_t^2 (1-\beta_2) g_t^2 \\
        d_{t+1} &= \max\left(d_t, \frac{r_t}{\|s_t\|_1}\right),\qquad
        x_{t+1} = x_t - \eta_t \frac{m_t}{\sqrt{v_t} + d_{t+1}\epsilon}

    (``d_coef`` multiplies the ratio; ``growth_rate`` caps the growth.) The
    update follows ``pytorch_optimizer.Prodigy`` (itself the authors' code),
    which a test matches step by step. ``d_estimate`` reports :math:`d_t`.

    References
    ----------
    K. Mishchenko, A. Defazio, *Prodigy: An Expeditiously Adaptive Parameter-Free
    Learner*, ICML 2024.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Multiplier on the adapted step d.")
    beta1 = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="First-moment decay.")
    beta2 = param.Number(default=0.999, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Second-moment decay.")
    beta3 = param.Number(default=None, allow_None=True, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                         doc="Decay of the D statistics (default sqrt(beta2)).")
    d0 = param.Number(default=1e-6, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Initial D estimate (acts on Reset).")
    d_coef = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                          doc="Multiplier on the D estimate.")
    growth_rate = param.Number(default=math.inf, bounds=(1.0, None), doc="Largest factor d may grow per step.")
    weight_decay = param.Number(default=0.0, bounds=(0.0, None), doc="Decoupled weight decay.")
    eps = param.Number(default=1e-8, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Added to the denominator (times d).")
    bias_correction = param.Boolean(default=False, doc="Adam-style bias correction of the step.")
    kernel = kernel_param()

    def init_buffers(self, problem, state):
        n = state.x.size
        return {"x0": state.x.copy(), "s": np.zeros(n), "m": np.zeros(n), "v": np.zeros(n),
                "numerator": 0.0, "d": self._hp["d0"], "d_max": self._hp["d0"],
                # d0 acts on Reset: the d/d0 weights and the first-step test read the run's own
                # (a d0 moved mid-run used to rescale every later weight by the change)
                "d0": self._hp["d0"]}

    def _d_lr(self, d, lr, t):
        if self._hp["bias_correction"]:
            lr = lr * math.sqrt(1.0 - self._hp["beta2"] ** (t + 1)) / (1.0 - self._hp["beta1"] ** (t + 1))
        return d * lr

    def initial_lr(self, state):
        return self._d_lr(state.buffers["d"], self.step_size(0), 0)

    def _grow_d(self, buf, d, d0, s_l1):
        """d_{t+1} = min(max d_hat so far, d_t * growth_rate) from d_hat = d_coef r_t / ||s_t||_1
        (the first step takes d_hat outright); stored in ``buf["d"]`` and returned."""
        d_hat = self._hp["d_coef"] * buf["numerator"] / s_l1
        if d == d0:
            d = max(d, d_hat)
        buf["d_max"] = max(buf["d_max"], d_hat)
        d = buf["d"] = min(buf["d_max"], d * self._hp["growth_rate"])
        return d

    def update(self, problem, state, lr):
        b1, b2 = self._hp["beta1"], self._hp["beta2"]
        check_beta("beta1", b1)
        b3 = math.sqrt(b2) if self._hp["beta3"] is None else self._hp["beta3"]
        buf = state.buffers
        d, d0 = buf["d"], buf["d0"]
        d_lr = self._d_lr(d, lr, state.t)
        g, x = state.grad, state.x
        if use_numba(self._hp["kernel"], x.size):
            return self._update_numba(state, buf, g, x, d, d0, d_lr, b1, b2, b3)
        buf["numerator"] = b3 * buf["numerator"] + (d / d0) * d_lr * float(g @ (buf["x0"] - x))
        m, v, s = buf["m"], buf["v"], buf["s"]
        m *= b1
        m += d * (1.0 - b1) * g
        v *= b2
        v += d * d * (1.0 - b2) * g * g
        s *= b3
        s += (d / d0) * d_lr * g
        s_l1 = float(np.abs(s).sum())
        if s_l1 == 0.0:  # zero gradient: nothing to learn from, no move (as the reference)
            state.x = x.copy()
            return d_lr
        d = self._grow_d(buf, d, d0, s_l1)
        if self._hp["weight_decay"]:
            x = x * (1.0 - d_lr * self._hp["weight_decay"])
        state.x = x - d_lr * m / (np.sqrt(v) + d * self._hp["eps"])
        return d_lr

    def _update_numba(self, state, buf, g, x, d, d0, d_lr, b1, b2, b3):
        k = kernels()
        dot, s_l1 = k["prodigy_moments"](x, g, buf["x0"], buf["m"], buf["v"], buf["s"], b1, b2, b3, d,
                                         (d / d0) * d_lr)
        buf["numerator"] = b3 * buf["numerator"] + (d / d0) * d_lr * dot
        if s_l1 == 0.0:
            state.x = x.copy()
            return d_lr
        d = self._grow_d(buf, d, d0, s_l1)
        state.x = k["prodigy_step"](x, buf["m"], buf["v"], d_lr, d * self._hp["eps"],
                                    1.0 - d_lr * self._hp["weight_decay"])
        return d_lr

    def method_metrics(self, problem, state):
        return {"d_estimate": float(state.buffers["d"])}
