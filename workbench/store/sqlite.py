"""The run store: one SQLite file in WAL mode, created on first use.

Every run is one row: its full run spec (method, problem, stopping rule,
seed), the parameters worth showing, status and message, timings, package
versions, the last row of metrics and the complete trace as compressed
``.npz`` bytes. Each save is its own transaction, so a run is durable the
moment :meth:`RunStore.save` returns and an interrupted sweep (Ctrl-C, a
killed process) leaves a consistent file behind.

Several processes may write at once: WAL lets readers proceed while one
writer holds the lock, and writers wait (``busy_timeout``) instead of failing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..core import MalformedInput, Result, Status, Trace, UnknownName
from .records import decode_trace, record_from_result, short_names

__all__ = ["RunStore", "StoredRun", "StoreError", "default_store_path", "open_store"]

APP_ID = "workbench-run-store"
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL,
    problem TEXT NOT NULL,
    spec TEXT NOT NULL,
    params TEXT NOT NULL,
    seed INTEGER,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    iterations INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    total_time REAL NOT NULL,
    started REAL NOT NULL,
    finished REAL NOT NULL,
    final TEXT NOT NULL,
    versions TEXT NOT NULL,
    host TEXT NOT NULL,
    trace BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_method ON runs(method, problem);
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
);
"""

_SUMMARY_COLUMNS = (
    "id, key, method, problem, spec, params, seed, status, message, iterations, wall_time, "
    "total_time, started, finished, final, versions, host"
)


class StoreError(MalformedInput):
    """The file given as a run store is not one, is damaged, or cannot be written."""


def default_store_path() -> Path:
    """``$WORKBENCH_STORE`` if set, else ``workbench-runs.sqlite`` in the current folder."""
    return Path(os.environ.get("WORKBENCH_STORE") or "workbench-runs.sqlite")


@dataclasses.dataclass
class StoredRun:
    """One run as kept in the store. ``trace`` is read from the file on first access."""

    id: int
    key: str
    method: str
    problem: str
    spec: dict
    params: dict
    seed: int | None
    status: Status
    message: str
    iterations: int
    wall_time: float
    total_time: float
    started: float
    finished: float
    final: dict
    versions: dict
    host: str
    _store: "RunStore | None" = dataclasses.field(default=None, repr=False, compare=False)
    _trace: Trace | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def trace(self) -> Trace:
        if self._trace is None:
            if self._store is None:
                return Trace()
            self._trace = self._store.load_trace(self.id)
        return self._trace

    @property
    def label(self) -> str:
        """Short human label: method and its swept values, e.g. ``sor omega=1.5 n=32``."""
        # (``method.seed`` and ``problem.seed`` keep their part, or both would read ``seed=0``)
        names = short_names(k for k in self.params if not k.startswith("stop."))
        bits = [f"{name}={_short(self.params[k])}" for k, name in names.items()]
        return f"#{self.id} {self.method} " + " ".join(bits)

    def to_result(self) -> Result:
        """A core :class:`~workbench.core.Result` (no final state; the trace is complete)."""
        return Result(
            status=self.status,
            message=self.message,
            iterations=self.iterations,
            state=None,
            trace=self.trace,
            wall_time=self.wall_time,
            method_spec={"kind": "method", **(self.spec.get("method") or {})},
            problem_spec={"kind": "problem", **(self.spec.get("problem") or {})},
            stop=dict(self.spec.get("stop") or {}),
        )

    def summary(self) -> dict:
        return {
            "id": self.id, "key": self.key, "method": self.method, "problem": self.problem,
            "params": self.params, "seed": self.seed, "status": self.status.label,
            "message": self.message, "iterations": self.iterations, "wall_time": self.wall_time,
            "total_time": self.total_time, "started": self.started, "finished": self.finished,
            "final": self.final, "versions": self.versions, "host": self.host, "spec": self.spec,
        }


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _run_ids(run_ids) -> list[int]:
    """A list of run ids, or a sentence: ``"12"`` is not the runs 1 and 2, nor is 3 a list."""
    import numpy as np

    if isinstance(run_ids, (str, bytes, int, float)) or not hasattr(run_ids, "__iter__"):
        raise MalformedInput(f"run ids are a list of whole numbers, e.g. [3, 4]; got {run_ids!r}.")
    ids = []
    for i in run_ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) and not (
                isinstance(i, str) and i.isascii() and i.isdigit()):
            raise MalformedInput(f"run ids are whole numbers, e.g. [3, 4]; got {i!r} in {run_ids!r}.")
        ids.append(int(i))
    return ids


