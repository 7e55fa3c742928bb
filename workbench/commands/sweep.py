"""``workbench sweep SPEC.yaml``: run a parameter sweep into the run store (Dask by default)."""
from __future__ import annotations

import re
import shlex
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="Run a parameter sweep (YAML spec) on Dask or serially; results go to the run store.",
        description="Runs every point of the sweep that the store does not hold yet, so running the same "
                    "spec again after an interruption finishes only what is missing.")
    p.add_argument("spec", help="Sweep spec (YAML): method, problem, stop, grid/zip/random axes, seeds.")
    p.add_argument("--store", default=None,
                   help="Run store file (SQLite; default $WORKBENCH_STORE or ./workbench-runs.sqlite).")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="Address of a running Dask scheduler (default: start a local cluster).")
    p.add_argument("--workers", type=int, default=2, help="Worker processes of the local cluster (default 2).")
    p.add_argument("--executor", choices=["dask", "serial"], default="dask",
                   help="dask (default) or serial (in this process; for small sweeps and debugging).")
    p.add_argument("--batch-size", type=int, default=None,
                   help="Runs per Dask task (default: sized from pilot runs to about 0.1 s of work).")
    p.add_argument("--retry-failed", action="store_true",
                   help="Run the sweep's failed runs again (a transient error, or a bug fixed since).")
    p.add_argument("--dry-run", action="store_true", help="List the runs and how many are missing; run nothing.")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")
    p.set_defaults(func=main)


def _file_name(name: str) -> str:
    """A sweep's name as a file name: path separators and shell-hostile characters become _."""
    return re.sub(r"[^\w.+-]+", "_", name).strip("._") or "report"


def main(args) -> int:
    from ..store import open_store, run_key
    from ..sweep import SerialExecutor, load_spec, make_executor, run_sweep

    if args.batch_size is not None and args.batch_size < 1:
        from ..core import InvalidParameter

        raise InvalidParameter(f"--batch-size is a number of runs per task, at least 1; got {args.batch_size}.")
    spec = load_spec(args.spec)
    runs = spec.runs()
    if args.dry_run:
        from pathlib import Path

        from ..store import default_store_path

        path = Path(args.store) if args.store else default_store_path()
        # A dry run reads: a store that does not exist yet holds nothing (and is not created).
        existing = open_store(path, must_exist=True) if path.exists() else None
        stored = existing.keys() if existing is not None else set()
        keys = {run_key(r) for r in runs}
        missing = sum(run_key(r) not in stored for r in runs)
        again = (sum(r.key in keys for r in existing.query(status="failed"))
                 if args.retry_failed and existing is not None else 0)
        retried = f": {missing} missing, {again} failed to run again;" if args.retry_failed else ""
        print(f"sweep {spec.name!r}: {len(runs)} runs, {len(runs) - missing} stored, {missing + again} to run "
              f"({retried[2:] + ' ' if retried else ''}store {path}{'' if path.exists() else ', not created yet'}).")
        return 0
    store = open_store(args.store)
    keys = {run_key(r) for r in runs}
    failed = [r.id for r in store.query(status="failed") if r.key in keys] if args.retry_failed else []
    if args.retry_failed and not failed:
        print(f"workbench: no failed runs of {spec.name!r} to run again", file=sys.stderr)
    stored = store.keys()
    missing = sum(run_key(r) not in stored for r in runs) + len(failed)

    def retry():
        # Deleted only once the executor is up: a cluster that does not start (a wrong
        # --scheduler address) leaves the failed runs, and their messages, in the store.
        if failed:
            # (memberships stay: a failed run another sweep shares is back in it once rerun)
            store.delete(failed, keep_memberships=True)
            print(f"workbench: {len(failed)} failed run{'s' if len(failed) != 1 else ''} of {spec.name!r} "
                  "removed, to be run again", file=sys.stderr)

    executor = make_executor(args.executor, scheduler=args.scheduler, n_workers=args.workers)
    if not missing:
        executor = SerialExecutor()  # nothing to run: no cluster to start
        summary = run_sweep(spec, store, executor=executor, progress=False)
    else:
        with executor:
            retry()
            if not args.quiet:
                print(f"workbench: {missing} of {len(runs)} runs to execute {executor.describe()}",
                      file=sys.stderr)
            summary = run_sweep(spec, store, executor=executor, batch_size=args.batch_size,
                                progress=not args.quiet)
    print(summary)
    print(f"  store: {store.path}   report: workbench report --sweep {shlex.quote(spec.name)} "
          f"--store {shlex.quote(str(store.path))} -o {shlex.quote(_file_name(spec.name) + '.html')}")
    if summary.interrupted:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    if summary.ran and summary.failed == summary.ran:
        # Every run of this call failed: most likely one cause (a missing dependency, a setting);
        # the messages are stored, and the exit status says so to scripts.
        print(f"workbench: every run failed; `workbench runs list --sweep {spec.name} --status failed` and "
              "`workbench runs show ID` give the messages.", file=sys.stderr)
        return 1
    return 0 if summary.complete else 1
