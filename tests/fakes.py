"""Stand-ins the tests share."""
from __future__ import annotations


def refuse_omega(monkeypatch, *values):
    """SOR refuses these omegas when a run starts: a failure no check of the spec sees up front
    (a bad value of an axis, such as omega = 2.5, is refused before anything runs)."""
    from workbench.core import InvalidParameter
    from workbench.linear.sor import SOR

    init = SOR.init

    def init_refusing(self, problem):
        if self.omega in values:
            raise InvalidParameter(f"omega = {self.omega} is refused when the run starts (a test).")
        return init(self, problem)

    monkeypatch.setattr(SOR, "init", init_refusing)

