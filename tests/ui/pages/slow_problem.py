"""Test-only page (served with --extra-pages, not listed): a problem that takes 2 s to build.

An SOR run on poisson2d whose factory sleeps ``delay`` seconds (URL argument, default 2)
whenever ``n`` is not 16: the browser test moves ``n`` and watches the busy note
while the new problem builds.
"""
from __future__ import annotations

TITLE = "Slow problem (test page)"
DESCRIPTION = "poisson2d whose build sleeps for a moment at any n but 16."


def page():
    import time

    import panel as pn

    import workbench as wb
    from workbench.core import get_problem_factory
    from workbench.ui import LiveRun

    args = pn.state.session_args or {}
    delay = float((args.get("delay") or [b"2"])[0])

    class SlowPoisson(get_problem_factory("poisson2d")):
        def build(self):
            if self.n != 16:
                time.sleep(delay)
            return super().build()

    return LiveRun(wb.linear.SOR(omega=1.5), SlowPoisson(n=16), rtol=1e-8)
