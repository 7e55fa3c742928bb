"""Every optimizer follows the protocol: init, one step moves x, finite metrics, spec round trip."""
import math

import numpy as np
import pytest

import workbench as wb

OPTIMIZERS = wb.methods(family="optim")
D_FAMILY = {"theory_step", "dog", "d_adaptation", "prodigy"}
# Step sizes that move visibly on the test quadratic for every method.
LR = {"adam": 0.1, "adamw": 0.1, "adan": 0.1, "lion": 0.05, "diffgrad": 0.1, "schedule_free_adamw": 0.1}


def test_the_family_is_complete():
    expected = {"gd", "heavy_ball", "nesterov", "normalized_gd", "batch_perceptron", "adam", "adamw",
                "adan", "lion", "diffgrad", "shampoo", "schedule_free_sgd", "schedule_free_adamw",
                "theory_step", "dog", "d_adaptation", "prodigy"}
    assert expected <= set(OPTIMIZERS)


def problem_for(name):
    if name == "batch_perceptron":
        return wb.problems.logistic_separable(n=50, d=4)
    return wb.problems.quadratic(dim=6, condition=10.0, distance=2.0, seed=1)


def make(name, **extra):
    params = {"lr": LR[name]} if name in LR else {}
    return wb.get_method(name, **params, **extra)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_protocol(name):
    prob = problem_for(name)
    method = make(name)
    x0 = prob.x0.copy()
    state = method.init(prob)
    m0 = method.metrics(prob, state)
    for key in ("loss", "grad_norm", "lr", "grad_evals"):
        assert key in m0 and math.isfinite(m0[key]), key
    old_x = state.x
    before = old_x.copy()
    for _ in range(3):
        state = method.step(prob, state)
    assert np.linalg.norm(state.x - x0) > 0  # D-Adaptation starts with d0 = 1e-6: tiny but nonzero
    np.testing.assert_array_equal(old_x, before)  # earlier iterates are never overwritten
    np.testing.assert_array_equal(prob.x0, x0)
    m = method.metrics(prob, state)
    assert all(math.isfinite(v) for v in m.values()), m
    if prob.x_star is not None:
        assert m["distance"] == pytest.approx(np.linalg.norm(state.x - prob.x_star))
    if name in D_FAMILY:
        assert m["d_estimate"] > 0
    assert state.t == 3 and state.grad_evals >= 4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_spec_round_trip_replays_the_run(name):
    prob = problem_for(name)
    res = wb.run(make(name), prob, max_steps=15)
    spec = res.spec()
    method = wb.from_spec({"kind": "method", **spec["method"]})
    assert type(method) is type(wb.get_method(name))
    assert method.hyperparameters() == wb.from_spec(res.method_spec).hyperparameters()
    replay = wb.from_spec(spec).run()
    assert replay.iterations == res.iterations
    np.testing.assert_array_equal(replay.trace["loss"], res.trace["loss"])


# The network's Hessian at its random start is indefinite: damped Newton needs a Levenberg shift
# there (without it the run ends with that advice: tests/optim/test_second_order.py).
MLP_PARAMS = {"damped_newton": {"levenberg": 1.0}}


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"batch_perceptron"}))
def test_runs_on_the_torch_mlp(name, mlp):
    res = wb.run(make(name, **MLP_PARAMS.get(name, {})), mlp, max_steps=3)
    assert res.status is wb.Status.MAX_STEPS, res.message
    assert np.isfinite(res.trace["loss"]).all()
    assert "train_accuracy" in res.final


@pytest.fixture(scope="module")
def mlp():
    return wb.problems.mlp_digits(width=16, n_train=200)


def test_step_size_follows_the_schedule():
    from workbench.schedules import make_schedule

    prob = problem_for("gd")
    res = wb.run(wb.optim.GD(lr=0.8, schedule="cosine", horizon=20), prob, max_steps=20)
    cosine = make_schedule("cosine")
    expected = [0.8 * cosine(t, 20) for t in range(20)]
    np.testing.assert_allclose(res.trace["lr"][1:], expected)


def test_schedule_instances_round_trip_through_the_spec():
    from workbench.schedules import make_schedule

    method = wb.optim.Adam(lr=0.1, schedule=make_schedule("linear"), horizon=50)
    spec = method.spec()
    assert spec["params"]["schedule"]["name"] == "linear"
    again = wb.from_spec(spec)
    prob = problem_for("adam")
    a = wb.run(method, prob, max_steps=10).trace["loss"]
    b = wb.run(again, prob, max_steps=10).trace["loss"]
    np.testing.assert_array_equal(a, b)


def test_switching_schedule_mid_run_takes_effect():
    prob = problem_for("gd")
    method = wb.optim.GD(lr=0.5, horizon=10)
    runner = wb.Runner(method, prob, max_steps=100)
    runner.advance(max_steps=5)
    method.schedule = "linear"
    runner.advance(max_steps=1)
    assert runner.trace["lr"][-1] == pytest.approx(0.5 * (1 - 5 / 10))


def test_a_schedule_and_its_horizon_set_together_in_one_update():
    # Cosine needs a horizon: one update that gives both is checked against the state it
    # leaves, not value by value against a horizon of None.
    method = wb.optim.GD(lr=0.5, horizon=None)
    with pytest.raises(wb.InvalidParameter, match="needs the run length"):
        method.schedule = "cosine"  # alone, against the horizon of None
    method.param.update(schedule="cosine", horizon=10)
    assert (method.schedule, method.horizon) == ("cosine", 10)
    with pytest.raises(wb.InvalidParameter, match="needs the run length"):
        method.param.update(horizon=None, lr=0.1)
    assert (method.horizon, method.lr) == (10, 0.5)  # nothing of the refused update is kept
    res = wb.run(method, problem_for("gd"), max_steps=10)
    assert res.trace["lr"][-1] == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi * 9 / 10)))


