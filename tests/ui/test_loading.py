"""A problem that takes seconds to build shows a busy note meanwhile, and a Step clicked during
the build steps the new problem. (The server handles that click after the build; a Step that
arrives before the build has started is queued behind it: see test_components.)"""
from __future__ import annotations

import time

import pytest

from .helpers import (assert_no_console_errors, click, open_page, read_iteration, screenshot, set_widget,
                      wait_until)

_BUSY_SHOWN_JS = """() => {
  const walk = (root) => { for (const n of root.querySelectorAll('*')) {
      if (n.classList && n.classList.contains('wb-busy')) return n;
      if (n.shadowRoot) { const f = walk(n.shadowRoot); if (f) return f; } } return null; };
  const el = walk(document);
  if (!el) throw new Error('no .wb-busy element');
  return el.checkVisibility();
}"""


@pytest.mark.browser
def test_a_slow_problem_build_shows_a_busy_note_and_a_step_waits_for_it(page, server_url):
    open_page(page, server_url, "slow_problem", query="delay=3")
    assert not page.evaluate(_BUSY_SHOWN_JS)
    t0 = time.monotonic()
    set_widget(page, "wb-param-n", 24)
    # The build sleeps 3 s: the note must be on the page well before it ends ...
    wait_until(lambda: page.evaluate(_BUSY_SHOWN_JS), timeout=2.0, interval=0.05,
               message="the busy note")
    assert time.monotonic() - t0 < 2.5
    screenshot(page, "busy_note")
    # ... a Step clicked meanwhile steps the new problem once it is built ...
    click(page, "Step")
    # ... and the note goes once the new problem runs.
    wait_until(lambda: not page.evaluate(_BUSY_SHOWN_JS), timeout=20.0, message="the note to go")
    assert time.monotonic() - t0 >= 3.0
    wait_until(lambda: read_iteration(page) == 1, timeout=20.0, message="the Step on the new problem")
    assert_no_console_errors(page)
