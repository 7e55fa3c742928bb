"""Polynomial preconditioning (a reconstruction of Doikov & Rodomanov 2023): its identities and claims.

The identities are what the reconstruction rests on; the claims are measured on
the outlier spectrum of the prototype (3 eigenvalues 1e4, 3e3, 1e3 above a bulk
in [1, 10], n = 200) and on a spectrum without outliers, where the symmetric
preconditioner must *not* pay off in Hessian-vector products.
"""
import itertools
import math

import numpy as np
import pytest

import workbench as wb
from workbench.core import IncompatibleProblem, InvalidParameter, WorkbenchError
from workbench.optim.polynomial_preconditioning import (
    DegreeTooHigh, NoCurvature, NotPositiveSemidefinite, PolynomialPreconditionedGD as PPGD, PreconditionerError,
    apply_chebyshev_polynomial, apply_symmetric_polynomial, chebyshev_residual_bound, elementary_symmetric,
    elementary_symmetric_from_traces, gamma_bound, hutchinson_power_traces, hutchpp_power_traces)

N = 200
OUTLIERS = np.concatenate([[1e4, 3e3, 1e3], np.linspace(1.0, 10.0, N - 3)])
RTOL = 1e-4
MAX = 300_000


@pytest.fixture(scope="module")
def outliers():
    return wb.problems.spectrum_quadratic(OUTLIERS, seed=1)


@pytest.fixture(scope="module")
def uniform():
    return wb.problems.spectrum_quadratic(np.linspace(1.0, 10.0, 50), seed=2)


def _small():
    rng = np.random.default_rng(0)
    lam = np.array([50.0, 20.0, 5.0, 2.0, 1.5, 1.0])
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    return lam, Q, (Q * lam) @ Q.T


def _matrix(apply, n):
    return np.column_stack([apply(c) for c in np.eye(n)])


_RUNS = {}


def _run(problem, rtol=RTOL, **kw):
    """A converged run; the same (problem, settings) is run once per module (runs are deterministic)."""
    key = (id(problem), rtol, tuple(sorted(kw.items())))
    if key not in _RUNS:
        res = wb.run(PPGD(**kw), problem, rtol=rtol, max_steps=MAX)
        assert res.status.name == "CONVERGED", (kw, res.message)
        _RUNS[key] = (problem, res)  # the problem is kept so that its id is not reused
    return _RUNS[key][1]


# ------------------------------------------------------------------------------ identities
def test_newton_identities_match_the_direct_recurrence():
    lam, _, B = _small()
    s = [np.trace(np.linalg.matrix_power(B, k)) for k in range(1, 7)]
    np.testing.assert_allclose(elementary_symmetric_from_traces(s), elementary_symmetric(lam, 6), rtol=1e-9)
    # sigma_k = sum of the principal k x k minors (volume sampling)
    for k in range(1, 7):
        minors = sum(np.linalg.det(B[np.ix_(S, S)]) for S in itertools.combinations(range(6), k))
        assert math.isclose(minors, elementary_symmetric(lam, k)[k], rel_tol=1e-9)


@pytest.mark.parametrize("tau", range(6))
def test_eigenvalues_of_the_preconditioner(tau):
    lam, Q, B = _small()
    e = elementary_symmetric_from_traces([np.trace(np.linalg.matrix_power(B, k)) for k in range(1, tau + 2)])
    P = _matrix(lambda v: apply_symmetric_polynomial(lambda w: B @ w, e, tau, v), 6)
    expected = np.array([elementary_symmetric(np.delete(lam, j), tau)[tau] for j in range(6)])
    PB_eigs = np.diag(Q.T @ P @ B @ Q)
    np.testing.assert_allclose(np.diag(Q.T @ P @ Q), expected, rtol=1e-9)
    np.testing.assert_allclose(PB_eigs, lam * expected, rtol=1e-9)
    assert PB_eigs.max() <= e[tau + 1] * (1 + 1e-9)  # the step 1/sigma_{tau+1} is safe
    # P_tau = sum over |S| = tau+1 of det(B_SS) [B_SS^{-1}] embedded (volume sampling)
    vol = np.zeros((6, 6))
    for S in itertools.combinations(range(6), tau + 1):
        BS = B[np.ix_(S, S)]
        vol[np.ix_(S, S)] += np.linalg.det(BS) * np.linalg.inv(BS)
    np.testing.assert_allclose(vol, P, rtol=1e-8, atol=1e-8 * np.abs(P).max())
    # the governing condition number is at most gamma_tau
    assert e[tau + 1] / (lam * expected).min() <= gamma_bound(lam, tau) * (1 + 1e-9)


