"""Eight concurrent sessions keep updating; a failing method fails alone; closed sessions
leave no periodic callbacks behind (read from the server's /health route)."""
from __future__ import annotations

import time

import pytest

from .conftest import get_json
from .helpers import assert_no_console_errors, open_page, read_iteration, read_status, refresh_counter, refreshes, status_text, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 8
SECONDS = 20.0
MIN_REFRESH_HZ = 2.0
FAIL_AT = 200


def test_eight_sessions_failure_isolation_and_cleanup(browser, server_url):
    contexts, pages = [], []
    try:
        for i in range(SESSIONS):
            ctx = browser.new_context(viewport={"width": 1200, "height": 800})
            pg = ctx.new_page()
            pg.console_errors, pg.failed_requests = [], []
            pg.on("pageerror", lambda exc, pg=pg: pg.console_errors.append(str(exc)))
            pg.on("console", lambda msg, pg=pg: pg.console_errors.append(msg.text) if msg.type == "error" else None)
            pg.on("requestfailed", lambda req, pg=pg: pg.failed_requests.append(req.url))
            contexts.append(ctx)
            pages.append(pg)
            # Session 0 runs a method that raises at iteration FAIL_AT; the others never fail.
            fail_at = FAIL_AT if i == 0 else 0
            open_page(pg, server_url, "failing_method", query=f"fail_at={fail_at}&autoplay=1", timeout=60_000)
        # Every session plays (the failing one may have stopped already).
        health = wait_until(lambda: (h := get_json(f"{server_url}/health"))["periodic_callbacks"] >= SESSIONS - 1
                            and h, timeout=30, interval=0.5, message="every session to play")
        assert health["live_components"] >= SESSIONS
        for pg in pages:
            refresh_counter(pg, ".wb-iteration")
        t0 = time.monotonic()
        time.sleep(max(0.0, SECONDS - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        counts = [refreshes(pg) for pg in pages]
        iterations = [read_iteration(pg) for pg in pages]

        # The failing session says so, with the method's message, and stopped where it failed.
        assert read_status(pages[0]) == "failed"
        assert "RuntimeError: deliberate failure at iteration 200" in status_text(pages[0])
        assert iterations[0] == FAIL_AT - 1
        # Every other session kept running and refreshing.
        for i, pg in enumerate(pages[1:], start=1):
            assert read_status(pg) == "running", status_text(pg)
            assert "failed" not in status_text(pg)
            rate = counts[i] / elapsed
            assert rate >= MIN_REFRESH_HZ, f"session {i}: {counts[i]} refreshes in {elapsed:.1f} s"
            assert iterations[i] > FAIL_AT
        for pg in pages:
            assert_no_console_errors(pg)
        print(f"refreshes per second: {[round(c / elapsed, 1) for c in counts]}")
    finally:
        for ctx in contexts:
            ctx.close()

    # Closed sessions are destroyed (--session-timeout 2 s) and take their callbacks along.
    last = {}

    def cleaned():
        last.update(get_json(f"{server_url}/health"))
        return (last["live_components"] == 0 and last["periodic_callbacks"] == 0
                and last["panel_periodic_callbacks"] == 0)

    try:
        wait_until(cleaned, timeout=60, interval=0.5, message="sessions to be cleaned up")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last /health: {last}") from None

