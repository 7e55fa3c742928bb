"""SQP with sketched Newton systems: the merit's gradient, unit steps, linear vs superlinear rates."""
import math

import numpy as np
import pytest

import workbench as wb
from workbench.sketching.sketched_sqp import augmented_lagrangian


@pytest.fixture(scope="module")
def prob():
    return wb.problems.constrained_quartic(dim=20, constraints=5)


def rates(res):
    k = res.trace["kkt_residual"]
    return k[1:] / k[:-1]


def test_the_merit_gradient_is_the_derivative_of_the_merit(prob):
    rng = np.random.default_rng(1)
    x, lam = rng.standard_normal(prob.dim) * 0.3, rng.standard_normal(prob.n_constraints)
    mu, nu = 3.0, 0.7
    _, gx, gl, _ = augmented_lagrangian(prob, x, lam, mu, nu)
    h = 1e-6
    for i in range(0, prob.dim, 4):
        e = np.zeros(prob.dim)
        e[i] = h
        fd = (augmented_lagrangian(prob, x + e, lam, mu, nu, gradient=False)[0]
              - augmented_lagrangian(prob, x - e, lam, mu, nu, gradient=False)[0]) / (2 * h)
        assert gx[i] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    e = np.zeros(prob.n_constraints)
    e[2] = h
    fd = (augmented_lagrangian(prob, x, lam + e, mu, nu, gradient=False)[0]
          - augmented_lagrangian(prob, x, lam - e, mu, nu, gradient=False)[0]) / (2 * h)
    assert gl[2] == pytest.approx(fd, rel=1e-6)


def test_with_the_exact_solve_it_is_newton_quadratic_with_unit_steps(prob):
    res = wb.run(wb.sketching.SketchedSQP(inner="exact"), prob, atol=1e-9, rtol=1e-14, max_steps=50)
    assert res.status is wb.Status.CONVERGED and res.iterations == 4
    k = res.trace["kkt_residual"]
    assert math.log(k[-1]) / math.log(k[-2]) > 1.7  # measured 4.4e-2 -> 1.1e-4 -> 8.7e-10
    assert np.all(res.trace["step_size"][1:] == 1.0)


def test_a_fixed_inner_accuracy_gives_a_linear_rate_and_sharpening_a_superlinear_one(prob):
    fixed = wb.run(wb.sketching.SketchedSQP(sharpen=False, inner_accuracy=0.1), prob, atol=1e-10, rtol=1e-14,
                   max_steps=100)
    sharp = wb.run(wb.sketching.SketchedSQP(inner_accuracy=0.1), prob, atol=1e-10, rtol=1e-14, max_steps=100)
    assert fixed.status is wb.Status.CONVERGED and sharp.status is wb.Status.CONVERGED
    # linear: once the steps are whole the residual falls by about psi each step, never faster
    tail = rates(fixed)[-8:]  # (down to 1e-10: the merit's rounding no longer halves unit steps there)
    assert np.all((tail > 0.03) & (tail < 0.3)), tail  # measured 0.093-0.10
    # superlinear: the ratio falls towards 0 (measured 0.12, 0.10, 0.013, 1.5e-4)
    sharp_rates = rates(sharp)
    assert sharp_rates[-1] < 0.01 and sharp_rates[-1] < sharp_rates[-2] < sharp_rates[-3]
    assert sharp.iterations < fixed.iterations  # measured 6 against 11
    for res in (fixed, sharp):  # near the solution the unit step is accepted
        assert np.all(res.trace["step_size"][-4:] == 1.0)
        assert res.final["constraint_violation"] < 1e-10


def test_a_loose_inner_solve_backtracks_far_away_and_takes_unit_steps_near(prob):
    res = wb.run(wb.sketching.SketchedSQP(sharpen=False, inner_accuracy=0.5), prob, atol=1e-7, rtol=1e-14,
                 max_steps=200)
    assert res.status is wb.Status.CONVERGED
    steps = res.trace["step_size"][1:]
    assert steps.min() < 1.0 and np.all(steps[-10:] == 1.0)


def test_the_penalty_grows_until_the_step_descends_and_the_run_still_converges():
    # min |x|^2 / 2 s.t. x1 = 1 from x = 0, lambda = 0: the Newton step's slope on the merit is
    # 1 - mu (with nu = 0), so a penalty below 1 has to grow before the step can be taken
    prob = wb.problems.constrained_problem(lambda x: (0.5 * x @ x, x), lambda x: np.eye(2),
                                           lambda x: np.array([x[0] - 1.0]), lambda x: np.array([[1.0, 0.0]]),
                                           x0=[0.0, 0.0])
    res = wb.run(wb.sketching.SketchedSQP(inner="exact", mu=1e-4, nu=0.0, mu_growth=10.0), prob, atol=1e-12,
                 max_steps=10)
    assert res.status is wb.Status.CONVERGED and res.iterations == 1
    assert res.final["mu"] == pytest.approx(10.0)  # 1e-4 -> 1e-3 -> ... -> 10, the first above 1
    # the merit at the start, with the grown penalty, is 10 |c|^2 / 2 = 5: the step lowered it to f = 0.5
    assert res.final["merit"] == pytest.approx(0.5)


