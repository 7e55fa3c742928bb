"""Warmup-stable-decay (the "trapezoidal" schedule)."""
from __future__ import annotations

import numpy as np
import param

from ..core.errors import InvalidParameter
from .base import Schedule, register_schedule

__all__ = ["WarmupStableDecay"]


@register_schedule("wsd")
class WarmupStableDecay(Schedule):
    r"""Warmup-stable-decay: linear warm-up, a long constant phase, a short final decay.

    With :math:`D = \max(1, \text{round}(d T))` decay steps (:math:`D = 0` when
    :math:`d = 0`) and :math:`W = \min(\text{round}(w T), T - D)` warm-up steps
    (``warmup`` = w, ``decay`` = d):

    .. math::

        s(t, T) = \begin{cases}
            \frac{t + 1}{W + 1} & t < W \\
            1 & W \le t < T - D \\
            r + (1 - r)\,\phi\!\left(\frac{t - (T - D)}{D}\right) & t \ge T - D
        \end{cases}

    with :math:`\phi(u) = 1 - u` (``"linear"``), :math:`\frac12(1 + \cos \pi u)`
    (``"cosine"``) or :math:`1 - \sqrt u` (``"sqrt"``), and :math:`r` = ``min_ratio``.
    A decay of any positive fraction lasts at least one step, so the schedule
    reaches :math:`r` at :math:`T` however short the run. When rounding makes
    :math:`W + D` exceed :math:`T` (``w + d`` is at most 1, so by one step at
    most) the warm-up yields: the decay to :math:`r` at :math:`T` is the
    schedule's promise, and a phase overwriting the other would leave neither
    intact. Values past :math:`T` hold the value at :math:`T`.
    Popular for language models because the stable phase can be extended and
    decayed from any checkpoint (Hu et al., "MiniCPM", 2024; Hägele et al.,
    "Scaling laws and compute-optimal training beyond fixed training
    durations", 2024).

    Examples
    --------
    >>> s = WarmupStableDecay(warmup=0.0, decay=0.2)
    >>> [round(s(t, 100), 2) for t in (0, 50, 80, 90, 100)]
    [1.0, 1.0, 1.0, 0.5, 0.0]
    >>> WarmupStableDecay(warmup=0.5, decay=0.5).values(3).round(2).tolist()  # W = 1, D = 2
    [0.5, 1.0, 0.5, 0.0]
    """

    warmup = param.Number(default=0.05, bounds=(0.0, 1.0), step=0.01,
                          doc="Warm-up length as a fraction of the horizon.")
    decay = param.Number(default=0.2, bounds=(0.0, 1.0), step=0.01,
                         doc="Final decay length as a fraction of the horizon.")
    decay_shape = param.Selector(default="linear", objects=["linear", "cosine", "sqrt"],
                                 doc="Shape of the final decay.")
    min_ratio = param.Number(default=0.0, bounds=(0.0, 1.0), step=0.01,
                             doc="Final multiplier at t = T.")

    def __init__(self, **params):
        super().__init__(**params)
        _check_fractions(self.warmup, self.decay)

    def _check_setting(self, name, value):
        # Every assignment comes here (param.update too), so with the constructor's check no
        # stored pair adds up to more than 1 and the multiplier need not look again.
        if name in ("warmup", "decay"):
            _check_fractions(self._proposed("warmup"), self._proposed("decay"))

    def _multiplier(self, t, horizon):
        D = max(1, int(round(self.decay * horizon))) if self.decay > 0 else 0
        W = min(int(round(self.warmup * horizon)), horizon - D)  # the warm-up yields to the decay
        t = np.minimum(t, horizon)
        out = np.where(t < W, (t + 1.0) / (W + 1.0), 1.0)
        if D > 0:
            u = np.clip((t - (horizon - D)) / D, 0.0, 1.0)
            if self.decay_shape == "linear":
                phi = 1.0 - u
            elif self.decay_shape == "cosine":
                phi = 0.5 * (1.0 + np.cos(np.pi * u))
            else:
                phi = 1.0 - np.sqrt(u)
            out = np.where(t >= horizon - D, self.min_ratio + (1.0 - self.min_ratio) * phi, out)
        return out


def _check_fractions(warmup: float, decay: float) -> None:
    if warmup + decay > 1.0 + 1e-12:
        raise InvalidParameter(f"warm-up ({warmup}) and decay ({decay}) fractions add up to more than 1; "
                               "shorten one of them.")
