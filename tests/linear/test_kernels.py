"""Every fast kernel agrees with its readable reference, step by step."""
import numpy as np
import pytest
import scipy.sparse as sp

import workbench as wb
from workbench.linear.kernels.redblack import redblack_sweep, redblack_sweep_reference
from workbench.linear.kernels.sor_reference import jacobi_sweep_reference, sor_sweep_reference
from workbench.linear.preconditioners import ssor_preconditioner

MATRICES = {
    "poisson2d": lambda: wb.problems.poisson2d(9),
    "convection_diffusion": lambda: wb.problems.convection_diffusion2d(7, peclet=2.0),
    "random_spd": lambda: wb.problems.random_spd_matrix(80, density=0.1, condition=50.0, seed=4),
}


@pytest.mark.parametrize("name", MATRICES)
@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
def test_pyamg_sor_sweeps_equal_the_triangular_solve_definition(name, sweep):
    from workbench.linear.kernels.pyamg_sweeps import pyamg_sweep

    prob = MATRICES[name]()
    rng = np.random.default_rng(0)
    x_ref = rng.standard_normal(prob.n)
    x_fast = x_ref.copy()
    for _ in range(5):
        x_ref = sor_sweep_reference(prob.A, x_ref, prob.b, 1.37, sweep)
        pyamg_sweep(prob.A, x_fast, prob.b, 1.37, sweep)
        np.testing.assert_allclose(x_fast, x_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [wb.linear.SOR, wb.linear.SSOR, wb.linear.GaussSeidel])
def test_method_trajectories_agree_between_kernels(cls):
    prob = wb.problems.anisotropic2d(8, epsilon=0.3)
    runs = {}
    for kernel in ("pyamg", "reference"):
        r = wb.Runner(cls(kernel=kernel), prob, rtol=0, max_steps=15)
        r.run()
        runs[kernel] = r.trace["residual"]
    np.testing.assert_allclose(runs["pyamg"], runs["reference"], rtol=1e-10)


def test_jacobi_method_equals_reference_sweep():
    prob = wb.problems.poisson2d(7)
    r = wb.Runner(wb.linear.Jacobi(omega=0.8), prob, rtol=0, max_steps=10)
    x = prob.x0.copy()
    for _ in range(10):
        r.advance(max_steps=1)
        x = jacobi_sweep_reference(prob.A, x, prob.b, 0.8)
        np.testing.assert_allclose(r.x, x, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dim,n", [(2, 9), (2, 10), (3, 5), (3, 6)])
def test_numba_redblack_equals_numpy_reference(dim, n):
    rng = np.random.default_rng(dim * 100 + n)
    u = rng.standard_normal(n**dim)
    b = rng.standard_normal(n**dim)
    ref = u.copy()
    for _ in range(4):
        redblack_sweep(u, b, 1.6, n, dim)
        ref = redblack_sweep_reference(ref, b, 1.6, n, dim)
        np.testing.assert_allclose(u, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim,n", [(2, 8), (3, 4)])
def test_redblack_is_natural_sor_on_the_red_black_permuted_matrix(dim, n):
    """An independent check of the ordering: permute red points first, then sweep naturally."""
    prob = wb.get_problem(f"poisson{dim}d", n=n)
    colour = np.indices((n,) * dim).sum(axis=0).reshape(-1) % 2
    perm = np.concatenate([np.flatnonzero(colour == 0), np.flatnonzero(colour == 1)])
    P = sp.identity(prob.n, format="csr")[perm]
    Ap = (P @ prob.A @ P.T).tocsr()
    u = np.zeros(prob.n)
    up = np.zeros(prob.n)
    for _ in range(3):
        redblack_sweep(u, prob.b, 1.45, n, dim)
        up = sor_sweep_reference(Ap, up, P @ prob.b, 1.45, "forward")
    np.testing.assert_allclose(P @ u, up, rtol=1e-12, atol=1e-12)


def test_redblack_kernel_rejects_general_matrices():
    with pytest.raises(wb.InvalidParameter, match="Poisson 2-D/3-D stencils only"):
        wb.run(wb.linear.SOR(kernel="redblack"), wb.problems.random_spd_matrix(50, 0.1, 10.0))


def test_ssor_preconditioner_equals_its_splitting_matrix():
    prob = wb.problems.random_spd_matrix(60, density=0.1, condition=30.0, seed=5)
    A = prob.A.toarray()
    w = 1.3
    D = np.diag(np.diag(A))
    L = np.tril(A, -1)
    U = np.triu(A, 1)
    M = w / (2 - w) * (D / w + L) @ np.linalg.inv(D) @ (D / w + U)
    r = np.random.default_rng(1).standard_normal(prob.n)
    np.testing.assert_allclose(ssor_preconditioner(prob.A, w)(r), np.linalg.solve(M, r), rtol=1e-10)


def test_pyamg_symmetric_sweep_ignores_omega_which_is_why_we_compose_it():
    """Documents the upstream behaviour our wrapper works around; if PyAMG fixes it, drop the wrapper."""
    from pyamg.relaxation.relaxation import sor

    prob = MATRICES["poisson2d"]()
    x1 = np.zeros(prob.n)
    x2 = np.zeros(prob.n)
    sor(prob.A, x1, prob.b, 1.37, iterations=1, sweep="symmetric")
    sor(prob.A, x2, prob.b, 1.0, iterations=1, sweep="symmetric")
    np.testing.assert_allclose(x1, x2)


def test_threaded_redblack_equals_serial(monkeypatch):
    from workbench.linear.kernels import redblack

    rng = np.random.default_rng(9)
    n = 64
    u = rng.standard_normal(n * n)
    b = rng.standard_normal(n * n)
    serial = u.copy()
    monkeypatch.setattr(redblack, "PARALLEL_THRESHOLD", 1)
    for _ in range(3):
        redblack.redblack_sweep(u, b, 1.7, n, 2)
        redblack._compile()["2"](serial, b, 1.7, n)
    np.testing.assert_array_equal(u, serial)
