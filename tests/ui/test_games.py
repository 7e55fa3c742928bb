"""Browser test of the games page: five lanes race on a bilinear game; GDA diverges, the rest converge."""
from __future__ import annotations

import pytest

from .helpers import column_points, lane, open_page, press, screenshot, set_speed, text_of, wait_until

pytestmark = pytest.mark.browser


def test_games_page_spirals(page, server_url):
    open_page(page, server_url, "games")
    assert "sqrt(1 + eta^2)" in text_of(page, ".wb-notes")
    start = column_points(page, "x0")
    set_speed(page, "max")
    press(page, "Play")
    wait_until(lambda: lane(page, "GDA")["status"] == "diverged", message="GDA to diverge", timeout=90)
    wait_until(lambda: lane(page, "Extragradient")["status"] == "converged", message="extragradient to converge",
               timeout=90)
    wait_until(lambda: column_points(page, "x0") > start + 50, message="the paths to grow", timeout=30)
    screenshot(page, "games")
    assert page.console_errors == []
