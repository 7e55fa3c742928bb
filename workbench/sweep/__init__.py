"""Parameter sweeps: grids, zips and random draws over a method's and a problem's parameters.

A sweep spec (YAML or dict) names a method, a problem, a stopping rule and
axes; :func:`run_sweep` executes the runs the store does not hold yet, on a
local Dask cluster, a remote one (``DaskExecutor("tcp://host:port")``) or
serially, and commits every run to the store as it finishes. Each run goes
through the core (``wb.from_spec(spec).run()``); a run that fails is stored
as failed with its message.

Examples
--------
>>> import workbench as wb, tempfile, os
>>> store = wb.store.RunStore(os.path.join(tempfile.mkdtemp(), "runs.sqlite"))
>>> spec = {"name": "omega", "method": "sor", "problem": {"name": "poisson2d", "params": {"n": 8}},
...         "grid": {"method.omega": {"linspace": [1.0, 1.8, 5]}}}
>>> summary = wb.sweep.run_sweep(spec, store, progress=False)
>>> summary.ran, store.count(sweep="omega")
(5, 5)
"""
from __future__ import annotations

from .driver import SweepSummary, plan_batches, run_sweep
from .execute import execute_batch, execute_run, seeded_spec
from .executors import DaskExecutor, SerialExecutor, make_executor
from .spec import SweepSpec, expand, load_spec

__all__ = [
    "SweepSpec",
    "load_spec",
    "expand",
    "run_sweep",
    "SweepSummary",
    "plan_batches",
    "execute_run",
    "execute_batch",
    "seeded_spec",
    "SerialExecutor",
    "DaskExecutor",
    "make_executor",
]
