"""Browser test of the second-order page: the lanes race on the cost axis, and the toggle
switches every curve to iterations."""
from __future__ import annotations

import pytest

from .helpers import click, lane, open_page, plotted_points, press, screenshot, set_speed, text_of, wait_until

pytestmark = pytest.mark.browser

LANES = ("GD", "Newton", "Newton (AICN)", "Lazy Newton", "FOSI", "M-FAC")

_X_FIELDS_JS = """() => {
  const fields = new Set();
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.glyph && m.data_source && m.data_source.data && 'cost' in m.data_source.data
          && m.glyph.x && m.glyph.x.field) fields.add(m.glyph.x.field);
  return [...fields];
}"""


def test_second_order_page_races_by_cost(page, server_url):
    open_page(page, server_url, "second_order")
    assert "a dense Hessian costs 20 gradients" in text_of(page, ".wb-notes")
    assert page.evaluate(_X_FIELDS_JS) == ["cost"]
    start = plotted_points(page)
    set_speed(page, "max")
    press(page, "Play")
    wait_until(lambda: plotted_points(page) > start + 30, message="the curves to grow", timeout=60)
    wait_until(lambda: all(lane(page, label)["status"] == "converged" for label in LANES),
               message="every lane to reach the tolerance", timeout=120)
    assert lane(page, "Newton")["iteration"] < lane(page, "Lazy Newton")["iteration"] < lane(page, "GD")["iteration"]
    click(page, "iteration")
    wait_until(lambda: page.evaluate(_X_FIELDS_JS) == ["iteration"], message="the curves to switch axis",
               timeout=30)
    screenshot(page, "second_order")
    assert page.console_errors == []
