"""Fused numba updates of the adaptive methods (Adam/AdamW, Adan, Lion, diffGrad,
Prodigy, schedule-free AdamW).

Each kernel does in one loop what the method's numpy code (its readable
reference, selected with ``kernel="numpy"``; for Adam also
:func:`workbench.optim.kernels.adam.adam_update_reference`) does in many passes; tests run
both and require the same trajectories. ``error_model="numpy"`` drops the
per-division zero check that would stop LLVM from vectorising the loops.
"""
from __future__ import annotations

import math

import numpy as np
import param

_KERNELS = {}


def kernels():
    """Compile (once, cached on disk) and return the kernels by name."""
    if _KERNELS:
        return _KERNELS
    import numba

    jit = numba.njit(cache=True, error_model="numpy")

    @jit
    def adam(x, g, m, v, b1, b2, step, inv_sqrt_bc2, eps, l2, decay):
        # Branch-free body so LLVM vectorises it: l2 = 0 for AdamW, decay = 1 for Adam.
        out = np.empty(x.shape[0])
        for i in range(x.shape[0]):
            xi = x[i] * decay
            gi = g[i] + l2 * x[i]
            mi = b1 * m[i] + (1.0 - b1) * gi
            vi = b2 * v[i] + (1.0 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            out[i] = xi - step * (mi / (math.sqrt(vi) * inv_sqrt_bc2 + eps))
        return out

    @jit
    def adan(x, g, g_prev, m, d, n, b1, b2, b3, step1, step2, sqrt_bc3, eps, decay, shrink):
        out = np.empty(x.shape[0])
        for i in range(x.shape[0]):
            diff = g[i] - g_prev[i]
            mi = b1 * m[i] + (1.0 - b1) * g[i]
            di = b2 * d[i] + (1.0 - b2) * diff
            u = g[i] + b2 * diff
            ni = b3 * n[i] + (1.0 - b3) * u * u
            m[i] = mi
            d[i] = di
            n[i] = ni
            denom = math.sqrt(ni) / sqrt_bc3 + eps
            out[i] = (x[i] * decay - (step1 * mi + step2 * di) / denom) / shrink
        return out

    @jit
    def lion(x, g, m, b1, b2, lr, decay):
        out = np.empty(x.shape[0])
        for i in range(x.shape[0]):
            c = b1 * m[i] + (1.0 - b1) * g[i]
            s = 1.0 if c > 0.0 else (-1.0 if c < 0.0 else 0.0)
            out[i] = x[i] * decay - lr * s
            m[i] = b2 * m[i] + (1.0 - b2) * g[i]
        return out

    @jit
    def diffgrad(x, g, g_prev, m, v, b1, b2, step, eps):
        out = np.empty(x.shape[0])
        friction = 0.0
        for i in range(x.shape[0]):
            mi = b1 * m[i] + (1.0 - b1) * g[i]
            vi = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
            m[i] = mi
            v[i] = vi
            xi = 1.0 / (1.0 + math.exp(-abs(g_prev[i] - g[i])))
            friction += xi
            out[i] = x[i] - step * (xi * mi) / (math.sqrt(vi + 1e-15) + eps)
        return out, friction / x.shape[0]

    @jit
    def prodigy_moments(x, g, x0, m, v, s, b1, b2, b3, d, s_coef):
        dot = 0.0
        l1 = 0.0
        for i in range(x.shape[0]):
            gi = g[i]
            dot += gi * (x0[i] - x[i])
            m[i] = b1 * m[i] + d * (1.0 - b1) * gi
            v[i] = b2 * v[i] + d * d * (1.0 - b2) * gi * gi
            s[i] = b3 * s[i] + s_coef * gi
            l1 += abs(s[i])
        return dot, l1

    @jit
    def prodigy_step(x, m, v, d_lr, d_eps, decay):
        out = np.empty(x.shape[0])
        for i in range(x.shape[0]):
            out[i] = x[i] * decay - d_lr * m[i] / (math.sqrt(v[i]) + d_eps)
        return out

    @jit
    def sf_adamw(x, g, z, y, v, b1, b2, lr, wd_lr, bc2, eps, c):
        out = np.empty(x.shape[0])
        for i in range(x.shape[0]):
            zi = z[i] - wd_lr * y[i]
            vi = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
            v[i] = vi
            zi = zi - lr * g[i] / (math.sqrt(vi / bc2) + eps)
            xi = (1.0 - c) * x[i] + c * zi
            z[i] = zi
            y[i] = b1 * xi + (1.0 - b1) * zi
            out[i] = xi
        return out

    _KERNELS.update(adam=adam, adan=adan, lion=lion, diffgrad=diffgrad, prodigy_moments=prodigy_moments,
                    prodigy_step=prodigy_step, sf_adamw=sf_adamw)
    return _KERNELS


#: With ``kernel="auto"`` the numba kernel runs from this many parameters on.
NUMBA_FROM = 1000


def kernel_param(note: str = "") -> param.Selector:
    """The ``kernel`` hyperparameter of a method with a fused kernel (``note`` ends its doc)."""
    return param.Selector(default="auto", objects=["auto", "numba", "numpy"], doc=(
        "Update kernel: a fused numba loop or the numpy reference; 'auto' uses numba from "
        f"{NUMBA_FROM} parameters on{note}."))


def use_numba(kernel: str, n: int) -> bool:
    """The rule of the ``kernel`` param: numba when asked, or from NUMBA_FROM parameters with 'auto'."""
    return kernel == "numba" or (kernel == "auto" and n >= NUMBA_FROM)
