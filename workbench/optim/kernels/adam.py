r"""Fused Adam / AdamW update in one pass over the parameters (numba).

Numpy needs about a dozen passes over memory per Adam step (moments, square
root, division, ...); at 10 000 parameters each costs a few microseconds, so the
step overhead was well above the 20 us target. The kernel (compiled with the
others in :func:`workbench.optim.kernels.adaptive.kernels`) does everything in one
loop, bit-for-bit the same arithmetic order as :func:`adam_update_reference`
(the numpy path of :class:`workbench.optim.Adam`), up to floating-point
rounding of the fused operations.

.. math::
    m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
    x \leftarrow x - \frac{\eta}{1-\beta_1^t} \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}
"""
from __future__ import annotations

import math

import numpy as np

from .adaptive import kernels


def adam_update(x, g, m, v, *, lr, beta1, beta2, eps, weight_decay, decoupled, t):
    """One Adam (``decoupled=False``, L2 in the gradient) or AdamW step; returns the new ``x``.

    ``m`` and ``v`` are updated in place; ``t`` counts from 1.
    """
    k = kernels()["adam"]
    bc1 = 1.0 - beta1 ** t
    bc2 = 1.0 - beta2 ** t
    l2 = 0.0 if decoupled else weight_decay
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    return k(x, g, m, v, beta1, beta2, lr / bc1, 1.0 / math.sqrt(bc2), eps, l2, decay)


def adam_update_reference(x, g, m, v, *, lr, beta1, beta2, eps, weight_decay, decoupled, t):
    """The same step in plain numpy (readable reference)."""
    if weight_decay:
        if decoupled:
            x = x * (1.0 - lr * weight_decay)
        else:
            g = g + weight_decay * x
    m *= beta1
    m += (1.0 - beta1) * g
    v *= beta2
    v += (1.0 - beta2) * g * g
    denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + eps
    return x - (lr / (1.0 - beta1 ** t)) * m / denom
