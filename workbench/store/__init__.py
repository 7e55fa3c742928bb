"""The run store: every finished run, its spec, status, timings, versions and full trace.

SQLite in WAL mode is the embedded default: one file, created on first use,
safe for several writing processes. ``workbench runs list|show|export`` reads it.

Examples
--------
>>> import workbench as wb, tempfile, os
>>> store = wb.store.RunStore(os.path.join(tempfile.mkdtemp(), "runs.sqlite"))
>>> run_id = store.save(wb.run(wb.linear.SOR(omega=1.8), wb.problems.poisson2d(8)))
>>> stored = store.load(run_id)
>>> stored.status.label, len(stored.trace) == stored.iterations + 1
('converged', True)
"""
from __future__ import annotations

from .records import (
    canonical_json,
    decode_trace,
    encode_trace,
    failed_record,
    flatten_params,
    package_versions,
    record_from_result,
    run_key,
)
from .sqlite import RunStore, StoredRun, StoreError, default_store_path, open_store

__all__ = [
    "RunStore",
    "StoredRun",
    "StoreError",
    "default_store_path",
    "open_store",
    "canonical_json",
    "run_key",
    "encode_trace",
    "decode_trace",
    "failed_record",
    "flatten_params",
    "package_versions",
    "record_from_result",
]
