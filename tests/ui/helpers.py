"""Helpers for the browser tests of the dashboard pages (see conftest.py).

DOM conventions (workbench.ui): buttons "Play", "Pause", "Step", "Reset"; the
iteration counter ``.wb-iteration``; the status ``.wb-status`` (its
``.wb-status-label`` carries ``data-status`` and ``data-state``); param widgets
``.wb-param-<param>`` and ``.wb-param-<controls name>-<param>``.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"

_BOKEH_READY = """() => window.Bokeh !== undefined && Bokeh.documents !== undefined
    && Bokeh.documents.length > 0"""


def open_page(page, server_url: str, slug: str, query: str = "", wait_for: str | None = ".wb-iteration",
              timeout: float = 30_000):
    """Load ``/<slug>`` and wait until the Bokeh document is rendered (and ``wait_for`` is visible)."""
    url = f"{server_url}/{slug}" + (f"?{query}" if query else "")
    response = page.goto(url, wait_until="load", timeout=timeout)
    assert response is not None and response.ok, f"GET {url} -> {response and response.status}"
    page.wait_for_function(_BOKEH_READY, timeout=timeout)
    if wait_for:
        page.locator(wait_for).first.wait_for(state="visible", timeout=timeout)
    wait_for_deferred(page, timeout)
    return page


_NO_PLACEHOLDER_JS = """() => {
  // Panel marks a deferred part that has not arrived yet with the class pn-loading,
  // inside the (nested) shadow roots of Bokeh's views.
  const walk = (root) => { for (const n of root.querySelectorAll('*')) {
      if (n.classList && n.classList.contains('pn-loading')) return true;
      if (n.shadowRoot && walk(n.shadowRoot)) return true; } return false; };
  return !walk(document);
}"""


def wait_for_deferred(page, timeout: float = 30_000) -> None:
    """Wait until the parts sent after the first render (the controls, see
    ``workbench.ui.live.after_first_render``) have replaced their loading placeholders."""
    page.wait_for_function(_NO_PLACEHOLDER_JS, timeout=timeout, polling=50)


_TEXT_JS = """(el) => {
  // Panel panes render their content inside the element's shadow root, after <style>/<link>.
  const root = el.shadowRoot;
  if (!root) return el.innerText;
  return Array.from(root.children)
    .filter((c) => c.tagName !== 'STYLE' && c.tagName !== 'LINK')
    .map((c) => c.innerText).join(' ').trim();
}"""


def text_of(page, selector: str) -> str:
    """Visible text of the first element matching ``selector`` (shadow DOM included)."""
    return page.locator(selector).first.evaluate(_TEXT_JS)


def read_iteration(page) -> int:
    """The number shown by the first ``.wb-iteration`` pane."""
    text = text_of(page, ".wb-iteration")
    match = re.search(r"\d+", text)
    assert match, f"no iteration number in {text!r}"
    return int(match.group())


def read_status(page) -> str:
    """The status label (``running``, ``converged``, ``failed``, ...) of the first ``.wb-status``."""
    return page.locator(".wb-status .wb-status-label").first.get_attribute("data-status")


def wait_for_paused(page, timeout: float = 20.0) -> None:
    """Wait until the status says the run is paused (the server has processed Pause)."""
    wait_until(lambda: page.locator(".wb-status .wb-status-label").first.get_attribute("data-state") == "paused",
               timeout, message="the run to pause")


def status_text(page) -> str:
    return text_of(page, ".wb-status")


def click(page, label: str, nth: int = 0) -> None:
    """Click the button labelled exactly ``label`` (Play, Pause, Step, Reset, ...)."""
    page.get_by_role("button", name=label, exact=True).nth(nth).click()


def press(page, label: str) -> None:
    """Click the button labelled ``label`` without waiting for the busy page to settle:
    a live page redraws continuously, and Playwright's actionability wait can time out."""
    page.get_by_role("button", name=label, exact=True).first.dispatch_event("click")


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``predicate()`` until truthy; return its value or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def wait_for_iteration(page, above: int, timeout: float = 15.0) -> int:
    """Wait until the iteration counter exceeds ``above``; return it."""
    return wait_until(lambda: (k := read_iteration(page)) > above and k, timeout,
                      message=f"iteration > {above}")


_COLUMN_POINTS_JS = """(columns) => {
  // Sum, over the data sources holding every one of ``columns``, the length of the first.
  let total = 0;
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models) {
      const d = m.data;
      if (d === undefined || d === null) continue;
      const cols = columns.map((c) => (d instanceof Map ? d.get(c) : d[c]));
      if (cols.every((c) => c !== undefined)) total += cols[0].length;
    }
  return total;
}"""


def column_points(page, *columns: str) -> int:
    """Points held by the browser in the data sources that have every one of ``columns``
    (e.g. ``"x0"``: trajectories; ``"top"``: bars), counted in the first column."""
    return page.evaluate(_COLUMN_POINTS_JS, list(columns))


def plotted_points(page) -> int:
    """Points held by the browser in every live curve (ColumnDataSources with iteration and y)."""
    return column_points(page, "y", "iteration")


_SET_WIDGET_JS = """([cls, value]) => {
  const hits = [];
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.css_classes && m.css_classes.includes(cls)) hits.push(m);
  if (hits.length === 0) return 'none';
  const m = hits[0];
  m.value = value;
  if ('value_throttled' in m) m.value_throttled = value;
  return 'ok';
}"""


