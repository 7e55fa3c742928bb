"""Adam and AdamW."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import register_method
from .base import EPS_MAX, Optimizer, check_beta
from .kernels import adam_update
from .kernels.adaptive import kernel_param, use_numba

__all__ = ["Adam", "AdamW"]


@register_method("adam", family="optim")
class Adam(Optimizer):
    r"""Adam: bias-corrected moment estimates, coordinate-wise scaling.

    .. math::
        g_t &= \nabla f(x_t) + \lambda x_t \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        x_{t+1} &= x_t - \frac{\eta_t}{1 - \beta_1^t}\,
                   \frac{m_t}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}

    With ``amsgrad`` the running maximum of :math:`v_t` replaces it. This is
    exactly the update of ``torch.optim.Adam`` (``weight_decay`` is the
    coupled L2 penalty :math:`\lambda`); a test checks the two trajectories
    agree to 1e-6 over 100 steps. From 1000 parameters on the update runs in a
    fused numba kernel (:mod:`workbench.optim.kernels.adam`), tested against
    the numpy path.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.optim.Adam(lr=0.05), wb.problems.rosenbrock(), max_steps=2000)
    >>> res.final["loss"] < 1e-3
    True

    References
    ----------
    D. P. Kingma, J. Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015.
    """

    lr = param.Number(default=1e-3, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    beta1 = param.Number(default=0.9, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="First-moment decay.")
    beta2 = param.Number(default=0.999, bounds=(0.0, 1.0), inclusive_bounds=(True, False), doc="Second-moment decay.")
    eps = param.Number(default=1e-8, bounds=(0.0, EPS_MAX), inclusive_bounds=(False, True), doc="Added to the denominator; in (0, 1].")
    weight_decay = param.Number(default=0.0, bounds=(0.0, None),
                                 doc="Coupled L2 penalty lambda (added to the gradient); in [0, 1e3].")
    amsgrad = param.Boolean(default=False, doc="Use the running maximum of v (AMSGrad).")
    kernel = kernel_param(" (AMSGrad always runs in numpy)")

    decoupled: bool = False

    def init_buffers(self, problem, state):
        n = state.x.size
        return {"m": np.zeros(n), "v": np.zeros(n), "vmax": None, "tmp": np.empty(n)}

    def update(self, problem, state, lr):
        check_beta("beta1", self._hp["beta1"])
        b1, b2, wd = self._hp["beta1"], self._hp["beta2"], self._hp["weight_decay"]
        buf = state.buffers
        if not self._hp["amsgrad"] and use_numba(self._hp["kernel"], state.x.size):
            state.x = adam_update(state.x, state.grad, buf["m"], buf["v"], lr=lr, beta1=b1, beta2=b2,
                                  eps=self._hp["eps"], weight_decay=wd, decoupled=self.decoupled, t=state.t + 1)
            return None
        m, v, tmp = buf["m"], buf["v"], buf["tmp"]
        x, g = state.x, state.grad
        if wd:
            if self.decoupled:
                x = x * (1.0 - lr * wd)
            else:
                g = g + wd * x
        t = state.t + 1
        # In-place moment updates keep the step allocation-free but for x itself.
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        vhat = v
        if self._hp["amsgrad"]:
            if buf["vmax"] is None:
                buf["vmax"] = v.copy()
            np.maximum(buf["vmax"], v, out=buf["vmax"])
            vhat = buf["vmax"]
        bc1 = 1.0 - b1 ** t
        bc2 = 1.0 - b2 ** t
        np.sqrt(vhat, out=tmp)
        tmp *= 1.0 / math.sqrt(bc2)
        tmp += self._hp["eps"]
        np.divide(m, tmp, out=tmp)
        tmp *= lr / bc1
        state.x = x - tmp


@register_method("adamw", family="optim")
class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay.

    .. math:: x_t \leftarrow (1 - \eta_t \lambda) x_t, \text{ then the Adam step (without L2 in } g)

    Matches ``torch.optim.AdamW``.

    References
    ----------
    I. Loshchilov, F. Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019.
    """

    weight_decay = param.Number(default=1e-2, bounds=(0.0, None), doc="Decoupled weight decay lambda; in [0, 1e3].")
    decoupled = True
