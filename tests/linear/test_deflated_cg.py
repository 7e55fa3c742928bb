"""Deflated CG: plain CG without a basis, CG on the rest of the spectrum with an exact one."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import workbench as wb


def test_without_a_basis_it_is_cg_step_for_step():
    prob = wb.problems.poisson2d(20)
    plain = wb.run(wb.linear.CG(), prob, rtol=1e-10)
    for basis in (None, np.zeros((prob.n, 0))):
        deflated = wb.run(wb.linear.DeflatedCG(basis=basis), prob, rtol=1e-10)
        assert deflated.iterations == plain.iterations
        np.testing.assert_allclose(deflated.trace["residual"], plain.trace["residual"], rtol=1e-9)


def test_deflating_exact_eigenvectors_is_cg_on_the_remaining_eigenvalues():
    # A diagonal: e_1..e_k are eigenvectors, and deflated CG must run exactly as CG on the
    # trailing block (the residual has no component left on span(W) after the correction).
    # twelve outlying small eigenvalues: kappa 1e4 with them, 10 without
    lam = np.concatenate([np.geomspace(1e-4, 1e-3, 12), np.linspace(0.1, 1.0, 188)])
    b = np.random.default_rng(0).standard_normal(200)
    k = 12
    W = np.eye(200)[:, :k]
    full = wb.problems.from_matrix(sp.diags(lam), b)
    rest = wb.problems.from_matrix(sp.diags(lam[k:]), b[k:])
    deflated = wb.run(wb.linear.DeflatedCG(basis=W), full, rtol=1e-9, atol=0)
    # the same absolute target: ||r|| <= 1e-9 ||b|| with the full b
    on_rest = wb.run(wb.linear.CG(), rest, atol=1e-9 * np.linalg.norm(b), rtol=0)
    plain = wb.run(wb.linear.CG(), full, rtol=1e-9)
    assert deflated.iterations == on_rest.iterations < 0.5 * plain.iterations
    # (the last entry is the true residual b - A x, recomputed before the run is called converged:
    # it differs from the recurrence in the 8th digit, each run's own way)
    np.testing.assert_allclose(deflated.trace["residual"][:-1], on_rest.trace["residual"][:-1], rtol=1e-8)
    np.testing.assert_allclose(deflated.trace["residual"][-1], on_rest.trace["residual"][-1], rtol=1e-6)
    np.testing.assert_allclose(deflated.x, b / lam, rtol=1e-6)
    # A W costs k products, and the check of the true residual one
    assert deflated.trace["matvecs"][-1] == deflated.iterations + 1 + k + 1


def test_more_slow_eigenvectors_deflated_means_fewer_iterations_and_the_right_answer():
    prob = wb.problems.poisson2d(24)
    lam, V = np.linalg.eigh(prob.A.toarray())
    counts = [wb.run(wb.linear.DeflatedCG(basis=V[:, :k]), prob, rtol=1e-8).iterations for k in (0, 4, 16)]
    assert counts[0] > counts[1] > counts[2]
    res = wb.run(wb.linear.DeflatedCG(basis=V[:, :16]), prob, rtol=1e-10)
    np.testing.assert_allclose(res.x, sla.spsolve(prob.A.tocsc(), prob.b), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("basis, message", [
    (np.ones((7, 2)), r"shape \(7, 2\); it needs one row per unknown, shape \(64, k\)"),
    (np.ones((64, 2)), "columns are .nearly. dependent.*scipy.linalg.orth"),
    (np.full((64, 1), np.nan), "non-finite entries"),
    (np.eye(64), "leaves nothing for CG to do on 64 unknowns"),
])
def test_a_bad_basis_is_refused_with_a_sentence(basis, message):
    with pytest.raises(wb.InvalidParameter, match=message):
        wb.run(wb.linear.DeflatedCG(basis=basis), wb.problems.poisson2d(8))


def test_keep_directions_keeps_the_first_search_directions_and_their_products():
    prob = wb.problems.poisson2d(12)
    res = wb.run(wb.linear.DeflatedCG(keep_directions=5), prob, rtol=1e-8)
    P, AP = res.state.extra["P"], res.state.extra["AP"]
    assert len(P) == len(AP) == 5
    np.testing.assert_array_equal(P[0], prob.b)  # p_0 = r_0 from x0 = 0
    np.testing.assert_allclose(np.column_stack(AP), prob.A @ np.column_stack(P))
    G = np.column_stack(P).T @ np.column_stack(AP)  # CG directions are A-orthogonal
    assert np.abs(G - np.diag(np.diag(G))).max() < 1e-8 * np.abs(np.diag(G)).max()


def test_it_levels_off_at_the_attainable_accuracy_instead_of_drifting_away():
    # W^T r must stay 0; without a correction its rounding drift grew until the residual did
    # (rtol 1e-16 ran to max_steps with the residual at 482; plain CG levels off at 3e-15)
    prob = wb.problems.poisson2d(24)
    lam, V = np.linalg.eigh(prob.A.toarray())
    res = wb.run(wb.linear.DeflatedCG(basis=V[:, :8]), prob, rtol=1e-16, max_steps=3000)
    # 1e-16 is below the attainable accuracy: the run says so (it used to claim convergence on
    # the recurred residual) and names the level it reached, which stays near 1e-15
    assert res.status.label == "failed" and "cannot reach this tolerance" in res.message
    assert res.iterations < 200
    assert np.linalg.norm(prob.b - prob.A @ res.x) < 1e-14 * np.linalg.norm(prob.b)


def test_a_basis_replays_from_the_spec_and_its_scale_does_not_matter():
    prob = wb.problems.poisson2d(24)
    lam, V = np.linalg.eigh(prob.A.toarray())
    res = wb.run(wb.linear.DeflatedCG(basis=V[:, :8]), prob, rtol=1e-8)
    again = wb.from_spec(res.spec()).run()  # the basis travels in the spec, as nested lists
    assert again.iterations == res.iterations < wb.run(wb.linear.CG(), prob, rtol=1e-8).iterations
    # a column 1e-8 times the others spans the same space: not "dependent"
    scaled = wb.run(wb.linear.DeflatedCG(basis=V[:, :2] * [1.0, 1e-8]), prob, rtol=1e-8)
    assert scaled.iterations == wb.run(wb.linear.DeflatedCG(basis=V[:, :2].tolist()), prob, rtol=1e-8).iterations
    with pytest.raises(wb.InvalidParameter, match="an array of numbers of shape .n, k."):
        wb.linear.DeflatedCG(basis=[["a"]])
