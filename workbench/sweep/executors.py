"""Where batches of runs execute: in this process, or on a Dask cluster.

An executor takes a list of batches (each a list of ``(run_spec, params)``)
and yields ``(batch, records, error)`` as batches finish, in completion
order; ``error`` is a message when the batch itself could not be executed
(a worker lost too often, a cluster gone), in which case its runs are simply
not stored and a rerun of the sweep picks them up.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
import warnings
from typing import Iterable, Iterator

from ..core import InvalidParameter, WorkbenchError
from ..store.records import failed_record
from .execute import execute_batch

__all__ = ["SerialExecutor", "DaskExecutor", "make_executor"]

Batch = list  # list[tuple[dict, dict | None]]


class SerialExecutor:
    """Runs every batch here, one after the other: for small sweeps, tests and debugging."""

    n_workers = 1
    name = "serial"

    def __enter__(self) -> "SerialExecutor":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def map(self, batches: Iterable[Batch], more=None, after: int = 0
            ) -> Iterator[tuple[Batch, list | None, str | None]]:
        # One run at a time whatever the batch size (batches only pay for Dask's scheduling
        # here): each finished run reaches the store before the next starts, so Ctrl-C loses
        # at most the run in progress.
        for batch in [*batches, *(more() if more is not None else [])]:
            for item in batch:
                yield [item], execute_batch([item]), None

    def describe(self) -> str:
        return "serially in this process"


class DaskExecutor:
    """Runs batches as Dask tasks on ``dask.distributed``.

    Parameters
    ----------
    scheduler : str or None
        Address of a running scheduler (``tcp://host:port``); ``None`` starts a
        :class:`~distributed.LocalCluster` of ``n_workers`` processes.
    n_workers, threads_per_worker : int
        Size of the local cluster (ignored with ``scheduler`` or ``client``).
        One thread per worker: the solvers are single-threaded numpy/C loops
        holding the GIL, so parallelism comes from processes.
    client : distributed.Client or None
        An existing client to use (and leave open), e.g. one shared by tests.
    timeout : float
        Seconds to wait for a remote scheduler to answer.

    Workers need ``workbench`` importable; the runs' records travel back to
    this process, which alone writes the store (workers need no access to it).
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1,
                 client=None, timeout: float = 20.0):
        if n_workers < 1:
            raise InvalidParameter("a local Dask cluster needs at least one worker; pass n_workers >= 1.")
        if scheduler is None and client is None and n_workers > max_local_workers():
            # each worker is a process holding a copy of numpy, scipy and the problem: hundreds
            # of them on a laptop exhaust its memory long before they speed anything up
            raise InvalidParameter(f"{n_workers} local workers on a machine with {os.cpu_count()} CPUs; the "
                                   f"most this starts is {max_local_workers()} (4 per CPU). Use fewer, or "
                                   "connect to a cluster with --scheduler.")
        self.scheduler = scheduler
        self._n_workers = int(n_workers)
        self.threads_per_worker = int(threads_per_worker)
        self.client = client
        self._own_client = client is None
        self._cluster = None
        self._futures: list = []
        self.timeout = float(timeout)

    def __enter__(self) -> "DaskExecutor":
        if self.client is not None:
            return self
        _quiet_cancel_before_start()
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is an optional extra
            raise WorkbenchError("sweeps on Dask need dask.distributed; install workbench[dask] "
                                 "or use the serial executor.") from None
        try:
            if self.scheduler:
                check_is_scheduler(self.scheduler, self.timeout)
                self.client = Client(self.scheduler, timeout=f"{self.timeout}s")
            else:
                with _workers_ignore_ctrl_c(), warnings.catch_warnings():
                    # "Port 8787 is already in use ... on port N instead": the HTTP port does not
                    # matter to a sweep (no dashboard), so the notice is noise on the terminal.
                    warnings.filterwarnings("ignore", message="Port .* is already in use")
                    self._cluster = LocalCluster(
                        n_workers=self._n_workers, threads_per_worker=self.threads_per_worker, processes=True,
                        dashboard_address=None, silence_logs=logging.ERROR,
                    )
                self.client = Client(self._cluster)
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an address it cannot parse
            self.close()
            where = self.scheduler or "a local cluster"
            raise WorkbenchError(f"could not connect to {where}: {exc}; check the address "
                                 "(tcp://host:port) and that the scheduler is running.") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures = []
        if self._own_client and self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None
        if self._cluster is not None:
            try:
                self._cluster.close()
            finally:
                self._cluster = None

    @property
    def n_workers(self) -> int:
        if self.client is None:
            return self._n_workers
        try:
            return max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))
        except Exception:
            return self._n_workers

    def describe(self) -> str:
        if self.scheduler:
            try:
                live = len(self.client.scheduler_info(n_workers=-1)["workers"])
            except Exception:
                live = None
            if live == 0:  # tasks queue on a scheduler without workers: say so rather than sit silent
                return (f"on the Dask cluster at {self.scheduler} (it has no workers yet: the runs wait "
                        "until one joins, e.g. `dask worker " + self.scheduler + "`)")
            return f"on the Dask cluster at {self.scheduler} ({self.n_workers} workers)"
        return f"on a local Dask cluster ({self.n_workers} worker processes)"

    def map(self, batches: Iterable[Batch], more=None, after: int = 0
            ) -> Iterator[tuple[Batch, list | None, str | None]]:
        """Submit ``batches``; once ``after`` of them are done, submit the batches ``more()`` returns.

        ``more`` lets the caller size the remaining work from the first results
        while the workers stay busy with the rest of the first batches.
        """
        from distributed import as_completed

        pending: dict = {}
        queue = as_completed()
        # Single runs whose task ended in KilledWorker. The scheduler blames every task a dead
        # worker held, the one it was running and the ones waiting behind it, so an innocent
        # run queued behind a crashing one on the same worker can err too (distributed's
        # `allowed-failures` counts both alike). Judged once the other runs are done.
        suspects: list[tuple[Batch, Exception]] = []

        # Batches the client would not take (it closes once the scheduler is gone): reported
        # as errors, so their runs count as not run and a rerun executes them.
        unsent: list[tuple[Batch, Exception]] = []

        def submit(batch):
            try:
                future = self._submit(batch)
            except Exception as exc:  # ClosedClientError: the scheduler is gone
                unsent.append((batch, exc))
                return
            pending[future] = batch
            queue.add(future)

        for batch in batches:
            submit(batch)
        done = 0
        while True:
            if more is not None and (done >= after or not pending):
                for batch in more():
                    submit(batch)
                more = None
            while unsent:
                batch, exc = unsent.pop(0)
                yield batch, None, f"{type(exc).__name__}: {exc}"
            if not pending:
                break
            future = next(queue)
            batch = pending.pop(future)
            try:
                records = future.result()
            except Exception as exc:  # KilledWorker, a lost scheduler, unpicklable input...
                future.release()
                if len(batch) > 1 and _worth_splitting(exc):
                    # One run may have killed its worker (out of memory, a crash in compiled
                    # code): run the batch's runs one per task, so the others are stored and
                    # only that one is lost.
                    for item in batch:
                        submit([item])
                    continue
                if _killed_worker(exc):
                    suspects.append((batch, exc))
                else:
                    yield batch, None, f"{type(exc).__name__}: {exc}"
            else:
                future.release()
                yield batch, records, None
            done += 1
        yield from self._judge(suspects)
        self._futures = []

    def _judge(self, suspects: list[tuple[Batch, Exception]]) -> Iterator[tuple[Batch, list | None, str | None]]:
        """Store as failed only the single runs that themselves take their worker down."""
        if len(suspects) == 1:
            # The run that crashes its worker errs every time it runs, so a lone suspect is it.
            yield self._killed(*suspects[0])
            return
        # Several: try each alone, with nothing queued beside it. A retry that cannot be sent or
        # ends in another error (the scheduler is gone) is an error: its run counts as not run.
        # Ctrl-C goes through to the sweep, which keeps what is stored.
        for batch, exc in suspects:
            future = None
            try:
                future = self._submit(batch, tag="-alone")
                records = future.result()
            except Exception as again:
                if future is not None:
                    future.release()
                if _killed_worker(again):
                    yield self._killed(batch, again)
                else:
                    yield batch, None, f"{type(again).__name__}: {again}"
            else:
                future.release()
                yield batch, records, None

    def _submit(self, batch: Batch, tag: str = ""):
        # A deterministic key: resubmitting the same batch reuses the task.
        digest = hashlib.sha256("".join(_key(spec) for spec, _ in batch).encode()).hexdigest()[:16]
        future = self.client.submit(execute_batch, batch, key=f"workbench-batch{tag}-{digest}", pure=False)
        self._futures.append(future)
        return future

    @staticmethod
    def _killed(batch: Batch, exc: Exception) -> tuple[Batch, list, None]:
        # This very run took its worker down each time it was tried: store it as failed
        # (a rerun would only kill workers again).
        spec, params = batch[0]
        return batch, [{**failed_record(spec, _killed_message(exc), params=params), "pid": None}], None


