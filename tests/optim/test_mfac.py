"""M-FAC: the incremental Woodbury solve equals the dense inverse; the Fisher damps what GD cannot."""
import numpy as np
import pytest

import workbench as wb
from workbench.optim.mfac import MFAC, mfac_direction_reference  # importing registers "mfac"


def _steps_with_window(method, prob, steps, window):
    """Yield (gradients in the window, gradient used, x before, state after) for each step."""
    state = method.init(prob)
    seen = []
    for _ in range(steps):
        g, x = state.grad.copy(), state.x
        seen.append(g)
        state = method.step(prob, state)
        yield np.array(seen[-window:]), g, x, state


def test_woodbury_direction_equals_the_dense_inverse_while_the_window_fills_and_wraps():
    prob = wb.problems.quadratic(dim=12, condition=30.0, seed=1)
    method = MFAC(window=5)
    fills = []
    for grads, g, x, state in _steps_with_window(method, prob, 40, window=5):
        expected = mfac_direction_reference(grads, method.damping, g)
        got = state.buffers["direction"]
        assert np.linalg.norm(got - expected) <= 1e-10 * np.linalg.norm(expected), state.t
        np.testing.assert_allclose(state.x, x - method.lr * expected, rtol=1e-10, atol=1e-14)
        fills.append(method.metrics(prob, state)["window_fill"])
    assert fills[:6] == [1, 2, 3, 4, 5, 5] and fills[-1] == 5


def test_momentum_and_decoupled_weight_decay_follow_the_documented_rule():
    prob = wb.problems.quadratic(dim=6, condition=10.0, seed=2)
    method = MFAC(window=3, momentum=0.5, weight_decay=0.1, lr=2e-3)
    v = np.zeros(6)
    for grads, g, x, state in _steps_with_window(method, prob, 10, window=3):
        v = 0.5 * v + mfac_direction_reference(grads, method.damping, g)
        np.testing.assert_allclose(state.x, x - 2e-3 * (v + 0.1 * x), rtol=1e-9)


def test_the_fisher_keeps_a_step_stable_that_diverges_without_it():
    # M-FAC is not Newton: on this quadratic its defaults (lr / damping = 1) end at loss 1.5e-4
    # after 200 steps, GD with lr = 1/L at 1.2e-4, GD's best constant step (1.95/L) at 3.6e-5.
    # What the Fisher does give: outside the window's span the step is the gradient times
    # lr / damping, here 2.5/L, where GD diverges; along the stored gradients it is damped, so
    # the run stays below its initial loss and ends ~1e-3 f0 (1.4e-2 f0 at worst over seeds 0-5).
    prob = wb.problems.quadratic(dim=20, condition=1000.0, seed=0)
    step = 2.5 / prob.metadata["lambda_max"]
    gd = wb.run(wb.optim.GD(lr=step), prob, max_steps=200)
    assert gd.status is wb.Status.DIVERGED
    res = wb.run(MFAC(lr=step * 1e-3, damping=1e-3), prob, max_steps=200)
    f0 = res.trace["loss"][0]
    assert res.status is wb.Status.MAX_STEPS
    assert res.trace["loss"].max() <= f0 * (1 + 1e-12)
    assert res.final["loss"] < 0.05 * f0  # measured 1.1e-3 f0


@pytest.mark.parametrize("bad", [{"window": 0}, {"damping": 0.0}, {"damping": -1e-3}])
def test_bad_hyperparameters_are_refused_with_a_sentence(bad):
    (name, value), = bad.items()
    with pytest.raises(wb.WorkbenchError, match=rf"{name}.*Choose a value in the range"):
        MFAC(**bad)
    method = MFAC()
    with pytest.raises(wb.InvalidParameter, match=name):  # and mid-run, from a slider
        setattr(method, name, value)


def test_a_window_larger_than_the_dimension_is_allowed():
    prob = wb.problems.quadratic(dim=3, condition=10.0)
    res = wb.run(MFAC(window=10), prob, max_steps=30)
    assert res.status is wb.Status.MAX_STEPS and res.final["window_fill"] == 10
    assert res.final["loss"] < res.trace["loss"][0]


def test_spec_round_trip_replays_the_trace():
    prob = wb.problems.quadratic(dim=8, condition=50.0, seed=3)
    res = wb.run(wb.get_method("mfac", window=4, momentum=0.5), prob, max_steps=10)
    replay = wb.from_spec(res.spec()).run()
    assert type(wb.from_spec(res.method_spec)) is MFAC and replay.iterations == res.iterations == 10
    np.testing.assert_array_equal(replay.trace["loss"], res.trace["loss"])
    np.testing.assert_array_equal(replay.trace["window_fill"], res.trace["window_fill"])


def test_runs_on_the_torch_mlp():
    res = wb.run(MFAC(), wb.problems.mlp_digits(width=16, n_train=200), max_steps=3)
    assert res.status is wb.Status.MAX_STEPS, res.message
    assert np.isfinite(res.trace["loss"]).all() and res.final["window_fill"] == 3


def test_huge_nearly_parallel_gradients_do_not_break_the_small_solve():
    # the Gram matrix of gradients ~1e8 drowns k * damping in rounding: Cholesky failed on it
    prob = wb.problems.quadratic(dim=5, condition=10.0, distance=1e8)
    res = wb.run(MFAC(), prob, max_steps=50)
    assert res.status is wb.Status.MAX_STEPS, res.message  # was FAILED: LinAlgError, leading minor not PD
    assert np.isfinite(res.trace["loss"]).all() and res.final["loss"] <= 1.0001 * res.trace["loss"][0]
