"""The server: the index lists every page (and not the test-only ones), /health answers,
and the command line refuses bad options with a reason."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import get_json
from .helpers import REPO, assert_no_console_errors

APPS = sorted(p.stem for p in (REPO / "apps").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.browser
def test_index_lists_every_page_without_console_errors(page, server_url):
    response = page.goto(server_url + "/", wait_until="load")
    assert response.ok
    slugs = page.eval_on_selector_all("a.card", "els => els.map(e => e.dataset.slug)")
    assert sorted(slugs) == APPS
    assert "failing_method" not in slugs  # served, but not listed
    assert "Linear solvers race" in page.inner_text("body")
    page.click("a[data-slug='linear_solvers']")
    page.wait_for_url("**/linear_solvers")
    page.locator(".wb-iteration").first.wait_for(state="visible")
    assert_no_console_errors(page)


def test_health_reports_counts(server_url):
    health = get_json(server_url + "/health")
    assert health["status"] == "ok"
    assert {"live_components", "periodic_callbacks", "panel_periodic_callbacks"} <= set(health)


def test_serve_rejects_bad_options():
    out = subprocess.run([sys.executable, "-m", "workbench", "serve", "--port", "70000"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2
    assert "--port must be between 0 and 65535" in out.stderr
    out = subprocess.run([sys.executable, "-m", "workbench", "serve", "--apps", "/nonexistent/apps"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 2
    assert "no pages directory" in out.stderr


def test_serve_help_lists_the_deployment_options():
    out = subprocess.run([sys.executable, "-m", "workbench", "serve", "--help"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    for flag in ("--port", "--address", "--allow-websocket-origin", "--basic-auth", "--extra-pages"):
        assert flag in out.stdout


def test_broken_page_is_reported_not_fatal(tmp_path):
    from workbench.ui.server import discover_pages

    (tmp_path / "good.py").write_text("TITLE = 'Good'\nDESCRIPTION = 'd'\ndef page():\n    return 'ok'\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "_private.py").write_text("raise RuntimeError('never imported')\n")
    pages = {p.slug: p for p in discover_pages(tmp_path)}
    assert sorted(pages) == ["broken", "good"]
    assert pages["good"].title == "Good" and pages["good"].factory() == "ok"
    assert pages["broken"].factory is None and "boom" in pages["broken"].error


def test_basic_auth_is_passed_through(tmp_path):
    import http.cookiejar
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    from .conftest import free_port

    (tmp_path / "hello.py").write_text("TITLE = 'Hello'\nDESCRIPTION = 'd'\ndef page():\n    return 'hello'\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--apps",
                             str(tmp_path), "--basic-auth", "s3cret-pass"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get_json(url + "/health", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.build_opener(NoRedirect).open(url + "/hello", timeout=10)
        assert info.value.code == 302 and "/login" in info.value.headers["Location"]

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        data = urllib.parse.urlencode({"username": "student", "password": "wrong"}).encode()
        assert "login" in opener.open(url + "/login", data=data, timeout=10).geturl()
        data = urllib.parse.urlencode({"username": "student", "password": "s3cret-pass"}).encode()
        opener.open(url + "/login", data=data, timeout=10)
        page = opener.open(url + "/hello", timeout=30)
        assert page.status == 200 and page.geturl().endswith("/hello")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
