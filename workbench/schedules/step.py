"""Step decay: multiply the step size by a factor at milestones."""
from __future__ import annotations

import numpy as np
import param

from ..core.errors import InvalidParameter
from .base import Schedule, register_schedule

__all__ = ["StepDecay"]


@register_schedule("step")
class StepDecay(Schedule):
    r"""Step decay: :math:`\eta_t = \eta_0\, \gamma^{k(t)}`.

    :math:`k(t)` counts the milestones already passed: either the fractions
    ``milestones`` of the horizon (:math:`t \ge m_i T`), or, when ``every`` is
    set, every ``every`` steps (:math:`k = \lfloor t / \text{every} \rfloor`,
    no horizon needed). Non-increasing. Like every schedule it holds its value
    at :math:`T` for :math:`t > T` when a horizon is given, ``every`` included
    (:math:`k = \lfloor \min(t, T) / \text{every} \rfloor`); without a horizon
    an ``every`` schedule keeps decaying. This is the classic ResNet schedule
    (He et al., 2016: divide by 10 at 50 % and 75 % of training).

    Examples
    --------
    >>> s = StepDecay(milestones=[0.5, 0.75], factor=0.1)
    >>> [round(s(t, 100), 3) for t in (0, 49, 50, 75, 100)]
    [1.0, 1.0, 0.1, 0.01, 0.01]
    """

    milestones = param.List(default=[0.5, 0.75], item_type=(int, float),
                            doc="Fractions of the horizon at which the step size is multiplied by factor.")
    factor = param.Number(default=0.1, bounds=(0.0, 1.0), inclusive_bounds=(False, True), step=0.01,
                          doc="Multiplier applied at each milestone (gamma).")
    every = param.Integer(default=None, allow_None=True, bounds=(1, None),
                          doc="If set, decay every this many steps instead of at the milestones.")

    def requires_horizon(self) -> bool:
        return self.every is None

    def __init__(self, **params):
        super().__init__(**params)
        self._fractions(self.milestones)  # refuse milestones of 50 here, not at the first step

    def _check_setting(self, name, value):
        if name == "milestones":
            self._fractions(value)

    def _fractions(self, milestones=None) -> np.ndarray:
        milestones = self.milestones if milestones is None else milestones
        m = np.sort(np.asarray(milestones, dtype=float))
        if m.size and (not np.all(np.isfinite(m)) or m[0] <= 0 or m[-1] >= 1):  # (NaN sorts last, compares False)
            raise InvalidParameter(
                f"step milestones are fractions of the horizon strictly between 0 and 1, got {list(milestones)}."
            )
        return m

    def _multiplier(self, t, horizon):
        if self.every is not None:
            k = np.floor((t if horizon is None else np.minimum(t, horizon)) / self.every)
        else:
            m = self._fractions()
            k = (np.minimum(t, horizon)[..., None] >= m * horizon).sum(axis=-1)
        return self.factor ** k
