"""Linear warm-up followed by any other schedule."""
from __future__ import annotations

import numpy as np
import param

from ..core.errors import InvalidParameter
from .base import Schedule, make_schedule, register_schedule

__all__ = ["Warmup"]


@register_schedule("warmup")
class Warmup(Schedule):
    r"""Linear warm-up for :math:`W` steps, then an inner schedule over the remaining steps.

    .. math::

        s(t, T) = \begin{cases}
            \frac{t + 1}{W + 1}\, s_{\text{inner}}(0, T - W) & t < W \\
            s_{\text{inner}}(t - W, T - W) & t \ge W
        \end{cases}

    :math:`W` is ``steps`` when set, otherwise ``round(fraction * T)``. The ramp
    starts at :math:`1/(W+1)` (not 0) so the first step already moves. Warm-up
    keeps adaptive methods from taking huge early steps while their second
    moment estimates are still poor (Goyal et al., 2017, "Accurate, large
    minibatch SGD"; Liu et al., 2020, "On the variance of the adaptive learning
    rate and beyond").

    Examples
    --------
    >>> s = Warmup(steps=4, inner="linear")
    >>> [round(s(t, 14), 2) for t in (0, 1, 3, 4, 9, 14)]
    [0.2, 0.4, 0.8, 1.0, 0.5, 0.0]
    """

    steps = param.Integer(default=None, allow_None=True, bounds=(0, None),
                          doc="Warm-up length in steps; if unset, fraction * horizon.")
    fraction = param.Number(default=0.05, bounds=(0.0, 1.0), inclusive_bounds=(True, False), step=0.01,
                            doc="Warm-up length as a fraction of the horizon (used when steps is unset).")
    inner = param.ClassSelector(class_=Schedule, default=None, allow_None=True,
                                doc="The schedule that follows the warm-up (name, spec dict or Schedule).")

    def __init__(self, **params):
        params["inner"] = make_schedule(params.get("inner"))
        super().__init__(**params)

    def check_value(self, name, value, *, with_others=True):
        """As for every param, after turning a name or spec dict for ``inner`` into its schedule
        (what the constructor accepts, an assignment and ``param.update`` accept too)."""
        if name == "inner" and not isinstance(value, Schedule):
            value = make_schedule(value)
        return super().check_value(name, value, with_others=with_others)

    def _inner(self) -> Schedule:
        if self.inner is None:
            self.inner = make_schedule(None)
        return self.inner

    def requires_horizon(self) -> bool:
        return self.steps is None or self._inner().requires_horizon()

    def warmup_steps(self, horizon: int | None) -> int:
        """The warm-up length :math:`W` for a run of ``horizon`` steps."""
        if self.steps is not None:
            return int(self.steps)
        return int(round(self.fraction * horizon))

    def _multiplier(self, t, horizon):
        W = self.warmup_steps(horizon)
        inner_horizon = None if horizon is None else max(horizon - W, 1)
        if horizon is not None and W >= horizon and W > 0:
            raise InvalidParameter(
                f"the warm-up ({W} steps) takes the whole horizon ({horizon} steps); shorten it."
            )
        ramp = np.where(t < W, (t + 1.0) / (W + 1.0), 1.0)
        return ramp * self._inner()._multiplier(np.maximum(t - W, 0.0), inner_horizon)
