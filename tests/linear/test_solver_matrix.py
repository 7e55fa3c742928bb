"""Solver x problem matrix, in the manner of SciPy's iterative-solver tests.

Every registered linear method runs on every gallery problem it *claims*
(``Method.converges_on``); the pairs it does not claim are the declared
exclusions, listed by ``test_exclusions_are_declared``. Iteration counts are
checked against SciPy and PyAMG where those have the same algorithm.
"""
import numpy as np
import pytest
import scipy.sparse.linalg as sla

import workbench as wb

RTOL = 1e-8

PROBLEMS = {
    "poisson1d": lambda: wb.problems.poisson1d(30),
    "poisson2d": lambda: wb.problems.poisson2d(12),
    "poisson3d": lambda: wb.problems.poisson3d(6),
    "anisotropic2d": lambda: wb.problems.anisotropic2d(12, epsilon=0.1),
    "convection_diffusion2d": lambda: wb.problems.convection_diffusion2d(12, peclet=0.5),
    "random_spd": lambda: wb.problems.random_spd_matrix(200, density=0.05, condition=100.0, seed=2),
    "airfoil": lambda: wb.problems.pyamg_mesh("airfoil"),
    "airfoil.mtx": lambda: wb.problems.matrix_market_file("airfoil.mtx"),
}

METHODS = {
    "jacobi": lambda: wb.linear.Jacobi(),
    "gauss_seidel": lambda: wb.linear.GaussSeidel(),
    "sor": lambda: wb.linear.SOR(omega=1.5),
    "ssor": lambda: wb.linear.SSOR(omega=1.2),
    "cg": lambda: wb.linear.CG(),
    "pcg_jacobi": lambda: wb.linear.PCG(preconditioner="jacobi"),
    "pcg_ssor": lambda: wb.linear.PCG(preconditioner="ssor"),
    "pcg_amg": lambda: wb.linear.PCG(preconditioner="amg"),
    "pcg_chebyshev": lambda: wb.linear.PCG(preconditioner="chebyshev"),
    "chebyshev": lambda: wb.linear.Chebyshev(),
    # (no basis: the matrix checks its claims; tests/linear/test_deflated_cg.py deflates)
    "deflated_cg": lambda: wb.linear.DeflatedCG(),
    "deep_conjugate_directions": lambda: wb.linear.DeepConjugateDirections(),
    # (they converge in expectation at a rate the conditioning sets: thousands of projections
    # per digit on these matrices, so no claims; tests/sketching checks their rates)
    "randomized_kaczmarz": lambda: wb.sketching.RandomizedKaczmarz(),
    "sketch_and_project": lambda: wb.sketching.SketchAndProject(),
}

_cache = {}


def problem(name):
    if name not in _cache:
        _cache[name] = PROBLEMS[name]()
    return _cache[name]


PAIRS = [(m, p) for m in METHODS for p in PROBLEMS]


def test_every_registered_linear_method_is_in_the_matrix():
    covered = {METHODS[m]().registry_name for m in METHODS}
    assert covered == set(wb.methods(problem_kind="linear"))


@pytest.mark.parametrize("mname,pname", PAIRS)
def test_claimed_pairs_converge(mname, pname):
    method, prob = METHODS[mname](), problem(pname)
    if not method.claims(prob):
        pytest.skip(f"declared exclusion: {mname} does not claim {pname} ({sorted(prob.properties)})")
    res = wb.run(method, prob, rtol=RTOL, max_steps=20_000)
    assert res.status is wb.Status.CONVERGED, res.message
    r = np.linalg.norm(prob.b - prob.A @ res.x)
    assert r <= 1.01 * RTOL * np.linalg.norm(prob.b)  # the true residual, not only the recursive one


def test_exclusions_are_declared():
    excluded = {(m, p) for m, p in PAIRS if not METHODS[m]().claims(problem(p))}
    # Krylov methods need a symmetric positive definite matrix; Jacobi needs diagonal dominance.
    assert ("cg", "convection_diffusion2d") in excluded
    assert ("chebyshev", "convection_diffusion2d") in excluded
    assert ("deflated_cg", "convection_diffusion2d") in excluded
    # a 2-D CNN: only systems on a 2-D grid
    assert ("deep_conjugate_directions", "poisson1d") in excluded
    assert ("deep_conjugate_directions", "poisson2d") not in excluded
    assert ("jacobi", "random_spd") in excluded
    assert ("gauss_seidel", "convection_diffusion2d") not in excluded
    with pytest.raises(wb.IncompatibleProblem, match="symmetric"):
        wb.run(wb.linear.CG(), problem("convection_diffusion2d"))


def _scipy_cg_iterations(prob, M=None):
    count = []
    x, info = sla.cg(prob.A, prob.b, x0=prob.x0, rtol=RTOL, atol=0.0, maxiter=20_000, M=M,
                     callback=lambda xk: count.append(1))
    assert info == 0
    return len(count)


SPD = [p for p in PROBLEMS if p not in ("convection_diffusion2d",)]


@pytest.mark.parametrize("pname", SPD)
def test_cg_iterations_match_scipy(pname):
    prob = problem(pname)
    ours = wb.run(wb.linear.CG(), prob, rtol=RTOL).iterations
    assert abs(ours - _scipy_cg_iterations(prob)) <= 2


@pytest.mark.parametrize("pname", SPD)
def test_jacobi_pcg_iterations_match_scipy(pname):
    prob = problem(pname)
    M = sla.LinearOperator(prob.A.shape, matvec=lambda r: r / prob.diagonal)
    ours = wb.run(wb.linear.PCG(preconditioner="jacobi"), prob, rtol=RTOL).iterations
    assert abs(ours - _scipy_cg_iterations(prob, M)) <= 2


@pytest.mark.parametrize("pname", ["poisson2d", "anisotropic2d", "airfoil"])
def test_amg_pcg_iterations_match_pyamg(pname):
    import pyamg

    prob = problem(pname)
    ml = pyamg.smoothed_aggregation_solver(prob.A)
    residuals = []
    ml.solve(prob.b, x0=prob.x0.copy(), tol=RTOL, accel="cg", residuals=residuals, maxiter=500)
    ours = wb.run(wb.linear.PCG(preconditioner="amg"), prob, rtol=RTOL).iterations
    assert abs(ours - (len(residuals) - 1)) <= 2


@pytest.mark.parametrize("pname", ["poisson2d", "convection_diffusion2d", "poisson1d"])
@pytest.mark.parametrize("omega", [1.0, 0.6])
def test_jacobi_iterations_match_a_pyamg_relaxation_loop(pname, omega):
    from pyamg.relaxation.relaxation import jacobi

    prob = problem(pname)
    x = prob.x0.copy()
    target = RTOL * np.linalg.norm(prob.b)
    k = 0
    while np.linalg.norm(prob.b - prob.A @ x) > target:
        jacobi(prob.A, x, prob.b, iterations=1, omega=omega)
        k += 1
    assert wb.run(wb.linear.Jacobi(omega=omega), prob, rtol=RTOL, max_steps=50_000).iterations == k
