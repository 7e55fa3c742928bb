"""Regression, least-squares, logistic, matrix-sensing and bilevel factories: honest metadata,
sizes refused before allocation, complex data refused."""
import numpy as np
import pytest

import workbench as wb
from workbench.core import InvalidProblem, TooLarge


# -- matrix sensing: f_star only when it can be reached -----------------------------------------
def test_under_parametrised_matrix_sensing_has_no_f_star():
    prob = wb.problems.matrix_sensing(n=10, rank=3, k=1, seed=0)
    assert prob.f_star is None
    # The rank-1 factorisation cannot fit a rank-3 matrix: a stationary point's loss is far from 0.
    from scipy.optimize import minimize

    sol = minimize(prob.value_and_grad, 0.3 * np.ones(prob.dim), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-10, "maxiter": 5000})
    assert sol.fun > 0.05


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("k", [None, 3, 5])
def test_matrix_sensing_with_enough_factors_has_f_star_zero_attained(symmetric, k):
    prob = wb.problems.matrix_sensing(n=8, rank=3, k=k, symmetric=symmetric, seed=1)
    assert prob.f_star == 0.0
    # 0 is attained: the factors of X_star padded with zero columns.
    u, s, vt = np.linalg.svd(prob.X_star)
    pad = np.zeros((8, prob.k - 3))
    U = np.hstack([u[:, :3] * np.sqrt(s[:3]), pad])
    V = np.hstack([vt[:3].T * np.sqrt(s[:3]), pad])
    x = U.reshape(-1) if symmetric else np.concatenate([U.reshape(-1), V.reshape(-1)])
    assert prob.value(x) < 1e-20


# -- sizes: refused with TooLarge before anything is allocated ----------------------------------
@pytest.fixture
def no_allocation(monkeypatch):
    """Every factory here draws its data from ``np.random.default_rng``: make that fail, so a
    factory that does not check the size first fails the test instead of allocating GiBs."""
    def refuse(*args, **kwargs):
        raise AssertionError("the factory started building (allocating) before checking the size")

    monkeypatch.setattr(np.random, "default_rng", refuse)


@pytest.mark.parametrize("name, kw, advice", [
    ("compressed_sensing", dict(n=20000, k=2000), "m <= 2,500"),              # default m = 18421: 2.7 GiB
    ("compressed_sensing", dict(n=20000, k=10, m=20000), "m <= 2,500"),       # 3.0 GiB
    ("least_squares", dict(n=1_000_000, d=10_000), "n <= 5,000 at d = 10000"),  # 74.5 GiB
    ("logistic_regression", dict(n=1_000_000, d=10_000), "d <= 50 at n = 1000000"),
    ("logistic_separable", dict(n=1_000_000, d=10_000), "n <= 5,000 at d = 10000"),
    ("matrix_sensing", dict(n=200, rank=200), "measurements <= 1,250"),       # default m = 200000: 59.6 GiB
    ("matrix_sensing", dict(n=200, rank=1, measurements=10**6), "measurements <= 1,250"),
])
def test_too_large_sizes_are_refused_before_allocating(no_allocation, name, kw, advice):
    with pytest.raises(TooLarge, match="over the limit of 50,000,000 entries") as info:
        wb.get_problem(name, **kw)
    assert advice in str(info.value)


def test_matrix_sensing_default_measurements_name_the_largest_rank():
    with pytest.raises(TooLarge, match=r"allows rank <= 1 at n = 200"):
        wb.problems.matrix_sensing(n=200, rank=2)


def test_ordinary_sizes_still_build():
    # least_squares' defaults and a moderate compressed-sensing size are well inside the limit.
    assert wb.problems.least_squares(n=200, d=50).A.shape == (200, 50)
    assert wb.problems.compressed_sensing(n=500, k=5).A.shape[1] == 500


def test_a_too_large_design_given_directly_names_the_limit():
    # A broadcast view: 10^8 entries that take no memory.
    A = np.broadcast_to(1.0, (10_000, 10_000))
    with pytest.raises(TooLarge, match=r"over the limit of 50,000,000 entries; use rows <= 5,000"):
        wb.problems.regression_problem(A, np.ones(10_000))