def test_full_degree_is_the_inverse_and_one_step_solves_a_quadratic():
    lam, _, B = _small()
    e = elementary_symmetric(lam, 6)
    P = _matrix(lambda v: apply_symmetric_polynomial(lambda w: B @ w, e, 5, v), 6)
    np.testing.assert_allclose(P / e[6], np.linalg.inv(B), rtol=1e-9, atol=1e-12)
    # (in floating point only for a moderate spread: the monomial basis loses about
    # log10(lambda_1^tau / sigma_tau) digits, see docs/polynomial_preconditioning.md)
    prob = wb.problems.spectrum_quadratic([100.0, 20.0, 5.0, 3.0, 1.0, 0.5], seed=3)
    res = wb.run(PPGD(degree=5), prob, atol=1e-6, max_steps=5)
    assert res.iterations == 1 and res.final["distance"] < 1e-8


def test_chebyshev_polynomial_is_the_scaled_chebyshev_residual():
    lam, Q, B = _small()
    lo, hi, tau = 1.0, 50.0, 3
    q = _matrix(lambda v: apply_chebyshev_polynomial(lambda w: B @ w, lo, hi, tau, v), 6)
    got = np.diag(Q.T @ q @ B @ Q)  # lambda q(lambda)
    T = np.polynomial.chebyshev.Chebyshev.basis(tau + 1)
    np.testing.assert_allclose(1 - got, T((hi + lo - 2 * lam) / (hi - lo)) / T((hi + lo) / (hi - lo)), atol=1e-12)
    assert np.abs(1 - got).max() <= chebyshev_residual_bound(tau, lo, hi) * (1 + 1e-9)


def test_trace_estimators():
    lam, _, B = _small()
    exact = np.array([np.sum(lam ** k) for k in range(1, 5)])
    s, cost = hutchinson_power_traces(lambda v: B @ v, 6, 4, 20000, np.random.default_rng(0))
    np.testing.assert_allclose(s, exact, rtol=0.05)
    assert cost == 20000 * 2  # four traces from two products per probe
    s, _ = hutchpp_power_traces(lambda v: B @ v, 6, 4, 18, np.random.default_rng(0))  # sketch spans R^6
    np.testing.assert_allclose(s, exact, rtol=1e-10)


# ------------------------------------------------------------------------------ the claims
def test_outliers_iterations_and_matvecs_fall_with_the_degree(outliers):
    gd = wb.run(wb.optim.GD(lr=1.0 / OUTLIERS.max()), outliers, rtol=RTOL, max_steps=MAX)
    runs = [_run(outliers, degree=tau) for tau in range(5)]
    its = [r.iterations for r in runs]
    mv = [r.final["matvecs"] for r in runs]
    assert all(a > b for a, b in zip(its, its[1:])), its
    assert all(a > b for a, b in zip(mv, mv[1:])), mv
    assert mv[3] < gd.final["grad_evals"] / 3  # far below GD with step 1/lambda_max (which knows L)
    assert its[3] < gd.iterations / 10
    gammas = [r.final["gamma_tau"] for r in runs]
    assert gammas[0] / gammas[3] > 10 and runs[0].final["kappa"] == pytest.approx(1e4)


@pytest.mark.parametrize("tau", [2, 3])
def test_measured_contraction_agrees_with_the_bound(outliers, tau):
    res = _run(outliers, rtol=1e-8, degree=tau)
    g = res.trace["grad_norm"]
    ratios = g[1:] / g[:-1]
    gamma, kstep = res.final["gamma_tau"], res.final["step_condition"]
    assert kstep <= gamma
    assert ratios.max() <= 1 - 1 / gamma + 1e-12  # every step contracts at least as the bound says
    tail = (g[-1] / g[-201]) ** (1 / 200)  # the slowest mode: rate 1 - 1/step_condition
    assert tail == pytest.approx(1 - 1 / kstep, abs=0.05 / kstep)
    # iterations needed ~ step_condition * ln(1/rtol), at most gamma * ln(1/rtol) (plus the start's spread)
    assert res.iterations <= gamma * math.log(1e8 * math.sqrt(res.final["kappa"]))


def test_adaptive_krylov_search_beats_the_fixed_polynomial(outliers):
    for tau in (2, 3):
        fixed, krylov = _run(outliers, degree=tau), _run(outliers, degree=tau, adaptive=True)
        assert krylov.final["matvecs"] < fixed.final["matvecs"] / 5, tau
        assert krylov.iterations < fixed.iterations / 5


def test_fast_variant_beats_the_plain_one(outliers):
    for tau in (1, 3):
        plain, fast = _run(outliers, degree=tau), _run(outliers, degree=tau, acceleration="fast")
        assert fast.final["matvecs"] < plain.final["matvecs"] / 5, tau
    cheb, cheb_fast = (_run(outliers, degree=2, preconditioner="chebyshev", acceleration=a) for a in ("none", "fast"))
    assert cheb_fast.iterations < cheb.iterations / 5