class _CancelBeforeStartNoise:
    """Drop tornado's log of one benign race in ``distributed.utils.sync``: a Ctrl-C that
    arrives before the coroutine has made its future schedules ``cancel()``, which then
    reads the unassigned ``future`` and raises NameError (distributed 2026.8). Nothing is
    left running; the traceback would only follow "workbench: interrupted" on the terminal."""

    def filter(self, record) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, NameError) or "'future'" not in str(exc):
            return True
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code if tb is not None else None
        return not (code is not None and code.co_name == "cancel"
                    and code.co_filename.replace("\\", "/").endswith("distributed/utils.py"))


def _quiet_cancel_before_start() -> None:
    log = logging.getLogger("tornado.application")
    if not any(isinstance(f, _CancelBeforeStartNoise) for f in log.filters):
        log.addFilter(_CancelBeforeStartNoise())


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Start worker processes with SIGINT ignored (an ignored signal stays ignored in a child,
    and Python then installs no KeyboardInterrupt handler): Ctrl-C in the terminal reaches the
    whole process group, and only the sweeping process should answer it (it closes the cluster
    and prints one line) instead of every worker printing its traceback."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _killed_worker(exc: Exception) -> bool:
    return type(exc).__name__ == "KilledWorker"


def _worth_splitting(exc: BaseException) -> bool:
    # A batch whose task could not run (a dead worker, a result that did not travel back);
    # not a cancelled sweep or a lost scheduler, where every task fails alike: distributed's
    # FutureCancelledError is a concurrent.futures.CancelledError (also raised with the reason
    # "scheduler-connection-lost"), and a dropped connection is a CommClosedError, an OSError.
    import concurrent.futures

    return not isinstance(exc, (concurrent.futures.CancelledError, OSError, TimeoutError))


