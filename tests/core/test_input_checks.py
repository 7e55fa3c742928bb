"""Bad input is a WorkbenchError with a sentence, from constructors, assignments, run keywords
and specs; runs whose loss breaks down end nonfinite / diverged instead of "converged"."""
import math

import numpy as np
import pytest

import workbench as wb
from workbench.core import InvalidParameter, MalformedInput, UnknownName, from_spec


def test_method_params_are_checked_at_construction_and_assignment():
    with pytest.raises(InvalidParameter, match="bad value for gd: .*at least 0.0|greater than 0.0"):
        wb.optim.GD(lr=-1)
    with pytest.raises(InvalidParameter, match="greater than 0.0, not 0"):
        wb.optim.GD(lr=0)  # a step size of 0 never moves
    with pytest.raises(InvalidParameter, match="adam has no parameter foo; its parameters are lr, "):
        wb.optim.Adam(foo=1)
    with pytest.raises(InvalidParameter, match="less than 1.0"):
        wb.optim.Adam(beta1=1.0)
    with pytest.raises(InvalidParameter, match="Adam.eps. must be greater than 0.0"):
        wb.optim.Adam(eps=0)
    gd = wb.optim.GD(lr=0.1)
    for bad in (math.nan, math.inf):
        with pytest.raises(InvalidParameter, match=f"gd.lr = {bad} is not a finite number"):
            gd.lr = bad
    with pytest.raises(InvalidParameter, match="gd.lr = nan is not a finite number"):
        gd.lr = np.float32("nan")  # a value read from a float32 array
    with pytest.raises(InvalidParameter, match="only takes numeric values"):
        gd.lr = "fast"
    assert gd.lr == 0.1
    with pytest.raises(InvalidParameter, match="sor.omega is a number, not True"):
        wb.linear.SOR(omega=True)  # param would take it as 1.0
    # infinity stays allowed where it is the default ("no limit")
    assert wb.optim.DAdaptation(growth_rate=math.inf).growth_rate == math.inf
    with pytest.raises(InvalidParameter, match="poisson2d has no parameter size"):
        wb.core.get_problem_factory("poisson2d")(size=3)


def test_a_schedule_or_horizon_moved_mid_run_is_refused_at_once_and_the_run_goes_on():
    from workbench.schedules import Refined, StepDecay, WarmupStableDecay

    gd = wb.optim.GD(lr=0.1, schedule="cosine", horizon=50)
    runner = wb.Runner(gd, wb.problems.quadratic(dim=5, condition=10.0), max_steps=50)
    runner.advance(5)
    with pytest.raises(UnknownName, match="no schedule called 'cosinus'. Did you mean cosine\? The schedules"):
        gd.schedule = "cosinus"
    with pytest.raises(InvalidParameter, match="strictly between 0 and 1, got \\[50\\]"):
        gd.schedule = {"name": "step", "milestones": [50]}
    with pytest.raises(InvalidParameter, match="add up to more than 1"):
        gd.schedule = WarmupStableDecay(warmup=0.6, decay=0.6)
    with pytest.raises(InvalidParameter, match="cosine schedule needs the run length: set horizon=T"):
        gd.horizon = None
    assert (gd.schedule, gd.horizon) == ("cosine", 50)
    gd.schedule = "linear"  # a good one is taken, from the next step on
    runner.advance(5)
    assert not runner.status.finished and runner.iteration == 10
    assert runner.trace["lr"][-1] == pytest.approx(0.1 * (1 - 9 / 50))
    # a schedule's own knobs are checked when set, not at the step that reads them
    with pytest.raises(InvalidParameter, match="strictly between 0 and 1, got \\[50\\]"):
        StepDecay(milestones=[50])
    step = StepDecay()
    with pytest.raises(InvalidParameter, match="strictly between 0 and 1, got \\[0.5, 1.5\\]"):
        step.milestones = [0.5, 1.5]
    with pytest.raises(InvalidParameter, match="profile is all zeros"):
        Refined().profile = np.zeros(3)
    with pytest.raises(InvalidParameter, match="cosine has no parameter warmup; its parameters are min_ratio"):
        wb.schedules.Cosine(warmup=3)
    with pytest.raises(InvalidParameter, match="bad value for wsd: .*decay"):
        WarmupStableDecay(decay=2.0)
    assert step.milestones == [0.5, 0.75]


def test_check_value_says_what_an_assignment_would_store_without_assigning():
    sor = wb.linear.SOR(omega=1.5)
    assert sor.check_value("omega", np.float64(1.2)) == 1.2
    with pytest.raises(InvalidParameter, match="bad value for sor"):
        sor.check_value("omega", 2.5)
    with pytest.raises(InvalidParameter, match="sor has no parameter omgea; its parameters are kernel, omega"):
        sor.check_value("omgea", 1.0)
    assert type(wb.core.get_problem_factory("poisson2d")().check_value("n", 16.0)) is int
    assert sor.omega == 1.5


