"""``workbench runs list|show|export``: look into the run store."""
from __future__ import annotations

import datetime as _dt
import json


def register(sub) -> None:
    p = sub.add_parser("runs", help="List, show or export the runs in the run store.")
    p.add_argument("--store", default=None,
                   help="Run store file (default $WORKBENCH_STORE or ./workbench-runs.sqlite).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    ls = actions.add_parser("list", help="One line per run (or per sweep with --sweeps).")
    ls.add_argument("--sweep", default=None, help="Only the runs of this sweep.")
    ls.add_argument("--status", default=None, help="Only runs with this status (converged, failed, ...).")
    ls.add_argument("--method", default=None, help="Only runs of this method.")
    ls.add_argument("--limit", type=int, default=None, help="At most this many runs.")
    ls.add_argument("--sweeps", action="store_true", help="List the sweeps instead of the runs.")
    ls.set_defaults(func=list_runs)

    show = actions.add_parser("show", help="Everything stored about one run.")
    show.add_argument("run_id", help="Run id (from `workbench runs list`) or key.")
    show.add_argument("--trace", type=int, default=5, metavar="N", help="Show the first and last N trace rows.")
    show.set_defaults(func=show_run)

    ex = actions.add_parser("export", help="Write runs to JSON (with traces) or CSV (one row per run).")
    ex.add_argument("run_ids", nargs="*", help="Run ids (default: all, or those of --sweep).")
    ex.add_argument("--sweep", default=None, help="Export the runs of this sweep.")
    ex.add_argument("-o", "--output", required=True, help="Output file, .json or .csv.")
    ex.set_defaults(func=export_runs)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _store(args):
    from ..store import open_store

    return open_store(args.store or None, must_exist=True)


def _when(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def list_runs(args) -> int:
    store = _store(args)
    if args.sweeps:
        sweeps = store.sweeps()
        print(f"{'sweep':<30} {'runs':>6}  updated")
        for s in sweeps:
            print(f"{s['name']:<30} {s['runs']:>6}  {_when(s['updated'])}")
        return 0
    if args.sweep is not None:
        store.sweep_spec(args.sweep)  # unknown sweep -> a clear error
    runs = store.query(sweep=args.sweep, status=args.status, method=args.method, limit=args.limit)
    print(f"{'id':>5}  {'method':<14} {'problem':<18} {'status':<10} {'iters':>7} {'time (s)':>9}  parameters")
    for r in runs:
        params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in r.params.items() if not k.startswith("stop."))
        print(f"{r.id:>5}  {r.method:<14} {r.problem:<18} {r.status.label:<10} {r.iterations:>7} "
              f"{r.wall_time:>9.3g}  {params}")
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''} in {store.path}")
    return 0


def show_run(args) -> int:
    import numpy as np

    store = _store(args)
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


def export_runs(args) -> int:
    import csv
    from pathlib import Path

    from ..core import InvalidParameter, jsonable

    store = _store(args)
    if args.sweep is not None:
        store.sweep_spec(args.sweep)
    ids = [int(i) for i in args.run_ids] if args.run_ids else None
    runs = store.query(sweep=args.sweep, ids=ids)
    out = Path(args.output)
    if out.suffix == ".json":
        payload = [{**r.summary(), "trace": {k: jsonable(v) for k, v in r.trace.to_dict().items()}} for r in runs]
        out.write_text(json.dumps(payload, indent=1, default=str))
    elif out.suffix == ".csv":
        keys: list[str] = []
        for r in runs:
            keys += [k for k in r.params if k not in keys]
        with open(out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "method", "problem", "status", "iterations", "wall_time", "seed", *keys, "message"])
            for r in runs:
                w.writerow([r.id, r.method, r.problem, r.status.label, r.iterations, r.wall_time, r.seed,
                            *[r.params.get(k, "") for k in keys], r.message])
    else:
        raise InvalidParameter(f"export to .json (full, with traces) or .csv (one row per run), not {out.suffix!r}.")
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''} written to {out}")
    return 0
