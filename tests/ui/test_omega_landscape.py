"""Browser test of the omega landscape: the sweep fills in while the live SOR run follows the slider."""
from __future__ import annotations

import re

import pytest

from .helpers import (assert_no_console_errors, click, open_page, pause_and_check_frozen, plotted_points,
                      read_iteration, screenshot, set_speed, set_widget, text_of, wait_for_iteration, wait_until)

pytestmark = pytest.mark.browser


def _measured(page) -> int:
    return int(re.search(r"(\d+) of \d+ omegas measured", text_of(page, ".wb-landscape-progress")).group(1))


def test_omega_landscape_live(page, server_url):
    open_page(page, server_url, "omega_landscape")
    assert read_iteration(page) == 0
    assert _measured(page) == 0
    assert "omega* = 1.7773" in text_of(page, ".wb-landscape-progress")  # Young, n = 24
    start_points = plotted_points(page)

    set_speed(page, "10")  # the live SOR run crawls; the landscape runs at full speed
    click(page, "Play")
    wait_for_iteration(page, above=5)
    wait_until(lambda: _measured(page) >= 3, timeout=30, message="landscape points to appear")
    wait_until(lambda: plotted_points(page) > start_points + 5, message="the residual curve to grow")

    # Move omega mid-run: the live run continues with it, and its marker moves on the landscape.
    before = read_iteration(page)
    set_widget(page, "wb-param-sor-omega", 1.7)
    wait_until(lambda: "omega=1.7" == text_of(page, ".wb-settings"), message="the server to use omega=1.7")
    wait_until(lambda: "your run: omega = 1.700" in text_of(page, ".wb-landscape-progress"),
               message="the landscape marker to move")
    events = text_of(page, ".wb-events")
    changed_at = int(re.search(r"omega 1 → 1\.7 at iteration (\d+)", events).group(1))
    assert changed_at >= before > 0
    wait_for_iteration(page, above=changed_at + 3)

    pause_and_check_frozen(page, _measured)
    screenshot(page, "omega_landscape")

    click(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0 and _measured(page) == 0, message="reset")
    assert_no_console_errors(page)
