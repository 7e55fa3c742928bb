import dataclasses
import math

import numpy as np
import param
import pytest

import workbench as wb
from workbench.core import Method, Problem, Runner, Status
from workbench.core.errors import InvalidParameter


class Scalar(Problem):
    kind = "scalar"


@dataclasses.dataclass
class S:
    x: np.ndarray


class Contract(Method):
    """x <- factor * x, with knobs for every way a run can end."""

    problem_kind = "scalar"
    stop_metric = "value"
    factor = param.Number(0.5)
    raise_at = param.Integer(-1)
    nan_at = param.Integer(-1)

    def init(self, problem):
        self.check_problem(problem)
        self._k = 0
        return S(np.array([1.0]))

    def step(self, problem, state):
        self._k += 1
        if self._k == self.raise_at:
            raise RuntimeError("boom at step %d" % self._k)
        x = state.x * self.factor
        if self._k == self.nan_at:
            x = x * np.nan
        return S(x)

    def metrics(self, problem, state):
        return {"value": float(abs(state.x[0]))}


def test_converges_at_expected_iteration():
    res = wb.run(Contract(factor=0.5), Scalar(), rtol=1e-3)
    # 0.5^k <= 1e-3  <=>  k >= 9.97
    assert res.status is Status.CONVERGED and res.iterations == 10
    assert len(res.trace) == 11 and res.trace["iteration"][-1] == 10


def test_max_steps_diverged_nonfinite_failed():
    assert wb.run(Contract(factor=0.9), Scalar(), rtol=1e-12, max_steps=7).status is Status.MAX_STEPS
    res = wb.run(Contract(factor=10.0), Scalar(), rtol=1e-8, divergence=1e6)
    assert res.status is Status.DIVERGED and res.iterations == 7  # 10^7 > 1e6
    res = wb.run(Contract(nan_at=3), Scalar(), rtol=1e-12)
    assert res.status is Status.NONFINITE and res.iterations == 3
    res = wb.run(Contract(raise_at=4), Scalar(), rtol=1e-12)
    assert res.status is Status.FAILED and "boom at step 4" in res.message
    assert res.iterations == 3 and len(res.trace) == 4  # finished rows are kept


def test_time_budget():
    res = wb.run(Contract(factor=1.0), Scalar(), rtol=1e-3, max_steps=10**9, max_seconds=0.05, divergence=None)
    assert res.status is Status.MAX_TIME


def test_advance_in_slices_equals_one_run():
    r = Runner(Contract(factor=0.5), Scalar(), rtol=1e-6)
    assert r.advance(max_steps=3) == 3 and r.iteration == 3 and not r.done
    while not r.done:
        r.advance(max_steps=2)
    assert r.iteration == wb.run(Contract(factor=0.5), Scalar(), rtol=1e-6).iterations


def test_hyperparameter_change_mid_run_acts_on_next_step_without_reset():
    m = Contract(factor=0.5)
    r = Runner(m, Scalar(), rtol=0, max_steps=100)
    r.advance(max_steps=2)
    m.factor = 0.1
    r.advance(max_steps=1)
    v = r.trace["value"]
    assert v[2] == pytest.approx(0.25) and v[3] == pytest.approx(0.025)


def test_a_setting_moved_after_the_run_ended_is_not_in_its_result():
    # (a slider moved on a finished dashboard lane: the exported report must replay the run
    # that happened, with the settings it ended with)
    m = Contract(factor=0.5)
    r = Runner(m, Scalar(), rtol=1e-6, max_steps=100)
    r.advance()
    assert r.done
    m.factor = 0.1
    assert r.result().method_spec["params"]["factor"] == 0.5
    r.reset()
    r.advance()
    assert r.result().method_spec["params"]["factor"] == 0.1
    m = Contract(factor=0.5)
    r = Runner(m, Scalar(), rtol=1e-6, max_steps=100)
    r.advance(max_steps=2)
    m.factor = 0.25  # mid-run: the result names the setting the run ended with
    r.advance()
    assert r.result().method_spec["params"]["factor"] == 0.25


def test_stop_and_reset():
    r = Runner(Contract(), Scalar(), rtol=1e-12)
    r.advance(max_steps=2)
    r.stop("user pressed pause")
    assert r.status is Status.STOPPED and r.advance(max_steps=5) == 0
    r.reset()
    assert r.status is Status.RUNNING and r.iteration == 0 and len(r.trace) == 1


def test_observers_see_every_step():
    seen = []
    wb.run(Contract(), Scalar(), rtol=1e-2, observers=[lambda run: seen.append(run.iteration)])
    assert seen == list(range(1, 8))


def test_an_observer_that_raises_fails_the_run_and_keeps_its_trace():
    def flaky(run):
        if run.iteration == 3:
            raise IndexError("index 1 is out of bounds")

    result = wb.run(Contract(), Scalar(), rtol=1e-2, observers=[flaky])
    assert result.status is Status.FAILED and result.iterations == 3 and len(result.trace) == 4
    assert result.message == ("Failed: an observer raised an error. After iteration 3: IndexError: "
                              "index 1 is out of bounds")


def test_bad_stop_settings_raise_workbench_errors():
    with pytest.raises(InvalidParameter, match="non-negative"):
        Runner(Contract(), Scalar(), rtol=-1)
    with pytest.raises(InvalidParameter, match="cannot stop on 'loss'"):
        Runner(Contract(), Scalar(), metric="loss")
    with pytest.raises(InvalidParameter, match="max_steps"):
        Runner(Contract(), Scalar(), max_steps="many")
    with pytest.raises(wb.IncompatibleProblem, match="solves scalar problems"):
        Runner(Contract(), wb.problems.poisson2d(4))


def test_status_sentences_are_sentences():
    for status in Status:
        assert status.sentence.endswith(".") and status.sentence[0].isupper()
        assert Status.from_label(status.label) is status
