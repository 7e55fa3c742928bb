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
    r"""D-Adaptation: dual averaging with a lower bound on D that only grows.

    With :math:`\lambda_t = d_t\,\mathrm{lr}\,s(t,T) / \|g_0\|`:

    .. math::
        s_{t+1} &= s_t + \lambda_t g_t,\qquad
        N_{t+1} = N_t + \lambda_t \langle g_t, s_t\rangle \\
        \hat d_{t+1} &= \frac{2 N_{t+1}}{\|s_{t+1}\|},\qquad
        d_{t+1} = \max(d_t, \hat d_{t+1}) \\
        z_{t+1} &= x_0 - s_{t+1},\qquad x_{t+1} = \beta x_t + (1 - \beta) z_{t+1}

    :math:`\hat d` is a provable lower bound on :math:`\|x_0 - x_\star\|` for
    convex :math:`f`; ``d_estimate`` reports :math:`d_t`. The update and
    defaults (``d0 = 1e-6``, momentum 0.9) follow ``pytorch_optimizer.DAdaptSGD``,
    which a test matches step by step.

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
                "d": self._hp["d0"], "g0_norm": state.grad_norm}

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
        s += d_lr * g
        if lr > 0.0:
            d_hat = 2.0 * buf["numerator"] / math.sqrt(float(s @ s))
            buf["d"] = max(d, min(d_hat, d * self._hp["growth_rate"]))
        z = buf["x0"] - s
        state.x = self._hp["momentum"] * state.x + (1.0 - self._hp["momentum"]) * z
        return d_lr

    def method_metrics(self, problem, state):
        return {"d_estimate": float(state.buffers["d"])}
