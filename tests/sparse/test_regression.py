"""Sparse regression: ISTA vs FISTA rates, IHT recovery, greedy coordinate descent, bad input."""
import numpy as np
import pytest

import workbench as wb
from workbench.core import InvalidParameter, Status, WorkbenchError
from workbench.problems.regression import measurements_for
from workbench.sparse import FISTA, IHT, ISTA, CoordinateDescent, hard_threshold, soft_threshold


def _slope(trace, column, lo, hi):
    k = trace["iteration"]
    sel = (k >= lo) & (k <= hi)
    return np.polyfit(np.log(k[sel]), np.log(trace[column][sel]), 1)[0]


@pytest.fixture(scope="module")
def ill():
    return wb.problems.ill_conditioned_regression(n=300, seed=0)


def test_fista_gap_decays_like_one_over_k_squared_and_ista_like_one_over_k(ill):
    ista = wb.run(ISTA(l1_weight=0.0), ill, rtol=0, max_steps=300)
    fista = wb.run(FISTA(l1_weight=0.0), ill, rtol=0, max_steps=300)
    s_ista = _slope(ista.trace, "objective_gap", 10, 300)
    s_fista = _slope(fista.trace, "objective_gap", 10, 300)
    assert -1.25 <= s_ista <= -0.8, s_ista
    assert -2.4 <= s_fista <= -1.6, s_fista
    assert s_fista < s_ista - 0.6
    assert fista.trace["objective_gap"][-1] < 0.1 * ista.trace["objective_gap"][-1]


