"""The constant schedule."""
from __future__ import annotations

import numpy as np

from .base import Schedule, register_schedule

__all__ = ["Constant"]


@register_schedule("constant")
class Constant(Schedule):
    r"""Constant step size: :math:`\eta_t = \eta_0`.

    Needs no horizon. The baseline every decaying schedule is compared with;
    with a constant step SGD's last iterate stalls at a noise floor of size
    proportional to :math:`\eta_0`.

    Examples
    --------
    >>> Constant()(7, 10)
    1.0
    """

    needs_horizon = False

    def _multiplier(self, t, horizon):
        return np.ones_like(t)
