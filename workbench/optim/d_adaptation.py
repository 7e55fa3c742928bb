"""D-Adaptation (dual-averaging SGD form)."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import register_method
from .base import Optimizer, check_beta

__all__ = ["DAdaptation"]


@register_method("d_adaptation", family="optim")
class DAdaptation(Optimizer):
    r"""D-Adaptation: dual averaging with a distance estimate D that only grows.

    With :math:`\lambda_t = d_t\,\mathrm{lr}\,s(t,T) / \|g_0\|`:

    .. math::
        s_{t+1} &= s_t + \lambda_t g_t,\qquad
        N_{t+1} = N_t + \lambda_t \langle g_t, s_t\rangle \\
        \hat d_{t+1} &= \frac{2 N_{t+1}}{\|s_{t+1}\|},\qquad
        d_{t+1} = \max(d_t, \hat d_{t+1}) \\
        z_{t+1} &= x_0 - s_{t+1},\qquad x_{t+1} = \beta x_t + (1 - \beta) z_{t+1}

    ``d_estimate`` reports :math:`d_t`. The update and defaults (``d0 = 1e-6``,
    momentum 0.9) follow ``pytorch_optimizer.DAdaptSGD``, which a test matches step
    by step, including its factor 2: :math:`\hat d` is twice the paper's lower bound
    :math:`N/\|s\|`, so :math:`d_t` is an estimate of :math:`D = \|x_0 - x_\star\|`,
    *not* a lower bound on it. With momentum the gradients are taken at the averaged
    :math:`x_t`, not at the dual-averaging points :math:`z_t`, and ``d_estimate`` can
    overshoot D several times: on ``quadratic(dim=1, distance=5)`` it ends at 14.9 with
    the default momentum 0.9 (4.3 with momentum 0).

    ``d_lower_bound`` is a bound that holds for convex :math:`f`, with or without momentum:
    the largest so far of :math:`M_t/\|s_t\|`, :math:`M_t = \sum_{i<t} \lambda_i \langle
    g_i, x_0 - x_i\rangle` (:math:`g_i` taken at :math:`x_i`; by convexity
    :math:`\langle s_t, x_0 - x_\star\rangle \ge M_t`, and Cauchy-Schwarz gives
    :math:`D \ge M_t/\|s_t\|`), 0 before it is positive. Without momentum
    :math:`x_i = x_0 - s_i`, so :math:`M_t = N_t` and it is the paper's :math:`N/\|s\|`.
    Where :math:`s` returns exactly to 0 (the steps so far cancel) there is nothing to
    estimate from: :math:`d` is kept and :math:`x` moves toward :math:`x_0`, as in the reference.

    References
    ----------
    A. Defazio, K. Mishchenko, *Learning-Rate-Free Learning by D-Adaptation*, ICML 2023.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Multiplier on the adapted step.")
    momentum = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False),
                            doc="Primal averaging beta.")
    d0 = param.Number(default=1e-6, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Initial D estimate (read at the start; a change acts on Reset).")
    growth_rate = param.Number(default=math.inf, bounds=(1.0, None), doc="Largest factor d may grow per step.")

    def init_buffers(self, problem, state):
        return {"x0": state.x.copy(), "s": np.zeros_like(state.x), "numerator": 0.0,
                "d": self._hp["d0"], "g0_norm": state.grad_norm, "gap": 0.0, "lower_bound": 0.0}

    def initial_lr(self, state):
        g0 = state.buffers["g0_norm"]
        return state.buffers["d"] * self.step_size(0) / g0 if g0 > 0 else 0.0

    def update(self, problem, state, lr):
        check_beta("momentum", self._hp["momentum"])
        buf = state.buffers
        g0 = buf["g0_norm"]
        if g0 == 0.0:  # started at a stationary point
            state.x = state.x.copy()
            return 0.0
        d = buf["d"]
        d_lr = d * lr / g0
        g, s = state.grad, buf["s"]
        buf["numerator"] += d_lr * float(g @ s)
        # M = sum lambda <g, x0 - x> at the points the gradients were taken (= N without momentum)
        buf["gap"] += d_lr * (float(g @ buf["x0"]) - float(g @ state.x))
        s += d_lr * g
        s_norm = math.sqrt(float(s @ s))
        if s_norm > 0.0:  # s back at exactly 0 (the steps cancelled): no estimate, d is kept
            if lr > 0.0:
                d_hat = 2.0 * buf["numerator"] / s_norm
                buf["d"] = max(d, min(d_hat, d * self._hp["growth_rate"]))
            buf["lower_bound"] = max(buf["lower_bound"], buf["gap"] / s_norm)
        z = buf["x0"] - s
        state.x = self._hp["momentum"] * state.x + (1.0 - self._hp["momentum"]) * z
        return d_lr

    def method_metrics(self, problem, state):
        buf = state.buffers
        return {"d_estimate": float(buf["d"]), "d_lower_bound": float(buf["lower_bound"])}