def test_ista_and_fista_reach_the_exact_lasso_solution():
    prob = wb.problems.lasso_diabetes()
    x_ref, f_ref = prob.lasso_reference(0.05 * prob.lambda_max)
    for method in (ISTA(l1_weight=0.05), FISTA(l1_weight=0.05)):
        res = wb.run(method, prob, rtol=1e-10, max_steps=20_000)
        assert res.converged
        np.testing.assert_allclose(res.x, x_ref, atol=1e-7)
        assert res.final["objective_gap"] < 1e-10
    # the exact reference agrees with scikit-learn's coordinate descent
    from sklearn.linear_model import Lasso

    sk = Lasso(alpha=0.05 * prob.lambda_max / prob.m, fit_intercept=False, tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(sk.fit(prob.A, prob.y).coef_, x_ref, atol=1e-6)


def test_fista_matches_a_transcription_of_beck_teboulle():
    prob = wb.problems.compressed_sensing(n=60, k=4, seed=3)
    lam, L = 0.1 * prob.lambda_max, prob.lipschitz
    x_prev = z = np.zeros(prob.n)
    t = 1.0
    runner = wb.Runner(FISTA(l1_weight=0.1), prob, rtol=0, max_steps=25)
    runner.advance()
    for _ in range(25):
        x = soft_threshold(z - prob.A.T @ (prob.A @ z - prob.y) / L, lam / L)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = x + (t - 1) / t_next * (x - x_prev)
        x_prev, t = x, t_next
    np.testing.assert_allclose(runner.state.x, x_prev, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_iht_recovers_a_k_sparse_signal_from_4_k_log_n_over_k_measurements(seed):
    n, k = 256, 8
    prob = wb.problems.compressed_sensing(n=n, k=k, seed=seed)
    assert prob.m == measurements_for(n, k) == int(np.ceil(4 * k * np.log(n / k)))
    res = wb.run(IHT(k=k), prob, rtol=1e-10, max_steps=500)
    assert res.converged
    assert res.final["support_recovered"] == 1.0
    assert res.final["relative_error"] < 1e-8


def test_normalised_iht_needs_far_fewer_steps_than_the_fixed_step():
    prob = wb.problems.compressed_sensing(n=256, k=8, seed=0)
    normalised = wb.run(IHT(k=8), prob, rtol=1e-10, max_steps=5000)
    fixed = wb.run(IHT(k=8, step_rule="fixed"), prob, rtol=1e-10, max_steps=5000)
    assert normalised.converged and fixed.converged
    assert fixed.final["support_recovered"] == 1.0 and fixed.final["relative_error"] < 1e-8
    assert np.all(fixed.trace["step_size"][1:] == 1.0 / prob.lipschitz)
    assert 5 * normalised.iterations < fixed.iterations


def test_hard_threshold_keeps_the_k_largest():
    v = np.array([0.1, -3.0, 2.0, -0.5, 1.0])
    np.testing.assert_array_equal(hard_threshold(v, 2), [0, -3.0, 2.0, 0, 0])


@pytest.mark.parametrize("rule", ["gauss_southwell", "gauss_southwell_q"])
def test_greedy_coordinate_descent_identifies_the_support_and_terminates(rule):
    prob = wb.problems.compressed_sensing(n=256, k=8, seed=0)
    truth = prob.x_true != 0
    # single-coordinate greedy steps never touch a coordinate outside the true support
    single = wb.run(CoordinateDescent(rule=rule, l1_weight=0.05), prob, rtol=1e-12, max_steps=5000)
    assert single.converged
    assert np.nanmax(single.trace["false_positives"]) == 0
    assert np.array_equal(single.x != 0, truth)
    # with a block as large as the support, one Newton step on it ends the run exactly
    block = wb.run(CoordinateDescent(rule=rule, block_size=16, l1_weight=0.05), prob, rtol=1e-12,
                   max_steps=5000)
    assert block.converged and block.iterations <= 30
    assert block.final["optimality"] < 1e-10 * block.trace["optimality"][0]
    assert np.array_equal(block.x != 0, truth)
    # cyclic selection needs far more coordinate steps on the same instance
    cyclic = wb.run(CoordinateDescent(rule="cyclic", l1_weight=0.05), prob, rtol=1e-12, max_steps=5000)
    assert cyclic.iterations > 10 * single.iterations


def test_all_rules_reach_the_same_lasso_solution():
    prob = wb.problems.compressed_sensing(n=80, k=4, seed=1)
    x_ref, _ = prob.lasso_reference(0.1 * prob.lambda_max)
    for rule in ("cyclic", "random", "gauss_southwell", "gauss_southwell_q"):
        res = wb.run(CoordinateDescent(rule=rule, l1_weight=0.1), prob, rtol=1e-10, max_steps=50_000)
        assert res.converged, rule
        np.testing.assert_allclose(res.x, x_ref, atol=1e-7, err_msg=rule)


def test_knobs_moved_mid_run_take_effect():
    prob = wb.problems.lasso_diabetes()
    method = FISTA(l1_weight=0.5)
    runner = wb.Runner(method, prob, rtol=0, max_steps=2000)
    runner.advance(max_steps=500)
    nnz_strong = runner.trace["nnz"][-1]
    method.l1_weight = 0.01
    runner.advance(max_steps=1000)
    assert runner.iteration == 1500
    assert runner.trace["nnz"][-1] > nnz_strong


def test_bad_regression_input_raises_sentences():
    prob = wb.problems.compressed_sensing(n=20, k=3, seed=0)
    with pytest.raises(InvalidParameter, match="larger than the number of unknowns"):
        wb.run(IHT(k=50), prob)
    with pytest.raises(WorkbenchError, match="k <= n"):
        wb.problems.compressed_sensing(n=10, k=11)
    for cls in (ISTA, FISTA, CoordinateDescent):
        with pytest.raises(InvalidParameter, match="regularisation"):
            cls(l1_weight=-0.1)
    with pytest.raises(InvalidParameter, match="block_size"):
        CoordinateDescent(block_size=0)
    with pytest.raises(WorkbenchError, match="rows but y has"):
        wb.problems.regression_problem(np.ones((3, 2)), np.ones(4))
    with pytest.raises(WorkbenchError, match="sparse_regression"):
        wb.run(ISTA(), wb.problems.poisson1d(8))
    # A knob moved mid-run to a bad value is refused at the assignment; the run goes on.
    method = ISTA()
    runner = wb.Runner(method, prob, max_steps=10)
    runner.advance(max_steps=1)
    with pytest.raises(InvalidParameter, match="regularisation"):
        method.l1_weight = -1.0
    for make, knob, value, sentence in [(IHT, "k", 0, "at least 1"), (CoordinateDescent, "block_size", 0, "block_size")]:
        with pytest.raises(InvalidParameter, match=sentence):
            setattr(make(), knob, value)
    runner.advance()
    assert method.l1_weight == 0.05 and runner.status is Status.MAX_STEPS and runner.iteration == 10


def test_regression_runs_round_trip_through_specs():
    res = wb.run(wb.get_method("coordinate_descent", rule="random", seed=4, l1_weight=0.1),
                 wb.get_problem("compressed_sensing", n=50, k=3, seed=2), max_steps=300)
    again = wb.from_spec(res.spec()).run()
    assert again.iterations == res.iterations
    np.testing.assert_array_equal(again.x, res.x)
