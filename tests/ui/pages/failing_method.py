"""Test-only page (served with --extra-pages, not listed): an SOR run that raises at iteration k.

URL arguments: ``fail_at=k`` (0: never fails), ``autoplay=1``. With ``rtol=0`` the
run never converges, so it keeps updating until it fails or the session ends.
"""
from __future__ import annotations

TITLE = "Failing method (test page)"
DESCRIPTION = "An SOR run that raises RuntimeError at iteration fail_at."


def page():
    import panel as pn

    import workbench as wb
    from workbench.ui import LiveRun

    class ExplodingSOR(wb.linear.SOR):
        """SOR that raises at iteration ``fail_at`` (0: never), to test failure isolation."""

        def __init__(self, fail_at=0, **params):
            super().__init__(**params)
            self.fail_at = fail_at
            self.calls = 0

        def step(self, problem, state):
            self.calls += 1
            if self.fail_at and self.calls >= self.fail_at:
                raise RuntimeError(f"deliberate failure at iteration {self.calls}")
            return super().step(problem, state)

    args = pn.state.session_args or {}
    fail_at = int((args.get("fail_at") or [b"0"])[0])
    return LiveRun(ExplodingSOR(fail_at=fail_at, omega=1.5), wb.problems.poisson2d(16),
                   rtol=0.0, max_steps=10**9, divergence=None)