def set_widget(page, css_class: str, value) -> None:
    """Set the widget carrying ``css_class`` as a user would (the slider's released value).

    Sliders are throttled: the server sees ``value_throttled``, which BokehJS
    sets when a drag ends; this sets ``value`` and ``value_throttled`` together.
    """
    result = page.evaluate(_SET_WIDGET_JS, [css_class, value])
    assert result == "ok", f"no widget with CSS class {css_class!r}"


_SET_DISCRETE_JS = """([cls, index]) => {
  // a DiscreteSlider is a Column holding a Slider over the option index
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.type === 'Slider' && m.css_classes && m.css_classes.includes(cls)) {
        m.value = index; m.value_throttled = index; return 'ok';
      }
  return 'none';
}"""


def set_discrete(page, css_class: str, index: int) -> None:
    """Set a ``DiscreteSlider`` carrying ``css_class`` to its option number ``index`` (released)."""
    result = page.evaluate(_SET_DISCRETE_JS, [css_class, index])
    assert result == "ok", f"no discrete slider with CSS class {css_class!r}"


def slider_value(page, css_class: str):
    return page.evaluate("""(cls) => { for (const doc of Bokeh.documents) for (const m of doc.all_models)
        if (m.css_classes && m.css_classes.includes(cls)) return m.value; return null; }""", css_class)


def refresh_counter(page, selector: str = ".wb-iteration") -> None:
    """Start counting DOM updates of ``selector`` in ``window.__wbRefreshes`` (refresh-rate checks)."""
    page.evaluate("""(sel) => {
      window.__wbRefreshes = 0;
      const el = document.querySelector(sel) || (() => {
        // Panel renders inside shadow roots: search them.
        const walk = (root) => { for (const n of root.querySelectorAll('*')) {
            if (n.matches && n.matches(sel)) return n;
            if (n.shadowRoot) { const f = walk(n.shadowRoot); if (f) return f; } } return null; };
        return walk(document);
      })();
      if (!el) throw new Error('no element ' + sel);
      const target = el.shadowRoot || el;
      new MutationObserver(() => { window.__wbRefreshes += 1; })
        .observe(target, {subtree: true, childList: true, characterData: true});
    }""", selector)


def refreshes(page) -> int:
    return page.evaluate("() => window.__wbRefreshes || 0")


def track_lowest_iteration(page) -> None:
    """Start recording in the browser the lowest number the ``.wb-iteration`` counter shows
    (:func:`lowest_iteration`): a restart is seen even when a fast race has counted past a
    threshold before the next poll (the relax page's lanes do a few hundred instances/s)."""
    page.evaluate("""() => {
      const walk = (root) => { for (const n of root.querySelectorAll('*')) {
          if (n.matches && n.matches('.wb-iteration')) return n;
          if (n.shadowRoot) { const f = walk(n.shadowRoot); if (f) return f; } } return null; };
      const el = walk(document);
      if (!el) throw new Error('no .wb-iteration element');
      const target = el.shadowRoot || el;
      const read = () => { const m = /\\d+/.exec(target.textContent || ''); return m ? Number(m[0]) : null; };
      window.__wbLowest = read();
      new MutationObserver(() => { const k = read();
          if (k !== null && (window.__wbLowest === null || k < window.__wbLowest)) window.__wbLowest = k; })
        .observe(target, {subtree: true, childList: true, characterData: true});
    }""")


def lowest_iteration(page) -> int | None:
    """The lowest iteration shown since :func:`track_lowest_iteration`."""
    return page.evaluate("() => window.__wbLowest")


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG to ``artifacts/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), full_page=True)
    return path


def lane(page, label: str) -> dict:
    """One row of a race's table (``.wb-lanes``): status, iteration and settings of method ``label``."""
    row = page.locator(f".wb-lanes tr[data-lane='{label}']").first
    return {
        "status": row.locator(".wb-lane-status").inner_text().strip(),
        "iteration": int(row.locator(".wb-lane-iteration").inner_text().strip()),
        "settings": row.locator(".wb-lane-settings").inner_text().strip(),
    }


def choose(page, css_class: str, label: str) -> None:
    """Pick ``label`` in the drop-down carrying ``css_class`` (e.g. ``wb-problem``)."""
    page.locator(f".{css_class} select").first.select_option(label, timeout=5000)


def set_speed(page, label: str) -> None:
    """Choose a speed (``"1"``, ``"10"``, ``"100"``, ..., ``"max"`` iterations per second)."""
    choose(page, "wb-speed", label)


def assert_no_console_errors(page) -> None:
    """No console error, no uncaught exception and no failed request.

    Panel's stylesheet URLs that fall back to its CDN are served locally
    (``workbench.ui.server.use_local_cdn``), so an offline browser sees none fail.
    """
    failed = list(getattr(page, "failed_requests", []))
    assert failed == [], f"requests failed: {failed}"
    assert page.console_errors == [], page.console_errors


def pause_and_check_frozen(page, *counters, timeout: float = 20.0, settle: float = 0.0,
                           hold: float = 1.0) -> tuple:
    """Press Pause, wait until the page says paused, then check that nothing grows for ``hold`` s.

    Checked: the iteration counter, the plotted points and each extra ``counter(page)``
    (e.g. trajectory points). ``settle`` seconds pass between the pause reaching the
    page and the first reading. Returns the frozen readings.
    """
    press(page, "Pause")
    # Once the browser shows "paused", every update sent before the pause has arrived.
    wait_for_paused(page, timeout)
    time.sleep(settle)
    probes = (read_iteration, plotted_points, *counters)
    frozen = tuple(probe(page) for probe in probes)
    time.sleep(hold)
    assert tuple(probe(page) for probe in probes) == frozen, "the page kept changing after Pause"
    return frozen
