"""The server behind ``workbench serve``: page discovery, the index, ``/health``.

A *page* is a file ``apps/<slug>.py`` (not starting with ``_``) that defines
``TITLE``, ``DESCRIPTION`` and ``page()``; ``page()`` is called once per
browser session and returns a Panel viewable. Every page is served at
``/<slug>``; the index at ``/`` links them all. A page that fails to import or
to build shows its error in its own session; the server and the other pages
carry on.

``/health`` answers JSON with the number of open live components and of
scheduled periodic callbacks, so a test (or a monitor) can check that closed
sessions leave nothing running.
"""
from __future__ import annotations

import dataclasses
import html
import importlib.util
import json
import logging
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Callable

from ..core import MalformedInput

__all__ = ["PageInfo", "discover_pages", "default_apps_dir", "make_server", "health"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class PageInfo:
    """A discovered page: its URL slug, title, description and ``page()`` factory."""

    slug: str
    title: str
    description: str
    path: Path
    factory: Callable | None
    error: str = ""
    listed: bool = True


def default_apps_dir() -> Path:
    """``./apps`` if the current directory has one, else the ``apps/`` next to the package."""
    here = Path.cwd() / "apps"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "apps"


def _load_module(path: Path, prefix: str):
    name = f"{prefix}{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def discover_pages(directory: str | Path, listed: bool = True) -> list[PageInfo]:
    """Every ``<slug>.py`` in ``directory`` (not ``_*``), imported; sorted by slug.

    A file that fails to import becomes a page that shows the error.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise MalformedInput(f"no pages directory at {directory}; pass --apps DIR pointing at the apps/ folder.")
    pages = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        slug = path.stem
        try:
            module = _load_module(path, "workbench_pages_" if listed else "workbench_extra_pages_")
        except Exception:
            err = traceback.format_exc(limit=3)
            log.error("page %s failed to import:\n%s", slug, err)
            pages.append(PageInfo(slug, slug, "This page failed to load.", path, None, err, listed))
            continue
        factory = getattr(module, "page", None)
        if not callable(factory):
            pages.append(PageInfo(slug, slug, "This page has no page() function.", path, None,
                                  f"{path.name} defines no page() function.", listed))
            continue
        pages.append(PageInfo(slug, str(getattr(module, "TITLE", slug)),
                              str(getattr(module, "DESCRIPTION", "")), path, factory, "", listed))
    return pages


def _session_view(info: PageInfo):
    """The viewable of one session: the page, or its error, inside a simple frame."""
    import panel as pn

    header = pn.pane.HTML(
        f"<div style='display:flex;gap:1em;align-items:baseline'>"
        f"<a href='./' style='text-decoration:none'>&larr; Workbench</a>"
        f"<h2 style='margin:0'>{html.escape(info.title)}</h2></div>",
        sizing_mode="stretch_width", css_classes=["wb-header"])
    if info.factory is None:
        body = pn.pane.Alert(f"This page could not be loaded:\n\n```\n{info.error}\n```", alert_type="danger")
    else:
        try:
            body = info.factory()
        except Exception as exc:  # a page bug is shown in this session only
            log.exception("page %s failed", info.slug)
            body = pn.pane.Alert(
                f"This page failed to build: **{type(exc).__name__}: {html.escape(str(exc))}**",
                alert_type="danger", css_classes=["wb-status"])
    return pn.Column(header, body, sizing_mode="stretch_width")


_FAVICON = ("data:image/svg+xml,"
            "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
            "%3Cpath d='M1 2 Q5 14 15 14' stroke='%231f77b4' stroke-width='2' fill='none'/%3E%3C/svg%3E")


def index_html(pages: list[PageInfo]) -> str:
    """The static index page: a card per listed page with its title and description."""
    cards = []
    for p in pages:
        if not p.listed:
            continue
        note = " <em>(failed to load)</em>" if p.error else ""
        cards.append(
            f"<a class='card' href='./{html.escape(p.slug)}' data-slug='{html.escape(p.slug)}'>"
            f"<h2>{html.escape(p.title)}{note}</h2><p>{html.escape(p.description)}</p></a>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Workbench</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{_FAVICON}">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; padding: 0 1em; }}
h1 {{ margin-bottom: 0.2em; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(17em, 1fr)); gap: 1em; }}
.card {{ display: block; border: 1px solid #ddd; border-radius: 8px; padding: 0.8em 1em;
        text-decoration: none; color: inherit; }}
.card:hover {{ border-color: #1f77b4; box-shadow: 0 2px 6px rgba(0,0,0,0.1); }}
.card h2 {{ font-size: 1.1em; margin: 0 0 0.4em 0; color: #1f77b4; }}
.card p {{ margin: 0; font-size: 0.95em; }}
</style></head>
<body><h1>Workbench</h1>
<p>Watch iterative solvers and optimizers converge, and turn their knobs while they run.</p>
<div class="grid">{''.join(cards)}</div>
</body></html>
"""


def health() -> dict:
    """Counts the ``/health`` route reports (live components, scheduled callbacks)."""
    import panel as pn

    from .live import STATS, active_callbacks, live_components

    panel_callbacks = sum(1 for cbs in list(pn.state._periodic.values()) for cb in cbs if cb.running)
    return {
        "status": "ok",
        "live_components": live_components(),
        "periodic_callbacks": active_callbacks(),
        "panel_periodic_callbacks": panel_callbacks,
        "stats": dict(STATS),
    }


def warm_up(pages: list[PageInfo]) -> None:
    """Build every page once, outside any session, so the first visitor does not pay the imports
    (PyAMG, numba kernels, Bokeh models). Panel's own ``warm=True`` is not used: sessions it
    generates leave Panel's resource mode such that later sessions may get CDN stylesheet URLs."""
    import gc

    from .live import _LIVE

    before = set(_LIVE)
    for info in pages:
        if info.factory is None:
            continue
        try:
            info.factory()
        except Exception:  # the page reports its own error when a visitor opens it
            log.warning("warming page %s failed", info.slug, exc_info=True)
    # The throw-away components must not count as live sessions (some pages keep
    # references to what they built, so garbage collection alone is not enough).
    for comp in set(_LIVE) - before:
        comp._on_session_destroyed(None)
    gc.collect()


def send_websocket_frames_at_once() -> None:
    """Turn off Nagle's algorithm on the sessions' websockets (idempotent).

    Bokeh sends every document message as several websocket frames (header,
    metadata, content, buffers). With Nagle's algorithm on, a small frame that
    follows an unacknowledged one waits for the browser's delayed ACK, about
    40 ms on Linux: the first document, and then every batched plot update,
    reaches the browser that much later. Tornado leaves the flag to the
    application ("applications that send many small messages may want to call
    this"); Bokeh's websocket handler does not set it, so it is set here as
    each connection opens.
    """
    from bokeh.server.views.ws import WSHandler

    if getattr(WSHandler.open, "_workbench_nodelay", False):
        return
    bokeh_open = WSHandler.open

    def open_without_delay(self, *args, **kwargs):
        self.set_nodelay(True)
        return bokeh_open(self, *args, **kwargs)

    open_without_delay._workbench_nodelay = True
    WSHandler.open = open_without_delay


def run_widget_events_with_the_document_lock() -> None:
    """Have Panel process button clicks with the session's document lock held (idempotent).

    Works around Panel 1.9 behaviour seen in the browser tests. A widget change
    (a problem setting chosen from a drop-down) waits about 50 ms, its debounce
    window, before Panel processes it. A click that arrives in that window
    (Step, straight after choosing) goes through ``Syncable._event_coroutine``,
    which first runs the pending change and then the click, without the document
    lock. A change handler that updates Bokeh models (the plots being cleared
    for the new problem) then fails with "_pending_writes should be non-None
    when we have a document lock", and the click is lost. Marking the coroutine
    ``lock``, the flag that ``panel.io.with_lock`` sets on a callback, makes
    Panel run it under the lock, as it runs a change that arrives on its own.
    """
    from panel.reactive import Syncable

    Syncable._event_coroutine.lock = True


LOCAL_CDN_ROOT = "/panel-cdn/"


class _ClosedTabNoise:
    """A logging filter that drops "Task exception was never retrieved" records whose
    exception is a websocket or stream closed under a pending write: a tab closed while its
    run played. Nothing is lost (the session is being discarded) and the traceback in the
    server log reads like a crash. Any other record passes."""

    def filter(self, record) -> bool:
        # asyncio's default exception handler logs the task's exception as exc_info
        exc = record.exc_info[1] if record.exc_info else None
        closed = type(exc).__name__ in ("WebSocketClosedError", "StreamClosedError")
        return not (closed and "never retrieved" in str(record.msg))


def quiet_closed_tabs() -> None:
    """Install :class:`_ClosedTabNoise` on the ``asyncio`` logger (idempotent)."""
    import logging

    log = logging.getLogger("asyncio")
    if not any(isinstance(f, _ClosedTabNoise) for f in log.filters):
        log.addFilter(_ClosedTabNoise())


def use_local_cdn() -> None:
    """Make Panel's CDN root a path on this server, before Panel is imported.

    Panel builds some component stylesheets with ``cdn.holoviz.org`` URLs and
    rewrites them to the server's own copy only when the document already knows
    its ``dist_url``; models created before that (or outside a request) keep the
    CDN address, which an offline classroom machine cannot reach. Panel reads
    ``PANEL_CDN_ROOT`` for air-gapped deployments: pointing it at a route this
    server answers makes every such URL local. Does nothing if Panel was
    imported already (the root is read at import) or the variable is set.
    """
    import os
    import sys

    if "panel" not in sys.modules:
        os.environ.setdefault("PANEL_CDN_ROOT", LOCAL_CDN_ROOT)


def make_server(pages: list[PageInfo], *, port: int = 5006, address: str = "127.0.0.1",
                websocket_origins: list[str] | None = None, basic_auth: str | None = None,
                cookie_secret: str | None = None, session_lifetime_ms: int = 15_000,
                show: bool = False, warm: bool = True):
    """A (not yet started) Panel/Bokeh server for ``pages``, with the index and ``/health``.

    ``warm=True`` builds every page once at start-up (:func:`warm_up`), so the
    imports (numba kernels, PyAMG, ...) are paid before the first visitor arrives.
    """
    use_local_cdn()
    import panel as pn
    from panel.io.resources import CDN_DIST, DIST_DIR
    from tornado.web import RequestHandler

    class HealthHandler(RequestHandler):
        def get(self):
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "no-store")
            self.write(json.dumps(health()))

    if not pages:
        raise MalformedInput("there are no pages to serve; add apps/<slug>.py files with a page() function.")
    send_websocket_frames_at_once()
    run_widget_events_with_the_document_lock()
    quiet_closed_tabs()
    if warm:
        warm_up(pages)
    seen = set()
    for p in pages:
        if p.slug in seen:
            raise MalformedInput(f"two pages are called {p.slug!r}; rename one of the files.")
        seen.add(p.slug)
    apps = {p.slug: (lambda info=p: _session_view(info)) for p in pages}
    titles = {p.slug: f"Workbench: {p.title}" for p in pages}
    index_dir = Path(tempfile.mkdtemp(prefix="workbench_index_"))
    index_path = index_dir / "index.html"
    index_path.write_text(index_html(pages), encoding="utf-8")
    origins = list(websocket_origins or [])
    if not origins:
        origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    kwargs = {}
    if basic_auth:
        import secrets

        kwargs["basic_auth"] = basic_auth
        kwargs["cookie_secret"] = cookie_secret or secrets.token_hex(32)
    check_ms = max(500, min(17_000, session_lifetime_ms))
    if CDN_DIST.startswith("/"):
        # Panel's fallback stylesheet URLs (see use_local_cdn) are answered from its own dist folder.
        kwargs["static_dirs"] = {CDN_DIST.strip("/"): str(DIST_DIR)}
    return pn.serve(
        apps, port=port, address=address, websocket_origin=origins, show=show, start=False,
        title=titles, index=str(index_path), extra_patterns=[(r"/health", HealthHandler)],
        unused_session_lifetime_milliseconds=session_lifetime_ms,
        check_unused_sessions_milliseconds=check_ms, **kwargs,
    )
