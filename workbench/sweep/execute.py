"""Executing runs where the work happens (this process or a Dask worker).

:func:`execute_run` turns one run spec into a store record through the core
(``wb.from_spec(spec).run()``, the one run loop). It never raises: bad
parameters, unknown names and errors inside the method all give a record
with status ``failed`` and the error's message, so one bad point never
stops a sweep. :func:`execute_batch` runs several specs in one call: a Dask
task runs one batch, so that it does enough work to pay for its scheduling.
"""
from __future__ import annotations

import os
import random
import time

import numpy as np

from ..core import WorkbenchError, from_spec
from ..core.registry import with_run_seed
from ..store.records import failed_record, record_from_result

__all__ = ["execute_run", "execute_batch", "seeded_spec"]


def seeded_spec(run_spec: dict) -> dict:
    """The spec handed to :func:`workbench.from_spec`: the run seed filled into ``seed`` params.

    A problem or method with a ``seed`` parameter that the spec leaves unset
    receives the run seed; an explicit value wins (:func:`workbench.core.registry.with_run_seed`,
    which ``from_spec`` also applies to a stored spec, so a stored run replays).
    """
    spec = {
        "kind": "run",
        "method": {"name": run_spec["method"]["name"], "params": dict(run_spec["method"].get("params") or {})},
        "problem": {"name": run_spec["problem"]["name"], "params": dict(run_spec["problem"].get("params") or {})},
        "stop": dict(run_spec.get("stop") or {}),
    }
    if run_spec.get("seed") is not None:
        spec = with_run_seed({**spec, "seed": run_spec["seed"]})
        del spec["seed"]
    return spec


def execute_run(run_spec: dict, params: dict | None = None) -> dict:
    """Run one spec through the core and return its store record; never raises."""
    started = time.time()
    t0 = time.perf_counter()
    try:
        seed = run_spec.get("seed")
        if seed is not None:
            # Methods that draw from the global generators still repeat exactly.
            np.random.seed(int(seed) % 2**32)
            random.seed(seed)
        runner = from_spec(seeded_spec(run_spec))
        # A diverging run's overflow warnings would flood the sweep's terminal; its status
        # (diverged / nonfinite) and message are what is stored and reported.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = runner.run()
    except WorkbenchError as exc:
        return failed_record(run_spec, f"Failed: {exc}", params=params, started=started)
    except Exception as exc:  # a bug in a method or problem must not end the sweep
        return failed_record(run_spec, f"Failed: {type(exc).__name__}: {exc}", params=params, started=started)
    return record_from_result(result, run_spec=run_spec, params=params, started=started,
                              total_time=time.perf_counter() - t0)


def execute_batch(items: list[tuple[dict, dict | None]]) -> list[dict]:
    """Run ``(run_spec, params)`` pairs one after the other; one record each, in order.

    Each record also carries ``pid``, the process that ran it (not stored; the
    sweep uses it to discount a worker's first run, which pays for lazy imports).
    """
    pid = os.getpid()
    return [{**execute_run(spec, params), "pid": pid} for spec, params in items]
