"""IHT stops at a fixed point of its map (x and its support no longer change), which it reaches
on noisy and not exactly sparse data too, where the residual has a floor the message names."""
from __future__ import annotations

import numpy as np
import pytest

import workbench as wb
from workbench.sparse import IHT, hard_threshold


def test_iht_on_noisy_data_converges_at_its_fixed_point_and_names_the_residual_floor():
    # (with the residual as stop metric this ran to max_steps = 3000 at relative residual 0.0189:
    # x had stopped changing at step 37, and a dashboard lane never ended)
    cs = wb.problems.compressed_sensing(n=256, k=8, seed=0, noise=0.01)
    res = wb.run(IHT(k=8), cs, max_steps=3000)
    assert IHT.stop_metric == "fixed_point_residual"
    assert res.converged and res.iterations < 100, res.message
    assert res.final["support_recovered"] == 1.0
    assert res.final["relative_residual"] == pytest.approx(0.0189, abs=1e-3)  # the floor, still reported
    assert "stays at 0.0189 of ||y||" in res.message and "fixed point of the IHT map" in res.message
    # a longer run does not move x: it is a fixed point, not a pause
    longer = wb.run(IHT(k=8), cs, rtol=0, max_steps=res.iterations + 50)
    np.testing.assert_allclose(longer.x, res.x, rtol=1e-7, atol=1e-10)
    assert np.array_equal(np.flatnonzero(longer.x), np.flatnonzero(res.x))


def test_iht_ends_on_data_that_is_not_sparse():
    # the diabetes design: no 3-sparse x fits y; before, the run went to max_steps
    res = wb.run(IHT(k=3), wb.problems.lasso_diabetes(), max_steps=2000)
    assert res.converged and res.iterations < 100, res.message
    assert res.final["relative_residual"] > 0.5 and "floor of k = 3" in res.message


def test_noiseless_recovery_has_no_floor_note():
    res = wb.run(IHT(k=8), wb.problems.compressed_sensing(n=256, k=8, seed=0), rtol=1e-10, max_steps=500)
    assert res.converged and res.final["relative_error"] < 1e-8
    assert "floor" not in res.message and res.final["relative_residual"] < 1e-9


def test_the_fixed_point_residual_is_the_length_of_the_next_step_and_the_iterates_are_unchanged():
    # Fixed step by hand: x_{j+1} = H_k(x_j + A^T(y - A x_j) / L); the trace's fixed-point residual
    # at row j is ||x_{j+1} - x_j||, and a k moved mid-run acts on the very next step.
    prob = wb.problems.compressed_sensing(n=64, k=4, seed=1)
    m = IHT(k=4, step_rule="fixed")
    runner = wb.Runner(m, prob, rtol=0, max_steps=100)
    runner.advance(max_steps=5)
    m.k = 6
    runner.advance(max_steps=5)
    x, xs = prob.x0.copy(), [prob.x0.copy()]
    for j in range(11):
        x = hard_threshold(x + prob.A.T @ (prob.y - prob.A @ x) / prob.lipschitz, 4 if j < 5 else 6)
        xs.append(x)
    np.testing.assert_allclose(runner.x, xs[10], rtol=1e-12, atol=1e-14)
    steps = [np.linalg.norm(xs[j + 1] - xs[j]) for j in range(11)]
    # (row 5 was recorded before the move, with the map of k = 4)
    steps[5] = np.linalg.norm(hard_threshold(xs[5] + prob.A.T @ (prob.y - prob.A @ xs[5]) / prob.lipschitz, 4)
                              - xs[5])
    np.testing.assert_allclose(runner.trace["fixed_point_residual"], steps, rtol=1e-9, atol=1e-14)
    assert runner.trace["fixed_point_residual"][0] == pytest.approx(np.linalg.norm(xs[1]))  # from x0 = 0
    assert np.isnan(runner.trace["step_size"][0]) and runner.trace["step_size"][1] == 1.0 / prob.lipschitz


def test_a_start_at_a_fixed_point_converges_at_once():
    prob = wb.problems.regression_problem([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    res = wb.run(IHT(k=1), prob, max_steps=5)
    assert res.converged and res.iterations == 0
