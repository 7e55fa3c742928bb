"""``workbench serve``: every dashboard page under one server, with an index.

Pages are the files ``apps/<slug>.py`` (see :mod:`workbench.ui.server`); each
is served at ``/<slug>`` and listed on the index at ``/``. The server listens
on 127.0.0.1 by default; for a shared deployment pass ``--address 0.0.0.0``,
``--allow-websocket-origin host:port`` and ``--basic-auth``.
"""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("serve", help="Serve the dashboards (every apps/<slug>.py page) with an index.",
                       description=__doc__)
    p.add_argument("--port", type=int, default=5006, help="Port (default 5006; 0 picks a free one).")
    p.add_argument("--address", default="127.0.0.1",
                   help="Address to listen on (default 127.0.0.1: this machine only).")
    p.add_argument("--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
                   help="Host allowed to open the websocket (repeatable); needed behind a proxy or "
                        "when serving on a public address.")
    p.add_argument("--basic-auth", default=None, metavar="PASSWORD_OR_JSON",
                   help="Panel's basic authentication: a password, or a JSON file of user: password.")
    p.add_argument("--cookie-secret", default=None,
                   help="Secret that signs login cookies (default: random per start).")
    p.add_argument("--apps", default=None, metavar="DIR",
                   help="Folder of pages (default: ./apps, else the apps/ next to the package).")
    p.add_argument("--extra-pages", action="append", default=[], metavar="DIR",
                   help="Further folder of pages served but not listed on the index (tests, drafts).")
    p.add_argument("--session-timeout", type=float, default=15.0, metavar="SECONDS",
                   help="Seconds after a browser disconnects before its session is cleaned up (default 15).")
    p.add_argument("--show", action="store_true", help="Open the index in a browser.")
    p.set_defaults(func=main)


def main(args) -> int:
    import logging

    from ..core import InvalidParameter
    from ..ui.server import default_apps_dir, discover_pages, make_server, use_local_cdn

    use_local_cdn()  # before anything imports Panel

    if not 0 <= args.port <= 65535:
        raise InvalidParameter(f"--port must be between 0 and 65535, got {args.port}.")
    if args.session_timeout <= 0:
        raise InvalidParameter("--session-timeout must be positive.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pages = discover_pages(args.apps or default_apps_dir())
    for extra in args.extra_pages:
        pages += discover_pages(extra, listed=False)
    server = make_server(
        pages, port=args.port, address=args.address, websocket_origins=args.allow_websocket_origin,
        basic_auth=args.basic_auth, cookie_secret=args.cookie_secret,
        session_lifetime_ms=int(args.session_timeout * 1000), show=False,
    )
    server.start()
    from tornado.ioloop import PeriodicCallback

    from ..ui.live import reap_orphans

    # Belt and braces: end live runs whose browser is gone even if Bokeh keeps the session.
    reaper = PeriodicCallback(lambda: reap_orphans(args.session_timeout), 1000)
    reaper.start()
    host = "localhost" if args.address in ("0.0.0.0", "::") else args.address
    url = f"http://{host}:{server.port}/"
    listed = [p for p in pages if p.listed]
    print(f"workbench: serving {len(listed)} page(s) at {url}", flush=True)
    for p in pages:
        flag = "" if p.listed else "  (not listed)"
        err = "  FAILED TO LOAD" if p.error else ""
        print(f"  {url}{p.slug}  {p.title}{flag}{err}", flush=True)
    if args.show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
