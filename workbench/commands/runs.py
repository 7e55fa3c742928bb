"""``workbench runs list|show|export``: look into the run store."""
from __future__ import annotations

import datetime as _dt
import json
from typing import Callable


def register(sub) -> None:
    p = sub.add_parser("runs", help="List, show or export the runs in the run store.")
    p.add_argument("--store", default=None,
                   help="Run store file (default $WORKBENCH_STORE or ./workbench-runs.sqlite).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    import argparse

    def store_option(parser):
        # Also after the action (`runs list --store X`), as for `sweep` and `report`.
        parser.add_argument("--store", default=argparse.SUPPRESS, help="Run store file (as above).")

    ls = actions.add_parser("list", help="One line per run (or per sweep with --sweeps).")
    ls.add_argument("--sweep", default=None, help="Only the runs of this sweep.")
    ls.add_argument("--status", default=None, help="Only runs with this status (converged, failed, ...).")
    ls.add_argument("--method", default=None, help="Only runs of this method.")
    ls.add_argument("--limit", type=int, default=None, help="At most this many runs.")
    ls.add_argument("--sweeps", action="store_true", help="List the sweeps instead of the runs.")
    store_option(ls)
    ls.set_defaults(func=list_runs)

    show = actions.add_parser("show", help="Everything stored about one run.")
    show.add_argument("run_id", help="Run id (from `workbench runs list`) or key.")
    show.add_argument("--trace", type=int, default=5, metavar="N", help="Show the first and last N trace rows.")
    store_option(show)
    show.set_defaults(func=show_run)

    ex = actions.add_parser("export", help="Write runs to JSON (with traces) or CSV (one row per run).")
    ex.add_argument("run_ids", nargs="*", help="Run ids (default: all, or those of --sweep).")
    ex.add_argument("--sweep", default=None, help="Export the runs of this sweep.")
    ex.add_argument("-o", "--output", required=True, help="Output file, .json or .csv.")
    store_option(ex)
    ex.set_defaults(func=export_runs)

    rm = actions.add_parser("delete", help="Remove runs (a damaged one, or failed ones to run again).")
    rm.add_argument("run_ids", nargs="*", help="Run ids (from `workbench runs list`).")
    rm.add_argument("--sweep", default=None, help="With --failed: the failed runs of this sweep.")
    rm.add_argument("--failed", action="store_true", help="Remove the failed runs (of --sweep, or all).")
    store_option(rm)
    rm.set_defaults(func=delete_runs)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _store(args):
    from ..store import open_store

    return open_store(args.store or None, must_exist=True)


def _warn_damaged(store) -> None:
    import sys

    for sentence in store.damaged:
        print(f"workbench: warning: skipped {sentence}", file=sys.stderr)


def _ids(texts) -> list[int]:
    from ..core import MalformedInput

    ids = []
    for text in texts:
        if not (str(text).isascii() and str(text).isdigit()) or len(str(text)) > 18:
            raise MalformedInput(f"{text!r} is not a run id; ids are the numbers `workbench runs list` shows.")
        ids.append(int(text))
    return ids


def delete_runs(args) -> int:
    from ..core import MalformedInput

    store = _store(args)
    if args.failed:
        if args.run_ids:
            raise MalformedInput("give run ids or --failed, not both.")
        if args.sweep is not None:
            store.sweep_spec(args.sweep)
        ids = [r.id for r in store.query(sweep=args.sweep, status="failed")]
    elif args.sweep is not None:
        raise MalformedInput("--sweep goes with --failed; to remove chosen runs, give their ids.")
    else:
        ids = _ids(args.run_ids)
        if not ids:
            raise MalformedInput("give the ids of the runs to delete, or --failed.")
        found = {r.id for r in store.query(ids=ids)}
        missing = sorted(set(ids) - found - set(store.damaged_ids))  # a damaged run can be deleted
        if missing:
            raise MalformedInput(f"there is no run {', '.join(map(str, missing))} in {store.path}; nothing deleted.")
    n = store.delete(ids)
    if not n:
        print(f"no {'failed ' if args.failed else ''}runs to delete in {store.path}")
        return 0
    print(f"{n} run{'s' if n != 1 else ''} deleted from {store.path}; `workbench sweep` runs "
          f"{'it' if n == 1 else 'them'} again")
    return 0


def _when(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def list_runs(args) -> int:
    store = _store(args)
    if args.sweeps:
        sweeps = store.sweeps()
        print(f"{'sweep':<30} {'runs':>6}  updated")
        for s in sweeps:
            print(f"{s['name']:<30} {s['runs']:>6}  {_when(s['updated'])}")
        _warn_damaged(store)
        return 0
    if args.sweep is not None:
        store.sweep_spec(args.sweep)  # unknown sweep -> a clear error
    if args.status is not None:
        from ..core import Status, UnknownName

        labels = [s.label for s in Status]
        if args.status not in labels:
            raise UnknownName(f"no status {args.status!r}; statuses are {', '.join(labels)}.")
    method = args.method
    if method is not None:
        from ..core import get_method_class

        if not store.query(method=method, limit=1):  # (a method registered in user code keeps its stored name)
            method = get_method_class(method).registry_name  # an unknown name says which there are
    if args.limit is not None and args.limit < 1:
        from ..core import InvalidParameter

        raise InvalidParameter(f"--limit is how many runs to list, at least 1; got {args.limit}.")
    runs = store.query(sweep=args.sweep, status=args.status, method=method, limit=args.limit)
    _warn_damaged(store)
    shown = _shown_params(store, args.sweep, runs)
    print(f"{'id':>5}  {'method':<14} {'problem':<18} {'status':<10} {'iters':>7} {'time (s)':>9}  parameters")
    for r in runs:
        params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown(r).items())
        print(f"{r.id:>5}  {r.method:<14} {r.problem:<18} {r.status.label:<10} {r.iterations:>7} "
              f"{r.wall_time:>9.3g}  {params}")
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''} in {store.path}")
    return 0


