"""Browser test of the sparsity page: play, move rho mid-run, pause, reset, then the other tabs."""
from __future__ import annotations

import re

import pytest

from .helpers import (click, lane, open_page, pause_and_check_frozen, plotted_points, read_iteration,
                      screenshot, set_speed, set_widget, text_of, wait_for_iteration, wait_until)

pytestmark = pytest.mark.browser

SNS = "Sinkhorn-Newton-Sparse"


def test_sparsity_page_live(page, server_url):
    open_page(page, server_url, "sparsity")
    assert read_iteration(page) == 0
    start_points = plotted_points(page)

    # A short warm-up so the Newton phase starts early, and a small rho so that SNS
    # (about 300 iterations at rho = 0.005) is still running when rho moves.
    set_widget(page, "wb-param-sinkhorn-newton-sparse-warmup", 5)
    set_widget(page, "wb-param-sinkhorn-newton-sparse-rho", 0.005)
    wait_until(lambda: "rho=0.005, warmup=5" in lane(page, SNS)["settings"],
               message="warmup=5 and rho=0.005 on the server")
    set_speed(page, "10")
    click(page, "Play")
    wait_for_iteration(page, above=2)
    wait_until(lambda: plotted_points(page) > start_points + 4, message="plotted data to grow")
    wait_until(lambda: "Newton" in text_of(page, ".wb-plan-info") and "0.50% of the plan"
               in text_of(page, ".wb-plan-info"), timeout=30, message="the Newton phase with rho = 0.005")

    # Move rho mid-run: the next Newton steps keep 10 % of the entries, without a reset.
    before = lane(page, SNS)["iteration"]
    assert lane(page, SNS)["status"] == "running"
    set_widget(page, "wb-param-sinkhorn-newton-sparse-rho", 0.1)
    wait_until(lambda: "rho=0.1" in lane(page, SNS)["settings"], message="the server to use rho=0.1")
    events = wait_until(lambda: text_of(page, ".wb-events"), message="the change to be logged")
    changed_at = int(re.search(r"rho 0\.005 → 0\.1 at iteration (\d+)", events).group(1))
    assert changed_at >= before > 0
    wait_until(lambda: "10.00% of the plan" in text_of(page, ".wb-plan-info"),
               message="a Newton step with rho = 0.1")
    assert lane(page, SNS)["iteration"] > changed_at  # continued, not restarted

    # Pause: nothing grows any more.
    pause_and_check_frozen(page, settle=0.5)

    # Reset: back to iteration 0 with the current knobs.
    click(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0, message="the counter to return to 0")
    assert lane(page, SNS)["iteration"] == 0 and "rho=0.1" in lane(page, SNS)["settings"]

    set_speed(page, "max")
    click(page, "Play")
    wait_until(lambda: lane(page, SNS)["status"] == "converged", timeout=30, message="SNS to converge")
    screenshot(page, "sparsity")
    click(page, "Pause")
    assert page.console_errors == []

    # The other two tabs, in the same session (one page load is several seconds).
    page.locator(".bk-tab", has_text="Sparse regression").first.click()
    click(page, "Play")  # the first visible Play: the LASSO race
    wait_until(lambda: lane(page, "FISTA")["status"] == "converged", timeout=30, message="FISTA to converge")
    assert lane(page, "CD (Gauss-Southwell-q)")["status"] == "converged"
    screenshot(page, "sparsity_regression")

    page.locator(".bk-tab", has_text="Sparse systems").first.click()
    info = wait_until(lambda: text_of(page, ".wb-pattern-info"), message="the pattern summary")
    assert re.search(r"nnz = \d+", info) and "fill-in" in info
    click(page, "Play")
    label = page.locator(".wb-status .wb-status-label").last  # the systems tab's run
    wait_until(lambda: label.get_attribute("data-status") == "converged", timeout=30,
               message="CG to converge on the random sparse SPD system")
    screenshot(page, "sparsity_systems")
    assert page.console_errors == []
