"""Regression tests of a review of the optimizers: knobs moved mid-run, documented claims,
degenerate inputs and extreme-but-allowed settings."""
from __future__ import annotations

import copy
import pathlib

import numpy as np
import pytest

import workbench as wb
from workbench.core import InvalidParameter

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "optim.md"


# -- FOSI ------------------------------------------------------------------------------------

@pytest.mark.parametrize("first", ["heavy_ball", "gd"])
def test_fosi_switched_to_adam_mid_run_takes_a_fresh_adam_step(first):
    # heavy ball's buffer (~g/(1-beta)) was read as Adam's first moment with Adam's step count
    # restarting at 1: the first Adam step was ~900 lr in a coordinate
    prob = wb.problems.quadratic(dim=30, condition=100.0, distance=5.0)
    lr = 0.01
    method = wb.optim.FOSI(base=first, lr=lr, rank=3, update_every=1000)  # no estimate: the base alone
    state = method.init(prob)
    for _ in range(50):
        state = method.step(prob, state)
    method.base = "adam"
    sizes = []
    for _ in range(2):
        x = state.x.copy()
        state = method.step(prob, state)
        sizes.append(np.abs(state.x - x).max() / lr)
    fresh = wb.optim.FOSI(base="adam", lr=lr, rank=3, update_every=1000)
    s2 = fresh.init(prob)
    x2 = s2.x.copy()
    s2 = fresh.step(prob, s2)
    first_fresh = np.abs(s2.x - x2).max() / lr
    assert first_fresh == pytest.approx(1.0, rel=1e-3)  # Adam's first step: lr per coordinate
    assert sizes[0] == pytest.approx(first_fresh, rel=1e-3)
    assert sizes[1] <= 1.5


def test_fosi_base_switch_after_an_estimate_restarts_the_subspace_direction():
    prob = wb.problems.quadratic(dim=30, condition=100.0, distance=5.0)
    method = wb.optim.FOSI(base="heavy_ball", lr=0.01, rank=3, warmup=0, update_every=1000)
    runner = wb.Runner(method, prob, max_steps=100)
    runner.advance(max_steps=20)
    assert np.linalg.norm(runner.state.buffers["u"]) > 0  # heavy ball's sum of g1
    g = runner.state.grad.copy()
    method.base = "adam"
    runner.advance(max_steps=1)
    b = runner.state.buffers
    assert b["base"] == "adam" and b["base_steps"] == 1
    V = b["V"]
    # Adam's EMA of g1 after one step from 0, as a fresh FOSI-Adam: (1 - beta) g1
    np.testing.assert_allclose(b["u"], (1.0 - method.momentum) * (V @ (V.T @ g)), rtol=1e-10, atol=1e-14)


def _fosi_gd(lr, lr_clip):
    prob = wb.problems.quadratic(dim=50, condition=1000.0)
    method = wb.optim.FOSI(base="gd", lr=lr, rank=5, alpha=1.0, warmup=0, update_every=50, lr_clip=lr_clip)
    return wb.run(method, prob, max_steps=300)


def test_fosis_stability_bound_includes_the_base_steps_scaling():
    prob = wb.problems.quadratic(dim=50, condition=1000.0)
    H = prob.H if prob.H.ndim == 2 else np.diag(prob.H)
    ev = np.sort(np.linalg.eigvalsh(H))[::-1]
    lam6, s = ev[5], min(max(ev[0] / ev[4], 1.0), 3.0)
    assert 1.5 < s < 3.0
    assert _fosi_gd(0.9 * 2 / lam6, 3.0).status is wb.Status.DIVERGED  # 2/lambda_6 is not the bound here
    assert _fosi_gd(0.9 * 2 / lam6, 1.0).status is wb.Status.MAX_STEPS  # it is with lr_clip = 1
    res = _fosi_gd(0.9 * 2 / (s * lam6), 3.0)  # 2 / (s lambda_6) with the default lr_clip
    assert res.status is wb.Status.MAX_STEPS and res.final["loss"] < res.trace["loss"][0]
    doc = wb.optim.FOSI.__doc__
    assert r"2/(s\,\lambda_{k+1})" in doc and "lr_clip=1" in doc


