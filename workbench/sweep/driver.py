"""Running a sweep into the store: skip what is stored, batch the rest, commit as results arrive."""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import statistics
import time

from ..store import RunStore, open_store, run_key
from .executors import SerialExecutor
from .spec import SweepSpec, load_spec, params_of

__all__ = ["run_sweep", "SweepSummary", "plan_batches"]

#: Each Dask task should compute for at least this long, so that scheduling
#: (a few ms per task) and result transfer stay a small fraction of the work.
TARGET_TASK_SECONDS = 0.1


@dataclasses.dataclass
class SweepSummary:
    """What a call of :func:`run_sweep` did."""

    name: str
    total: int                 #: runs in the spec
    already: int               #: found in the store before this call
    ran: int                   #: executed and stored by this call
    failed: int                #: of those, stored with status ``failed``
    not_run: int               #: lost to executor errors; a rerun executes them
    errors: list[str]          #: executor error messages (not run errors)
    batch_size: int
    seconds: float
    interrupted: bool = False
    left: int = 0              #: runs that left the sweep because its spec changed
    stored_failed: int = 0     #: of the runs already stored, those that failed
    detached: int = 0          #: stored, but outside the sweep: another process redefined it meanwhile

    @property
    def complete(self) -> bool:
        return self.already + self.ran == self.total

    def __str__(self) -> str:
        parts = [f"sweep {self.name!r}: {self.total} run{'s' if self.total != 1 else ''}, "
                 f"{self.already} already stored, {self.ran} ran "
                 f"in {self.seconds:.1f} s ({self.failed} failed)"]
        if self.not_run:
            parts.append(f"{self.not_run} could not be executed ({self.errors[0] if self.errors else ''}); "
                         "run the same command again to retry them")
        if self.stored_failed:
            one = self.stored_failed == 1
            parts.append(f"{self.stored_failed} of the runs stored before failed (`workbench sweep --retry-failed` "
                         f"runs {'it' if one else 'them'} again)")
        if self.left:
            parts.append(f"the spec of {self.name!r} changed: {self.left} earlier run"
                         f"{'s' if self.left != 1 else ''} outside it left the sweep (still in the store)")
        if self.detached:
            parts.append(f"{self.detached} run{'s' if self.detached != 1 else ''} finished after another process "
                         f"ran a different spec under the name {self.name!r}: stored, but not part of the sweep "
                         "(run this spec under another name, or again to attach the runs it includes)")
        if self.interrupted:
            parts.append("interrupted: every finished run is stored; run the same command again to finish")
        return "; ".join(parts) + "."


def plan_batches(items: list, seconds_per_run: float, n_workers: int, *, batch_size: int | None = None,
                 target: float = TARGET_TASK_SECONDS) -> list[list]:
    """Split ``items`` into consecutive batches of about ``target`` seconds of work.

    Batches are capped so that every worker still gets about four tasks (load
    balance, and a lost worker loses little), unless ``batch_size`` is given.
    """
    if not items:
        return []
    if batch_size is None:
        size = math.ceil(target / max(seconds_per_run, 1e-6))
        size = min(size, max(1, math.ceil(len(items) / (4 * max(n_workers, 1)))))
    else:
        size = int(batch_size)
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]


