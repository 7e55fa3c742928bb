"""Browser test of the global-search page: the swarm gathers at Rastrigin's minimum while GD stops short."""
from __future__ import annotations

import pytest

from .helpers import column_points, lane, open_page, press, screenshot, set_speed, text_of, wait_until

pytestmark = pytest.mark.browser

_CLOUD_JS = """() => {
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.data && 'px' in m.data && m.data.px.length) return Math.max(...m.data.px.map(Math.abs), ...m.data.py.map(Math.abs));
  return null;
}"""


def test_the_swarm_gathers_at_the_global_minimum(page, server_url):
    open_page(page, server_url, "global_search")
    assert "global minimum at the origin" in text_of(page, ".wb-notes")
    assert column_points(page, "px") == 100  # the particles, drawn before the first step
    set_speed(page, "max")
    press(page, "Play")
    wait_until(lambda: all(lane(page, label)["status"] == "converged" for label in ("CBO", "ES", "GD", "Heavy ball")),
               message="every lane to converge", timeout=120)
    wait_until(lambda: (page.evaluate(_CLOUD_JS) or 1.0) < 1e-2, message="the particles to gather at 0", timeout=30)
    screenshot(page, "global_search")
    assert page.console_errors == []
