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
    if not 0 < args.session_timeout <= 86_400:  # (NaN fails this too)
        raise InvalidParameter(f"--session-timeout is seconds before a closed tab's session is cleaned up: "
                               f"more than 0 and at most a day (86400); got {args.session_timeout}.")
    # Before the pages are built (tens of seconds): a port in use or an address that is not
    # this machine's is a one-line error now, not a traceback after the warm-up.
    check_can_listen(args.address, args.port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pages = discover_pages(args.apps or default_apps_dir())
    for extra in args.extra_pages:
        pages += discover_pages(extra, listed=False)
    try:
        server = make_server(
            pages, port=args.port, address=args.address, websocket_origins=args.allow_websocket_origin,
            basic_auth=args.basic_auth, cookie_secret=args.cookie_secret,
            session_lifetime_ms=int(args.session_timeout * 1000), show=False,
        )
        server.start()
    except OSError as exc:  # the port was taken during the warm-up
        raise InvalidParameter(_listen_error(args.address, args.port, exc)) from None
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


def _listen_error(address: str, port: int, exc: OSError) -> str:
    import errno
    import socket

    if isinstance(exc, socket.gaierror):
        return (f"--address {address} is not a name or address of this machine ({exc.strerror}); use "
                "127.0.0.1 (this machine only) or 0.0.0.0 (every interface).")
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {address} is already in use (another `workbench serve`?); stop that "
                "server, or pick another port with --port (--port 0 picks a free one).")
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}; use a port above 1023, e.g. --port 5006."
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"--address {address} is not an address of this machine; use 127.0.0.1 or 0.0.0.0, or "
                "one of this machine's own addresses.")
    return f"cannot listen on {address}:{port}: {exc.strerror or exc}."


def check_can_listen(address: str, port: int) -> None:
    """Bind ``address:port`` once and let go, as the server will (Tornado's ``bind_sockets``, which
    skips an address family the machine lacks, e.g. ``localhost`` -> ``::1`` without IPv6);
    an error is a sentence."""
    from tornado.netutil import bind_sockets

    from ..core import InvalidParameter

    try:
        sockets = bind_sockets(port, address)
    except OSError as exc:
        raise InvalidParameter(_listen_error(address, port, exc)) from None
    for sock in sockets:
        sock.close()
