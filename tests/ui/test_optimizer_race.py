"""Browser test of the optimizer race: play, paths grow on the map, change a step size mid-run,
pause, reset, screenshot."""
from __future__ import annotations

import re
import time

import pytest

from .helpers import (lane, open_page, plotted_points, read_iteration, screenshot, set_speed,
                      set_widget, text_of, wait_for_iteration, wait_until)

pytestmark = pytest.mark.browser


def press(page, label: str) -> None:
    """Click the button labelled ``label`` without waiting for the busy page to settle:
    a live page redraws continuously, and Playwright's actionability wait can time out."""
    page.get_by_role("button", name=label, exact=True).first.dispatch_event("click")

_PATH_POINTS_JS = """() => {
  let total = 0;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.type === 'ColumnDataSource' || (m.constructor && m.constructor.name === 'ColumnDataSource')) {
        const d = m.data;
        const x = d instanceof Map ? d.get('x0') : d['x0'];
        if (x !== undefined) total += x.length;
      }
  return total;
}"""


def path_points(page) -> int:
    """Points of the trajectories on the contour map (and the minimiser's star)."""
    return page.evaluate(_PATH_POINTS_JS)


def test_optimizer_race_live(page, server_url):
    open_page(page, server_url, "optimizer_race")
    assert read_iteration(page) == 0
    assert "True distance to the minimiser D" in text_of(page, ".wb-notes")
    start_points, start_paths = plotted_points(page), path_points(page)
    assert start_paths == 5 + 1  # x0 of each of the five methods, and the minimiser

    set_speed(page, "3")
    press(page, "Play")
    wait_for_iteration(page, above=5, timeout=45)
    wait_until(lambda: plotted_points(page) > start_points + 10, message="loss and D curves to grow", timeout=45)
    wait_until(lambda: path_points(page) > start_paths + 10, message="trajectories to grow", timeout=45)

    # Change GD's step size mid-run: the run continues with it, no reset.
    assert "lr=0.001" in lane(page, "GD")["settings"]
    before = lane(page, "GD")["iteration"]
    set_widget(page, "wb-param-gd-lr", 0.0015)
    wait_until(lambda: "lr=0.0015" in lane(page, "GD")["settings"], message="the server to use lr=0.0015", timeout=45)
    events = wait_until(lambda: text_of(page, ".wb-events"), message="the change to be logged", timeout=45)
    changed_at = int(re.search(r"GD: lr 0\.001 → 0\.0015 at iteration (\d+)", events).group(1))
    assert changed_at >= before > 0
    wait_until(lambda: lane(page, "GD")["iteration"] > changed_at + 5, message="GD to continue", timeout=60)

    press(page, "Pause")
    wait_until(lambda: page.locator(".wb-status .wb-status-label").first.get_attribute("data-state") == "paused",
               message="the pause to reach the page", timeout=45)
    time.sleep(0.5)
    k, pts, paths = read_iteration(page), plotted_points(page), path_points(page)
    time.sleep(1.0)
    assert (read_iteration(page), plotted_points(page), path_points(page)) == (k, pts, paths)
    screenshot(page, "optimizer_race")

    press(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0, message="the counter to return to 0", timeout=45)
    wait_until(lambda: path_points(page) == start_paths, message="the paths to restart at x0", timeout=45)
    assert page.console_errors == []
