"""Browser test of the bilevel page: three lanes tune ridge penalties; the bars of the penalties fill in."""
from __future__ import annotations

import pytest

from .helpers import column_points, lane, open_page, press, screenshot, set_speed, text_of, wait_until

pytestmark = pytest.mark.browser


def test_bilevel_page_races_and_draws_the_penalties(page, server_url):
    open_page(page, server_url, "bilevel")
    assert "best single ridge penalty" in text_of(page, ".wb-notes")
    assert "carry the signal" in text_of(page, ".wb-iterate-bars-note")
    set_speed(page, "max")
    press(page, "Play")
    for label in ("Penalty, single loop", "Implicit hypergradient"):
        wait_until(lambda: lane(page, label)["iteration"] >= 300, message=f"{label} to take 300 steps", timeout=90)
    # three lanes of 20 bars each, plus the 5 shaded features
    wait_until(lambda: column_points(page, "top") >= 65, message="the penalty bars to be drawn", timeout=30)
    screenshot(page, "bilevel")
    assert page.console_errors == []
