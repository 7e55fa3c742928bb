"""Bilevel problems and methods: the hypergradient, the penalty's O(1/sigma) bias, the single loop."""
import numpy as np
import pytest
import scipy.optimize

import workbench as wb
from workbench.core import InvalidProblem


def _finite_difference_hypergradient(prob, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (prob.hyper_objective(x + e) - prob.hyper_objective(x - e)) / (2 * h)
    return grad


@pytest.mark.parametrize("prob", [wb.problems.quadratic_bilevel(seed=1), wb.problems.ridge_hyperparameters(features=6)],
                         ids=["quadratic", "ridge"])
def test_the_implicit_hypergradient_agrees_with_finite_differences(prob):
    x = np.random.default_rng(3).standard_normal(prob.dim) * 0.5
    np.testing.assert_allclose(prob.hypergradient(x), _finite_difference_hypergradient(prob, x), rtol=1e-5, atol=1e-8)


def test_the_default_lower_solver_is_newton_and_matches_scipy():
    # A lower level that is not quadratic in y: g = sum(exp(y - x)) + |y|^2 / 2.
    prob = wb.problems.bilevel_problem(
        upper=lambda x, y: (0.5 * (y - 1) @ (y - 1), np.zeros(2), y - 1),
        lower=lambda x, y: (np.exp(y - x).sum() + 0.5 * y @ y, -np.exp(y - x), np.exp(y - x) + y),
        lower_hessians=lambda x, y: (np.diag(np.exp(y - x)) + np.eye(2), -np.diag(np.exp(y - x))),
        x0=[0.3, -0.2], y0=[0.0, 0.0])
    x = np.array([0.7, -1.1])
    ref = scipy.optimize.minimize(lambda y: np.exp(y - x).sum() + 0.5 * y @ y, np.zeros(2), method="BFGS",
                                  options={"gtol": 1e-12}).x
    np.testing.assert_allclose(prob.lower_solution(x), ref, atol=1e-7)
    np.testing.assert_allclose(prob.hypergradient(x), _finite_difference_hypergradient(prob, x), rtol=1e-5)
    assert prob.upper_smoothness == pytest.approx(1.0, rel=1e-6)  # estimated: grad_y f = y - 1


def test_exact_hypergradient_descent_converges_to_the_known_solution():
    prob = wb.problems.quadratic_bilevel()
    res = wb.run(wb.bilevel.ImplicitHypergradient(lr=1.0, exact_lower=True), prob, rtol=1e-10)
    assert res.status.name == "CONVERGED"
    assert res.final["distance"] < 1e-8
    # F is quadratic with strong convexity mu = 1/25 + 0.01 and step 1/L: the rate is 1 - mu/L.
    mu, L = prob.metadata["upper_strong_convexity"], prob.metadata["upper_smoothness"]
    dist = res.trace["distance"]
    rate = (dist[120] / dist[20]) ** (1 / 100)
    assert rate <= 1 - mu / L + 1e-3


def test_the_penalty_bias_falls_like_one_over_sigma():
    prob = wb.problems.quadratic_bilevel()
    distance = {s: wb.run(wb.bilevel.PenaltyBilevel(sigma=s), prob, rtol=1e-10).final["distance"]
                for s in (10.0, 100.0, 1000.0)}
    assert 7 < distance[10.0] / distance[100.0] < 12
    assert 8 < distance[100.0] / distance[1000.0] < 12
    assert distance[1000.0] < 0.02


def test_single_loop_reaches_the_same_point_with_a_fraction_of_the_gradients():
    prob = wb.problems.quadratic_bilevel()
    single = wb.run(wb.bilevel.PenaltyBilevel(sigma=100.0, inner_steps=1), prob, rtol=1e-9)
    double = wb.run(wb.bilevel.PenaltyBilevel(sigma=100.0, inner_steps=10), prob, rtol=1e-9)
    assert single.status.name == double.status.name == "CONVERGED"
    np.testing.assert_allclose(single.state.x, double.state.x, atol=1e-6)
    assert double.final["cost"] > 4 * single.final["cost"]
    assert single.final["hessians"] == 0 == double.final["hessians"]


@pytest.mark.parametrize("sigma", [1e3, 1e5])
def test_the_upper_step_need_not_shrink_with_sigma(sigma):
    prob = wb.problems.quadratic_bilevel()
    res = wb.run(wb.bilevel.PenaltyBilevel(sigma=sigma), prob, rtol=1e-8, max_steps=5000)
    assert res.status.name == "CONVERGED"
    assert res.final["distance"] < 20.0 / sigma


def test_the_message_names_the_bias_that_sigma_leaves():
    res = wb.run(wb.bilevel.PenaltyBilevel(sigma=10.0), wb.problems.quadratic_bilevel())
    assert res.status.name == "CONVERGED"
    assert "O(1/sigma) bias of sigma = 10" in res.message and "raise sigma" in res.message


def test_per_feature_ridge_penalties_beat_the_best_scalar_one():
    prob = wb.problems.ridge_hyperparameters()
    penalty = wb.run(wb.bilevel.PenaltyBilevel(sigma=100.0, lr=1.0), prob, max_steps=3000)
    aid = wb.run(wb.bilevel.ImplicitHypergradient(lr=1.0), prob, max_steps=3000)
    best_scalar = prob.metadata["best_scalar_validation_loss"]
    for res in (penalty, aid):
        assert res.final["hyper_objective"] < 0.9 * best_scalar
        assert res.final["hyper_objective"] > prob.metadata["noise_floor"]
    assert abs(penalty.final["hyper_objective"] - aid.final["hyper_objective"]) < 1e-4
    lam = np.exp(aid.state.x)
    k = prob.metadata["relevant"]
    assert np.median(lam[k:]) > 5 * np.median(lam[:k])   # the irrelevant features are shrunk harder
    assert aid.final["cost"] > 3 * penalty.final["cost"]   # the Hessians' price


def test_a_lower_level_that_is_not_strongly_convex_is_refused():
    with pytest.raises(InvalidProblem, match="not strongly convex in y.*add a ridge term"):
        wb.problems.bilevel_problem(
            upper=lambda x, y: (0.0, np.zeros(1), np.zeros(2)),
            lower=lambda x, y: (0.0, np.zeros(1), np.zeros(2)),
            lower_hessians=lambda x, y: (np.diag([1.0, 0.0]), np.zeros((1, 2))), x0=[0.0], y0=[0.0, 0.0])


def test_wrong_shapes_and_failing_functions_are_explained():
    ok_upper = lambda x, y: (0.0, np.zeros(1), np.zeros(2))  # noqa: E731
    with pytest.raises(InvalidProblem, match=r"H_xy at \(x0, y0\) has shape \(2, 1\); expected \(1, 2\)"):
        wb.problems.bilevel_problem(ok_upper, lambda x, y: (0.0, np.zeros(1), y),
                                    lambda x, y: (np.eye(2), np.zeros((2, 1))), x0=[0.0], y0=[0.0, 0.0])
    with pytest.raises(InvalidProblem, match="failed at \\(x0, y0\\): ZeroDivisionError"):
        wb.problems.bilevel_problem(lambda x, y: 1 / 0, lambda x, y: (0.0, np.zeros(1), y),
                                    lambda x, y: (np.eye(2), np.zeros((1, 2))), x0=[0.0], y0=[0.0, 0.0])
    with pytest.raises(InvalidProblem, match="finite vectors"):
        wb.problems.bilevel_problem(ok_upper, ok_upper, ok_upper, x0=[np.nan], y0=[0.0])


def test_the_gallery_refuses_impossible_sizes():
    with pytest.raises(InvalidProblem, match="lower_dim = 2 must be at least upper_dim = 3"):
        wb.problems.quadratic_bilevel(upper_dim=3, lower_dim=2)
    with pytest.raises(InvalidProblem, match="relevant = 9 cannot exceed features = 4"):
        wb.problems.ridge_hyperparameters(features=4, relevant=9)


def test_a_bilevel_method_refuses_other_problems():
    from workbench.core import IncompatibleProblem

    with pytest.raises(IncompatibleProblem, match="solves bilevel problems"):
        wb.run(wb.bilevel.PenaltyBilevel(), wb.problems.poisson2d(4), max_steps=1)


def test_a_too_long_upper_step_is_caught_as_divergence():
    res = wb.run(wb.bilevel.ImplicitHypergradient(lr=5.0, exact_lower=True), wb.problems.quadratic_bilevel(),
                 max_steps=2000)
    assert res.status.name in ("DIVERGED", "NONFINITE")