def test_fosi_refuses_eps_zero():
    with pytest.raises(InvalidParameter):
        wb.optim.FOSI(base="adam", eps=0.0)
    d = 6
    Hd = np.linspace(1, 10, d)
    x0 = np.ones(d)
    x0[2] = 0.0  # a zero gradient coordinate: 0 / (0 + eps)
    prob = wb.problems.from_functions(lambda x: 0.5 * float(x @ (Hd * x)), lambda x: Hd * x, x0,
                                      hvp=lambda x, v: Hd * v, x_star=np.zeros(d), f_star=0.0)
    res = wb.run(wb.optim.FOSI(base="adam", eps=1e-8, rank=2), prob, max_steps=20)
    assert res.status is wb.Status.MAX_STEPS, res.message


# -- D-Adaptation ------------------------------------------------------------------------------

CASES = [(1, 1.0), (2, 10.0), (10, 10.0), (50, 100.0)]


@pytest.mark.parametrize("momentum", [0.9, 0.0])
@pytest.mark.parametrize("dim,condition", CASES)
def test_d_adaptations_lower_bound_is_below_the_true_distance(dim, condition, momentum):
    prob = wb.problems.quadratic(dim=dim, condition=condition, distance=5.0)
    D = float(np.linalg.norm(prob.x0 - prob.x_star))
    res = wb.run(wb.optim.DAdaptation(momentum=momentum), prob, max_steps=500)
    bound = res.trace["d_lower_bound"]
    assert np.all(bound <= D * (1 + 1e-9)) and bound[-1] > 0.1
    assert np.all(np.diff(bound) >= 0)  # the largest bound so far


def test_d_adaptations_estimate_is_documented_as_not_a_lower_bound():
    prob = wb.problems.quadratic(dim=1, condition=1.0, distance=5.0)
    res = wb.run(wb.optim.DAdaptation(), prob, max_steps=500)
    assert res.final["d_estimate"] > 2 * 5.0  # overshoots D with momentum (14.9)
    doc = wb.optim.DAdaptation.__doc__
    assert "provable lower bound" not in doc and "*not* a lower bound" in doc
    assert "not a lower bound on it" in DOCS.read_text()


def test_d_adaptations_lower_bound_without_momentum_is_the_papers():
    prob = wb.problems.quadratic(dim=10, condition=10.0, distance=5.0)
    method = wb.optim.DAdaptation(momentum=0.0)
    state = method.init(prob)
    best = 0.0
    for _ in range(30):
        state = method.step(prob, state)
        b = state.buffers
        best = max(best, b["numerator"] / np.linalg.norm(b["s"]))  # N / ||s||
        assert method.metrics(prob, state)["d_lower_bound"] == pytest.approx(best, rel=1e-9, abs=1e-300)


def test_d_adaptation_survives_s_returning_to_zero():
    # |x| from just right of its kink: the second step cancels the first, s = 0 exactly
    prob = wb.problems.from_functions(lambda x: float(np.abs(x).sum()), np.sign, np.array([1e-7]),
                                      x_star=np.zeros(1), f_star=0.0)
    for momentum in (0.0, 0.9):
        res = wb.run(wb.optim.DAdaptation(momentum=momentum), prob, max_steps=50)
        assert res.status is wb.Status.MAX_STEPS, res.message  # was FAILED: ZeroDivisionError
        assert np.isfinite(res.trace["d_estimate"]).all()
    prob2 = wb.problems.from_functions(lambda x: 0.5 * float(x @ x), lambda x: x.copy(), np.array([0.5e-6, 0.0]),
                                       x_star=np.zeros(2), f_star=0.0)
    res = wb.run(wb.optim.DAdaptation(momentum=0.0, d0=1e-6), prob2, max_steps=5)
    assert res.status is wb.Status.MAX_STEPS, res.message
    assert res.final["d_estimate"] == pytest.approx(1e-6)


# -- theory step --------------------------------------------------------------------------------

def test_theory_step_reports_lr_zero_from_a_stationary_start():
    prob = wb.problems.from_functions(lambda x: 0.5 * float(x @ x), lambda x: x.copy(), np.zeros(3),
                                      x_star=np.zeros(3), f_star=0.0)
    res = wb.run(wb.optim.TheoryStep(horizon=10), prob, max_steps=3)
    assert np.all(res.trace["lr"] == 0.0)  # was 3.16e298
    assert np.all(res.trace["loss"] == 0.0)


# -- base: schedule dicts and copies --------------------------------------------------------------

def test_a_schedule_dict_changed_in_place_and_reassigned_acts():
    spec = {"name": "cosine", "min_ratio": 0.0}
    method = wb.optim.GD(lr=1.0, schedule=spec, horizon=10)
    assert method.step_size(10) == pytest.approx(0.0)
    spec["min_ratio"] = 0.5
    method.schedule = spec
    assert method.spec()["params"]["schedule"]["min_ratio"] == 0.5
    assert method.step_size(10) == pytest.approx(0.5)  # was 0.0
    spec["min_ratio"] = 0.0  # and back: the copy taken at resolution is not the caller's dict
    method.schedule = spec
    assert method.step_size(10) == pytest.approx(0.0)


