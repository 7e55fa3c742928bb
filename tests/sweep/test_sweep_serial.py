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
