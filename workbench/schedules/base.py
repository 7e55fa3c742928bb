"""The :class:`Schedule` base, the schedule registry and :func:`make_schedule`.

A schedule is a multiplier on an optimizer's base step size: at step ``t``
(counted from 0) of a run of ``horizon`` steps the optimizer uses
``lr * schedule(t, horizon)``. Schedules are ``param.Parameterized`` so that
their knobs get widgets for free, and they round-trip through a plain-dict spec
like methods and problems do.
"""
from __future__ import annotations

import difflib
from typing import Any, ClassVar

import numpy as np
import param

from ..core.errors import InvalidParameter, MalformedInput, UnknownName
from ..core.protocol import CheckedParams, jsonable

__all__ = ["Schedule", "register_schedule", "schedules", "get_schedule_class", "make_schedule"]

_SCHEDULES: dict[str, type["Schedule"]] = {}
_ALIASES = {
    "none": "constant",
    "linear_decay": "linear",
    "warmup_stable_decay": "wsd",
    "cos": "cosine",
}


def _key(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key)


def register_schedule(name: str):
    """Class decorator: register a :class:`Schedule` subclass under ``name``."""

    def deco(cls):
        cls.registry_name = _key(name)
        _SCHEDULES[cls.registry_name] = cls
        return cls

    return deco


def schedules() -> list[str]:
    """Names of the registered schedules, e.g. ``['constant', 'cosine', ...]``."""
    return sorted(_SCHEDULES)


def get_schedule_class(name: str) -> type["Schedule"]:
    """The schedule class registered as ``name`` (aliases such as ``"linear_decay"`` work)."""
    try:
        return _SCHEDULES[_key(name)]
    except KeyError:
        close = difflib.get_close_matches(_key(name), list(_SCHEDULES), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownName(
            f"there is no schedule called {name!r}.{hint} The schedules are "
            f"{', '.join(schedules())}."
        ) from None


def _check_horizon(horizon, label: str) -> int:
    if horizon is None:
        raise InvalidParameter(
            f"the {label} schedule needs the run length: set horizon=T (the number of steps) "
            "on the optimizer, or use a schedule that needs no horizon (constant, schedule-free)."
        )
    if isinstance(horizon, bool):  # (True == 1 to Python; as a run length it is a mistake)
        raise InvalidParameter(f"horizon must be a positive integer number of steps, got {horizon!r}.")
    try:
        value = int(horizon)
    except (TypeError, ValueError, OverflowError):  # (int(inf) overflows)
        raise InvalidParameter(f"horizon must be a positive integer number of steps, got {horizon!r}.") from None
    if value != horizon or value < 1:
        raise InvalidParameter(f"horizon must be a positive integer number of steps, got {horizon!r}.")
    return value


class Schedule(CheckedParams):
    r"""Base of every step-size schedule: a multiplier :math:`s(t, T)` on the base rate.

    At step :math:`t = 0, 1, \dots` of a run of :math:`T` steps an optimizer uses
    :math:`\eta_t = \eta_0\, s(t, T)`. Every built-in schedule has
    :math:`s(0, T) = 1` (except warm-up, which starts small), takes values in
    :math:`[0, 1]`, and holds its final value for :math:`t > T`.

    Subclasses implement :meth:`_multiplier` on a float array of steps.

    Examples
    --------
    >>> from workbench.schedules import make_schedule
    >>> s = make_schedule("linear")
    >>> s(0, 100), s(50, 100), s(100, 100)
    (1.0, 0.5, 0.0)
    >>> s.spec()
    {'kind': 'schedule', 'name': 'linear', 'params': {'min_ratio': 0.0}}
    """

    registry_name: ClassVar[str] = ""
    listed_by: ClassVar[str] = "workbench list schedules"
    #: Whether the schedule needs the run length ``horizon`` to be evaluated.
    needs_horizon: ClassVar[bool] = True

    def requires_horizon(self) -> bool:
        """True when :meth:`__call__` needs ``horizon`` (may depend on the params)."""
        return self.needs_horizon

    def validate(self, horizon=None) -> None:
        """Raise :class:`InvalidParameter` unless the schedule can run with ``horizon``.

        Optimizers call this once in ``init`` so that a missing horizon is
        reported before the run starts rather than in the middle of it.
        """
        if self.requires_horizon() or horizon is not None:
            _check_horizon(horizon, self.registry_name or type(self).__name__)

    def _multiplier(self, t: np.ndarray, horizon: int | None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, t, horizon=None) -> float:
        """The multiplier at step ``t`` (from 0) of a run of ``horizon`` steps."""
        if horizon is not None or self.requires_horizon():
            horizon = _check_horizon(horizon, self.registry_name or type(self).__name__)
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, float, np.integer, np.floating)) \
                or not np.isfinite(t) or t < 0:
            raise InvalidParameter(f"the step t must be a number >= 0, got {t!r}.")
        return float(self._multiplier(np.asarray(float(t)), horizon))

    def values(self, horizon: int, num: int | None = None) -> np.ndarray:
        """Multipliers at steps ``t = 0, 1, ..., horizon`` (``horizon + 1`` values), for plots.

        With ``num`` given, ``num`` evenly spaced (fractional) steps in ``[0, horizon]``.
        """
        horizon = _check_horizon(horizon, self.registry_name or type(self).__name__)
        if num is not None and (isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1):
            raise InvalidParameter(f"num is how many points to evaluate, a whole number >= 1; got {num!r}.")
        t = np.arange(horizon + 1, dtype=float) if num is None else np.linspace(0, horizon, int(num))
        return np.asarray(self._multiplier(t, horizon), dtype=float) * np.ones_like(t)

    def params_dict(self) -> dict:
        out = {}
        for key, value in self.param.values().items():
            if key == "name" or (self.param[key].precedence is not None and self.param[key].precedence < 0):
                continue
            out[key] = value.spec() if isinstance(value, Schedule) else jsonable(value)
        return out

    def spec(self) -> dict:
        """Plain-dict spec; :func:`make_schedule` rebuilds the schedule from it."""
        return {"kind": "schedule", "name": self.registry_name, "params": self.params_dict()}

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """A short label, e.g. ``cosine(min_ratio=0.1)`` (what logs and dashboards show)."""
        params = ", ".join(f"{k}={v}" for k, v in self.params_dict().items() if not isinstance(v, (list, dict)))
        return f"{self.registry_name}({params})"