def test_run_keywords_and_stop_values_say_what_to_do():
    gd, quad = wb.optim.GD(lr=0.1), wb.problems.quadratic(dim=3, condition=10.0)
    with pytest.raises(InvalidParameter, match="unknown keyword 'tol': a run takes the stopping rules rtol, atol"):
        wb.run(gd, quad, tol=1e-3)
    with pytest.raises(InvalidParameter, match="divergence is a growth factor of at least 1"):
        wb.run(gd, quad, divergence=-1)
    with pytest.raises(InvalidParameter, match="divergence must be a number"):
        wb.run(gd, quad, divergence="x")
    with pytest.raises(InvalidParameter, match="max_steps must be a whole number, 0 or more, got True"):
        wb.run(gd, quad, max_steps=True)
    with pytest.raises(InvalidParameter, match="max_steps must be a whole number, 0 or more, got True"):
        wb.Runner(gd, quad).advance(max_steps=True)
    for steps in (2.7, math.inf, -1):
        with pytest.raises(InvalidParameter, match="max_steps must be a whole number"):
            wb.run(gd, quad, max_steps=steps)
    assert wb.run(gd, quad, max_steps=3.0).iterations == 3
    with pytest.raises(InvalidParameter, match="rtol must be a number"):
        wb.run(gd, quad, rtol="a")
    with pytest.raises(InvalidParameter, match="expected a workbench problem, got 'quadratic'"):
        wb.run(gd, "quadratic")
    with pytest.raises(InvalidParameter, match="max_steps must be a number"):
        wb.Runner(gd, quad).advance(max_steps="a")


def test_names_and_specs_of_the_wrong_type():
    for name in (3, None):
        with pytest.raises(UnknownName, match="named by a string"):
            wb.get_method(name)
    with pytest.raises(MalformedInput, match="'params' is a dict"):
        from_spec({"kind": "method", "name": "gd", "params": [1]})
    with pytest.raises(InvalidParameter, match="unknown keyword 'tol': a run spec's 'stop'"):
        from_spec({"method": {"name": "gd"}, "problem": {"name": "quadratic"}, "stop": {"tol": 1}})


def test_a_nan_loss_is_not_converged_and_a_blown_up_loss_is_diverged():
    holed = wb.problems.from_functions(lambda x: math.nan if abs(x[0]) < 0.5 else float(x @ x),
                                       lambda x: 2 * x, x0=[1.0, 1.0])
    res = wb.run(wb.optim.GD(lr=0.25), holed, rtol=1e-6)
    assert res.status.label == "nonfinite" and "loss = nan" in res.message
    quad = wb.problems.quadratic(dim=5, condition=10.0)
    for name in ("adam", "adan", "normalized_gd"):
        # The gradient norm (the stop metric) grows only like the square root of the loss here.
        res = wb.run(wb.get_method(name, lr=1e6), quad, max_steps=30)
        assert res.status.label == "diverged" and "loss = " in res.message, (name, res.message)
    assert wb.run(wb.optim.Adam(lr=0.1), quad, max_steps=300).status.label != "diverged"


def test_only_a_rising_loss_counts_as_divergence_and_convergence_comes_first():
    # f = -x, gradient -1: GD walks downhill at a constant gradient norm while the loss falls
    # past -1e9, which is progress, not divergence (|loss| > 1e8 x its start is not the test).
    downhill = wb.problems.from_functions(lambda x: -float(x[0]), lambda x: np.array([-1.0]), x0=[1.0])
    res = wb.run(wb.optim.GD(lr=1e8), downhill, max_steps=20)
    assert res.final["loss"] < -1e9 and res.status.label == "max_steps", res.message
    # The loss of GD with step 1e9 on separable data rises a billionfold, then the data separate:
    # logistic_separable exempts its loss, so the run is not cut short.
    separable = wb.problems.logistic_separable()
    res = wb.run(wb.optim.GD(lr=1e9), separable, max_steps=50)
    assert res.trace["loss"].max() > 1e8 and res.status.label == "max_steps", res.message
    assert res.final["misclassified"] == 0
    # ... but the exempt loss must still be finite: a step of 1e308 makes it inf at once.
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
        res = wb.run(wb.optim.GD(lr=1e308), separable, max_steps=50)
    assert res.status.label == "nonfinite" and res.iterations == 1 and "loss = inf" in res.message, res.message
    # A run whose gradient norm meets the tolerance on the step its loss jumps is converged.
    jump = wb.problems.from_functions(lambda x: 1e12 if x[0] < 0.5 else float(x[0] ** 2),
                                      lambda x: np.array([1.0 if x[0] >= 0.5 else 0.0]), x0=[1.0])
    res = wb.run(wb.optim.GD(lr=1.0), jump, atol=1e-3, max_steps=5)
    assert res.converged and res.iterations == 1, res.message


