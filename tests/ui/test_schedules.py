"""Browser test of the schedules page: race GD under five schedules, change the learning rate
mid-run, refine a schedule from the recorded run, pause, reset, screenshot."""
from __future__ import annotations

import re

import pytest

from .helpers import (lane, open_page, pause_and_check_frozen, plotted_points, press, read_iteration,
                      screenshot, set_speed, set_widget, text_of, wait_for_iteration, wait_until)

pytestmark = pytest.mark.browser


def test_schedules_live(page, server_url):
    open_page(page, server_url, "schedules")
    assert read_iteration(page) == 0
    assert "horizon T = 400" in text_of(page, ".wb-notes")
    start_points = plotted_points(page)

    set_speed(page, "3")
    press(page, "Play")
    wait_for_iteration(page, above=5, timeout=45)
    wait_until(lambda: plotted_points(page) > start_points + 10, message="loss and lr curves to grow",
               timeout=45)

    # Double every lane's base learning rate mid-run: the runs continue with it.
    before = lane(page, "cosine")["iteration"]
    set_widget(page, "wb-race-lr", 0.02)
    wait_until(lambda: "lr=0.02" in lane(page, "cosine")["settings"], message="the server to use lr=0.02",
               timeout=45)
    events = wait_until(lambda: text_of(page, ".wb-events"), message="the change to be logged", timeout=45)
    changed_at = int(re.search(r"lr 0\.01 → 0\.02 at iteration (\d+)", events).group(1))
    assert changed_at >= before > 0
    wait_until(lambda: lane(page, "cosine")["iteration"] > changed_at + 5, message="the race to continue",
               timeout=45)

    pause_and_check_frozen(page, timeout=45, settle=0.5)
    # Record-then-refine (paused): the refined lane switches to the schedule refined from the linear-decay run.
    press(page, "Refine from the linear-decay run")
    wait_until(lambda: "Refined from" in text_of(page, ".wb-refine-status"), message="the refinement",
               timeout=45)
    wait_until(lambda: "refined: schedule" in text_of(page, ".wb-events"), message="the refined lane to switch",
               timeout=45)

    screenshot(page, "schedules")

    press(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0, message="the counter to return to 0", timeout=45)
    assert page.console_errors == []
