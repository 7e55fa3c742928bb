"""The Chebyshev polynomial preconditioner: it is the scaled Chebyshev polynomial, SPD, and it trades
CG iterations for products with A one for one (the classical result: fewer iterations, not fewer matvecs)."""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.polynomial import chebyshev as C

import workbench as wb
from workbench.linear.preconditioners import chebyshev_polynomial_preconditioner, gershgorin_upper_bound


@pytest.mark.parametrize("degree", [1, 3, 6])
def test_it_applies_the_scaled_chebyshev_polynomial(degree):
    lam = np.linspace(0.05, 3.0, 40)
    A = sp.diags(lam).tocsr()
    r = np.random.default_rng(0).standard_normal(40)
    ratio = 20.0
    lmax = gershgorin_upper_bound(A)
    lmin = lmax / ratio
    theta, delta = (lmax + lmin) / 2, (lmax - lmin) / 2
    T = np.zeros(degree + 2)
    T[-1] = 1.0  # T_{degree+1}
    residual_polynomial = C.chebval((theta - lam) / delta, T) / C.chebval(theta / delta, T)
    expected = (1 - residual_polynomial) / lam * r  # p(lambda) = (1 - R(lambda)) / lambda
    apply = chebyshev_polynomial_preconditioner(A, degree, ratio)
    np.testing.assert_allclose(apply(r), expected, rtol=1e-10, atol=1e-12)
    assert apply.matvecs == degree


def test_the_polynomial_is_positive_on_the_whole_spectrum_so_pcg_stays_cg():
    prob = wb.problems.random_spd_matrix(120, density=0.1, condition=1e3, seed=4)
    apply = chebyshev_polynomial_preconditioner(prob.A, 5, 1e4)  # even with a lower end far off
    P = np.column_stack([apply(e) for e in np.eye(prob.n)])
    np.testing.assert_allclose(P, P.T, atol=1e-10)
    assert np.linalg.eigvalsh(0.5 * (P + P.T)).min() > 0


def test_fewer_iterations_but_not_fewer_matvecs():
    prob = wb.problems.poisson2d(32)
    cg = wb.run(wb.linear.CG(), prob, rtol=1e-8)
    runs = {d: wb.run(wb.linear.PCG(preconditioner="chebyshev", poly_degree=d), prob, rtol=1e-8) for d in (1, 4, 8)}
    assert all(r.converged for r in runs.values())
    # measured 52 / 23 / 15 iterations against CG's 102; 106 / 120 / 144 matvecs against 103
    # (the README's claim: degree 4 cuts the iterations 4x for at most 1.25x the matvecs)
    assert cg.iterations > 1.8 * runs[1].iterations
    assert cg.iterations >= 4 * runs[4].iterations and runs[4].final["matvecs"] <= 1.25 * cg.final["matvecs"]
    assert runs[8].iterations < runs[4].iterations
    for d, r in runs.items():
        # A in the polynomial is counted, and so is the check of the true residual at the end
        assert r.final["matvecs"] == (1 + d) * (r.iterations + 1) + 1
        assert 0.95 * cg.final["matvecs"] < r.final["matvecs"] < 1.6 * cg.final["matvecs"]


def test_the_polynomial_knobs_are_inert_for_other_preconditioners():
    assert wb.linear.PCG(preconditioner="ssor").inert_params() == {"poly_degree", "poly_ratio"}
    assert wb.linear.PCG(preconditioner="chebyshev").inert_params() == {"ssor_omega"}