def test_a_run_started_at_a_solution_converges_at_once_unless_rtol_is_zero():
    at_min = wb.problems.from_functions(lambda x: float(x @ x), lambda x: 2 * x, x0=[0.0, 0.0])
    res = wb.run(wb.optim.GD(lr=0.1), at_min, rtol=1e-6)
    assert res.converged and res.iterations == 0
    assert wb.run(wb.optim.GD(lr=0.1), at_min, rtol=0, max_steps=5).iterations == 5


def test_user_functions_are_checked_at_x0():
    with pytest.raises(wb.InvalidProblem, match="f must return a number"):
        wb.problems.from_functions(lambda x: x, lambda x: 2 * x, x0=[1.0, 2.0])
    with pytest.raises(wb.InvalidProblem, match="x0 must be a numeric vector"):
        wb.problems.from_functions(lambda x: x @ x, lambda x: 2 * x, x0="ab")
    with pytest.raises(wb.InvalidProblem, match="f_star a number"):
        wb.problems.from_functions(lambda x: x @ x, lambda x: 2 * x, x0=[1.0], f_star="a")
    with pytest.raises(wb.InvalidProblem, match="finite"):
        wb.problems.from_functions(lambda x: x @ x, lambda x: 2 * x, x0=[1.0], x_star=[np.nan])
    with pytest.raises(wb.InvalidProblem, match="f or grad failed at x0: ZeroDivisionError"):
        wb.problems.from_functions(lambda x: 1 / 0, lambda x: 2 * x, x0=[1.0])


def test_the_theory_step_needs_a_horizon():
    quad = wb.problems.quadratic(dim=3, condition=10.0)
    with pytest.raises(InvalidParameter, match="needs the horizon T"):
        wb.run(wb.optim.TheoryStep(horizon=None), quad)
    runner = wb.Runner(wb.optim.TheoryStep(horizon=100), quad)
    runner.advance(max_steps=3)
    with pytest.raises(InvalidParameter, match="needs the horizon T"):
        runner.method.horizon = None  # mid-run: refused at the assignment, the run goes on
    assert runner.method.horizon == 100
    runner.advance(max_steps=3)
    assert runner.status.label == "running" and runner.iteration == 6



def test_api_calls_of_the_wrong_shape_are_sentences():
    quad = wb.problems.quadratic(dim=3, condition=10.0)
    with pytest.raises(InvalidParameter, match="method 'sor' has no parameter name"):
        wb.get_method("sor", name="x")  # param's object name is not a setting
    with pytest.raises(InvalidParameter, match="items must be instances of"):
        wb.get_problem("beale", start=[1, "a"])  # param's TypeError, as a sentence
    with pytest.raises(InvalidParameter, match="rosenbrock's a is at most 1000 in size"):
        wb.get_problem("rosenbrock", a=1e308)
    with pytest.raises(InvalidParameter, match="observers is a list of functions"):
        wb.run(wb.optim.GD(), quad, observers=3)
    with pytest.raises(InvalidParameter, match="1 is not callable"):
        from_spec({"method": {"name": "gd"}, "problem": {"name": "quadratic"}, "stop": {"observers": [1]}})
    with pytest.raises(InvalidParameter, match="max_points is a whole number of at least 1"):
        wb.run(wb.optim.GD(), quad, max_steps=2).trace.decimate(0)
    with pytest.raises(MalformedInput, match="1 is not a name"):
        from_spec({"kind": "method", "name": "sor", "params": {1: 2}})
    hand_made = wb.run(wb.linear.SOR(), wb.problems.from_matrix(2 * np.eye(3), np.ones(3))).spec()
    with pytest.raises(MalformedInput, match="built by hand .* matrix_market problem"):
        from_spec(hand_made)
    with pytest.raises(InvalidParameter, match="all zeros, a step size of 0 at every step"):
        wb.optim.GD(schedule={"name": "refined", "params": {"profile": [0.0, 0.0]}})
    # a bug in a watcher is that bug, not a "bad value" of the value it was given
    sor = wb.linear.SOR()
    sor.param.watch(lambda event: len(event.new), "omega")
    with pytest.raises(TypeError, match="has no len"):
        sor.omega = 1.2
    # a whole-number setting given as a float is that number
    assert wb.get_problem("poisson2d", n=10.0).n == 100


@pytest.mark.parametrize("name", ["adamw", "lion", "adan"])
def test_a_run_started_at_a_stationary_point_is_not_diverged_when_it_moves(name):
    # grad_norm starts at exactly 0 at Rosenbrock's minimum; weight decay then moves x a little,
    # and "1e8 x its initial value" of 0 used to call that divergence at iteration 1
    res = wb.run(wb.get_method(name, weight_decay=0.01), wb.problems.rosenbrock(start=[1.0, 1.0]), max_steps=5)
    assert res.trace["grad_norm"][0] == 0 and res.trace["grad_norm"][-1] > 0
    assert res.status.label == "max_steps", res.message
