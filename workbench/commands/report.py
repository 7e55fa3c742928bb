"""``workbench report (--sweep NAME | --runs IDS) -o report.html``: a self-contained report."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("report", help="Write a self-contained HTML report (or PNG figures) of stored runs.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--sweep", default=None, help="Report on every run of this sweep.")
    which.add_argument("--runs", default=None, metavar="IDS",
                       help="Comma-separated run ids (see `workbench runs list`), e.g. 1,2,5-9.")
    p.add_argument("-o", "--output", required=True,
                   help="Output .html file; with --format png, a folder for the images.")
    p.add_argument("--format", choices=["html", "png"], default="html",
                   help="html (interactive, one file, default) or png (one image per figure; needs Chromium).")
    p.add_argument("--title", default=None, help="Report title (default: the sweep name).")
    p.add_argument("--store", default=None,
                   help="Run store file (default $WORKBENCH_STORE or ./workbench-runs.sqlite).")
    p.set_defaults(func=main)


#: Runs one report shows (a 1000-run sweep makes a 3 MB page; far more would not open).
MAX_REPORT_RUNS = 20_000


def parse_ids(text: str) -> list[int]:
    from ..core import InvalidParameter

    ids: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            numbers = part.split("-", 1)
            if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in numbers):
                # (SQLite's integers stop at 2^63: a longer id is no run's, and would overflow the query)
                raise ValueError(part)
            if "-" in part:
                lo, hi = (int(v) for v in numbers)
                if hi < lo:
                    raise InvalidParameter(f"the range {part} runs backwards; write the smaller id first, "
                                           f"e.g. {hi}-{lo}.")
                if hi - lo >= MAX_REPORT_RUNS:
                    raise InvalidParameter(f"the range {part} has {hi - lo + 1} ids; a report shows at most "
                                           f"{MAX_REPORT_RUNS} runs. Choose fewer, or report on --sweep.")
                ids.extend(range(lo, hi + 1))
            else:
                ids.append(int(part))
        except InvalidParameter:
            raise
        except ValueError:
            raise InvalidParameter(f"cannot read run ids {text!r}; write e.g. 1,2,5-9.") from None
    if not ids:
        raise InvalidParameter("no run ids given; write e.g. --runs 1,2,5-9.")
    if len(ids) > MAX_REPORT_RUNS:
        raise InvalidParameter(f"{len(ids)} run ids; a report shows at most {MAX_REPORT_RUNS} runs.")
    return list(dict.fromkeys(ids))  # each run once, in the order given


def main(args) -> int:
    from ..report import export_html, export_png
    from ..store import StoreError, open_store

    from pathlib import Path

    from ._common import check_output_path

    if args.format == "html":
        check_output_path(args.output, "-o", "report.html")
    elif Path(args.output).exists() and not Path(args.output).is_dir():
        from ..core import InvalidParameter

        raise InvalidParameter(f"-o {args.output} is a file; with --format png, -o names a folder for the images.")
    store = open_store(args.store or None, must_exist=True)
    if args.sweep is not None:
        store.sweep_spec(args.sweep)
        runs = store.query(sweep=args.sweep)
        from .runs import _warn_damaged

        _warn_damaged(store)
        title = args.title or f"Sweep {args.sweep}"
        subtitle = f"sweep {args.sweep} in {store.path}"
    else:
        from ..core import UnknownName
        from .runs import _warn_damaged

        ids = parse_ids(args.runs)
        # as with --sweep, a damaged run is skipped with a warning rather than ending the report
        by_id = {r.id: r for r in store.query(ids=ids)}
        _warn_damaged(store)
        missing = [i for i in ids if i not in by_id and i not in store.damaged_ids]
        if missing:
            raise UnknownName(f"there is no run {', '.join(map(str, missing))} in {str(store.path)!r}; "
                              "`workbench runs list` shows the stored runs.")
        runs = [by_id[i] for i in ids if i in by_id]  # in the order given
        if not runs:
            raise StoreError(f"every run of --runs {args.runs} is damaged (see the warnings above); "
                             "`workbench runs delete` removes them.")
        title = args.title or f"Runs {args.runs}"
        subtitle = f"store {store.path}"
    if not runs and store.damaged_ids:
        raise StoreError(f"every stored run of the sweep {args.sweep!r} is damaged (see the warnings above); "
                         "`workbench runs delete` removes them, and `workbench sweep` then runs them again.")
    if not runs:
        raise StoreError(f"the sweep {args.sweep!r} has no stored runs yet; run it with `workbench sweep`.")
    if args.format == "png":
        try:
            written = export_png(runs, args.output, store=store)
        except OSError as exc:
            from ..core import InvalidParameter

            raise InvalidParameter(f"could not write the figures to -o {args.output}: {exc.strerror or exc}; "
                                   "choose a folder you can write, or free some space.") from None
        for w in written:
            print(w)
        print(f"{len(written)} figures written to {args.output}")
    else:
        try:
            out = export_html(runs, args.output, title=title, store=store, subtitle=subtitle)
        except OSError as exc:
            from ..core import InvalidParameter

            raise InvalidParameter(f"could not write -o {args.output}: {exc.strerror or exc}; free some space or "
                                   "choose another path.") from None
        print(f"report of {len(runs)} run{'s' if len(runs) != 1 else ''} written to {out}")
    return 0
