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


# -- review fixes: sigma moved mid-run, the default lower solver, a user's lower_solution / smoothness --

def test_sigma_moved_far_mid_run_keeps_the_run_stable():
    # y - z holds an O(1/sigma) offset; without rescaling it, 100 -> 1e5 made the next x step ~1000x
    # too long and the run diverged (penalty_residual 4e19 within 30 steps).
    prob = wb.problems.ridge_hyperparameters()
    method = wb.bilevel.PenaltyBilevel(sigma=100.0, lr=1.0)
    runner = wb.Runner(method, prob, max_steps=3000)
    runner.advance(max_steps=300)
    before = runner.trace["hyper_objective"][-1]
    method.sigma = 1e5
    runner.advance()
    after = runner.trace["hyper_objective"][300:]
    assert runner.status.name in ("CONVERGED", "MAX_STEPS")
    assert np.all(np.isfinite(after)) and after.max() <= before + 1e-6
    fresh = wb.run(wb.bilevel.PenaltyBilevel(sigma=1e5, lr=1.0), prob, max_steps=3000)
    assert abs(after[-1] - fresh.final["hyper_objective"]) < 1e-5
    assert after[-1] < 0.9 * prob.metadata["best_scalar_validation_loss"]


@pytest.mark.parametrize("start,end", [(100.0, 1e5), (1e5, 100.0)])
def test_after_a_sigma_move_the_run_reaches_the_new_sigmas_point(start, end):
    prob = wb.problems.quadratic_bilevel()
    method = wb.bilevel.PenaltyBilevel(sigma=start)
    runner = wb.Runner(method, prob, rtol=1e-8, max_steps=5000)
    runner.advance(max_steps=100)
    before = runner.trace["hyper_objective"][-1]
    method.sigma = end
    res = runner.run()
    fresh = wb.run(wb.bilevel.PenaltyBilevel(sigma=end), prob, rtol=1e-8, max_steps=5000)
    assert res.status.name == "CONVERGED"
    # No excursion on the way (unrescaled, 100 -> 1e5 sent F from 1.88 to 4e4 and x 328 away).
    assert res.trace["hyper_objective"][101:].max() <= before * (1 + 1e-3)
    assert res.trace["distance"][101:].max() < 0.2
    np.testing.assert_allclose(res.state.x, fresh.state.x, atol=1e-5)
    assert res.final["sigma"] == end


def _scaled_quadratic_lower(scale):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    H = (Q * np.geomspace(0.1, 1.0, 4)) @ Q.T
    C = rng.standard_normal((4, 2))
    prob = wb.problems.bilevel_problem(
        upper=lambda x, y: (0.5 * y @ y, np.zeros(2), y),
        lower=lambda x, y: (scale * (0.5 * y @ H @ y - y @ C @ x), -scale * C.T @ y, scale * (H @ y - C @ x)),
        lower_hessians=lambda x, y: (scale * H, -scale * C.T), x0=[0.0, 0.0], y0=np.zeros(4))
    return prob, lambda x: np.linalg.solve(H, C @ x)


@pytest.mark.parametrize("scale", [1.0, 1e8, 1e-8])
def test_the_default_lower_solver_does_not_depend_on_the_scale_of_g(scale):
    # (the old near-absolute tolerance failed at 1e8 once warm-started, and stopped early at 1e-8)
    prob, exact = _scaled_quadratic_lower(scale)
    x = np.array([0.3, -0.7])
    for xx in (x, x + 1e-9, x + 1e-3):  # the later solves are warm-started near the answer
        np.testing.assert_allclose(prob.lower_solution(xx), exact(xx), rtol=0, atol=1e-12)
    np.testing.assert_allclose(prob.hypergradient(x), _finite_difference_hypergradient(prob, x), rtol=1e-5)


def _logcosh(u):
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


@pytest.mark.parametrize("mu,y0", [(0.05, [30.0, -40.0, 25.0]), (1e-3, [50.0, -50.0, 3.0]), (1.0, [1e6, -1e6, 0.0])])
def test_the_default_lower_solver_converges_from_far_on_a_logcosh_lower_level(mu, y0):
    # g = sum logcosh(y - x) + mu |y|^2 / 2 is nearly flat far from its minimum: undamped Newton
    # overshoots by ~1/mu and diverges; the line search on g brings it in.
    def g(x, y):
        return _logcosh(y - x).sum() + 0.5 * mu * y @ y

    prob = wb.problems.bilevel_problem(
        upper=lambda x, y: (0.5 * y @ y, np.zeros(3), y),
        lower=lambda x, y: (g(x, y), -np.tanh(y - x), np.tanh(y - x) + mu * y),
        lower_hessians=lambda x, y: (np.diag(1 - np.tanh(y - x) ** 2) + mu * np.eye(3), -np.diag(1 - np.tanh(y - x) ** 2)),
        x0=np.zeros(3), y0=y0)
    x = np.array([2.0, -1.0, 0.5])
    y = prob.lower_solution(x)
    ref = scipy.optimize.minimize(lambda v: g(x, v), np.zeros(3), jac=lambda v: np.tanh(v - x) + mu * v,
                                  method="BFGS", options={"gtol": 1e-12}).x
    np.testing.assert_allclose(y, ref, atol=1e-7)
    assert np.linalg.norm(np.tanh(y - x) + mu * y) < 1e-8


