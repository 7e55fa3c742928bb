"""Lion: sign of an interpolated momentum."""
from __future__ import annotations

import numpy as np
import param

from ..core import register_method
from .base import Optimizer, check_beta
from .kernels.adaptive import kernel_param, kernels, use_numba

__all__ = ["Lion"]


@register_method("lion", family="optim")
class Lion(Optimizer):
    r"""Lion (EvoLved Sign Momentum).

    .. math::
        c_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        x_{t+1} &= x_t - \eta_t\left(\mathrm{sign}(c_t) + \lambda x_t\right) \\
        m_t &= \beta_2 m_{t-1} + (1 - \beta_2) g_t

    Every coordinate moves by exactly :math:`\eta_t` (plus decay), so the step is
    a box step; with decoupled weight decay :math:`\lambda` Lion solves the
    constrained problem :math:`\min f(x)` s.t. :math:`\|x\|_\infty \le 1/\lambda`
    (Chen, Liu, Liang 2023). Matches ``pytorch_optimizer.Lion`` (a test checks 1e-6).

    References
    ----------
    X. Chen et al., *Symbolic Discovery of Optimization Algorithms*, 2023.
    L. Chen, B. Liu, K. Liang, Q. Liu, *Lion Secretly Solves Constrained
    Optimization: As Lyapunov Predicts*, 2023.
    """

    lr = param.Number(default=1e-4, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta (per-coordinate move).")
    beta1 = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Interpolation weight.")
    beta2 = param.Number(default=0.99, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Momentum decay.")
    weight_decay = param.Number(default=0.0, bounds=(0.0, None), doc="Decoupled weight decay lambda.")
    kernel = kernel_param()

    def init_buffers(self, problem, state):
        return {"m": np.zeros_like(state.x)}

    def update(self, problem, state, lr):
        check_beta("beta1", self._hp["beta1"])
        m, g = state.buffers["m"], state.grad
        x = state.x
        if use_numba(self._hp["kernel"], x.size):
            state.x = kernels()["lion"](x, g, m, self._hp["beta1"], self._hp["beta2"], lr,
                                        1.0 - lr * self._hp["weight_decay"])
            return None
        if self._hp["weight_decay"]:
            x = x * (1.0 - lr * self._hp["weight_decay"])
        c = self._hp["beta1"] * m + (1.0 - self._hp["beta1"]) * g
        state.x = x - lr * np.sign(c)
        m *= self._hp["beta2"]
        m += (1.0 - self._hp["beta2"]) * g

    def method_metrics(self, problem, state):
        return {"linf_norm": float(np.max(np.abs(state.x)))}