def _killed_message(exc: Exception) -> str:
    return (f"Failed: the worker running this run died each time it was tried ({type(exc).__name__}); "
            "it may need more memory than a worker has, or crash in compiled code. Run it alone with "
            "`workbench run` to see why.")


def _key(spec: dict) -> str:
    from ..store.records import run_key

    return run_key(spec)


def max_local_workers() -> int:
    """The most worker processes a local cluster starts: four per CPU."""
    return 4 * (os.cpu_count() or 1)


def _check_reachable(location: str, timeout: float) -> None:
    """Open (and close) a plain TCP connection to ``host:port``; OSError if none opens."""
    import socket

    from distributed.comm.addressing import parse_host_port

    host, port = parse_host_port(location)
    deadline = time.monotonic() + timeout
    while True:  # a scheduler still starting refuses for a moment: retry until the deadline
        try:
            socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic())).close()
            return
        except ConnectionRefusedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def check_is_scheduler(address: str, timeout: float) -> dict:
    """Ask ``address`` who it is, within ``timeout`` seconds, before a Client connects.

    ``distributed.Client`` waits forever on a server that accepts the connection and never
    answers (any non-Dask service on that port), and a server that answers something else
    (an HTTP server) can be read as a frame of gigabytes (MemoryError). One ``identity``
    request with a deadline tells a scheduler from those.
    """
    import asyncio

    from distributed.comm import connect
    from distributed.comm.addressing import parse_address

    scheme, location = parse_address(address)  # ValueError on an address it cannot read
    if scheme != "tcp":
        # (tls:// needs the Security settings Client reads from the dask config, and inproc:// or
        # ucx:// other machinery: those are left to Client, which says what went wrong)
        return {}
    _check_reachable(location, timeout)  # a refused or unreachable port is "could not connect"

    async def identity():
        comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    def ask():
        return asyncio.run(identity())

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            reply = ask()  # no loop in this thread (the CLI, a script)
        else:
            # In Jupyter a loop runs in this thread and asyncio.run refuses: ask from a worker thread.
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                reply = pool.submit(ask).result(timeout=3 * timeout + 5)
    except (TimeoutError, asyncio.TimeoutError, MemoryError, EOFError) as exc:
        reason = "it did not answer" if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) else \
            "its answer is not Dask's protocol"
        raise WorkbenchError(f"{address} accepts connections but is not a Dask scheduler ({reason} within "
                             f"{timeout:g} s); check the port: a scheduler listens on 8786 by default.") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        raise WorkbenchError(f"{address} answers as a Dask {kind}, not a scheduler; give the scheduler's "
                             "address (tcp://host:8786 by default).")
    return reply


def make_executor(kind: str = "dask", *, scheduler: str | None = None, n_workers: int = 2):
    """``"serial"`` or ``"dask"`` (a local cluster, or ``scheduler`` if given)."""
    if kind == "serial":
        if scheduler:
            raise InvalidParameter("--scheduler needs the dask executor; drop --executor serial.")
        return SerialExecutor()
    if kind == "dask":
        return DaskExecutor(scheduler, n_workers=n_workers)
    raise InvalidParameter(f"unknown executor {kind!r}; use 'dask' or 'serial'.")
