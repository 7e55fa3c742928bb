"""Run records: the plain, picklable form of a finished run that the store keeps.

A record is built where the run happened (a Dask worker, a notebook, the
CLI) and travels to the store as plain data: JSON-able fields plus the trace
as ``np.savez_compressed`` bytes. Nothing in a record refers to live objects,
so a sweep on a remote cluster ships records back to the one process that
writes the SQLite file.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import platform
import time
from typing import Any, Iterable

import numpy as np

from ..core import MalformedInput, Result, Status, Trace, jsonable

__all__ = [
    "canonical_json",
    "run_key",
    "encode_trace",
    "decode_trace",
    "package_versions",
    "record_from_result",
    "flatten_params",
    "short_names",
]

#: Packages whose versions are stored with every run (those a run's numbers depend on).
VERSIONED_PACKAGES = ("workbench", "numpy", "scipy", "pyamg", "numba", "torch", "param")


def _normalise(value: Any) -> Any:
    """JSON-able value with floats that are integral kept apart from ints.

    ``1.0`` and ``1`` hash differently on purpose: ``omega: 1`` in YAML is an
    int, and param may treat it as such; we keep what the user wrote.
    """
    value = jsonable(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        # 12 significant digits: linspace round-off never makes two "equal" runs differ.
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys: the same spec always gives the same text."""
    return json.dumps(_normalise(obj), sort_keys=True, separators=(",", ":"))


def run_key(run_spec: dict) -> str:
    """The identity of a run: SHA-256 of the canonical JSON of its full run spec.

    The spec holds the method (name and parameters), the problem (name and
    parameters), the stopping rule and the seed; two runs with the same key
    compute the same thing, so a sweep that finds a key in the store skips it.
    """
    spec = {k: run_spec.get(k) for k in ("method", "problem", "stop", "seed")}
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


def encode_trace(trace: Trace | dict) -> bytes:
    """The full trace as compressed ``.npz`` bytes (every iteration, every column)."""
    columns = trace.to_dict() if isinstance(trace, Trace) else dict(trace)
    buf = io.BytesIO()
    # Column names become archive member names; index them so any text is allowed.
    names = list(columns)
    arrays = {f"c{i}": np.asarray(columns[name], dtype=float) for i, name in enumerate(names)}
    np.savez_compressed(buf, __names__=np.array(names, dtype=str), **arrays)
    return buf.getvalue()


def decode_trace(blob: bytes | None) -> Trace:
    """Inverse of :func:`encode_trace`; raises :class:`MalformedInput` on damaged bytes."""
    if not blob:
        return Trace()
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            names = [str(n) for n in npz["__names__"]]
            return Trace.from_dict({name: npz[f"c{i}"] for i, name in enumerate(names)})
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ValueError, ...
        raise MalformedInput(
            f"a stored trace could not be read ({type(exc).__name__}: {exc}); the run store "
            "is damaged: rerun the sweep into a fresh store."
        ) from None


def package_versions() -> dict[str, str]:
    """Versions of the packages a run depends on (those installed), looked up once per process."""
    return dict(_package_versions())


@functools.lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def flatten_params(run_spec: dict) -> dict[str, Any]:
    """``{"method.omega": 1.5, "problem.n": 32, "seed": 0, ...}`` from a run spec."""
    flat: dict[str, Any] = {}
    for part in ("method", "problem"):
        for key, value in ((run_spec.get(part) or {}).get("params") or {}).items():
            flat[f"{part}.{key}"] = value
    for key, value in (run_spec.get("stop") or {}).items():
        flat[f"stop.{key}"] = value
    if run_spec.get("seed") is not None:
        flat["seed"] = run_spec["seed"]
    return jsonable(flat)


def short_names(addresses: Iterable[str]) -> dict[str, str]:
    """``address -> name`` for labels, axes and titles: ``omega`` for ``method.omega``, unless two
    addresses would read the same (``method.seed`` and ``problem.seed``), which keep their part."""
    addresses = list(dict.fromkeys(addresses))
    short = {a: a.split(".", 1)[-1] for a in addresses}
    clashing = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {a: (a if s in clashing else s) for a, s in short.items()}


def record_from_result(
    result: Result,
    *,
    run_spec: dict | None = None,
    params: dict | None = None,
    seed: int | None = None,
    started: float | None = None,
    total_time: float | None = None,
) -> dict:
    """A store record from a core :class:`~workbench.core.Result`.

    ``run_spec`` defaults to ``result.spec()`` (plus ``seed``); ``params`` are
    the parameters worth showing (a sweep passes the swept ones).
    """
    if run_spec is None:
        run_spec = result.spec()
        if seed is not None:
            run_spec["seed"] = seed
    run_spec = jsonable(run_spec)
    finished = time.time()
    return {
        "key": run_key(run_spec),
        "spec": run_spec,
        "method": (run_spec.get("method") or {}).get("name", ""),
        "problem": (run_spec.get("problem") or {}).get("name", ""),
        "params": jsonable(params if params is not None else flatten_params(run_spec)),
        "seed": run_spec.get("seed"),
        "status": result.status.label,
        "message": result.message,
        "iterations": int(result.iterations),
        "wall_time": float(result.wall_time),
        "total_time": float(total_time if total_time is not None else result.wall_time),
        "started": float(started if started is not None else finished - result.wall_time),
        "finished": finished,
        "final": jsonable(result.trace.last()),
        "versions": package_versions(),
        "host": platform.node(),
        "trace": encode_trace(result.trace),
    }


def failed_record(run_spec: dict, message: str, *, params: dict | None = None,
                  started: float | None = None) -> dict:
    """A record for a run that could not even start (bad parameters, unknown names...)."""
    run_spec = jsonable(run_spec)
    now = time.time()
    return {
        "key": run_key(run_spec),
        "spec": run_spec,
        "method": (run_spec.get("method") or {}).get("name", ""),
        "problem": (run_spec.get("problem") or {}).get("name", ""),
        "params": jsonable(params if params is not None else flatten_params(run_spec)),
        "seed": run_spec.get("seed"),
        "status": Status.FAILED.label,
        "message": message,
        "iterations": 0,
        "wall_time": 0.0,
        "total_time": now - (started or now),
        "started": started or now,
        "finished": now,
        "final": {},
        "versions": package_versions(),
        "host": platform.node(),
        "trace": encode_trace({}),
    }