# -- complex data are refused, not silently made real -------------------------------------------
def test_regression_problem_refuses_a_complex_design():
    with pytest.raises(InvalidProblem, match="A is complex"):
        wb.problems.regression_problem(np.array([[1j, 0], [0, 1j]]), [1.0, 1.0])


def test_regression_problem_refuses_complex_observations_and_truth():
    with pytest.raises(InvalidProblem, match="y is complex"):
        wb.problems.regression_problem(np.eye(2), np.array([1.0, 1.0 + 2j]))
    with pytest.raises(InvalidProblem, match="x_true is complex"):
        wb.problems.regression_problem(np.eye(2), [1.0, 1.0], x_true=[1.0, 1j])
    # real data pass
    prob = wb.problems.regression_problem(np.eye(2), [1.0, 2.0])
    assert prob.lambda_max == 2.0


# -- metadata equal the true spectrum, for one dimension and several -----------------------------
@pytest.mark.parametrize("n, d", [(1, 1), (5, 1), (1, 5), (2, 2), (8, 3), (3, 8)])
def test_least_squares_metadata_are_the_hessian_eigenvalues(n, d):
    prob = wb.problems.least_squares(n=n, d=d, condition=100.0)
    ev = np.linalg.eigvalsh(prob.A.T @ prob.A / prob.n_rows)
    nonzero = ev[ev > 1e-12 * ev.max()]
    assert prob.metadata["lambda_max"] == pytest.approx(ev.max(), rel=1e-10)
    expected_min = nonzero.min() if n >= d else 0.0
    assert prob.metadata["lambda_min"] == pytest.approx(expected_min, rel=1e-10, abs=1e-12)
    assert prob.metadata["condition"] == pytest.approx(nonzero.max() / nonzero.min(), rel=1e-8)


@pytest.mark.parametrize("dim", [1, 4])
def test_quadratic_metadata_are_the_hessian_eigenvalues(dim):
    prob = wb.problems.quadratic(dim=dim, condition=100.0)
    ev = np.linalg.eigvalsh(np.atleast_2d(prob.hessian(prob.x0)))
    assert prob.metadata["lambda_max"] == pytest.approx(ev.max(), rel=1e-10)
    assert prob.metadata["lambda_min"] == pytest.approx(ev.min(), rel=1e-10)
    assert prob.metadata["condition"] == pytest.approx(ev.max() / ev.min(), rel=1e-8)


@pytest.mark.parametrize("dx, dy", [(1, 1), (1, 4), (2, 2), (3, 6)])
def test_quadratic_bilevel_metadata_are_the_true_curvatures(dx, dy):
    rho = 0.01
    prob = wb.problems.quadratic_bilevel(upper_dim=dx, lower_dim=dy, upper_condition=100.0,
                                         lower_condition=100.0, upper_ridge=rho)
    x = np.zeros(dx)
    H = prob.lower_hessians(x, np.zeros(dy))[0]
    h_ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    # The docstring's promise L_g = 1, for every lower_dim.
    assert prob.lower_smoothness(x) == pytest.approx(1.0, rel=1e-10)
    assert h_ev.max() == pytest.approx(1.0, rel=1e-10)
    assert prob.metadata["lower_strong_convexity"] == pytest.approx(h_ev.min(), rel=1e-8)
    # F is quadratic, so differences of the hypergradient give its Hessian exactly.
    g0 = prob.hypergradient(x)
    F2 = np.column_stack([prob.hypergradient(e) - g0 for e in np.eye(dx)])
    f_ev = np.linalg.eigvalsh(0.5 * (F2 + F2.T))
    assert prob.metadata["upper_smoothness"] == pytest.approx(f_ev.max(), rel=1e-7)
    assert prob.metadata["upper_strong_convexity"] == pytest.approx(f_ev.min(), rel=1e-7)
