"""Knobs moved mid-run act (Chebyshev's interval, DeflatedCG's basis), relative residuals and errors
are measured on the stop rule's scale, matvecs are counted honestly, and DeflatedCG without a basis
is CG (also on an indefinite matrix)."""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.polynomial import chebyshev as C

import workbench as wb
from workbench.linear.preconditioners import chebyshev_polynomial_preconditioner
from workbench.problems import LinearProblem


def _restarted_here(prob, x):
    """The same system, started from ``x``."""
    return LinearProblem(prob.A, prob.b, x0=x, properties=prob.properties, metadata=prob.metadata)


def _residuals_after(runner, steps):
    out = []
    for _ in range(steps):
        runner.advance(max_steps=1)
        out.append(runner.state.residual_norm)
    return np.array(out)


# -- 1. Chebyshev: lambda_min, lambda_max, safety moved mid-run --------------------------------------

@pytest.mark.parametrize("knob, value, start", [
    ("safety", 2.0, {}),
    ("lambda_max", 16.0, {"lambda_min": 0.1, "lambda_max": 8.0}),
    ("lambda_min", 0.02, {"lambda_min": 0.1, "lambda_max": 8.0}),
])
def test_a_chebyshev_bound_moved_mid_run_continues_as_a_run_with_the_new_setting(knob, value, start):
    prob = wb.problems.poisson2d(16)
    method = wb.linear.Chebyshev(**start)
    runner = wb.Runner(method, prob, rtol=1e-10)
    runner.advance(max_steps=3)
    setattr(method, knob, value)
    fresh = wb.Runner(wb.linear.Chebyshev(**{**start, knob: value}), _restarted_here(prob, runner.state.x.copy()),
                      rtol=1e-10)
    ours, theirs = _residuals_after(runner, 25), _residuals_after(fresh, 25)
    # the same recurrence from the same residual: step for step the same contraction
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)
    assert runner.state.extra["bounds_key"] == method._bounds_key()


def test_chebyshev_safety_moved_mid_run_takes_effect_and_the_spec_replays():
    prob = wb.problems.poisson2d(16)
    method = wb.linear.Chebyshev()
    runner = wb.Runner(method, prob, rtol=1e-8)
    runner.advance(max_steps=3)
    method.safety = 2.0
    runner.advance()
    res = runner.result()
    fresh = wb.run(wb.linear.Chebyshev(safety=2.0), prob, rtol=1e-8)
    # the old interval converged in 101 steps; the new one needs about the fresh run's 203
    assert res.converged and abs(res.iterations - fresh.iterations) <= 5, (res.iterations, fresh.iterations)
    assert res.spec()["method"]["params"]["safety"] == 2.0
    replay = wb.from_spec(res.spec()).run()
    assert replay.converged and replay.iterations == fresh.iterations


def test_an_unchanged_chebyshev_setting_does_not_restart():
    prob = wb.problems.poisson2d(16)
    method = wb.linear.Chebyshev(lambda_min=0.1, lambda_max=8.0)
    runner = wb.Runner(method, prob, rtol=1e-8)
    runner.advance(max_steps=3)
    method.safety = 2.0  # (inert: both bounds are given)
    runner.advance()
    plain = wb.run(wb.linear.Chebyshev(lambda_min=0.1, lambda_max=8.0), prob, rtol=1e-8)
    assert runner.iteration == plain.iterations
    np.testing.assert_array_equal(runner.trace["residual"], plain.trace["residual"])


# -- 1. DeflatedCG: the basis moved mid-run --------------------------------------------------------

@pytest.fixture(scope="module")
def poisson_eigen():
    prob = wb.problems.poisson2d(16)
    lam, V = np.linalg.eigh(prob.A.toarray())
    return prob, V


@pytest.mark.parametrize("before, after", [(None, 8), (2, 8), (8, None)])
def test_a_deflation_basis_set_mid_run_continues_as_a_run_deflated_by_it(poisson_eigen, before, after):
    prob, V = poisson_eigen
    basis = lambda k: None if k is None else V[:, :k].copy()  # noqa: E731
    method = wb.linear.DeflatedCG(basis=basis(before))
    runner = wb.Runner(method, prob, rtol=1e-12)
    runner.advance(max_steps=5)
    x5, mv5 = runner.state.x.copy(), runner.state.matvecs
    method.basis = basis(after)
    fresh = wb.Runner(wb.linear.DeflatedCG(basis=basis(after)), _restarted_here(prob, x5), rtol=1e-12)
    ours, theirs = _residuals_after(runner, 12), _residuals_after(fresh, 12)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    # forming A W for the new basis is counted (k products), then one product a step
    assert runner.state.matvecs == mv5 + (after or 0) + 12
    assert runner.state.extra["deflation"] is not None if after else runner.state.extra["deflation"] is None