def make_schedule(schedule: Any = None) -> Schedule:
    """Normalise what a user passes as ``schedule`` into a :class:`Schedule`.

    Parameters
    ----------
    schedule : None, str, dict or Schedule
        ``None`` is the constant schedule; a string is a registered name
        (``"cosine"``, ``"linear"``, ``"wsd"`` ...); a dict is a spec, either
        ``{"name": "cosine", "params": {"min_ratio": 0.1}}`` (what
        :meth:`Schedule.spec` returns) or flat ``{"name": "cosine", "min_ratio": 0.1}``;
        a :class:`Schedule` is returned as is.

    Examples
    --------
    >>> make_schedule(None).registry_name
    'constant'
    >>> make_schedule({"name": "warmup", "params": {"steps": 10, "inner": "cosine"}})(5, 100)
    0.5454545454545454
    """
    if schedule is None:
        return _SCHEDULES["constant"]()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        return get_schedule_class(schedule)()
    if isinstance(schedule, dict):
        spec = dict(schedule)
        kind = spec.pop("kind", "schedule")
        if kind != "schedule":
            raise MalformedInput(f"a schedule spec has kind 'schedule', got {kind!r}.")
        if "name" not in spec:
            raise MalformedInput(
                f"a schedule spec needs a 'name' key (one of {', '.join(schedules())}); it has {sorted(spec)}."
            )
        cls = get_schedule_class(spec.pop("name"))
        params = spec.pop("params", None)
        if params is None:
            params = spec
        elif not isinstance(params, dict):
            raise MalformedInput(f"a schedule spec's 'params' is a mapping of parameter names to values, "
                                 f"e.g. {{'min_ratio': 0.1}}; got {params!r}.")
        elif spec:
            raise MalformedInput(f"a schedule spec has 'name' and 'params' only; remove {sorted(spec)}.")
        unknown = set(params) - set(cls.param) - {"name"}
        if unknown:
            raise InvalidParameter(
                f"schedule {cls.registry_name!r} has no parameter {', '.join(sorted(unknown))}; its "
                f"parameters are {', '.join(p for p in cls.param if p != 'name') or 'none'}."
            )
        try:
            return cls(**params)
        except InvalidParameter:
            raise
        except (ValueError, TypeError) as exc:
            raise InvalidParameter(f"bad value for schedule {cls.registry_name!r}: {exc}") from None
    raise InvalidParameter(
        f"a schedule is None, a name, a spec dict or a Schedule, not {type(schedule).__name__}; "
        f"the names are {', '.join(schedules())}."
    )