def test_with_the_penalty_fixed_the_merit_never_rises(prob):
    res = wb.run(wb.sketching.SketchedSQP(sharpen=False, inner_accuracy=0.5), prob, atol=1e-7, max_steps=200)
    mu, merit = res.trace["mu"], res.trace["merit"]
    same_mu = mu[1:] == mu[:-1]
    assert same_mu.sum() > 10 and np.all(np.diff(merit)[same_mu] <= 1e-12)


def test_a_linearly_constrained_quadratic_takes_one_exact_step():
    prob = wb.problems.constrained_quartic(dim=12, constraints=4, nonlinearity=0.0, curvature=0.0)
    res = wb.run(wb.sketching.SketchedSQP(inner="exact"), prob, atol=1e-10, rtol=1e-14, max_steps=5)
    assert res.iterations == 1


def test_the_run_replays_from_its_spec(prob):
    res = wb.run(wb.sketching.SketchedSQP(sketch="sparse", sketch_size=4, seed=3), prob, max_steps=4)
    replay = wb.from_spec(res.spec()).run()
    np.testing.assert_array_equal(replay.trace["kkt_residual"], res.trace["kkt_residual"])


def test_bad_input_is_refused_with_what_to_do(prob):
    with pytest.raises(wb.InvalidParameter, match="exceeds the 25 equations of the KKT system; give at most 25"):
        wb.sketching.SketchedSQP(sketch_size=30).init(prob)
    with pytest.raises(wb.IncompatibleProblem):
        wb.sketching.SketchedSQP().init(wb.problems.poisson1d(8))
    with pytest.raises(wb.InvalidProblem, match="must be below dim"):
        wb.problems.constrained_quartic(dim=5, constraints=5)
    with pytest.raises(wb.InvalidProblem, match="Jacobian at x0 has shape"):
        wb.problems.constrained_problem(lambda x: (x @ x, 2 * x), lambda x: 2 * np.eye(2),
                                        lambda x: np.array([x.sum()]), lambda x: np.ones((2, 2)), x0=[1.0, 0.0])


def test_redundant_constraints_are_solved_by_least_squares():
    A = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])  # the same constraint twice: a singular KKT matrix
    prob = wb.problems.constrained_problem(lambda x: (x @ x, 2 * x), lambda x: 2 * np.eye(3), lambda x: A @ x - 1,
                                           lambda x: A, x0=[0.0, 0.0, 0.0])
    res = wb.run(wb.sketching.SketchedSQP(inner="exact"), prob, atol=1e-10, max_steps=10)
    assert res.status is wb.Status.CONVERGED, res.message
    np.testing.assert_allclose(res.state.x, [0.5, 0.5, 0.0], atol=1e-9)


def test_the_default_sketch_fits_a_small_kkt_system():
    prob = wb.problems.constrained_problem(lambda x: (x @ x, 2 * x), lambda x: 2 * np.eye(2),
                                           lambda x: np.array([x.sum() - 1.0]), lambda x: np.ones((1, 2)),
                                           x0=[0.0, 0.0])
    res = wb.run(wb.sketching.SketchedSQP(), prob, atol=1e-10, max_steps=50)  # 3 equations, below the 8 default
    assert res.status is wb.Status.CONVERGED, res.message


def test_a_merit_line_search_that_runs_out_stops_with_a_sentence_and_leaves_x():
    x0 = np.array([0.3, 0.3])

    def objective(x):  # finite only at x0: every trial step lands where the merit is NaN
        if np.linalg.norm(x - x0) > 0:
            return np.nan, np.full(2, np.nan)
        return float(x @ x), 2 * x

    prob = wb.problems.constrained_problem(objective, lambda x: 2 * np.eye(2), lambda x: np.array([x.sum() - 1.0]),
                                           lambda x: np.ones((1, 2)), x0=x0)
    res = wb.run(wb.sketching.SketchedSQP(inner="exact"), prob, max_steps=5)
    assert res.status.label == "failed" and res.iterations == 0
    assert "found no step that lowers it" in res.message and "left where it was" in res.message
    assert np.array_equal(res.state.x, x0)


@pytest.mark.parametrize("name,value,needle", [
    ("sketch_size", 1000, "sketch_size = 1000 exceeds the"),
    ("sparsity", 1000, "sparsity = 1000 exceeds the"),
])
def test_a_sketch_moved_past_the_kkt_size_mid_run_is_refused_and_the_run_goes_on(name, value, needle):
    prob = wb.problems.constrained_quartic(dim=20, constraints=5)
    method = wb.sketching.SketchedSQP(sketch="sparse", sketch_size=6)
    runner = wb.Runner(method, prob, atol=1e-10, max_steps=60)
    runner.advance(max_steps=2)
    with pytest.raises(wb.InvalidParameter, match=needle):
        setattr(method, name, value)
    assert getattr(method, name) != value  # the old setting stays
    runner.advance()
    assert runner.status.label == "converged", runner.message