def test_copy_copy_is_independent_of_the_original():
    method = wb.optim.Adam(lr=0.1, beta1=0.8, schedule="cosine", horizon=50)
    dup = copy.copy(method)
    assert type(dup) is wb.optim.Adam and dup.spec() == method.spec()
    dup.lr = 0.5
    assert method.lr == 0.1 and method._hp["lr"] == 0.1 and method.step_size(0) == pytest.approx(0.1)
    assert dup._hp["lr"] == 0.5 and dup.step_size(0) == pytest.approx(0.5)
    method.beta1 = 0.7
    assert dup.beta1 == 0.8 and dup._hp["beta1"] == 0.8


# -- extreme but allowed settings ---------------------------------------------------------------

EXTREME = [
    (wb.optim.MFAC, "damping"),
    (wb.optim.MFAC, "weight_decay"),
    (wb.optim.Adam, "eps"),
    (wb.optim.Adam, "weight_decay"),
    (wb.optim.AdamW, "eps"),
    (wb.optim.AdamW, "weight_decay"),
    (wb.optim.Adan, "eps"),
    (wb.optim.Adan, "weight_decay"),
    (wb.optim.DiffGrad, "eps"),
    (wb.optim.Shampoo, "eps"),
    (wb.optim.ScheduleFreeAdamW, "eps"),
    (wb.optim.ScheduleFreeAdamW, "weight_decay"),
    (wb.optim.ScheduleFreeSGD, "weight_decay"),
    (wb.optim.FOSI, "eps"),
    (wb.optim.Lion, "weight_decay"),
    (wb.optim.Prodigy, "weight_decay"),
]


@pytest.mark.parametrize("cls,name", EXTREME, ids=[f"{c.__name__}-{n}" for c, n in EXTREME])
def test_extreme_damping_knobs_are_refused_and_the_largest_allowed_runs(cls, name):
    with pytest.raises(InvalidParameter):
        cls(**{name: 1e308})
    method = cls()
    with pytest.raises(InvalidParameter):
        setattr(method, name, 1e308)
    hi = cls.param[name].bounds[1] if name != "weight_decay" else 1e3  # weight_decay: a check, not a bound
    assert hi is not None and np.isfinite(hi)
    with pytest.raises(InvalidParameter):
        cls(**{name: 1.01 * hi})
    prob = wb.problems.quadratic(dim=6, condition=10.0) if cls is not wb.optim.FOSI else \
        wb.problems.quadratic(dim=8, condition=10.0)
    kwargs = {name: hi}
    if name == "weight_decay":  # keep lr * weight_decay below 1 (a larger product flips x's sign)
        kwargs["lr"] = 1e-4
    if cls is wb.optim.FOSI:
        kwargs.update(base="adam", rank=2)
    res = wb.run(cls(**kwargs), prob, max_steps=10)
    assert res.status in (wb.Status.MAX_STEPS, wb.Status.CONVERGED), res.message
    assert np.isfinite(res.trace["loss"]).all()


# -- schedule-free cost ----------------------------------------------------------------------------

def test_schedule_free_cost_is_documented_with_its_diagnostic_evaluation():
    prob = wb.problems.quadratic(dim=10, condition=10.0)
    costs = {m.__class__.__name__: wb.run(m, prob, max_steps=100).final["cost"]
             for m in (wb.optim.GD(lr=0.1), wb.optim.ScheduleFreeSGD(), wb.optim.ScheduleFreeAdamW())}
    assert costs == {"GD": 101.0, "ScheduleFreeSGD": 200.0, "ScheduleFreeAdamW": 200.0}
    docs = DOCS.read_text()
    assert "`cost` 200 where GD reports 101" in docs
    assert "2t" in wb.optim.base.Optimizer.__doc__ and "only report" in wb.optim.base.Optimizer.__doc__


def test_a_weight_decay_of_zero_keeps_its_box_in_the_controls():
    from workbench.ui.param_widgets import slider_grid

    for cls in (wb.optim.Adam, wb.optim.Adan, wb.optim.ScheduleFreeSGD, wb.optim.MFAC):
        assert slider_grid(cls.param["weight_decay"], 0.0) is None  # not a [0, 1e3] slider in steps of 5
