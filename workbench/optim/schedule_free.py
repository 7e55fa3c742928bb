"""Schedule-free SGD and AdamW (Defazio et al., "The Road Less Scheduled")."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import register_method
from .base import EPS_MAX, Optimizer, check_beta
from .kernels.adaptive import kernel_param, kernels, use_numba

__all__ = ["ScheduleFreeSGD", "ScheduleFreeAdamW"]


class _ScheduleFree(Optimizer):
    """Shared averaging of schedule-free methods.

    ``state.x`` is the averaged sequence :math:`x_t` (whose loss is reported);
    the buffers hold the base sequence :math:`z_t` and the gradient point
    :math:`y_t`. Each step evaluates the gradient at :math:`y_t` and the loss at
    the new :math:`x_{t+1}`: two evaluations per step (``grad_evals`` counts them).
    """

    weight_lr_power = param.Number(default=2.0, bounds=(0.0, None),
                                   doc="Averaging weight w_t = lr_max^power (t+1)^r.")
    r = param.Number(default=0.0, bounds=(0.0, None), doc="Polynomial weighting power r.")
    weight_decay = param.Number(default=0.0, bounds=(0.0, None), doc="Weight decay, applied at y; in [0, 1e3].")

    def init_buffers(self, problem, state):
        return {"z": state.x.copy(), "y": state.x.copy(), "log_weight_sum": -math.inf, "lr_max": -1.0, "c": 1.0}

    def _gradient_at_y(self, problem, state):
        buf = state.buffers
        if state.t == 0:
            return state.grad  # y_0 = x_0
        state.grad_evals += 1
        return problem.grad(buf["y"])

    def _weight(self, state, lr):
        """c_{t+1} = w_{t+1} / sum of w, with w = lr_max^power (t+1)^r."""
        buf = state.buffers
        lr_max = buf["lr_max"] = max(lr, buf["lr_max"])
        power, r = self._hp["weight_lr_power"], self._hp["r"]
        # In logs: lr_max^power underflows to 0 (lr 1e-3, power 110: x froze at x0) and
        # (t+1)^r overflows (r = 1000) long before the ratio c, which is all that is used, does.
        if power == 0:
            log_weight = r * math.log(state.t + 1)
        elif lr_max <= 0:
            log_weight = -math.inf  # (a warm-up's lr = 0: no weight, as in the reference)
        else:
            log_weight = r * math.log(state.t + 1) + power * math.log(lr_max)
        buf["log_weight_sum"] = log_sum = float(np.logaddexp(buf["log_weight_sum"], log_weight))
        c = buf["c"] = math.exp(log_weight - log_sum) if log_sum > -math.inf else 0.0
        return c

    def _average(self, state, lr, z):
        c = self._weight(state, lr)
        return (1.0 - c) * state.x + c * z

    def method_metrics(self, problem, state):
        return {"averaging_weight": float(state.buffers["c"])}


@register_method("schedule_free_sgd", family="optim")
class ScheduleFreeSGD(_ScheduleFree):
    r"""Schedule-free SGD: primal averaging interpolated with the base iterate.

    .. math::
        y_t &= \beta x_t + (1 - \beta) z_t \\
        z_{t+1} &= z_t - \eta_t \nabla f(y_t) \\
        x_{t+1} &= (1 - c_{t+1}) x_t + c_{t+1} z_{t+1},\quad
        c_{t+1} = \frac{w_{t+1}}{\sum_{i \le t+1} w_i},\ w_t = \eta_{\max}^2

    No stopping time :math:`T` is needed; the defaults are those of the
    ``schedulefree`` package (lr 1.0, beta 0.9), whose ``SGDScheduleFreeReference``
    a test matches step by step.

    References
    ----------
    A. Defazio, X. Yang, H. Mehta, K. Mishchenko, A. Khaled, A. Cutkosky,
    *The Road Less Scheduled*, NeurIPS 2024.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta of the base sequence z.")
    momentum = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                            doc="Interpolation beta between x and z.")

    def update(self, problem, state, lr):
        check_beta("momentum", self._hp["momentum"])
        buf = state.buffers
        g = self._gradient_at_y(problem, state)
        if self._hp["weight_decay"]:
            g = g + self._hp["weight_decay"] * buf["y"]
        z = buf["z"] = buf["z"] - lr * g
        x = self._average(state, lr, z)
        buf["y"] = self._hp["momentum"] * x + (1.0 - self._hp["momentum"]) * z
        state.x = x


@register_method("schedule_free_adamw", family="optim")
class ScheduleFreeAdamW(_ScheduleFree):
    r"""Schedule-free AdamW: the schedule-free averaging around an Adam base step.

    .. math::
        y_t &= \beta_1 x_t + (1 - \beta_1) z_t,\quad g_t = \nabla f(y_t) \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        z_{t+1} &= z_t - \eta_t \lambda y_t - \eta_t \frac{g_t}{\sqrt{v_t/(1-\beta_2^{t+1})} + \epsilon} \\
        x_{t+1} &= (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}

    Defaults as in the ``schedulefree`` package (lr 0.0025, betas 0.9, 0.999);
    a test matches ``AdamWScheduleFreeReference`` step by step.

    References
    ----------
    A. Defazio et al., *The Road Less Scheduled*, NeurIPS 2024.
    """

    lr = param.Number(default=0.0025, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta of the base sequence z.")
    beta1 = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                         doc="Interpolation between x and z.")
    beta2 = param.Number(default=0.999, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                         doc="Second-moment decay.")
    eps = param.Number(default=1e-8, bounds=(0.0, EPS_MAX), inclusive_bounds=(False, True), doc="Added to the denominator; in (0, 1].")
    kernel = kernel_param()

    def init_buffers(self, problem, state):
        buf = super().init_buffers(problem, state)
        buf["v"] = np.zeros_like(state.x)
        return buf

    def update(self, problem, state, lr):
        check_beta("beta1", self._hp["beta1"])
        buf = state.buffers
        g = self._gradient_at_y(problem, state)
        b2 = self._hp["beta2"]
        if use_numba(self._hp["kernel"], g.size):
            c = self._weight(state, lr)
            state.x = kernels()["sf_adamw"](state.x, g, buf["z"], buf["y"], buf["v"], self._hp["beta1"], b2,
                                            lr, lr * self._hp["weight_decay"], 1.0 - b2 ** (state.t + 1),
                                            self._hp["eps"], c)
            return None
        z = buf["z"]
        if self._hp["weight_decay"]:
            z = z - lr * self._hp["weight_decay"] * buf["y"]
        v = buf["v"]
        v *= b2
        v += (1.0 - b2) * g * g
        denom = np.sqrt(v / (1.0 - b2 ** (state.t + 1))) + self._hp["eps"]
        z = buf["z"] = z - lr * g / denom
        x = self._average(state, lr, z)
        buf["y"] = self._hp["beta1"] * x + (1.0 - self._hp["beta1"]) * z
        state.x = x
