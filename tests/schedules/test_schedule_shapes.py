"""Shapes, specs and errors of the step-size schedules, and the refined schedule's claims."""
import numpy as np
import pytest

from workbench.core import InvalidParameter, MalformedInput, Trace, UnknownName
from workbench.schedules import (
    Constant, Cosine, LinearDecay, Refined, StepDecay, Warmup, WarmupStableDecay,
    make_schedule, refine_from_grad_norms, refine_from_trace, refined_profile, schedules,
)

T = 100


def test_registry_lists_every_schedule():
    assert schedules() == ["constant", "cosine", "linear", "refined", "step", "warmup", "wsd"]


@pytest.mark.parametrize("schedule, at0, mid, end", [
    (Constant(), 1.0, 1.0, 1.0),
    (LinearDecay(), 1.0, 0.5, 0.0),
    (LinearDecay(min_ratio=0.1), 1.0, 0.55, 0.1),
    (Cosine(), 1.0, 0.5, 0.0),
    (Cosine(min_ratio=0.2), 1.0, 0.6, 0.2),
    (StepDecay(), 1.0, 0.1, 0.01),
    (StepDecay(milestones=[0.6], factor=0.5), 1.0, 1.0, 0.5),
    (WarmupStableDecay(warmup=0.1, decay=0.2), 1 / 11, 1.0, 0.0),
    (Warmup(steps=10, inner="linear"), 1 / 11, 1 - 40 / 90, 0.0),
])
def test_values_at_0_half_and_end(schedule, at0, mid, end):
    assert schedule(0, T) == pytest.approx(at0)
    assert schedule(T // 2, T) == pytest.approx(mid)
    assert schedule(T, T) == pytest.approx(end)
    # past the horizon a schedule holds its final value
    assert schedule(3 * T, T) == pytest.approx(end)


@pytest.mark.parametrize("schedule", [LinearDecay(), Cosine(), StepDecay(), Constant(),
                                      WarmupStableDecay(warmup=0.0), Cosine(min_ratio=0.3)])
def test_decaying_schedules_never_increase(schedule):
    v = schedule.values(T)
    assert np.all(np.diff(v) <= 1e-15)
    assert v.min() >= 0 and v.max() <= 1


def test_linear_and_cosine_formulas():
    t = np.arange(T + 1)
    np.testing.assert_allclose(LinearDecay().values(T), 1 - t / T)
    np.testing.assert_allclose(Cosine().values(T), 0.5 * (1 + np.cos(np.pi * t / T)))
    # cosine stays above linear decay in the first half: it anneals later
    assert np.all(Cosine().values(T)[1:50] > LinearDecay().values(T)[1:50])


def test_warmup_ramps_then_follows_the_inner_schedule():
    s = Warmup(steps=10, inner="cosine")
    v = s.values(110)
    assert np.all(np.diff(v[:11]) > 0)            # strictly increasing ramp
    assert v[10] == pytest.approx(1.0)             # then the inner schedule from its start
    np.testing.assert_allclose(v[10:], Cosine().values(100))


def test_warmup_fraction_and_whole_horizon_error():
    assert Warmup(fraction=0.1).warmup_steps(200) == 20
    with pytest.raises(InvalidParameter, match="takes the whole horizon"):
        Warmup(steps=50, inner="linear")(0, 40)


def test_wsd_phases():
    s = WarmupStableDecay(warmup=0.1, decay=0.3, decay_shape="cosine")
    v = s.values(100)
    assert np.all(np.diff(v[:11]) > 0)
    assert np.all(v[10:71] == 1.0)
    assert np.all(np.diff(v[70:]) <= 0) and v[-1] == 0.0
    assert WarmupStableDecay(warmup=0, decay=0.5, decay_shape="sqrt")(75, 100) == pytest.approx(1 - np.sqrt(0.5))


def test_step_every_needs_no_horizon():
    s = StepDecay(every=10, factor=0.5)
    assert s(9) == 1.0 and s(10) == 0.5 and s(25) == 0.25
    assert not s.requires_horizon()


def test_make_schedule_accepts_none_name_dict_and_instance_and_round_trips():
    assert isinstance(make_schedule(None), Constant)
    assert isinstance(make_schedule("linear_decay"), LinearDecay)
    s = Cosine(min_ratio=0.1)
    assert make_schedule(s) is s
    assert make_schedule({"name": "cosine", "min_ratio": 0.1})(50, 100) == pytest.approx(0.55)
    nested = Warmup(steps=5, inner={"name": "wsd", "params": {"decay": 0.5}})
    rebuilt = make_schedule(nested.spec())
    assert rebuilt.spec() == nested.spec()
    np.testing.assert_allclose(rebuilt.values(60), nested.values(60))


@pytest.mark.parametrize("bad, error, match", [
    ("cosin", UnknownName, "Did you mean cosine"),
    ({"params": {}}, MalformedInput, "needs a 'name'"),
    ({"name": "cosine", "params": {"warmup": 3}}, InvalidParameter, "has no parameter warmup"),
    ({"name": "cosine", "min_ratio": 2.0}, InvalidParameter, "bad value"),
    ({"kind": "method", "name": "sgd"}, MalformedInput, "kind 'schedule'"),
    (3.0, InvalidParameter, "None, a name, a spec dict"),
    ({"name": "cosine", "params": [1]}, MalformedInput, "'params' is a mapping of parameter names"),
    ({"name": "step", "milestones": [float("nan")]}, InvalidParameter, "strictly between 0 and 1, got .nan."),
    ({"name": "refined", "profile": [5, 10]}, InvalidParameter, "at most 1, and this one peaks at 10"),
])
def test_bad_schedules_raise_with_a_sentence(bad, error, match):
    with pytest.raises(error, match=match):
        make_schedule(bad)


def test_schedules_that_need_the_horizon_say_so():
    with pytest.raises(InvalidParameter, match="set horizon=T"):
        Cosine()(3)
    with pytest.raises(InvalidParameter, match="set horizon=T"):
        Cosine().validate(None)
    with pytest.raises(InvalidParameter, match="positive integer"):
        LinearDecay()(3, 0)
    with pytest.raises(InvalidParameter, match="t must be a number >= 0"):
        LinearDecay()(-1, 10)
    with pytest.raises(InvalidParameter, match="strictly between 0 and 1"):
        StepDecay(milestones=[50])(3, 100)
    with pytest.raises(InvalidParameter, match="add up to more than 1"):
        WarmupStableDecay(warmup=0.6, decay=0.6)  # at construction, not at the first step
    wsd = WarmupStableDecay(warmup=0.5, decay=0.2)
    with pytest.raises(InvalidParameter, match=r"warm-up \(0.9\) and decay \(0.2\) fractions add up"):
        wsd.warmup = 0.9  # a slider moved alone is checked against the other fraction
    with pytest.raises(InvalidParameter, match="fractions add up"):
        wsd.param.update(decay=0.6)  # param's own update passes the same check
    assert (wsd.warmup, wsd.decay) == (0.5, 0.2)
    wsd.decay = 0.5  # exactly 1 is allowed: no stable phase
    # An update is checked against the state it leaves, whatever the order of its values:
    # (0.5, 0.5) -> (0.8, 0.1) passes, though 0.8 beside the old 0.5 would not ...
    wsd.param.update(warmup=0.8, decay=0.1)
    assert (wsd.warmup, wsd.decay) == (0.8, 0.1)
    # ... and a refused update assigns none of its values, even the ones that come first.
    with pytest.raises(InvalidParameter, match=r"warm-up \(0.3\) and decay \(0.9\)"):
        wsd.param.update(min_ratio=0.1, warmup=0.3, decay=0.9)
    assert (wsd.warmup, wsd.decay, wsd.min_ratio) == (0.8, 0.1, 0.0)
    with wsd.param.update(warmup=0.1, decay=0.85):  # as a context manager, and its restore
        assert (wsd.warmup, wsd.decay) == (0.1, 0.85)
    assert (wsd.warmup, wsd.decay) == (0.8, 0.1)
    wsd.param.update(warmup=0.5, decay=0.5)
    assert wsd(99, 100) == pytest.approx(1 / 50)
    Constant().validate(None)  # needs none


# -- the refined schedule --------------------------------------------------------------
def test_refined_on_constant_gradient_norms_is_linear_decay():
    """The paper's observation: with constant G_t, w_t sum_{s>t} w_s is linear decay."""
    for adam_like in (False, True):
        s = refine_from_grad_norms(np.full(200, 3.7), adam_like=adam_like)
        np.testing.assert_allclose(s.values(200), LinearDecay().values(200), atol=1e-12)
        np.testing.assert_allclose(s.values(57), LinearDecay().values(57), atol=1e-12)


def test_refined_profile_matches_the_formula():
    rng = np.random.default_rng(0)
    G = rng.uniform(0.5, 2.0, size=30)
    p = refined_profile(G, filter_width=1)
    w = G ** -2.0
    expected = np.array([w[t] * w[t + 1:].sum() for t in range(30)])
    np.testing.assert_allclose(p, expected / expected.max())
    pa = refined_profile(G, adam_like=True, filter_width=1)
    w = 1 / G
    expected = np.array([w[t] * w[t + 1:].sum() for t in range(30)])
    np.testing.assert_allclose(pa, expected / expected.max())
    assert p.max() == 1.0 and p[-1] == 0.0


def test_refined_shrinking_norms_give_warmup_and_fast_annealing():
    """Gradient norms that fall during the run (typical of training) make the refined
    schedule start low (a warm-up) and end with a faster decay than linear."""
    t = np.arange(400)
    G = 1.0 / (1.0 + t / 40.0)
    v = refine_from_grad_norms(G).values(400)
    assert v[0] < 0.05 and np.all(np.diff(v[:200]) > 0)      # warm-up emerges by itself
    peak = int(v.argmax())
    assert 200 < peak < 360
    # after the peak it anneals from 1 to 0 in (400 - peak) steps: over the last 10 % of
    # the run it falls more than 6x as fast as linear decay's 0.1
    assert v[360] - v[400] > 0.6


def test_median_filter_removes_a_single_spike():
    G = np.ones(101)
    G[50] = 100.0
    smooth = refined_profile(G)                       # default width: 10 % of the run
    raw = refined_profile(G, filter_width=1)
    np.testing.assert_allclose(smooth, 1 - np.arange(101) / 100, atol=1e-12)
    assert raw[50] < 1e-3                             # unfiltered, the spike punches a hole


def test_refine_from_trace_reads_grad_norm_and_drops_the_final_row():
    trace = Trace.from_dict({"loss": np.ones(11), "grad_norm": np.r_[np.full(10, 2.0), np.nan]})
    s = refine_from_trace(trace)
    assert isinstance(s, Refined) and len(s.profile) == 10
    np.testing.assert_allclose(s.values(10), 1 - np.arange(11) / 10)

    class FakeResult:
        pass

    result = FakeResult()
    result.trace = trace
    assert refine_from_trace(result).spec() == s.spec()


@pytest.mark.parametrize("norms, match", [
    ([1.0], "at least 2 steps"),
    ([1.0, np.inf, 2.0], "did the run diverge"),
    ([0.0, 0.0, 0.0], "stationary point"),
])
def test_refine_bad_norms(norms, match):
    with pytest.raises(MalformedInput, match=match):
        refine_from_grad_norms(norms)


def test_refine_from_trace_without_the_column():
    with pytest.raises(MalformedInput, match="'grad_norm' column"):
        refine_from_trace(Trace.from_dict({"residual": [1.0, 0.5, 0.2]}))
    with pytest.raises(InvalidParameter, match="profile must be"):
        Refined(profile=[np.nan, 1.0])(0, 10)


def test_refine_from_a_diverged_run_is_refused():
    import workbench as wb

    blown = wb.run(wb.optim.GD(lr=4.0), wb.problems.quadratic(dim=5, condition=10.0), max_steps=200)
    assert blown.status.label == "diverged"
    with pytest.raises(MalformedInput, match="this run ended diverged .*refine from a run that did not"):
        refine_from_trace(blown)


@pytest.mark.parametrize("call, match", [
    (lambda s: s(5, float("inf")), "horizon must be a positive integer number of steps, got inf"),
    (lambda s: s(5, True), "got True"),
    (lambda s: s(None, 10), "t must be a number >= 0, got None"),
    (lambda s: s("a", 10), "t must be a number >= 0, got 'a'"),
    (lambda s: s.values(10, num=-1), "num is how many points to evaluate, a whole number >= 1; got -1"),
])
def test_a_schedule_evaluated_at_nonsense_says_so(call, match):
    # (these were OverflowError, TypeError and ValueError from numpy, or True taken as T = 1)
    with pytest.raises(InvalidParameter, match=match):
        call(Cosine())


def test_refined_profile_filter_width_is_a_whole_number():
    with pytest.raises(InvalidParameter, match="filter_width must be a positive whole number of steps, got 'a'"):
        refined_profile(np.ones(5), filter_width="a")


def test_warmup_takes_a_name_or_spec_for_inner_after_construction_too():
    w = Warmup(steps=3)
    w.inner = "cosine"
    assert isinstance(w.inner, Cosine) and w(3, 23) == 1.0 and w(13, 23) == pytest.approx(0.5)
    w.param.update(inner={"name": "linear"})
    assert isinstance(w.inner, LinearDecay)
    with pytest.raises(UnknownName, match="no schedule called 'bogus'"):
        w.inner = "bogus"
    assert isinstance(w.inner, LinearDecay)


# -- review fixes: zero norms, diverged traces, step decay past T, short WSD runs -----------
def test_refined_norms_that_reach_zero_are_cut_there():
    """A run that converged exactly (G_t = 0) used to floor the zeros at 1e-12 max G, giving those
    steps weights 1e24 times the rest: s(0) = 1.3e-24, s(25 of 35) = 1.4e-19."""
    G = np.geomspace(1, 1e-3, 30)
    s = refine_from_grad_norms(np.r_[G, np.zeros(5)])
    assert len(s.profile) == 30 and s.profile.max() == 1.0
    # the schedule of the steps that did the work, stretched over the horizon
    np.testing.assert_allclose(s.values(35), refine_from_grad_norms(G).values(35))
    assert s(25, 35) > 0.05
    np.testing.assert_allclose(refined_profile([1.0, 1.0, 1.0, 0.0, 0.0], filter_width=1), [1.0, 0.5, 0.0])


@pytest.mark.parametrize("norms, match", [
    ([1.0, 0.0, 0.0, 0.0], "exactly 0 at step 1: the run had converged after 1 step"),
    ([0.0, 1.0, 1.0], "exactly 0 at step 0: the run started at a stationary point"),
])
def test_refined_norms_too_few_before_a_zero_are_refused(norms, match):
    with pytest.raises(MalformedInput, match=match):
        refined_profile(norms, filter_width=1)


def test_refined_norms_over_hundreds_of_orders_of_magnitude_stay_finite():
    # (without the old floor at 1e-12 max G, G^-2 overflowed or underflowed here)
    np.testing.assert_allclose(refined_profile([1e200, 1e-200], filter_width=1), [1.0, 0.0])
    np.testing.assert_allclose(refined_profile([1e-200, 1e-200, 1e-200], filter_width=1), [1.0, 0.5, 0.0])
    p = refined_profile(np.geomspace(1e150, 1e-150, 50), filter_width=1)
    assert np.all(np.isfinite(p)) and p.max() == 1.0 and p[-1] == 0.0


def test_refine_from_a_bare_trace_of_a_diverged_run_is_refused():
    """The Result was refused, its Trace (all the dashboard passed) was not: profile [1, 0, 0]."""
    import workbench as wb

    res = wb.run(wb.optim.GD(lr=50.0, schedule="linear", horizon=100), wb.get_problem("quadratic"), max_steps=100)
    assert res.status.label == "diverged"
    with pytest.raises(MalformedInput, match=r"grad_norm grew from .* more than 10000 x: the run diverged"):
        refine_from_trace(res.trace)
    with pytest.raises(MalformedInput, match="infinite at row 2"):
        refine_from_trace(Trace.from_dict({"grad_norm": [1.0, 0.5, np.inf]}))  # (the final row counts)
    grown = Trace.from_dict({"grad_norm": [1.0, 10.0, 100.0, 50.0]})
    assert len(refine_from_trace(grown).profile) == 3  # 100 x is no divergence ...
    with pytest.raises(MalformedInput, match="more than 50 x"):
        refine_from_trace(grown, divergence=50)        # ... unless told so
    assert len(refine_from_trace(res.trace, divergence=None).profile) == 3
    with pytest.raises(MalformedInput, match="recorded loss grew"):
        refine_from_trace(Trace.from_dict({"grad_norm": [1.0, 2.0, 3.0], "loss": [0.5, 2.0, np.inf]}))
    fine = Trace.from_dict({"grad_norm": [1.0, 2.0, 3.0], "loss": [0.5, 2.0, 1e7]})
    assert len(refine_from_trace(fine).profile) == 2
    with pytest.raises(InvalidParameter, match="growth factor of at least 1"):
        refine_from_trace(grown, divergence=0.5)


def test_the_schedules_page_says_why_a_diverged_recording_cannot_be_refined():
    """The page passed runner.trace, so its 'a diverged recording: say why' path never fired."""
    from pathlib import Path

    import panel as pn

    from workbench.ui.server import _load_module

    page = _load_module(Path(__file__).resolve().parents[2] / "apps" / "schedules.py", "wb_test_")
    race, view = page.race_section()
    (lr,) = [w for w in view.select(pn.widgets.FloatInput) if "wb-race-lr" in w.css_classes]
    (button,) = [b for b in view.select(pn.widgets.Button) if "wb-refine" in b.css_classes]
    (status,) = [p for p in view.select(pn.pane.HTML) if "wb-refine-status" in p.css_classes]
    lr.value = 1.2  # GD on the 2-d Rastrigin diverges after ~20 steps, enough to record
    for _ in range(3000):
        if not any(lane.running for lane in race.lanes):
            break
        race.step()
    linear = next(lane for lane in race.lanes if lane.label == "linear decay")
    assert linear.runner.status.label == "diverged" and len(linear.runner.trace) >= 10
    button.clicks += 1
    assert "Cannot refine: this run ended diverged" in status.object
    # the bare trace is refused too: its loss grew 1e8 x, its gradient norm "only" ~3e3 x
    with pytest.raises(MalformedInput, match="recorded loss grew from .* the run diverged"):
        refine_from_trace(linear.runner.trace)


def test_step_decay_every_holds_its_value_past_the_horizon():
    s = StepDecay(every=10, factor=0.5)
    assert s(100, 100) == 0.5 ** 10
    assert s(150, 100) == s(100, 100) == s(10_000, 100)  # was 3.1e-5 at 150
    assert s(150) == 0.5 ** 15                            # no horizon: nothing to hold at


def test_wsd_short_runs_decay_to_min_ratio_and_keep_the_warmup_ramp():
    # decay = 0.2 of T = 2 rounded to 0 steps: no decay at all, s(T) = 1
    assert WarmupStableDecay(warmup=0, decay=0.2)(2, 2) == 0.0
    assert WarmupStableDecay(warmup=0, decay=0.2, min_ratio=0.1)(2, 2) == pytest.approx(0.1)
    # W = D = round(1.5) = 2 > T - D: the decay overwrote the ramp, [0.33, 1.0, 0.5, 0]
    v = WarmupStableDecay(warmup=0.5, decay=0.5).values(3)
    np.testing.assert_allclose(v, [0.5, 1.0, 0.5, 0.0])      # the warm-up yields a step
    for T in range(1, 40):
        for w, d in [(0.5, 0.5), (0.3, 0.7), (0.05, 0.2), (0.0, 0.01), (0.2, 0.0)]:
            v = WarmupStableDecay(warmup=w, decay=d).values(T)
            W = int(np.argmax(v == 1.0)) if np.any(v == 1.0) else None
            assert W is not None and np.all(np.diff(v[:W + 1]) > 0) and np.all(np.diff(v[W:]) <= 1e-15)
            assert v[-1] == (0.0 if d > 0 else 1.0)
