"""Linear decay to zero."""
from __future__ import annotations

import numpy as np
import param

from .base import Schedule, register_schedule

__all__ = ["LinearDecay"]


@register_schedule("linear")
class LinearDecay(Schedule):
    r"""Linear decay: :math:`\eta_t = \eta_0 (1 - t/T)` (floored at ``min_ratio``).

    .. math:: \eta_t = \eta_0 \left(r + (1 - r)\left(1 - \frac{\min(t, T)}{T}\right)\right)

    The worst-case optimal last-iterate schedule for convex Lipschitz problems
    (Defazio, Cutkosky, Mehta, Mishchenko, "When, Why and How Much? Adaptive
    Learning Rate Scheduling by Refinement", 2023): it matches or beats cosine
    annealing in their experiments, and it is what the refined schedule
    reduces to when the gradient norms are constant.

    Examples
    --------
    >>> s = LinearDecay()
    >>> s(0, 100), s(50, 100), s(100, 100)
    (1.0, 0.5, 0.0)
    """

    min_ratio = param.Number(default=0.0, bounds=(0.0, 1.0), step=0.01,
                             doc="Final multiplier at t = T, as a fraction of the base rate.")

    def _multiplier(self, t, horizon):
        return self.min_ratio + (1.0 - self.min_ratio) * (1.0 - np.minimum(t, horizon) / horizon)
