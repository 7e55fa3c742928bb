"""Dashboard benchmarks: server CPU per plot update, refresh rate, time to first plot.

    python benchmarks/ui.py [--seconds 10] [--repeat 3]

Starts ``workbench serve`` on a free port (with the test-only pages of
``tests/ui/pages``), drives Debian's Chromium through Playwright, and prints:

* **server CPU per plot update** -- process CPU time the server spends building
  and serialising one batched update (new trace rows streamed, counters and
  status), read from the server's own counters on ``/health``; target <= 15 ms;
* **refresh rate** of one session playing alone -- DOM updates of the
  iteration counter per second, counted in the browser; target >= 20 Hz;
* **time to first plot** for a new session on an idle server -- from the
  navigation to the first curve point in the browser's plot; target <= 1 s.
  Measured from two browsers. **Returning**: a persistent Chromium profile
  (``launch_persistent_context``, as a person's browser is) that has opened a
  Workbench page before, so Bokeh's and Panel's scripts come from the HTTP
  cache with V8's compiled-code cache; every measured visit is still a new
  server session. **First visit**: a fresh in-memory profile, every script
  fetched, parsed and compiled (about 3 MB of JavaScript), once per browser.
  Two figures put it in context: the server's share (request to the page's
  HTML, which waits for the session's document to be built) and the
  **floor**, the same measure on a test page holding one Bokeh line and
  nothing else (``tests/ui/pages/bare_plot.py``): what Panel and Bokeh cost in
  the browser before any Workbench component.

Pages measured: ``failing_method?fail_at=0`` (one endless SOR run, the plain
LiveRun) and ``linear_solvers`` (the six-method race). Numbers depend on the
machine's load; the table says which machine ran it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

FIRST_POINT_JS = """() => {
  if (window.Bokeh === undefined || !Bokeh.documents || Bokeh.documents.length === 0) return false;
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    const d = m.data;
    if (d === undefined || d === null) continue;
    const y = d instanceof Map ? d.get('y') : d['y'];
    const it = d instanceof Map ? d.get('iteration') : d['iteration'];
    if (y !== undefined && it !== undefined && y.length > 0) return true;
  }
  return false;
}"""

COUNT_JS = """(sel) => {
  window.__wbRefreshes = 0; window.__wbFirst = null; window.__wbLast = null;
  const walk = (root) => { for (const n of root.querySelectorAll('*')) {
      if (n.matches && n.matches(sel)) return n;
      if (n.shadowRoot) { const f = walk(n.shadowRoot); if (f) return f; } } return null; };
  const el = walk(document);
  new MutationObserver(() => {
      const now = performance.now();
      if (window.__wbFirst === null) window.__wbFirst = now;
      window.__wbLast = now; window.__wbRefreshes += 1; })
    .observe(el.shadowRoot || el, {subtree: true, childList: true, characterData: true});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/health", timeout=5) as r:
        return json.loads(r.read().decode())


def start_server():
    port = free_port()
    log = open(REPO / "artifacts" / "bench_server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--apps",
                             str(REPO / "apps"), "--extra-pages", str(REPO / "tests" / "ui" / "pages"),
                             "--session-timeout", "2"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            health(url)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("workbench serve did not start; see artifacts/bench_server.log")
            time.sleep(0.3)


def wait_idle(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = health(url)
        if h["live_components"] == 0:
            return
        time.sleep(0.3)


SERVER_SHARE_JS = """() => { const n = performance.getEntriesByType('navigation')[0];
  return (n.responseStart - n.requestStart) / 1e3; }"""


def _first_plot(page, url: str, slug: str) -> tuple[float, float]:
    """(seconds from navigation to the first curve point drawn, seconds the server took to answer)."""
    t0 = time.perf_counter()
    page.goto(f"{url}/{slug}", wait_until="commit")
    page.wait_for_function(FIRST_POINT_JS, timeout=60_000, polling=10)
    page.locator(".bk-Canvas, canvas").first.wait_for(state="attached", timeout=60_000)
    return time.perf_counter() - t0, page.evaluate(SERVER_SHARE_JS)


def time_to_first_plot(returning, fresh_browser, url: str, slug: str, repeat: int) -> tuple[float, float, float]:
    """Medians of (returning, first visit, server) over ``repeat`` new sessions each: opened in a
    new tab of the returning browser (persistent profile, scripts cached and compiled), then
    from fresh profiles (every script fetched and compiled), and the server's share of the first."""
    back, first, server = [], [], []
    for _ in range(repeat):
        wait_idle(url)
        page = returning.new_page()
        seconds, share = _first_plot(page, url, slug)
        page.close()
        back.append(seconds)
        server.append(share)
    for _ in range(repeat):
        wait_idle(url)
        ctx = fresh_browser.new_context(viewport={"width": 1400, "height": 950})
        first.append(_first_plot(ctx.new_page(), url, slug)[0])
        ctx.close()
    return statistics.median(back), statistics.median(first), statistics.median(server)


def play_alone(browser, url: str, slug: str, seconds: float) -> dict:
    before = health(url)["stats"]
    ctx = browser.new_context(viewport={"width": 1400, "height": 950})
    page = ctx.new_page()
    page.goto(f"{url}/{slug}", wait_until="load")
    page.locator(".wb-iteration").first.wait_for(state="visible", timeout=60_000)
    page.evaluate(COUNT_JS, ".wb-iteration")
    s0 = health(url)["stats"]
    t0 = time.perf_counter()
    time.sleep(seconds)
    # Rate while the run was running: a race may finish before the window ends.
    refreshes, first, last = page.evaluate("() => [window.__wbRefreshes, window.__wbFirst, window.__wbLast]")
    elapsed = time.perf_counter() - t0
    active = (last - first) / 1e3 if first is not None and last is not None and last > first else elapsed
    s1 = health(url)["stats"]
    ctx.close()
    updates = s1["updates"] - s0["updates"]
    return {
        "refresh_hz": (refreshes - 1) / active if refreshes > 1 else 0.0,
        "active_s": active,
        "server_updates_hz": updates / elapsed,
        "cpu_per_update_ms": 1e3 * (s1["update_cpu_s"] - s0["update_cpu_s"]) / max(updates, 1),
        "cpu_per_tick_ms": 1e3 * (s1["tick_cpu_s"] - s0["tick_cpu_s"]) / max(s1["ticks"] - s0["ticks"], 1),
        "warmup_updates": s0["updates"] - before["updates"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="How long one session plays.")
    ap.add_argument("--repeat", type=int, default=5,
                    help="New sessions per time-to-first-plot figure (the median is printed).")
    args = ap.parse_args(argv)
    (REPO / "artifacts").mkdir(exist_ok=True)
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    rows = []
    try:
        with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="wb-profile-") as profile:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            returning = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                viewport={"width": 1400, "height": 950})
            # The returning browser has opened a Workbench page before (V8 keeps compiled code
            # for scripts it has run from the HTTP cache): two earlier visits of the floor page.
            for _ in range(2):
                _first_plot(returning.pages[0], url, "bare_plot")
            returning.pages[0].goto("about:blank")
            pages = {"LiveRun (SOR, endless)": "failing_method?fail_at=0&autoplay=1",
                     "Race (linear_solvers)": "linear_solvers?autoplay=1",
                     "floor: one Bokeh line": "bare_plot"}
            for label, slug in pages.items():
                back, first, server = time_to_first_plot(returning, browser, url, slug.split("?")[0], args.repeat)
                wait_idle(url)
                play = play_alone(browser, url, slug, args.seconds) if "?" in slug else None
                rows.append((label, back, first, server, play))
            returning.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, load average {load:.1f} at the end")
    print(f"{'page':<26} {'CPU/update':>11} {'refresh':>9} {'1st plot':>9} {'(first)':>9} {'server':>9} "
          f"{'CPU/tick':>9} {'measured':>9}")
    print(f"{'(target)':<26} {'<= 15 ms':>11} {'>= 20 Hz':>9} {'<= 1 s':>9} {'':>9} {'':>9} {'':>9} {'':>9}")
    for label, back, first, server, play in rows:
        if play is None:
            print(f"{label:<26} {'':>11} {'':>9} {back:8.2f}s {first:8.2f}s {server:8.2f}s")
            continue
        print(f"{label:<26} {play['cpu_per_update_ms']:9.2f}ms {play['refresh_hz']:7.1f}Hz "
              f"{back:8.2f}s {first:8.2f}s {server:8.2f}s {play['cpu_per_tick_ms']:7.1f}ms {play['active_s']:8.1f}s")
    print("CPU/update: server process CPU to build and send one batched plot update; "
          "CPU/tick: one whole tick (the solver's 25 ms budget included); "
          "refresh: browser updates per second while the run was running ('measured' seconds); "
          "1st plot: new session in a returning browser (persistent profile that has opened a Workbench "
          "page before), (first): from a fresh profile, every script fetched and compiled; "
          "server: the server's share of '1st plot' (request to HTML response, which waits for the "
          "session's document); floor: the same page machinery with one Bokeh line and nothing else.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
