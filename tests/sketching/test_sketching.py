"""Randomized Kaczmarz and sketch-and-project: the expected-error bound holds, a step solves its
sketched equations, the residual kept up to date is the true one, and bigger sketches take fewer steps."""
import numpy as np
import pytest

import workbench as wb


def system(n=40, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    A = np.eye(n) + spread * rng.standard_normal((n, n))
    return wb.problems.from_matrix(A, rng.standard_normal(n))


def test_kaczmarz_meets_the_strohmer_vershynin_bound_in_expectation():
    prob = system()
    x_star = np.linalg.solve(prob.A.toarray(), prob.b)
    rate = wb.sketching.RandomizedKaczmarz().rate_bound(prob)
    assert 0.99 < rate < 0.995
    k = 300
    errors = [np.linalg.norm(wb.run(wb.sketching.RandomizedKaczmarz(seed=s), prob, rtol=0, max_steps=k).x - x_star) ** 2
              for s in range(30)]
    # E ||x_k - x*||^2 <= rate^k ||x0 - x*||^2 (x0 = 0); the mean of 30 runs sits well inside it
    assert np.mean(errors) <= rate ** k * np.linalg.norm(x_star) ** 2


def test_a_kaczmarz_step_solves_its_equation_and_the_kept_residual_is_the_true_one():
    prob = system()
    runner = wb.Runner(wb.sketching.RandomizedKaczmarz(seed=3), prob, rtol=0, max_steps=500)
    runner.advance(max_steps=1)
    assert np.min(np.abs(runner.state.r)) < 1e-14  # the equation projected onto holds exactly
    runner.advance()
    np.testing.assert_allclose(runner.state.r, prob.b - prob.A @ runner.x, atol=1e-12)
    # the entries of A read, over nnz(A): on a dense A a row and every column, 1.025 matvecs a step
    assert runner.trace["matvecs"][-1] == pytest.approx(1 + 500 * (40 + 40 * 40) / 1600)
    sparse = wb.Runner(wb.sketching.RandomizedKaczmarz(), wb.problems.poisson2d(16), rtol=0, max_steps=100)
    sparse.advance()
    assert sparse.trace["matvecs"][-1] < 1 + 100 * 0.03  # on a 5-point stencil, 2 % of a matvec a step
    # (short rows update the residual column by column, long ones in one sliced product: both true)
    np.testing.assert_allclose(sparse.state.r, sparse.problem.b - sparse.problem.A @ sparse.x, atol=1e-12)


def test_kaczmarz_converges_with_either_sampling_and_refuses_a_zero_row():
    prob = system()
    for sampling in ("row_norms", "uniform"):
        res = wb.run(wb.sketching.RandomizedKaczmarz(sampling=sampling), prob, rtol=1e-8, max_steps=20_000)
        assert res.converged and np.linalg.norm(prob.b - prob.A @ res.x) <= 1.01e-8 * np.linalg.norm(prob.b)
    A = prob.A.toarray()
    A[5] = 0
    with pytest.raises(wb.InvalidProblem, match="row 5 of A is zero"):
        wb.run(wb.sketching.RandomizedKaczmarz(), wb.problems.from_matrix(A, prob.b))


def test_bigger_sketches_take_fewer_steps_and_sparse_ones_cost_fewer_matvecs():
    prob = system()
    runs = {q: wb.run(wb.sketching.SketchAndProject(sketch_size=q), prob, rtol=1e-8, max_steps=20_000)
            for q in (1, 5, 20)}
    assert all(r.converged for r in runs.values())
    assert runs[1].iterations > 3 * runs[5].iterations > 9 * runs[20].iterations
    sparse = wb.run(wb.sketching.SketchAndProject(sketch="sparse", sketch_size=20), prob, rtol=1e-8)
    rows = wb.run(wb.sketching.SketchAndProject(sketch="rows", sketch_size=20), prob, rtol=1e-8)
    for res in (sparse, rows):
        assert res.converged and res.iterations < 2 * runs[20].iterations
        assert res.final["matvecs"] < runs[20].final["matvecs"] / 5
    assert wb.sketching.SketchAndProject(sketch="gaussian").inert_params() == {"sparsity"}


def test_a_sketch_step_solves_the_sketched_equations():
    prob = system()
    method = wb.sketching.SketchAndProject(sketch="rows", sketch_size=40, seed=1)
    res = wb.run(method, prob, rtol=1e-12, max_steps=3)
    assert res.iterations == 1  # every row at once: the exact solution in one projection


def test_a_sketch_larger_than_the_system_is_refused():
    with pytest.raises(wb.InvalidParameter, match="sketch_size = 50 exceeds the 40 equations"):
        wb.run(wb.sketching.SketchAndProject(sketch_size=50), system())
    with pytest.raises(wb.InvalidParameter, match="sparsity = 50 exceeds the 40 rows"):
        wb.run(wb.sketching.SketchAndProject(sketch="sparse", sparsity=50, sketch_size=4), system())
    with pytest.raises(wb.InvalidParameter, match="proven for rows drawn by their norms"):
        wb.sketching.RandomizedKaczmarz(sampling="uniform").rate_bound(system())


@pytest.mark.parametrize("sketch", ["gaussian", "rows"])
def test_a_full_sketch_solves_an_ill_conditioned_system_in_one_step(sketch):
    # (the Gram form (S^T A A^T S)^+ squared cond(A) = 1e5: it left 2e-3 of the residual and took 10 steps)
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    V, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    prob = wb.problems.from_matrix(U @ np.diag(np.logspace(0, -5, 30)) @ V.T, rng.standard_normal(30))
    res = wb.run(wb.sketching.SketchAndProject(sketch=sketch, sketch_size=30), prob, rtol=1e-9, max_steps=5)
    assert res.converged and res.iterations == 1


def test_a_sketch_moved_out_of_range_mid_run_is_refused_at_the_assignment_and_the_run_goes_on():
    # (before, the assignment was taken and the next step raised: the run ended failed)
    prob = system()
    m = wb.sketching.SketchAndProject(sketch_size=5)
    runner = wb.Runner(m, prob, rtol=1e-8, max_steps=5000)
    runner.advance(max_steps=3)
    with pytest.raises(wb.InvalidParameter, match="sketch_size = 100 exceeds the 40 equations"):
        m.sketch_size = 100
    with pytest.raises(wb.InvalidParameter, match="sketch_size = 41 exceeds the 40 equations"):
        m.param.update(sketch_size=41)
    assert m.sketch_size == 5
    runner.advance(max_steps=3)
    assert runner.status.label == "running" and runner.iteration == 6, runner.message
    m.sketch = "rows"
    m.sketch_size = 40  # = n is allowed, and used from the next step: every row, the solution at once
    runner.advance(max_steps=1)
    assert runner.status.label == "converged" and runner.iteration == 7, runner.message

    sparse = wb.sketching.SketchAndProject(sketch="sparse", sketch_size=5)
    runner = wb.Runner(sparse, prob, rtol=1e-8, max_steps=5000)
    runner.advance(max_steps=3)
    with pytest.raises(wb.InvalidParameter, match="sparsity = 100 exceeds the 40 rows"):
        sparse.sparsity = 100
    runner.advance(max_steps=3)
    assert runner.status.label == "running" and sparse.sparsity == 3, runner.message
    # a sparsity past n is inert for a Gaussian sketch, but switching to the sparse one is then refused
    small = wb.sketching.SketchAndProject(sketch_size=1)
    runner = wb.Runner(small, system(n=2), rtol=0, max_steps=10)
    with pytest.raises(wb.InvalidParameter, match="sparsity = 3 exceeds the 2 rows"):
        small.sketch = "sparse"
    runner.advance(max_steps=3)
    assert runner.status.label == "running" and small.sketch == "gaussian", runner.message


@pytest.mark.parametrize("n", [1, 3, 9])
def test_the_default_sketch_runs_on_systems_of_fewer_than_10_equations(n):
    # (the default was sketch_size = 10, refused on every system with n < 10)
    res = wb.run(wb.sketching.SketchAndProject(), system(n=n), rtol=1e-8, max_steps=50)
    assert res.converged and res.iterations == 1, res.message  # q = n: the whole system at once


def test_the_default_sketch_has_10_columns_and_round_trips_through_a_spec():
    m = wb.sketching.SketchAndProject()
    assert m.sketch_size is None and m.sketch_columns(40) == 10 and m.sketch_columns(4) == 4
    res = wb.run(m, system(), rtol=0, max_steps=5)
    assert res.final["matvecs"] == 1 + 5 * (10 + 1)  # 10 Gaussian columns a step, plus A dx
    again = wb.from_spec(m.spec())
    assert again.sketch_size is None