def _shown_params(store, sweep: str | None, runs) -> Callable:
    """The parameters to show for each run. Of a sweep: its swept addresses (stop options
    included), read from each run's spec, since a run another sweep stored first keeps that
    sweep's ``params``. Otherwise a run's stored ``params``, without the stop options that
    are the same for every run listed."""
    from ..sweep.spec import params_of, swept_addresses

    if sweep is not None:
        swept = swept_addresses(store.sweep_spec(sweep))
        return lambda r: params_of(r.spec, swept)
    stop_values: dict[str, set] = {}
    for r in runs:
        for k, v in r.params.items():
            if k.startswith("stop."):
                stop_values.setdefault(k, set()).add(repr(v))
    same = {k for k, values in stop_values.items() if len(values) == 1 and
            all(k in r.params for r in runs)}
    return lambda r: {k: v for k, v in r.params.items() if k not in same}


def show_run(args) -> int:
    import numpy as np

    from ..core import UnknownName

    store = _store(args)
    if str(args.run_id).isascii() and str(args.run_id).isdigit() and len(str(args.run_id)) > 18:
        raise UnknownName(f"there is no run {args.run_id} in {store.path}; `workbench runs list` shows the runs.")
    run = store.load(args.run_id)
    print(f"run {run.id}  ({run.key[:16]}...)")
    print(f"  method   {run.method}  problem {run.problem}  seed {run.seed}")
    print(f"  status   {run.status.label}: {run.message}")
    print(f"  iterations {run.iterations}  run time {run.wall_time:.4g} s  total {run.total_time:.4g} s")
    print(f"  finished {_when(run.finished)} on {run.host}")
    print(f"  versions {', '.join(f'{k} {v}' for k, v in run.versions.items())}")
    print("  spec")
    print("    " + json.dumps(run.spec, indent=2).replace("\n", "\n    "))
    trace = run.trace
    n = len(trace)
    print(f"  trace: {n} rows, columns {', '.join(trace.columns)}")
    if n and args.trace > 0:
        rows = list(range(min(args.trace, n))) + list(range(max(args.trace, n - args.trace), n))
        cols = trace.columns
        print("    " + "  ".join(f"{c:>14}" for c in cols))
        for i in rows:
            print("    " + "  ".join(f"{trace[c][i]:>14.6g}" if np.isfinite(trace[c][i]) else f"{'-':>14}"
                                     for c in cols))
    return 0


def _exported(run) -> dict:
    """A run's summary and trace for the JSON export; a damaged trace is warned about and written as
    ``"trace": null`` with its sentence, so the other runs are still exported (as the CSV does)."""
    import sys

    from ..core import jsonable
    from ..store import StoreError

    try:
        trace = {k: jsonable(v) for k, v in run.trace.to_dict().items()}
    except StoreError as exc:
        print(f"workbench: warning: exported run {run.id} without its trace: {exc}", file=sys.stderr)
        return {**run.summary(), "trace": None, "trace_damaged": str(exc)}
    return {**run.summary(), "trace": trace}


def export_runs(args) -> int:
    import csv
    from pathlib import Path

    from ..core import InvalidParameter, jsonable
    from ._common import check_output_path, finite_or_none, write_json

    out = Path(args.output)
    check_output_path(out, "-o", "runs.json")
    if out.suffix not in (".json", ".csv"):
        raise InvalidParameter(f"export to .json (full, with traces) or .csv (one row per run): give -o "
                               f"{out.with_suffix('.json')} or {out.with_suffix('.csv')}, not {out.name!r}.")
    store = _store(args)
    if args.sweep is not None:
        store.sweep_spec(args.sweep)
    ids = _ids(args.run_ids) if args.run_ids else None
    runs = store.query(sweep=args.sweep, ids=ids)
    _warn_damaged(store)
    if ids is not None:
        # (a damaged run was named in the warning above; only ids with no row at all are missing)
        missing = sorted(set(ids) - {r.id for r in runs} - set(store.damaged_ids))
        if missing:
            where = f"sweep {args.sweep!r} of {store.path}" if args.sweep is not None else str(store.path)
            raise InvalidParameter(f"there is no run {', '.join(map(str, missing))} in {where}; "
                                   "`workbench runs list` shows the runs.")
    if out.suffix == ".json":
        # Strict JSON: NaN and infinity (a diverged run's trace) become null.
        payload = [_exported(r) for r in runs]
        write_json(out, finite_or_none(jsonable(payload)), "-o", indent=1, allow_nan=False, default=str)
    else:
        shown = _shown_params(store, args.sweep, []) if args.sweep is not None else (lambda r: r.params)
        keys: list[str] = []
        for r in runs:
            keys += [k for k in shown(r) if k not in keys]
        try:
            with open(out, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["id", "method", "problem", "status", "iterations", "wall_time", "seed", *keys,
                            "message"])
                for r in runs:
                    w.writerow([r.id, r.method, r.problem, r.status.label, r.iterations, r.wall_time, r.seed,
                                *[shown(r).get(k, "") for k in keys], r.message])
        except OSError as exc:
            raise InvalidParameter(f"could not write -o {out}: {exc.strerror or exc}; free some space or "
                                   "choose another path.") from None
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''} written to {out}")
    return 0