class _Damaged(Exception):
    """A stored value is not what the store writes; the message says which and what it is."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(column: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _Damaged(f"{column} is {_shown(value)}, not text")
    return value


def _json_object(column: str, value: Any) -> dict:
    """A JSON column that the store writes as an object (``{...}``)."""
    if not isinstance(value, (str, bytes)):
        raise _Damaged(f"{column} is {_shown(value)}, not JSON text")
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, undecodable bytes, absurd nesting
        raise _Damaged(f"{column} is not JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise _Damaged(f"{column} is a JSON {type(decoded).__name__} ({_shown(decoded)}), not an object")
    return decoded


def _run_spec(value: Any) -> dict:
    """A run spec: an object whose method and problem (``{"name": ..., "params": {...}}``) and
    stopping rule, where present, are objects too (every reader calls ``.get``/``.items`` on them)."""
    spec = _json_object("spec", value)
    for part in ("method", "problem"):
        sub = spec.get(part)
        if sub is None:
            continue
        if not isinstance(sub, dict):
            raise _Damaged(f"spec.{part} is {_shown(sub)}, not an object")
        if sub.get("name") is not None and not isinstance(sub["name"], str):
            raise _Damaged(f"spec.{part}.name is {_shown(sub['name'])}, not text")
        if sub.get("params") is not None and not isinstance(sub["params"], dict):
            raise _Damaged(f"spec.{part}.params is {_shown(sub['params'])}, not an object")
    if spec.get("stop") is not None and not isinstance(spec["stop"], dict):
        raise _Damaged(f"spec.stop is {_shown(spec['stop'])}, not an object")
    return spec


def _status(value: Any) -> Status:
    try:
        return Status.from_label(value)
    except (ValueError, TypeError):
        raise _Damaged(f"status is {_shown(value)}, not one of {', '.join(s.label for s in Status)}") from None


def _seed(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _Damaged(f"seed is {_shown(value)}, not a whole number")
    return value


def _iterations(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Damaged(f"iterations is {_shown(value)}, not a whole number of at least 0")
    return value


def _seconds(column: str, value: Any) -> float:
    """A duration: a finite number (SQLite keeps text written into a REAL column as text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Damaged(f"{column} is {_shown(value)}, not a number of seconds")
    return float(value)


def _timestamp(column: str, value: Any) -> float:
    """A time (seconds since 1970) that a date can be made of, as `workbench runs` shows it."""
    seconds = _seconds(column, value)
    try:
        datetime.datetime.fromtimestamp(seconds)
    except (OverflowError, OSError, ValueError):
        raise _Damaged(f"{column} is {_shown(value)}, not a time a date can be made of") from None
    return seconds


class RunStore:
    """An SQLite run store (WAL mode), created on first use.

    Parameters
    ----------
    path : str or Path
        The database file; created (with its folder) when missing. A file that
        is not a workbench store raises :class:`StoreError`.
    timeout : float
        Seconds a writer waits for another process's write lock.

    Examples
    --------
    >>> import workbench as wb, tempfile, os
    >>> store = wb.store.RunStore(os.path.join(tempfile.mkdtemp(), "runs.sqlite"))
    >>> run_id = store.save(wb.run(wb.linear.SOR(omega=1.7), wb.problems.poisson2d(8)))
    >>> store.load(run_id).status.label
    'converged'
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 60.0):
        self.path = Path(path) if path is not None else default_store_path()
        self.timeout = float(timeout)
        self._lock = threading.RLock()
        self.damaged: list[str] = []  #: sentences about the damaged rows the last query skipped
        self.damaged_ids: list[int] = []  #: and their ids
        self.damaged_sweeps: list[str] = []  #: names of the damaged sweeps :meth:`sweeps` left out
        self.detached = 0  #: runs :meth:`save_records` stored outside a sweep another process redefined
        #: True when the store could only be opened for reading (read-only storage): listing,
        #: loading and reports work; a write says the store is read-only.
        self.read_only = False
        self._check_file()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if not self.path.is_file() or not _cannot_write(exc):
                raise StoreError(f"cannot open the run store {str(self.path)!r}: {exc}; "
                                 "check the path and its permissions.") from None
            self._open_read_only(exc)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the run store {str(self.path)!r}: {exc}; "
                             "check the path and its permissions.") from None
        with self._guard():
            if not self.read_only:
                # NORMAL is durable in WAL mode up to power loss of the last commit; a
                # killed process never loses a committed run.
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._init_schema()

    def _open_read_only(self, first_error: Exception) -> None:
        """Open an existing store on storage this process cannot write (a read-only mount, a
        shared folder without write permission).

        A WAL database opened read-only still needs its ``-shm`` index beside it, which a
        read-only folder cannot hold. Without a write-ahead log SQLite's ``immutable`` flag
        reads the file alone, which is safe because nobody can write on that storage. With a
        log (a writer killed before merging it, or one merged but not truncated) the file alone
        may miss committed runs: the database and its log are copied to a temporary folder and
        the copy is read (``query_only``), so every committed run is there.
        """
        from urllib.parse import quote

        wal = self.path.with_name(self.path.name + "-wal")
        has_log = wal.exists() and wal.stat().st_size > 0
        attempts = [(self.path, "mode=ro")] + ([] if has_log else [(self.path, "immutable=1")])
        for path, flags in attempts:
            try:
                conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?{flags}", uri=True, timeout=self.timeout,
                                       isolation_level=None, check_same_thread=False)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except sqlite3.Error:
                continue
            self._conn, self.read_only = conn, True
            return
        if has_log:
            import shutil
            import tempfile

            try:
                self._copy = tempfile.TemporaryDirectory(prefix="workbench-store-")
                copy = Path(self._copy.name) / self.path.name
                shutil.copyfile(self.path, copy)
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
                conn = sqlite3.connect(str(copy), timeout=self.timeout, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA query_only = ON")  # a write says the store is read-only
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"the run store {str(self.path)!r} is on storage this process cannot write, and "
                                 f"reading its write-ahead log {wal.name!r} needs a copy, which failed ({exc}); open "
                                 "it once where it can be written, or copy its folder somewhere writable.") from None
            self._conn, self.read_only = conn, True
            return
        raise StoreError(f"cannot open the run store {str(self.path)!r}: {first_error}; it cannot be written "
                         "here and could not be read either; check the path and its permissions.") from None

    # -- opening and validating ----------------------------------------------
    def _check_file(self) -> None:
        p = self.path
        if p.is_dir():
            raise StoreError(f"{str(p)!r} is a folder; give a file path for the run store, e.g. {str(p / 'runs.sqlite')!r}.")
        if p.exists() and p.stat().st_size > 0:
            with open(p, "rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
            if head != SQLITE_MAGIC:
                raise StoreError(
                    f"{str(p)!r} is not a workbench run store (it is not an SQLite database); "
                    "give a new file name or an existing store."
                )

    def _init_schema(self) -> None:
        conn = self._conn
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if row.get("app") != APP_ID:
                self._refuse_foreign_meta(tables, row)
            schema = row.get("schema", 0)
            try:
                version = int(schema)
            except (TypeError, ValueError):
                version = None
            if version is None or isinstance(schema, float) or version < 0:
                raise StoreError(f"{str(self.path)!r} is a damaged run store (its meta record gives the schema "
                                 f"version as {schema!r}, not a whole number) or not a workbench run store; "
                                 "restore a backup, or give a new file name and run the sweeps again.")
            if version > SCHEMA_VERSION:
                raise StoreError(f"{str(self.path)!r} was written by a newer workbench (schema "
                                 f"{schema}); upgrade workbench to read it.")
            return
        if tables - {"sqlite_sequence"}:
            raise StoreError(f"{str(self.path)!r} is an SQLite database of another application "
                             f"(tables {', '.join(sorted(tables))}); give a new file name for the run store.")
        if self.read_only:
            raise StoreError(f"the run store {str(self.path)!r} is empty and read-only; give a store you can "
                             "write with --store, or fix its permissions.")
        with self._transaction() as conn:
            # IF NOT EXISTS / OR IGNORE: another process may have created the schema
            # while this one waited for the write lock.
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('app', ?)", (APP_ID,))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def _refuse_foreign_meta(self, tables: set, meta: dict) -> None:
        """The meta table does not name workbench: tell a damaged store from another program's file.
        A damaged page can read back as NULLs rather than raise, so SQLite's own check decides."""
        problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(5)").fetchall()]
        if problems != ["ok"]:
            first = problems[0].replace("*** in database main ***", "").strip().splitlines()[0]
            raise StoreError(f"{str(self.path)!r} is a damaged run store (SQLite's integrity check: {first}); "
                             "restore a backup, or give a new file name and run the sweeps again.")
        if {"runs", "sweeps", "sweep_runs"} <= tables:
            raise StoreError(f"{str(self.path)!r} has a run store's tables, but its meta record names "
                             f"{meta.get('app')!r}, not {APP_ID!r}; if it is yours, restore a backup; "
                             "otherwise give a new file name.")
        raise StoreError(f"{str(self.path)!r} is an SQLite database but not a workbench run "
                         "store; give a new file name or an existing store.")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's errors into a :class:`StoreError` that says what to do."""
        try:
            yield
        except StoreError:
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"the run store {str(self.path)!r} stayed locked by another process "
                                 f"for {self.timeout:g} s; try again when it finishes.") from None
            if "full" in str(exc):
                raise StoreError(f"the run store {str(self.path)!r} is full ({exc}): free some disk space, then "
                                 "run the same command again; the runs stored so far are kept.") from None
            if "readonly" in str(exc):
                raise StoreError(f"the run store {str(self.path)!r} is read-only ({exc}); give a store you can "
                                 "write with --store, or fix its permissions.") from None
            raise StoreError(f"the run store {str(self.path)!r} cannot be used: {exc}.") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{str(self.path)!r} is damaged or not a workbench run store ({exc}); "
                             "give a new file name or restore a backup.") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
        # busy_timeout rather than deadlocking on a read-to-write upgrade.
        with self._lock, self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            committed = False
            try:
                yield self._conn
                self._conn.execute("COMMIT")
                committed = True
            finally:
                # SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK
                # would raise "no transaction is active" and hide the error that says why.
                # A COMMIT that failed leaves the transaction open: roll that back too.
                if not committed and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            copy = getattr(self, "_copy", None)
            if copy is not None:  # the temporary copy of a read-only store with a log
                copy.cleanup()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # -- writing ---------------------------------------------------------------
    def save(self, result: Result | dict, *, sweep: str | None = None, seed: int | None = None,
             params: dict | None = None) -> int:
        """Store a finished run and return its id (committed before returning).

        ``result`` is a core :class:`~workbench.core.Result` or a record built by
        :func:`workbench.store.records.record_from_result`. A run whose key
        (hash of its full spec) is already stored is not stored twice; its
        existing id is returned.
        """
        record = result if isinstance(result, dict) else record_from_result(result, seed=seed, params=params)
        return self.save_records([record], sweep=sweep)[0]

    def save_records(self, records: Iterable[dict], *, sweep: str | None = None,
                     sweep_spec: dict | None = None, members=None) -> list[int]:
        """Store several records in one transaction; return their ids in order.

        With ``sweep_spec`` (the spec this process registered under ``sweep``) and ``members``
        (a function from a stored spec's JSON text to the run keys that spec holds), a run joins
        the sweep only if the sweep's spec at that moment holds it: another process that
        redefined the sweep (an edited spec run under the same name) keeps the runs its spec
        excludes out of it, and one that wrote the same runs differently (``omega: 1.0`` for
        ``1``) keeps none out. The runs are stored either way; :attr:`detached` counts those
        kept out.
        """
        ids = []
        records = list(records)
        joins = None  # the keys that join the sweep (None: every record's)
        with self._transaction() as conn:
            if sweep is not None and sweep_spec is not None:
                row = conn.execute("SELECT spec FROM sweeps WHERE name = ?", (sweep,)).fetchone()
                if row is None:
                    joins = set()
                elif row[0] != json.dumps(sweep_spec):
                    try:
                        joins = set(members(row[0])) if members is not None else set()
                    except Exception:  # a spec this version cannot read: it holds none of these
                        joins = set()
                if joins is not None:
                    self.detached += sum(rec["key"] not in joins for rec in records)
            for rec in records:
                conn.execute(
                    "INSERT OR IGNORE INTO runs (key, method, problem, spec, params, seed, status, "
                    "message, iterations, wall_time, total_time, started, finished, final, versions, "
                    "host, trace) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        rec["key"], rec["method"], rec["problem"], json.dumps(rec["spec"]),
                        json.dumps(rec["params"]), rec.get("seed"), rec["status"], rec["message"],
                        int(rec["iterations"]), float(rec["wall_time"]), float(rec["total_time"]),
                        float(rec["started"]), float(rec["finished"]), json.dumps(rec["final"]),
                        json.dumps(rec["versions"]), rec.get("host", ""), sqlite3.Binary(rec["trace"]),
                    ),
                )
                ids.append(conn.execute("SELECT id FROM runs WHERE key = ?", (rec["key"],)).fetchone()[0])
                if sweep is not None and (joins is None or rec["key"] in joins):
                    conn.execute("INSERT OR IGNORE INTO sweep_runs VALUES (?, ?)", (sweep, rec["key"]))
            if sweep is not None:
                conn.execute("UPDATE sweeps SET updated = ? WHERE name = ?", (time.time(), sweep))
        return ids

    def register_sweep(self, name: str, spec: dict, keys: Iterable[str] = ()) -> int:
        """Record a sweep's spec, and attach already-stored runs with these keys to it.

        A sweep is what its current spec says: when the spec under ``name`` changed (an
        edited YAML file), the runs outside the new spec leave the sweep (they stay in the
        store, under no sweep or their other sweeps). Returns how many left (0 when the spec
        is the one stored).
        """
        now = time.time()
        keys = list(keys)
        with self._transaction() as conn:
            old = conn.execute("SELECT spec FROM sweeps WHERE name = ?", (name,)).fetchone()
            left = 0
            if old is not None:
                # (with the same spec too: runs a store written before save_records checked the
                # spec let in, from a process that ran an older spec under this name, leave)
                current = set(keys)
                members = [k for (k,) in conn.execute("SELECT key FROM sweep_runs WHERE sweep = ?", (name,))]
                gone = [k for k in members if k not in current]
                conn.executemany("DELETE FROM sweep_runs WHERE sweep = ? AND key = ?", [(name, k) for k in gone])
                left = len(gone) if old[0] != json.dumps(spec) else 0
            conn.execute(
                "INSERT INTO sweeps VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, "
                "updated = excluded.updated", (name, json.dumps(spec), now, now))
            conn.executemany(
                "INSERT OR IGNORE INTO sweep_runs SELECT ?, key FROM runs WHERE key = ?",
                [(name, k) for k in keys])
        return left

    # -- reading ---------------------------------------------------------------
    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock, self._guard():
            return self._conn.execute(sql, args).fetchall()

    def _row(self, row: tuple) -> StoredRun:
        """A :class:`StoredRun` from one row; a row whose values are not what the store writes
        (text where a number belongs, JSON that is not an object, a time no date can show)
        raises :class:`StoreError` with the sentence that says how to remove it."""
        (id_, key, method, problem, spec, params, seed, status, message, iterations, wall_time,
         total_time, started, finished, final, versions, host) = row
        try:
            return StoredRun(
                id=id_, key=_text("key", key), method=_text("method", method),
                problem=_text("problem", problem), spec=_run_spec(spec), params=_json_object("params", params),
                seed=_seed(seed), status=_status(status), message=_text("message", message),
                iterations=_iterations(iterations), wall_time=_seconds("wall_time", wall_time),
                total_time=_seconds("total_time", total_time), started=_timestamp("started", started),
                finished=_timestamp("finished", finished), final=_json_object("final", final),
                versions=_json_object("versions", versions), host=_text("host", host), _store=self,
            )
        except _Damaged as exc:
            raise StoreError(f"run {id_} in {str(self.path)!r} is damaged ({exc}); `workbench runs delete "
                             f"{id_}` removes it, and its sweep reruns it.") from None

    def load(self, run_id: int | str) -> StoredRun:
        """One run by id (or by key), trace included."""
        if isinstance(run_id, str) and not (run_id.isascii() and run_id.isdigit()):
            rows = self._read(f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE key = ?", (run_id,))
        else:
            rows = self._read(f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            raise UnknownName(f"there is no run {run_id!r} in {str(self.path)!r}; "
                              "`workbench runs list` shows the stored runs.")
        run = self._row(rows[0])
        run._trace = self.load_trace(run.id)
        return run

    def load_trace(self, run_id: int) -> Trace:
        rows = self._read("SELECT trace FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            return Trace()
        try:
            return decode_trace(rows[0][0])
        except MalformedInput as exc:
            raise StoreError(f"run {run_id}: {exc}; `workbench runs delete {run_id}` removes it, and its "
                             "sweep reruns it.") from None

    def delete(self, run_ids: Iterable[int], *, keep_memberships: bool = False) -> int:
        """Remove these runs (and their sweep memberships); a sweep run again executes them anew.
        Returns how many were removed.

        ``keep_memberships=True`` keeps the runs' places in every sweep (memberships are by run
        key): a run retried for one sweep, stored again under the same key, is back in all of
        them. Until then the sweeps simply do not count it."""
        ids = _run_ids(run_ids)
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._transaction() as conn:
            if not keep_memberships:
                conn.execute(f"DELETE FROM sweep_runs WHERE key IN (SELECT key FROM runs WHERE id IN ({marks}))", ids)
            return conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids).rowcount

    def query(self, *, sweep: str | None = None, status: str | None = None, method: str | None = None,
              problem: str | None = None, ids: Iterable[int] | None = None,
              limit: int | None = None) -> list[StoredRun]:
        """Runs matching every given filter, oldest first; traces load lazily."""
        where, args = [], []
        if sweep is not None:
            where.append("key IN (SELECT key FROM sweep_runs WHERE sweep = ?)")
            args.append(sweep)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if method is not None:
            where.append("method = ?")
            args.append(method)
        if problem is not None:
            where.append("problem = ?")
            args.append(problem)
        if ids is not None:
            ids = _run_ids(ids)
            where.append(f"id IN ({','.join('?' * len(ids))})" if ids else "0")
            args.extend(ids)
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            # SQLite reads a LIMIT past 2**63 - 1 as a float and refuses it; no store holds more rows
            sql += f" LIMIT {min(int(limit), 2**63 - 1)}"
        runs = []
        self.damaged, self.damaged_ids = [], []  # about this query only
        for row in self._read(sql, tuple(args)):
            try:
                runs.append(self._row(row))
            except StoreError as exc:  # one damaged row must not hide the others
                self.damaged.append(str(exc))
                self.damaged_ids.append(row[0])
        return runs

    def keys(self, sweep: str | None = None) -> set[str]:
        """Keys of the stored runs (of one sweep if given)."""
        if sweep is None:
            return {r[0] for r in self._read("SELECT key FROM runs")}
        # (joined with runs: a membership kept for a run being retried is not a stored run)
        return {r[0] for r in self._read("SELECT s.key FROM sweep_runs s JOIN runs r ON r.key = s.key "
                                         "WHERE s.sweep = ?", (sweep,))}

    def count(self, sweep: str | None = None) -> int:
        if sweep is None:
            return self._read("SELECT COUNT(*) FROM runs")[0][0]
        return self._read("SELECT COUNT(*) FROM sweep_runs s JOIN runs r ON r.key = s.key WHERE s.sweep = ?",
                          (sweep,))[0][0]

    def sweeps(self) -> list[dict]:
        """Every readable sweep: name, spec, run count, creation/update times.

        A damaged sweep row (a spec that is not a JSON object, a time that is not one) is
        left out, and its sentence is in :attr:`damaged` (and its name in
        :attr:`damaged_sweeps`), as :meth:`query` does for runs."""
        rows = self._read(
            "SELECT s.name, s.spec, s.created, s.updated, "
            "(SELECT COUNT(*) FROM sweep_runs r JOIN runs u ON u.key = r.key WHERE r.sweep = s.name) "
            "FROM sweeps s ORDER BY s.created")
        self.damaged, self.damaged_ids, self.damaged_sweeps = [], [], []  # about this call only
        out = []
        for n, sp, c, u, k in rows:
            try:
                out.append({"name": _text("name", n), "spec": _json_object("spec", sp),
                            "created": _timestamp("created", c), "updated": _timestamp("updated", u), "runs": k})
            except _Damaged as exc:
                self.damaged.append(self._damaged_sweep(n, exc))
                self.damaged_sweeps.append(n)
        return out

    def _damaged_sweep(self, name, why) -> str:
        return (f"the sweep {name!r} in {str(self.path)!r} is damaged ({why}); run `workbench sweep` "
                "again with its YAML file to store its spec anew (its stored runs are kept).")

    def sweep_spec(self, name: str) -> dict:
        """The spec stored for sweep ``name``; :class:`UnknownName` when there is none, and
        :class:`StoreError` when its row is damaged."""
        rows = self._read("SELECT spec FROM sweeps WHERE name = ?", (name,))
        if not rows:
            known = [s["name"] for s in self.sweeps()] + self.damaged_sweeps
            raise UnknownName(f"there is no sweep {name!r} in {str(self.path)!r}; stored sweeps: "
                              f"{', '.join(map(str, known)) or 'none'}.")
        try:
            return _json_object("spec", rows[0][0])
        except _Damaged as exc:
            raise StoreError(self._damaged_sweep(name, exc)) from None

    def check(self) -> None:
        """Run SQLite's integrity check and decode every trace; raise :class:`StoreError` on damage."""
        rows = self._read("PRAGMA integrity_check")
        if rows != [("ok",)]:
            raise StoreError(f"{str(self.path)!r} failed SQLite's integrity check: "
                             f"{'; '.join(r[0] for r in rows[:5])}.")
        for (run_id,) in self._read("SELECT id FROM runs"):
            self.load_trace(run_id)


def _cannot_write(exc: Exception) -> bool:
    """SQLite's errors for storage that can be read but not written."""
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open database file" in text


def open_store(store: "RunStore | str | os.PathLike | None" = None, *, must_exist: bool = False) -> RunStore:
    """A :class:`RunStore` from a store, a path, or ``None`` (the default path).

    With ``must_exist`` a missing file raises :class:`StoreError` instead of
    creating an empty store (for commands that only read).
    """
    if isinstance(store, RunStore):
        return store
    path = Path(store) if store is not None else default_store_path()
    if must_exist and not path.exists():
        raise StoreError(f"there is no run store at {str(path)!r}; run a sweep first or pass --store PATH.")
    return RunStore(path)

