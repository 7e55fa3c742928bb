"""Browser-test fixtures: one ``workbench serve`` for the whole session, Debian's Chromium.

* ``server_url`` (session): ``workbench serve`` on a free 127.0.0.1 port, with the
  test-only pages of ``tests/ui/pages`` served but not listed; torn down at the end.
  Its log goes to ``artifacts/server.log``.
* ``browser`` (session): Playwright driving ``/usr/bin/chromium`` (never a downloaded browser).
* ``page``: a fresh page whose console errors and uncaught exceptions are collected
  in ``page.console_errors`` (and failed requests in ``page.failed_requests``);
  check them with ``helpers.assert_no_console_errors(page)``.

Usage in ``tests/ui/test_<slug>.py``::

    import pytest
    from .helpers import open_page, read_iteration, click, screenshot, assert_no_console_errors

    @pytest.mark.browser
    def test_my_page(page, server_url):
        open_page(page, server_url, "my_slug")
        click(page, "Play")
        ...
        assert_no_console_errors(page)
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TEST_PAGES = Path(__file__).resolve().parent / "pages"
SERVER_START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode())


@pytest.fixture(scope="session")
def server_url():
    """Base URL (no trailing slash) of one ``workbench serve`` for the whole test session."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "server.log"
    log = open(log_path, "w")
    env = dict(os.environ, PYTHONUNBUFFERED="1", BOKEH_LOG_LEVEL="info")
    cmd = [sys.executable, "-m", "workbench", "serve", "--port", str(port),
           "--apps", str(REPO / "apps"), "--extra-pages", str(TEST_PAGES), "--session-timeout", "5"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                log.flush()
                raise RuntimeError(f"workbench serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                get_json(f"{url}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"workbench serve did not answer within {SERVER_START_TIMEOUT:.0f} s")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); no browser is downloaded.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A new page (own context) recording console errors in ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    pg = context.new_page()
    pg.console_errors = []
    pg.failed_requests = []
    pg.on("console", lambda msg: pg.console_errors.append(f"console.{msg.type}: {msg.text}")
          if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: pg.console_errors.append(f"pageerror: {exc}"))
    pg.on("requestfailed", lambda req: pg.failed_requests.append(req.url))
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        context.close()
