"""A problem that takes seconds to build shows the loading spinner over the plots meanwhile."""
from __future__ import annotations

import time

import pytest

from .helpers import assert_no_console_errors, open_page, set_widget, wait_until

_SPINNING_JS = """() => {
  const walk = (root) => { for (const n of root.querySelectorAll('*')) {
      if (n.classList && n.classList.contains('pn-loading')) return true;
      if (n.shadowRoot && walk(n.shadowRoot)) return true; } return false; };
  return walk(document);
}"""


@pytest.mark.browser
def test_the_plots_spin_while_a_slow_problem_builds(page, server_url):
    open_page(page, server_url, "slow_problem", query="delay=3")
    assert not page.evaluate(_SPINNING_JS)
    t0 = time.monotonic()
    set_widget(page, "wb-param-n", 24)
    # The build sleeps 3 s: the spinner must be on the page well before it ends ...
    wait_until(lambda: page.evaluate(_SPINNING_JS), timeout=2.0, interval=0.05,
               message="the loading spinner over the plots")
    assert time.monotonic() - t0 < 2.5
    # ... and gone once the new problem runs.
    wait_until(lambda: not page.evaluate(_SPINNING_JS), timeout=20.0, message="the spinner to go")
    assert time.monotonic() - t0 >= 3.0
    assert_no_console_errors(page)
