"""Browser test of the Learning-to-Relax page: policies race over a sequence of systems."""
from __future__ import annotations

import os
import re
import time
import warnings

import pytest

from .helpers import (assert_no_console_errors, choose, click, column_points, lowest_iteration, open_page,
                      read_iteration, screenshot, set_discrete, text_of, track_lowest_iteration,
                      wait_for_iteration, wait_for_paused, wait_until)

pytestmark = pytest.mark.browser

def test_learning_to_relax_live(page, server_url):
    open_page(page, server_url, "learning_to_relax", timeout=120_000)
    assert read_iteration(page) == 0
    # The lanes' policy choices leave out the best fixed omega in hindsight, which would
    # solve the whole sequence before its first instance (the black curve shows it instead).
    wait_until(lambda: page.locator(".wb-param-policy select").count() > 0, timeout=30, message="lane cards")
    options = page.locator(".wb-param-policy select").first.locator("option").all_inner_texts()
    assert "chebcb" in options and "instance_optimal" in options and "best_fixed" not in options, options

    # Controls first, while nothing runs: the low-variance distribution rebuilds the
    # sequence, Step solves one instance in every lane; back to the high variance.
    choose(page, "wb-param-setting", "low")
    click(page, "Step")
    wait_until(lambda: read_iteration(page) == 1, timeout=60, message="one instance per lane")
    # The comparator (black curve, summary) covers the instances the lanes have reached, no more.
    first = wait_until(lambda: (s := text_of(page, ".wb-relax-summary")) and "best fixed omega over" in s and s,
                       timeout=60, message="the comparator's first row")
    assert "over the first 1 instances" in first, first
    choose(page, "wb-param-setting", "high")
    wait_until(lambda: read_iteration(page) == 0, timeout=60, message="the runs to restart on the new sequence")

    click(page, "Play")
    wait_for_iteration(page, above=30, timeout=120)

    # At n = 100 the page advances at least 20 instances per second (issue #4).
    k0, t0 = read_iteration(page), time.monotonic()
    time.sleep(5.0)
    k1, t1 = read_iteration(page), time.monotonic()
    rate = (k1 - k0) / (t1 - t0)
    # The rate is a wall-clock figure: it is asserted only when the machine is not
    # oversubscribed by other work (load average below 1.5 x cores); on a busy box
    # the page must still move.
    busy = os.getloadavg()[0] > 1.5 * (os.cpu_count() or 1)
    if busy:
        warnings.warn(f"machine busy (load {os.getloadavg()[0]:.1f}): {rate:.1f} instances/s not checked against 20")
        assert rate >= 2, f"only {rate:.1f} instances per second"
    else:
        assert rate >= 20, f"only {rate:.1f} instances per second"

    summary = wait_until(lambda: (s := text_of(page, ".wb-relax-summary")) and "best fixed omega" in s and s,
                         timeout=120, message="the comparator summary")
    assert re.search(r"Tsallis-INF: \d+ iterations over \d+ instances", summary)
    summary = wait_until(lambda: (s := text_of(page, ".wb-relax-summary")) and "last quarter" in s and s,
                         timeout=60, message="the last-quarter ratios")
    late = re.search(r"Tsallis-INF: \d+ iterations over \d+ instances = [\d.]+ x best fixed( over the first \d+)? "
                     r"\(last quarter: ([\d.]+) x\)", summary)
    assert late and 0.5 < float(late.group(2)) < 5, summary
    wait_until(lambda: column_points(page, "top") >= 20, timeout=60, message="arm-probability bars")
    wait_until(lambda: column_points(page, "c") > 30, timeout=60, message="chosen omega vs context points")
    screenshot(page, "learning_to_relax")

    # Paused while the comparator trails the lanes (at "max" the lanes, one solve per instance,
    # outrun its rows, one solve per grid omega): its worker's rows still reach the page, and the
    # summary catches up with the lanes without another Step.
    track_lowest_iteration(page)
    assert lowest_iteration(page) > 200
    set_discrete(page, "wb-param-instances", 1)  # 500 instances: the race restarts and plays on
    wait_until(lambda: lowest_iteration(page) < 200, timeout=60, message="the race to restart on 500 instances")
    wait_for_iteration(page, above=250, timeout=60)
    click(page, "Pause")
    wait_for_paused(page)  # the server has taken the click: no lane moves from here on
    k = read_iteration(page)
    behind = text_of(page, ".wb-relax-summary")
    caught = wait_until(lambda: (s := text_of(page, ".wb-relax-summary")) and f"best fixed omega over the first {k} "
                        in s and s, timeout=90, message=f"the paused summary to reach instance {k}")
    # every lane's ratio now covers all its instances (none says "over the first m")
    assert len(re.findall(r"instances = [\d.]+ x best fixed \(", caught)) == 4, caught
    assert behind != caught  # it did trail when paused (else this checks nothing)

    # The solver is page-wide (the comparators solve with it too): switching it restarts
    # every lane, and the summary says what instance-optimal means for SSOR-PCG.
    k = read_iteration(page)
    choose(page, "wb-relax-solver", "CG preconditioned by SSOR(omega)")
    wait_until(lambda: read_iteration(page) < k, timeout=60, message="the lanes to restart with SSOR-PCG")
    wait_until(lambda: "heuristic" in (text_of(page, ".wb-relax-summary") or ""), timeout=60,
               message="the SSOR-PCG note in the summary")
    assert_no_console_errors(page)
