"""Sweep driver pieces that need no cluster: where the pilot runs are taken, which errors split a batch."""
import pytest


def test_pilot_runs_are_spread_over_the_whole_sweep():
    from workbench.sweep.driver import pilot_indices

    assert pilot_indices(64, 6) == [0, 13, 25, 38, 50, 63]
    assert pilot_indices(3, 6) == [0, 1, 2]
    assert pilot_indices(0, 6) == []
    assert pilot_indices(10, 1) == [0]


def test_only_a_batch_that_could_not_run_is_split_into_single_runs():
    # A dead worker is worth splitting the batch for; a cancelled sweep or a lost scheduler
    # fails every task alike, so splitting would only resubmit doomed work.
    pytest.importorskip("distributed")
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    from workbench.sweep.executors import _worth_splitting

    assert _worth_splitting(KilledWorker("task", "tcp://w:1", allowed_failures=3))
    assert not _worth_splitting(FutureCancelledError("key", reason="scheduler-connection-lost"))
    assert not _worth_splitting(CommClosedError("in <TCP>: Stream is closed"))
    assert not _worth_splitting(TimeoutError())


def test_distributeds_cancel_before_start_race_is_not_logged_but_other_errors_are(caplog):
    # distributed.utils.sync: a Ctrl-C before its coroutine made its future schedules cancel(),
    # which reads the unassigned `future` (NameError), logged by tornado after "interrupted"
    import logging

    from workbench.sweep.executors import _quiet_cancel_before_start

    def error_from(filename):
        namespace = {}
        exec(compile("def cancel():\n    if future is not None:\n        pass\n    future = 1\n", filename, "exec"),
             namespace)
        try:
            namespace["cancel"]()
        except NameError as exc:
            return exc

    _quiet_cancel_before_start()
    log = logging.getLogger("tornado.application")
    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        for filename in ("/site-packages/distributed/utils.py", "/home/me/mine.py"):
            exc = error_from(filename)
            log.error("Exception in callback from %s", filename, exc_info=(type(exc), exc, exc.__traceback__))
    assert "mine.py" in caplog.text and "distributed/utils.py" not in caplog.text


def test_suspects_tried_alone_survive_a_lost_scheduler_and_pass_ctrl_c_through():
    # After several single runs ended in KilledWorker, each is tried alone. A retry the closed
    # client will not send, or one that ends in another error, is an error (its run counts as
    # not run, a rerun executes it); only a retry that kills its worker again is stored as
    # failed; Ctrl-C during a retry goes to the sweep, which keeps what is stored.
    pytest.importorskip("distributed")
    from distributed.client import ClosedClientError, FutureCancelledError
    from distributed.scheduler import KilledWorker

    from workbench.sweep.executors import DaskExecutor

    def batch(omega):
        return [({"method": {"name": "sor", "params": {"omega": omega}}, "problem": {"name": "poisson2d"},
                  "stop": {}}, {"method.omega": omega})]

    class Answer:  # a future whose result() gives or raises what it was made with
        def __init__(self, outcome):
            self.outcome, self.released = outcome, False

        def result(self):
            if isinstance(self.outcome, BaseException):
                raise self.outcome
            return self.outcome

        def release(self):
            self.released = True

    killed = KilledWorker("task", "tcp://w:1", allowed_failures=3)
    outcomes = iter([Answer([{"status": "converged"}]), Answer(killed),
                     Answer(FutureCancelledError("key", reason="scheduler-connection-lost")),
                     ClosedClientError("Client is closed."), Answer(KeyboardInterrupt())])
    executor = DaskExecutor()
    sent = []

    def submit(b, tag=""):
        sent.append(tag)
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    executor._submit = submit
    judged = executor._judge([(batch(w), killed) for w in (1.1, 1.2, 1.3, 1.4, 1.5)])
    innocent, guilty, cancelled, unsent = (next(judged) for _ in range(4))
    assert innocent[1] == [{"status": "converged"}] and innocent[2] is None
    assert guilty[1][0]["status"] == "failed" and "the worker running this run died" in guilty[1][0]["message"]
    assert cancelled[1] is None and "scheduler-connection-lost" in cancelled[2]
    assert unsent[1] is None and cancelled[0] != unsent[0] and "Client is closed" in unsent[2]
    with pytest.raises(KeyboardInterrupt):
        next(judged)
    assert sent == ["-alone"] * 5
    # A lone suspect is the run that crashes its worker: it is not tried again.
    (alone,) = list(executor._judge([(batch(1.6), killed)]))
    assert alone[1][0]["status"] == "failed" and len(sent) == 5