def test_when_the_lower_solver_truly_fails_it_says_why():
    eye = np.eye(2)
    upper = lambda x, y: (0.5 * y @ y, np.zeros(2), y)  # noqa: E731
    value = lambda x, y: 0.5 * (y - x) @ (y - x)  # noqa: E731
    x = np.array([3.0, -2.0])
    flipped = wb.problems.bilevel_problem(upper, lambda x, y: (value(x, y), x - y, x - y),
                                          lambda x, y: (eye, -eye), x0=[0.0, 0.0], y0=[0.0, 0.0])
    with pytest.raises(InvalidProblem, match=r"stalled at this x.*no step along the Newton direction lowers g.*"
                                             r"Check that lower's grad_y and lower_hessians are the derivatives"):
        flipped.lower_solution(x)
    wrong_hessian = wb.problems.bilevel_problem(upper, lambda x, y: (value(x, y), x - y, y - x),
                                                lambda x, y: (1e6 * eye, -eye), x0=[0.0, 0.0], y0=[0.0, 0.0])
    with pytest.raises(InvalidProblem, match=r"did not converge in 100 steps.*lower_hessians is the Hessian of lower"):
        wrong_hessian.lower_solution(x)
    # A run that starts at such an x is refused with the same sentence (the start's metrics need y*(x0)).
    flipped_off = wb.problems.bilevel_problem(upper, lambda x, y: (value(x, y), x - y, x - y),
                                              lambda x, y: (eye, -eye), x0=[1.0, 1.0], y0=[0.0, 0.0])
    with pytest.raises(InvalidProblem, match="stalled at this x"):
        wb.run(wb.bilevel.ImplicitHypergradient(exact_lower=True), flipped_off, max_steps=5)


def _ok_problem(**kw):
    return wb.problems.bilevel_problem(
        upper=lambda x, y: (0.5 * (y - 1) @ (y - 1), np.zeros(1), y - 1),
        lower=lambda x, y: (0.5 * (y - x) @ (y - x), x - y, y - x),
        lower_hessians=lambda x, y: (np.eye(1), -np.eye(1)), x0=[0.0], y0=[0.0], **kw)


@pytest.mark.parametrize("solution,match", [
    (lambda x: np.zeros(3), r"lower_solution\(x\) returned shape \(3,\); y has 1 entries.*Return y\*\(x\)"),
    (lambda x: np.array([np.nan]), r"lower_solution\(x\) returned non-finite entries.*leave lower_solution out"),
    (lambda x: "abc", r"lower_solution\(x\) returned str, not a numeric vector"),
    (lambda x: 1 / 0, r"lower_solution failed at x0: ZeroDivisionError"),
    ("not callable", r"lower_solution must be a function of x"),
])
def test_a_bad_lower_solution_is_refused_with_what_to_do(solution, match):
    with pytest.raises(InvalidProblem, match=match):
        _ok_problem(lower_solution=solution)


@pytest.mark.parametrize("smoothness,match", [
    (lambda x: 0.0, r"lower_smoothness\(x\) returned 0.0 at this x; L_g\(x\) must be a finite positive number"),
    (lambda x: -2.0, r"returned -2.0 at this x; L_g\(x\) must be a finite positive"),
    (lambda x: np.inf, r"returned inf at this x"),
    (lambda x: np.nan, r"returned nan at this x"),
    (lambda x: np.ones(2), r"lower_smoothness\(x\) returned .*; return one number"),
    (lambda x: 0.5, r"lower_smoothness\(x0\) = 0.5 is below the largest eigenvalue 1 of H_yy"),
])
def test_a_bad_lower_smoothness_is_refused_with_what_to_do(smoothness, match):
    with pytest.raises(InvalidProblem, match=match):
        _ok_problem(lower_smoothness=smoothness)


def test_a_user_lower_solution_that_goes_bad_mid_run_fails_the_run_with_the_reason():
    prob = _ok_problem(lower_solution=lambda x: x if abs(x[0]) < 0.3 else np.full(1, np.nan),
                       lower_smoothness=lambda x: 1.0 if abs(x[0]) < 0.3 else -1.0)
    res = wb.run(wb.bilevel.PenaltyBilevel(sigma=10.0, lr=0.5), prob, max_steps=50)
    assert res.status.name == "FAILED"
    assert "non-finite entries" in res.message or "finite positive number" in res.message
    good = _ok_problem(lower_solution=lambda x: x, lower_smoothness=lambda x: 1.0)
    np.testing.assert_allclose(good.lower_solution(np.array([0.25])), [0.25])