def test_no_default_tolerance_but_grad_norm_stops_when_asked():
    prob = problem_for("gd")
    assert wb.run(wb.optim.GD(lr=1.0), prob, max_steps=50).status is wb.Status.MAX_STEPS
    res = wb.run(wb.optim.GD(lr=1.0), prob, max_steps=500, rtol=1e-6)
    assert res.status is wb.Status.CONVERGED
    assert res.final["grad_norm"] <= 1e-6 * res.trace["grad_norm"][0]


def test_bad_hyperparameters_and_problems_are_explained():
    with pytest.raises(wb.InvalidParameter, match="adam"):
        wb.get_method("adam", beta1=1.5)
    with pytest.raises(wb.InvalidParameter, match="no parameter"):
        wb.get_method("gd", momentum=0.9)
    with pytest.raises(wb.IncompatibleProblem, match="objective"):
        wb.run(wb.optim.GD(), wb.problems.poisson2d(4), max_steps=1)
    with pytest.raises(wb.InvalidParameter, match="horizon"):
        wb.run(wb.optim.GD(schedule="cosine", horizon=None), problem_for("gd"), max_steps=1)


def _acts_on_reset(name):
    cls = type(wb.get_method(name))
    return [p for p in cls.param if p != "name" and "on Reset" in (cls.param[p].doc or "")]


ON_RESET = [(name, p) for name in OPTIMIZERS for p in _acts_on_reset(name)]


def test_the_acts_on_reset_knobs_are_found():
    assert {("prodigy", "d0"), ("d_adaptation", "d0"), ("dog", "r_eps")} <= set(ON_RESET)


@pytest.mark.parametrize("name,knob", ON_RESET)
def test_a_knob_that_acts_on_reset_leaves_the_run_alone_mid_run(name, knob):
    # (Prodigy read its live d0 in the d/d0 weights: a change at step 3 stalled the run)
    prob = problem_for(name)
    untouched = wb.Runner(make(name), prob, max_steps=15)
    untouched.advance()
    method = make(name)
    moved = wb.Runner(method, prob, max_steps=15)
    moved.advance(max_steps=3)
    value = getattr(method, knob)
    setattr(method, knob, value * 7 if isinstance(value, float) else 1)
    moved.advance()
    np.testing.assert_array_equal(moved.trace["loss"], untouched.trace["loss"])
    moved.reset()  # and at the reset it does act
    moved.advance()
    assert not np.array_equal(moved.trace["loss"], untouched.trace["loss"])


def test_a_run_past_a_schedule_that_ends_at_zero_says_it_idled():
    prob = wb.problems.quadratic(dim=5, condition=10.0)
    res = wb.run(wb.optim.GD(lr=0.1, schedule="linear", horizon=50), prob, max_steps=500)
    assert np.count_nonzero(res.trace["lr"] == 0) == 450
    assert ("The schedule reached lr = 0 at its horizon T = 50 and held it, so the last 450 steps did not "
            "move x; set horizon to the run's length") in res.message
    # within the horizon, or with a schedule that does not end at 0, nothing is added
    for settings, steps in (({"schedule": "linear", "horizon": 500}, 500), ({"schedule": None}, 500),
                            ({"schedule": {"name": "cosine", "min_ratio": 0.1}, "horizon": 50}, 200)):
        res = wb.run(wb.optim.GD(lr=0.1, **settings), prob, max_steps=steps)
        assert "The schedule reached lr = 0" not in res.message, settings


def test_normalizing_by_a_negative_loss_is_refused_with_what_to_use():
    shifted = wb.problems.from_functions(lambda x: 0.5 * float(x @ x) - 10, lambda x: x.copy(), x0=np.ones(3))
    res = wb.run(wb.optim.NormalizedGD(lr=0.1, normalize_by="loss"), shifted, max_steps=20)
    assert res.status.label == "failed" and res.iterations == 0
    assert "the loss is -8.5 < 0 here" in res.message and "use normalize_by='grad_norm'" in res.message
    assert wb.run(wb.optim.NormalizedGD(lr=0.1), shifted, max_steps=20).trace["loss"][-1] < -9.5


def test_schedule_free_averaging_weights_neither_underflow_nor_overflow():
    prob = wb.problems.quadratic(dim=5, condition=10.0)
    # With a constant lr every weight is equal, whatever the power: c_t = 1 / (t + 1). At power 110
    # lr^power underflowed to 0 (x stayed at x0); at r = 1000, (t + 1)^r overflowed (the run failed).
    base = wb.run(wb.optim.ScheduleFreeSGD(lr=1e-3), prob, max_steps=100)
    tiny = wb.run(wb.optim.ScheduleFreeSGD(lr=1e-3, weight_lr_power=110), prob, max_steps=100)
    np.testing.assert_allclose(tiny.trace["averaging_weight"][1:], 1 / np.arange(1, 101), rtol=1e-12)
    np.testing.assert_allclose(tiny.trace["loss"], base.trace["loss"], rtol=1e-12)
    steep = wb.run(wb.optim.ScheduleFreeSGD(r=1000), prob, max_steps=30)
    assert steep.status.label == "max_steps" and steep.trace["averaging_weight"][-1] == pytest.approx(1.0)