def pilot_indices(n_items: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n_items)``, first and last included.

    Grid order puts like runs together (the smallest omegas, SOR's slowest runs,
    come first), so pilots taken from the front would bias the median cost and
    with it the batch size.
    """
    k = min(k, n_items)
    if k <= 0:
        return []
    return sorted({round(i * (n_items - 1) / max(k - 1, 1)) for i in range(k)})


def run_sweep(spec, store: RunStore | str | None = None, *, executor=None, batch_size: int | None = None,
              progress: bool = True, pilot_runs: int = 3) -> SweepSummary:
    """Execute the runs of ``spec`` that the store does not hold yet, storing each as it finishes.

    Parameters
    ----------
    spec : path, YAML text, dict or :class:`SweepSpec`
    store : :class:`~workbench.store.RunStore`, path or None (the default store)
    executor : :class:`SerialExecutor` (default) or :class:`DaskExecutor`
        An executor not yet entered is entered and closed here.
    batch_size : int or None
        Runs per task; by default measured: the first few runs go one per task
        (``pilot_runs`` per worker) and the rest is batched to about 0.1 s of
        work per task.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    SweepSummary

    Examples
    --------
    >>> import workbench as wb, tempfile, os
    >>> store = wb.store.RunStore(os.path.join(tempfile.mkdtemp(), "runs.sqlite"))
    >>> spec = {"name": "demo", "method": "sor", "problem": {"name": "poisson2d", "params": {"n": 8}},
    ...         "grid": {"method.omega": [1.0, 1.5, 1.9]}}
    >>> wb.sweep.run_sweep(spec, store, progress=False).ran
    3
    >>> wb.sweep.run_sweep(spec, store, progress=False).ran   # nothing left to do
    0
    """
    from tqdm.auto import tqdm

    sweep: SweepSpec = load_spec(spec)
    t_start = time.perf_counter()
    run_specs = sweep.runs()  # (its checks first: a refused sweep creates no store)
    store = open_store(store)
    executor = executor if executor is not None else SerialExecutor()
    swept = sweep.swept()
    keys = [run_key(s) for s in run_specs]
    left = store.register_sweep(sweep.name, sweep.to_dict(), keys)  # (to_dict is the text compared below)
    stored = store.keys()
    todo = [(s, params_of(s, swept)) for s, k in zip(run_specs, keys) if k not in stored]
    summary = SweepSummary(sweep.name, len(run_specs), len(run_specs) - len(todo), 0, 0, 0, [], 1, 0.0,
                           left=left)
    if summary.already:
        summary.stored_failed = len(store.query(sweep=sweep.name, status="failed"))
    if not todo:
        summary.seconds = time.perf_counter() - t_start
        return summary

    bar = tqdm(total=len(todo), desc=sweep.name, unit="run", disable=not progress, leave=True)

    registered = sweep.to_dict()
    detached_before = store.detached

    @functools.lru_cache(maxsize=4)
    def members(text: str) -> frozenset:
        """The run keys of a spec stored under this sweep's name by another process."""
        return frozenset(run_key(s) for s in load_spec(json.loads(text)).runs())

    def commit(records):
        store.save_records(records, sweep=sweep.name, sweep_spec=registered, members=members)
        summary.detached = store.detached - detached_before
        summary.ran += len(records)
        summary.failed += sum(r["status"] == "failed" for r in records)
        bar.update(len(records))

    try:
        entered = _enter(executor)
        try:
            pilot_times: list[float] = []
            workers_seen: set = set()
            more, after = None, 0
            if isinstance(executor, SerialExecutor) or batch_size is not None:
                first = plan_batches(todo, 0.0, 1, batch_size=batch_size or 1)
            else:
                # Pilot: the first runs go one per task, so every worker starts at once; when
                # each worker has finished two, the median cost (a worker's first run, which
                # pays for lazy imports, left out) sizes the batches of the rest. Those are
                # submitted while the last pilot tasks still run, so no worker idles.
                n_workers = executor.n_workers
                picks = pilot_indices(len(todo), pilot_runs * n_workers)
                chosen = set(picks)
                first = [[todo[i]] for i in picks]
                rest = [item for i, item in enumerate(todo) if i not in chosen]
                after = min(2 * n_workers, len(first))

                def more():
                    per_run = statistics.median(pilot_times) if pilot_times else TARGET_TASK_SECONDS
                    planned = plan_batches(rest, per_run, n_workers)
                    summary.batch_size = len(planned[0]) if planned else 1
                    return planned
            summary.batch_size = len(first[0]) if first else 1
            for batch, records, error in executor.map(first, more=more, after=after):
                if error is not None:
                    summary.errors.append(error)
                    summary.not_run += len(batch)
                    continue
                if len(batch) == 1 and records[0].get("pid") is not None:
                    pid = records[0]["pid"]
                    if pid in workers_seen:
                        pilot_times.append(records[0]["total_time"])
                    workers_seen.add(pid)
                commit(records)
        finally:
            if entered:
                executor.__exit__(None, None, None)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - t_start
    return summary


def _enter(executor) -> bool:
    """Enter an executor unless it is already running (a Dask executor with a client)."""
    if getattr(executor, "client", None) is not None:
        return False
    executor.__enter__()
    return True
