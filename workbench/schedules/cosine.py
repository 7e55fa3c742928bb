"""Cosine annealing."""
from __future__ import annotations

import numpy as np
import param

from .base import Schedule, register_schedule

__all__ = ["Cosine"]


@register_schedule("cosine")
class Cosine(Schedule):
    r"""Cosine annealing (Loshchilov & Hutter, "SGDR", ICLR 2017), without restarts.

    .. math:: \eta_t = \eta_0 \left(r + (1 - r)\,\tfrac12\left(1 + \cos\frac{\pi \min(t, T)}{T}\right)\right)

    with :math:`r` = ``min_ratio``. Non-increasing, 1 at :math:`t = 0`,
    :math:`(1 + r)/2` at :math:`T/2` and :math:`r` at :math:`T`.

    Examples
    --------
    >>> s = Cosine()
    >>> s(0, 100), round(s(50, 100), 12), s(100, 100)
    (1.0, 0.5, 0.0)
    """

    min_ratio = param.Number(default=0.0, bounds=(0.0, 1.0), step=0.01,
                             doc="Final multiplier at t = T, as a fraction of the base rate.")

    def _multiplier(self, t, horizon):
        s = np.minimum(t, horizon) / horizon
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + np.cos(np.pi * s))
