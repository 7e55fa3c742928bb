"""Browser test of the Krylov recycling page: three lanes race through the sequence, the sorted
lane spends the fewest matvecs."""
from __future__ import annotations

import pytest

from .helpers import lane, open_page, plotted_points, press, text_of, wait_until

pytestmark = pytest.mark.browser


def test_recycling_page_races_to_the_end_of_the_sequence(page, server_url):
    open_page(page, server_url, "krylov_recycling")
    assert "sorted by angle" in text_of(page, ".wb-notes")
    start = plotted_points(page)
    press(page, "Play")
    wait_until(lambda: plotted_points(page) > start + 30, message="the matvec curves to grow", timeout=60)
    # 120 systems of 1024 unknowns per lane: each lane finishes the sequence
    wait_until(lambda: all(lane(page, label)["status"] == "converged"
                           for label in ("CG on every system", "recycled", "sorted, then recycled")),
               message="every lane to finish the sequence", timeout=120)
    totals = {}
    for row in page.locator(".wb-lanes tr[data-lane]").all():
        cells = row.locator("td").all_inner_texts()
        totals[row.get_attribute("data-lane")] = float(cells[3].replace(",", ""))
    assert totals["sorted, then recycled"] < totals["recycled"] < totals["CG on every system"]
    assert all(lane(page, label)["iteration"] == 120 for label in totals)
    assert page.console_errors == []
