import math
"""The theory overlays are right: Young's SOR formulas and the CG bound."""
import numpy as np
import pytest
import scipy.sparse.linalg as sla

import workbench as wb
from workbench.linear import theory


def observed_rate(trace_residual, lo=1e-11, hi=1e-4):
    """Geometric-mean reduction per step over the part of the run between hi and lo (relative)."""
    r = trace_residual / trace_residual[0]
    idx = np.flatnonzero((r < hi) & (r > lo))
    k1, k2 = idx[0], idx[-1]
    return (r[k2] / r[k1]) ** (1.0 / (k2 - k1))


@pytest.mark.parametrize("omega", [1.0, 1.3, 1.6, 1.75, 1.9])
@pytest.mark.parametrize("kernel", ["pyamg", "redblack"])
def test_observed_sor_rate_on_poisson2d_matches_young(omega, kernel):
    prob = wb.problems.poisson2d(16)
    res = wb.run(wb.linear.SOR(omega=omega, kernel=kernel), prob, rtol=1e-12, max_steps=5000)
    predicted = theory.sor_spectral_radius(omega, theory.jacobi_spectral_radius(prob))
    assert observed_rate(res.trace["residual"]) == pytest.approx(predicted, rel=0.10)


def test_gauss_seidel_and_jacobi_rates():
    prob = wb.problems.poisson2d(16)
    rho = theory.jacobi_spectral_radius(prob)
    gs = wb.run(wb.linear.GaussSeidel(), prob, rtol=1e-12, max_steps=5000)
    assert observed_rate(gs.trace["residual"]) == pytest.approx(rho**2, rel=0.02)
    jac = wb.run(wb.linear.Jacobi(), prob, rtol=1e-12, max_steps=20000)
    assert observed_rate(jac.trace["residual"]) == pytest.approx(rho, rel=0.02)


def test_young_formula_equals_dense_spectral_radius_and_omega_star_is_the_minimiser():
    prob = wb.problems.poisson2d(8)
    A = prob.A.toarray()
    D = np.diag(np.diag(A))
    L = np.tril(A, -1)
    rho_j = theory.jacobi_spectral_radius(prob)
    for omega in [0.5, 1.0, 1.3, 1.5, 1.8]:
        M = D / omega + L
        G = np.eye(prob.n) - np.linalg.solve(M, A)
        dense = np.max(np.abs(np.linalg.eigvals(G)))
        # above omega* the eigenvalues sit in Jordan blocks: numerically only ~1e-4 accurate
        assert theory.sor_spectral_radius(omega, rho_j) == pytest.approx(dense, rel=2e-3)
    grid = np.linspace(1.0, 1.99, 400)
    best = grid[np.argmin(theory.sor_spectral_radius(grid, rho_j))]
    assert best == pytest.approx(theory.optimal_omega(rho_j), abs=0.003)


def test_estimated_jacobi_radius_equals_exact_on_non_poisson_matrix():
    prob = wb.problems.anisotropic2d(10, epsilon=0.2)
    A = prob.A.toarray()
    J = np.eye(prob.n) - A / np.diag(A)[:, None]
    assert theory.jacobi_spectral_radius(prob) == pytest.approx(np.max(np.abs(np.linalg.eigvals(J))), rel=1e-8)


def test_extreme_eigenvalues_are_solved_once_per_problem(monkeypatch):
    """A dashboard asks for kappa on every refresh; anisotropic2d has no eigenvalues in its
    metadata, so each ask was an eigen-solve (seconds at n = 256)."""
    prob = wb.core.get_problem("anisotropic2d", n=45, epsilon=0.01)  # n^2 > 1500: the sparse solver
    lmin, lmax = theory.extreme_eigenvalues(prob)
    dense = np.linalg.eigvalsh(prob.A.toarray())
    assert (lmin, lmax) == (pytest.approx(dense[0], rel=1e-6), pytest.approx(dense[-1], rel=1e-6))
    calls = []
    monkeypatch.setattr(theory, "_symmetric_extremes", lambda S: calls.append(S) or (1.0, 2.0))
    assert theory.condition_number(prob) == pytest.approx(lmax / lmin) and calls == []
    other = wb.core.get_problem("anisotropic2d", n=8)
    assert theory.condition_number(other) == 2.0 and theory.condition_number(other) == 2.0 and len(calls) == 1


def test_cg_error_stays_under_the_condition_number_bound():
    prob = wb.problems.random_spd_matrix(300, density=0.02, condition=400.0, seed=3)
    x_star = sla.spsolve(prob.A.tocsc(), prob.b)
    errors = []

    def record(run):
        e = run.x - x_star
        errors.append(np.sqrt(e @ (prob.A @ e)))

    wb.run(wb.linear.CG(), prob, rtol=1e-10, observers=[record])
    e0 = np.sqrt(x_star @ (prob.A @ x_star))
    k = np.arange(1, len(errors) + 1)
    bound = theory.cg_error_bound(theory.condition_number(prob), k)
    assert np.all(np.asarray(errors) / e0 <= bound * (1 + 1e-8))


def test_chebyshev_meets_its_rate():
    prob = wb.problems.poisson2d(20)
    res = wb.run(wb.linear.Chebyshev(), prob, rtol=1e-8)
    kappa = theory.condition_number(prob)
    predicted = theory.iterations_to_tolerance(theory.cg_rate(kappa), 1e-8 / 2)
    assert res.converged and res.iterations <= 1.15 * predicted


def test_theory_rejects_impossible_inputs():
    with pytest.raises(wb.InvalidParameter, match="Jacobi does not converge"):
        theory.optimal_omega(1.2)
    with pytest.raises(wb.InvalidParameter, match=r"\(0, 2\)"):
        theory.sor_spectral_radius(2.5, 0.9)
    with pytest.raises(wb.InvalidParameter, match=r"\(0, 2\)"):
        theory.sor_spectral_radius(float("nan"), 0.9)
    with pytest.raises(wb.InvalidParameter, match="at least 1, got nan"):
        theory.cg_rate(float("nan"))
    with pytest.raises(wb.InvalidParameter, match="rtol >= 0"):
        theory.iterations_to_tolerance(0.5, -1e-8)


def test_iterations_to_tolerance_at_its_ends():
    assert theory.iterations_to_tolerance(0.5, 2.0 ** -10) == pytest.approx(10)
    assert theory.iterations_to_tolerance(0.5, 0.0) == math.inf  # (was a math domain error)
    assert theory.iterations_to_tolerance(0.5, 1.0) == 0
    assert theory.iterations_to_tolerance(0.0, 1e-8) == 1  # an exact method
    assert theory.iterations_to_tolerance(1.0, 1e-8) == math.inf
