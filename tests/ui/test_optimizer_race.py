"""Browser test of the optimizer race: play, paths grow on the map, change a step size mid-run,
pause, reset, screenshot."""
from __future__ import annotations

import re

import pytest

from .helpers import (column_points, lane, open_page, pause_and_check_frozen, plotted_points, press,
                      read_iteration, screenshot, set_speed, set_widget, text_of, wait_for_iteration,
                      wait_until)

pytestmark = pytest.mark.browser


def path_points(page) -> int:
    """Points of the trajectories on the contour map (and the minimiser's star)."""
    return column_points(page, "x0")


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

    pause_and_check_frozen(page, path_points, timeout=45, settle=0.5)
    screenshot(page, "optimizer_race")

    press(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0, message="the counter to return to 0", timeout=45)
    wait_until(lambda: path_points(page) == start_paths, message="the paths to restart at x0", timeout=45)
    assert page.console_errors == []