def test_without_outliers_the_symmetric_preconditioner_does_not_pay(uniform):
    gd = wb.run(wb.optim.GD(lr=1.0 / 10.0), uniform, rtol=RTOL, max_steps=MAX)
    mv = [_run(uniform, degree=tau).final["matvecs"] for tau in range(4)]
    assert min(mv[1:]) > 0.9 * mv[0]  # fewer iterations, the same products
    assert min(mv) > 10 * gd.final["grad_evals"]  # and far behind GD that knows lambda_max
    # the Chebyshev preconditioner (which is told [lambda_min, lambda_max]) does pay there
    cheb = _run(uniform, degree=3, preconditioner="chebyshev")
    assert cheb.final["matvecs"] < gd.final["grad_evals"]


def test_estimated_traces_give_close_iteration_counts(outliers, uniform):
    for prob, tau in ((uniform, 3), (outliers, 1), (outliers, 3)):
        exact = _run(prob, degree=tau).iterations
        pp = _run(prob, degree=tau, traces="hutch++", probes=30).iterations
        assert abs(pp - exact) <= 0.05 * exact, (tau, pp, exact)
    exact = _run(uniform, degree=3).iterations
    plain = _run(uniform, degree=3, traces="hutchinson", probes=30).iterations
    assert abs(plain - exact) <= 0.05 * exact


def test_plain_hutchinson_is_unreliable_with_outliers_and_hutchpp_is_not(outliers):
    """Newton's identities amplify the variance the outliers put into tr B^k (a measured finding)."""
    B = outliers.H
    sigma = elementary_symmetric(OUTLIERS, 4)[4]
    err = {}
    for name, est in (("hutchinson", hutchinson_power_traces), ("hutch++", hutchpp_power_traces)):
        errs = [abs(elementary_symmetric_from_traces(est(lambda v: B @ v, N, 4, 30, np.random.default_rng(s))[0])[4]
                    - sigma) / sigma for s in range(5)]
        err[name] = np.median(errs)
    assert err["hutchinson"] > 0.1 and err["hutch++"] < 0.05 and err["hutch++"] < err["hutchinson"] / 10, err


# ------------------------------------------------------------------------------ errors and protocol
def test_bad_input_is_refused_with_a_sentence():
    prob = wb.problems.spectrum_quadratic([3.0, 2.0, 1.0])
    with pytest.raises(DegreeTooHigh, match="not below the dimension"):
        PPGD(degree=3).init(prob)
    with pytest.raises(DegreeTooHigh, match="rank"):
        PPGD(degree=2).init(wb.problems.spectrum_quadratic([3.0, 2.0, 0.0]))
    indefinite = wb.problems.from_functions(lambda x: 0.5 * (x[0] ** 2 - x[1] ** 2), lambda x: np.array([x[0], -x[1]]),
                                            x0=[1.0, 1.0], hvp=lambda x, v: np.array([v[0], -v[1]]))
    with pytest.raises(NotPositiveSemidefinite, match="eigenvalue"):
        PPGD(degree=0).init(indefinite)
    no_hessian = wb.problems.from_functions(lambda x: x @ x, lambda x: 2 * x, x0=[1.0, 2.0])
    with pytest.raises(NoCurvature, match="Hessian-vector product"):
        PPGD(degree=0).init(no_hessian)
    bare = wb.problems.from_functions(lambda x: x @ x, lambda x: 2 * x, x0=[1.0, 2.0, 3.0], hvp=lambda x, v: 2 * v)
    with pytest.raises(PreconditionerError, match="lambda_min"):
        PPGD(degree=1, preconditioner="chebyshev", traces="hutchinson").init(bare)
    for err in (DegreeTooHigh, NoCurvature, NotPositiveSemidefinite, PreconditionerError):
        assert issubclass(err, WorkbenchError) and issubclass(err, IncompatibleProblem)
    assert issubclass(DegreeTooHigh, InvalidParameter)
    with pytest.raises(WorkbenchError):
        PPGD(preconditioner="legendre")


def test_registered_and_round_trips(outliers):
    method = wb.get_method("polynomial_preconditioned_gd", degree=3, traces="hutch++", probes=12)
    assert isinstance(method, PPGD)
    assert wb.from_spec(method.spec()).spec() == method.spec()
    assert PPGD(adaptive=True).inert_params() >= {"preconditioner", "traces", "acceleration"}


def test_a_degree_moved_mid_run_acts_on_the_next_step(outliers):
    method = PPGD(degree=0)
    runner = wb.Runner(method, outliers, rtol=RTOL, max_steps=MAX)
    runner.advance(max_steps=10)
    method.degree = 3
    runner.advance(max_steps=MAX)
    res = runner.result()
    assert res.status.name == "CONVERGED" and res.iterations < 2000
    assert res.trace["gamma_tau"][-1] == pytest.approx(gamma_bound(OUTLIERS, 3))
