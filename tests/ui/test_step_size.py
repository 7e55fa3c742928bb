"""Browser test of the step-size page: play the large-step race, move gamma on its log-scale
slider mid-run, pause, reset, screenshot."""
from __future__ import annotations

import re

import pytest

from .helpers import (lane, open_page, pause_and_check_frozen, plotted_points, press, read_iteration, set_discrete,
                      screenshot, set_speed, text_of, wait_for_iteration, wait_until)

pytestmark = pytest.mark.browser

GAMMAS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 1e4]




def set_gamma(page, gamma: float) -> None:
    set_discrete(page, "wb-param-gd-lr", GAMMAS.index(gamma))


def test_step_size_live(page, server_url):
    open_page(page, server_url, "step_size")
    assert read_iteration(page) == 0
    assert "200 points in 10 dimensions" in text_of(page, ".wb-notes")
    start_points = plotted_points(page)

    set_speed(page, "3")
    press(page, "Play")
    wait_for_iteration(page, above=5, timeout=45)
    wait_until(lambda: plotted_points(page) > start_points + 10, message="loss and misclassified curves to grow",
               timeout=45)

    # Move gamma from 1 to 10 on the log-scale slider: GD continues with it.
    assert "lr=1" in lane(page, "GD")["settings"]
    before = lane(page, "GD")["iteration"]
    set_gamma(page, 10.0)
    wait_until(lambda: "lr=10" in lane(page, "GD")["settings"], message="the server to use gamma=10", timeout=45)
    events = wait_until(lambda: text_of(page, ".wb-events"), message="the change to be logged", timeout=45)
    changed_at = int(re.search(r"GD: lr 1 → 10 at iteration (\d+)", events).group(1))
    assert changed_at >= before > 0
    wait_until(lambda: lane(page, "GD")["iteration"] > changed_at + 3, message="GD to continue", timeout=45)

    pause_and_check_frozen(page, timeout=45, settle=0.5)
    screenshot(page, "step_size")

    press(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0, message="the counter to return to 0", timeout=45)
    assert lane(page, "GD")["iteration"] == 0
    assert page.console_errors == []
