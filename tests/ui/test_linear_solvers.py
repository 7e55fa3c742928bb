"""Browser test of the linear-solvers race: play, move omega mid-run, pause, reset, screenshot."""
from __future__ import annotations

import re
import shutil
import time

import pytest

from .helpers import (REPO, assert_no_console_errors, choose, click, lane, open_page, pause_and_check_frozen,
                      plotted_points, read_iteration, read_status, screenshot, set_speed, set_widget, text_of,
                      wait_for_iteration, wait_until)

pytestmark = pytest.mark.browser

README_IMAGE = REPO / "docs" / "images" / "linear_solvers.png"


def test_linear_solvers_live(page, server_url):
    open_page(page, server_url, "linear_solvers")
    assert read_iteration(page) == 0
    assert read_status(page) == "running"
    start_points = plotted_points(page)
    assert start_points == 6  # the initial residual of each of the six methods

    # Play at 10 iterations per second, so SOR (about 500 iterations at omega = 1.5)
    # is still running when omega moves, even on a loaded machine.
    set_speed(page, "10")
    click(page, "Play")
    wait_for_iteration(page, above=5)
    wait_until(lambda: plotted_points(page) > start_points + 24, message="plotted data to grow")

    # Move SOR's omega mid-run: the run continues (no reset) with the new omega.
    sor = lane(page, "SOR")
    assert sor["status"] == "running" and sor["settings"] == "omega=1.5"
    before = sor["iteration"]
    set_widget(page, "wb-param-sor-omega", 1.9)
    wait_until(lambda: lane(page, "SOR")["settings"] == "omega=1.9", message="the server to use omega=1.9")
    events = wait_until(lambda: text_of(page, ".wb-events"), message="the change to be logged")
    changed_at = int(re.search(r"omega 1\.5 → 1\.9 at iteration (\d+)", events).group(1))
    assert changed_at >= before > 0
    after = wait_until(lambda: (k := lane(page, "SOR")["iteration"]) > changed_at + 5 and k,
                       message="SOR to keep iterating after the change")
    assert after > changed_at  # not restarted from 0
    assert "predicted rate 0.9000" in _legend_labels(page)  # Young: rho = omega - 1 above omega*

    # Pause: nothing grows any more.
    pause_and_check_frozen(page)
    assert page.locator(".wb-status .wb-status-label").first.get_attribute("data-state") == "paused"

    # Reset: back to iteration 0 and one point per method.
    click(page, "Reset")
    wait_until(lambda: read_iteration(page) == 0, message="the counter to return to 0")
    wait_until(lambda: plotted_points(page) == 6, message="the curves to restart")
    assert lane(page, "SOR")["iteration"] == 0

    # Full speed for the picture in the README: a race mid-run.
    set_speed(page, "max")
    click(page, "Play")
    wait_until(lambda: lane(page, "CG")["status"] == "converged", timeout=20, message="CG to converge")
    time.sleep(0.3)
    shot = screenshot(page, "linear_solvers")
    README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, README_IMAGE)
    click(page, "Pause")
    assert_no_console_errors(page)


def test_problem_change_resets_and_incompatible_method_fails_alone(page, server_url):
    open_page(page, server_url, "linear_solvers")
    click(page, "Play")
    wait_for_iteration(page, above=10)
    click(page, "Pause")
    choose(page, "wb-problem", "convection_diffusion2d")
    wait_until(lambda: lane(page, "CG")["status"] == "failed", message="CG to refuse the non-symmetric matrix")
    assert read_iteration(page) == 0
    assert lane(page, "SOR")["status"] == "running"
    assert "symmetric" in page.locator(".wb-lanes tr[data-lane='CG']").first.get_attribute("title")
    click(page, "Play")
    wait_until(lambda: lane(page, "SOR")["iteration"] > 5, message="the others to run")
    click(page, "Pause")
    assert_no_console_errors(page)


def _legend_labels(page) -> str:
    return page.evaluate("""() => { const out = [];
      for (const doc of Bokeh.documents) for (const m of doc.all_models)
        if (m.type === 'LegendItem' || (m.constructor && m.constructor.name === 'LegendItem')) {
          const l = m.label; out.push(l && l.value !== undefined ? l.value : String(l)); }
      return out.join('|'); }""")