def test_a_deflation_basis_set_mid_run_takes_effect_and_the_spec_replays(poisson_eigen):
    prob, V = poisson_eigen
    method = wb.linear.DeflatedCG()
    runner = wb.Runner(method, prob, rtol=1e-8)
    runner.advance(max_steps=2)
    method.basis = V[:, :12].copy()
    runner.advance()
    res = runner.result()
    plain = wb.run(wb.linear.CG(), prob, rtol=1e-8)
    deflated = wb.run(wb.linear.DeflatedCG(basis=V[:, :12]), prob, rtol=1e-8)
    assert res.converged and res.iterations < plain.iterations - 5 and res.iterations <= deflated.iterations + 3
    replay = wb.from_spec(res.spec()).run()
    assert replay.converged and replay.iterations == deflated.iterations


def test_the_same_basis_values_assigned_again_do_not_restart(poisson_eigen):
    prob, V = poisson_eigen
    method = wb.linear.DeflatedCG(basis=V[:, :4].copy())
    runner = wb.Runner(method, prob, rtol=1e-8)
    runner.advance(max_steps=3)
    method.basis = V[:, :4].copy()  # a new array, the same values
    runner.advance()
    ref = wb.run(wb.linear.DeflatedCG(basis=V[:, :4]), prob, rtol=1e-8)
    assert runner.iteration == ref.iterations and runner.state.matvecs == ref.state.matvecs


# -- 2. relative_residual when b = 0 ---------------------------------------------------------------

@pytest.mark.parametrize("make", [wb.linear.CG, wb.linear.Jacobi, wb.linear.DeflatedCG])
def test_relative_residual_uses_the_stop_rules_scale_when_b_is_zero(make):
    prob = wb.problems.poisson2d(8)
    zero_b = LinearProblem(prob.A, np.zeros(prob.n), x0=np.full(prob.n, 3.0), properties=prob.properties)
    res = wb.run(make(), zero_b, rtol=1e-6, max_steps=5000)
    r0 = res.trace["residual"][0]
    assert r0 > 1 and res.trace["relative_residual"][0] == pytest.approx(1.0)
    np.testing.assert_allclose(res.trace["relative_residual"], res.trace["residual"] / r0, rtol=1e-12)
    assert res.converged and res.final["relative_residual"] <= 1e-6


def test_relative_residual_is_over_b_norm_when_b_is_not_zero():
    prob = wb.problems.poisson2d(8)
    res = wb.run(wb.linear.CG(), prob, rtol=1e-6)
    np.testing.assert_allclose(res.trace["relative_residual"], res.trace["residual"] / prob.b_norm, rtol=1e-12)


# -- 3. matvecs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, per_step", [
    (lambda: wb.linear.SOR(omega=1.5), 2), (wb.linear.GaussSeidel, 2), (lambda: wb.linear.SSOR(omega=1.5), 3),
    (lambda: wb.linear.SOR(omega=1.5, kernel="reference"), 2), (lambda: wb.linear.SOR(kernel="redblack"), 2),
    (wb.linear.Jacobi, 1),
])
def test_relaxation_counts_each_sweep_and_the_residual_as_one_pass_each(make, per_step):
    runner = wb.Runner(make(), wb.problems.poisson2d(8), rtol=0.0)
    runner.advance(max_steps=7)
    assert runner.trace["matvecs"][0] == 1  # r0
    np.testing.assert_array_equal(np.diff(runner.trace["matvecs"]), per_step)


def test_a_pcg_preconditioner_switched_mid_run_counts_the_restarts_products():
    prob = wb.problems.poisson2d(16)
    method = wb.linear.PCG(preconditioner="none")
    runner = wb.Runner(method, prob, rtol=1e-10)
    runner.advance(max_steps=3)
    assert runner.state.matvecs == 1 + 3
    method.param.update(preconditioner="chebyshev", poly_degree=4)
    runner.advance(max_steps=1)
    # z = p(A) r of the restart (4), then the step: A p (1) and z = p(A) r (4)
    assert runner.state.matvecs == 1 + 3 + 4 + 1 + 4
    runner.advance(max_steps=1)
    assert runner.state.matvecs == 1 + 3 + 9 + 5


# -- 4. x_true: error metrics and validation ---------------------------------------------------------

def test_a_known_solution_gives_error_and_relative_error():
    prob = wb.problems.poisson2d(8)
    x_true = np.linspace(1.0, 2.0, prob.n)
    known = LinearProblem(prob.A, prob.A @ x_true, x_true=x_true, properties=prob.properties)
    res = wb.run(wb.linear.CG(), known, rtol=1e-10)
    assert res.trace["error"][0] == pytest.approx(np.linalg.norm(x_true))
    assert res.final["error"] == pytest.approx(np.linalg.norm(res.x - x_true), rel=1e-12)
    assert res.final["error"] < 1e-8
    np.testing.assert_allclose(res.trace["relative_error"], res.trace["error"] / np.linalg.norm(x_true))
    assert "error" not in wb.run(wb.linear.CG(), prob, rtol=1e-6).final  # (no x_true, no error)


def test_an_all_zero_solution_has_an_error_but_no_relative_error():
    prob = wb.problems.poisson2d(8)
    known = LinearProblem(prob.A, np.zeros(prob.n), x0=np.ones(prob.n), x_true=np.zeros(prob.n),
                          properties=prob.properties)
    res = wb.run(wb.linear.SOR(), known, rtol=1e-8)
    assert res.final["error"] == pytest.approx(np.linalg.norm(res.x)) and "relative_error" not in res.final


