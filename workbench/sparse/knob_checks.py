"""The base the sparse families share: knobs whose ranges their own checks state."""
from __future__ import annotations

from ..core import Method


class KnobCheckedMethod(Method):
    """A method whose knobs have soft bounds only and a :meth:`check_params` that states their
    ranges in sentences (``rho`` in (0, 1], ``reg`` > 0).

    The checks run at construction and at every assignment, so a knob moved mid-run to a bad
    value (``snsp.rho = 3``) is refused with its sentence and the run goes on, and a sweep
    axis with a bad value is refused before anything runs. Every rule is about one knob, so
    they run as :meth:`_check_alone`.
    """

    def __init__(self, **params):
        super().__init__(**params)
        self.check_params()

    def check_params(self) -> None:
        """Raise :class:`InvalidParameter` with a sentence when a knob is out of range. A
        subclass adds its knobs (calling ``super().check_params()``) and reads each with
        ``self._proposed(name)``: the value an assignment being checked proposes, else the
        current one."""

    def _check_alone(self, name, value):
        super()._check_alone(name, value)
        self.check_params()