def test_the_heat_sequence_instances_report_their_error():
    inst = wb.get_problem("heat_sequence").instance(0)
    res = wb.run(wb.linear.CG(), inst, rtol=1e-10)
    assert res.final["error"] < 1e-6 * np.linalg.norm(inst.x_true)


@pytest.mark.parametrize("x_true, match", [
    (np.ones(3), "x_true has 3 entries but A has 4 rows"),
    (np.array([1.0, np.nan, 0.0, 0.0]), "x_true contains NaN or infinite entries"),
    (["a", "b", "c", "d"], "x_true must be a numeric vector"),
    (np.ones(4) * 1j, "x_true is complex"),
])
def test_a_bad_x_true_is_refused_with_a_sentence(x_true, match):
    with pytest.raises(wb.InvalidProblem, match=match):
        LinearProblem(sp.identity(4, format="csr"), np.ones(4), x_true=x_true)


def test_x_true_is_copied_as_a_float_vector():
    given = [[1], [2], [3], [4]]
    prob = LinearProblem(sp.identity(4, format="csr"), np.ones(4), x_true=given)
    assert prob.x_true.shape == (4,) and prob.x_true.dtype == float


# -- 5. DeflatedCG without a basis is CG, also on a symmetric indefinite matrix ----------------------

@pytest.fixture(scope="module")
def indefinite():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    lam = np.concatenate([np.linspace(-2, -1, 10), np.linspace(1, 100, 50)])
    A = (Q * lam) @ Q.T
    return wb.problems.from_matrix(0.5 * (A + A.T), np.ones(60)), Q, lam


def test_deflated_cg_without_a_basis_follows_cg_on_an_indefinite_matrix(indefinite):
    prob, _, _ = indefinite
    cg = wb.run(wb.linear.CG(), prob, rtol=1e-8, max_steps=1000)
    plain = wb.run(wb.linear.DeflatedCG(), prob, rtol=1e-8, max_steps=1000)
    assert cg.converged and plain.converged and plain.iterations == cg.iterations  # (65)
    np.testing.assert_allclose(plain.trace["residual"], cg.trace["residual"], rtol=1e-9)


def test_deflated_cg_with_a_basis_still_refuses_a_matrix_that_is_not_definite(indefinite):
    prob, Q, lam = indefinite
    res = wb.run(wb.linear.DeflatedCG(basis=Q[:, lam > 50][:, :4]), prob, rtol=1e-8, max_steps=1000)
    assert res.status.label == "failed" and "A is not positive definite" in res.message


# -- 6. the polynomial preconditioner's range (docstring) --------------------------------------------

@pytest.mark.parametrize("degree, ratio", [(4, 30.0), (1, 10.0), (6, 1e4)])
def test_the_residual_polynomial_dips_below_zero_to_minus_one_over_t(degree, ratio):
    lam = np.append(np.linspace(1e-6, 3.0, 20001), 3.0)
    apply = chebyshev_polynomial_preconditioner(sp.diags(lam).tocsr(), degree, ratio)
    p = apply(np.ones_like(lam))
    R = 1 - lam * p
    T = np.zeros(degree + 2)
    T[-1] = 1.0
    floor = -1 / C.chebval((ratio + 1) / (ratio - 1), T)
    assert R.min() == pytest.approx(floor, rel=1e-8) and R.min() < 0 and R.max() < 1 and p.min() > 0
    if degree == 4:
        assert R.min() == pytest.approx(-0.308, abs=1e-3)
    doc = chebyshev_polynomial_preconditioner.__doc__
    assert "[-1/T_{k+1}(\\sigma), 1)" in doc and "[0, 1)" not in doc


def test_a_kernel_switched_mid_run_to_one_that_cannot_sweep_the_problem_is_refused_and_the_run_goes_on():
    prob = wb.get_problem("anisotropic2d")
    method = wb.linear.SOR(omega=1.5)
    runner = wb.Runner(method, prob, rtol=1e-8, max_steps=20_000)
    runner.advance(max_steps=3)
    with pytest.raises(wb.InvalidParameter, match="works on the Poisson 2-D/3-D stencils only"):
        method.kernel = "redblack"
    assert method.kernel == "pyamg"
    runner.advance()
    assert runner.status.label == "converged"
    with pytest.raises(wb.InvalidParameter, match="forward SOR only"):
        wb.linear.SSOR().kernel = "redblack"
    # on Poisson the switch is allowed, and so is switching back to pyamg from the reference sweep
    poisson = wb.get_problem("poisson2d", n=16)
    sor = wb.linear.SOR(omega=1.5, kernel="reference")
    run = wb.Runner(sor, poisson, rtol=1e-8)
    run.advance(max_steps=2)
    sor.kernel = "redblack"
    run.advance(max_steps=2)
    sor.kernel = "pyamg"
    run.advance()
    assert run.status.label == "converged"
