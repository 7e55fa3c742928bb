"""Linear solvers on input at the edge of what they accept: each ends clearly, and fast."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import workbench as wb


def test_cg_on_a_negative_definite_matrix_converges_as_scipy_does():
    # p^T A p < 0 at every step; the recurrence is still CG on -A (it used to stop moving
    # and spin to max_steps with the residual frozen)
    prob = wb.problems.poisson2d(20)
    negative = wb.problems.from_matrix(-prob.A, prob.b)
    count = []
    sla.cg(-prob.A, prob.b, rtol=1e-8, callback=lambda xk: count.append(1))
    res = wb.run(wb.linear.CG(), negative, rtol=1e-8, max_steps=10_000)
    assert res.converged and res.iterations == len(count)
    assert res.trace["matvecs"][-1] == res.iterations + 2  # r0, the steps and the final check of b - A x


def test_cg_breakdown_ends_the_run_at_once_with_a_sentence():
    # diag(1, -1): p^T A p = 0 on the first step
    res = wb.run(wb.linear.CG(), wb.problems.from_matrix(np.diag([1.0, -1.0]), [1.0, 1.0]), max_steps=1000)
    assert res.status.label == "failed" and res.iterations == 0
    assert "CG broke down at a nonzero residual: p^T A p = 0" in res.message
    assert "minres" in res.message


@pytest.mark.parametrize("preconditioner", ["jacobi", "ssor", "amg"])
def test_pcg_refuses_a_zero_diagonal_its_preconditioner_divides_by(preconditioner):
    T = sp.diags([np.ones(199), np.ones(199)], [-1, 1]).tocsr()
    prob = wb.problems.from_matrix(T, np.ones(200))
    with pytest.raises(wb.InvalidProblem, match=f"The {preconditioner} preconditioner divides by the diagonal, "
                                                 r"and A\[0, 0\] is zero; use preconditioner='none'"):
        wb.run(wb.linear.PCG(preconditioner=preconditioner), prob)
    assert wb.run(wb.linear.PCG(preconditioner="none"), prob, max_steps=500).converged


def test_a_pyamg_failure_is_a_sentence():
    from workbench.linear.preconditioners import make_preconditioner

    # PyAMG raises on input it cannot coarsen; a rectangular matrix (which LinearProblem refuses
    # earlier, so it reaches PyAMG only here) is the one failure it reliably raises for
    A = sp.csr_matrix(np.ones((3, 2)))
    with pytest.raises(wb.InvalidProblem, match="PyAMG could not build a smoothed-aggregation hierarchy .*"
                                                 "use the jacobi or ssor preconditioner instead"):
        make_preconditioner("amg", A)


@pytest.mark.parametrize("A", [2.0 * sp.identity(5, format="csr"), sp.csr_matrix([[3.0]])])
def test_chebyshev_on_a_one_point_spectrum_solves_in_one_step(A):
    res = wb.run(wb.linear.Chebyshev(), wb.problems.from_matrix(A, np.ones(A.shape[0])))
    assert res.converged and res.iterations == 1


def test_chebyshev_refuses_crossed_bounds_when_they_are_set():
    with pytest.raises(wb.InvalidParameter, match="lambda_min = 5 exceeds lambda_max = 1"):
        wb.linear.Chebyshev(lambda_min=5, lambda_max=1)
    cheb = wb.linear.Chebyshev(lambda_min=0.1, lambda_max=8)
    with pytest.raises(wb.InvalidParameter, match="lambda_min = 9 exceeds lambda_max = 8"):
        cheb.lambda_min = 9
    assert cheb.lambda_min == 0.1
    cheb.param.update(lambda_min=9, lambda_max=10)  # together they are fine
    assert (cheb.lambda_min, cheb.lambda_max) == (9, 10)


def test_entries_beyond_float_range_are_refused_with_a_sentence():
    with pytest.raises(wb.InvalidProblem, match="too large for a float"):
        wb.problems.from_matrix(np.array([[10**400]], dtype=object))
    with pytest.raises(wb.InvalidProblem, match="b must be a numeric vector"):
        wb.problems.from_matrix(np.eye(1), np.array([10**400], dtype=object))


def test_the_ssor_preconditioner_takes_a_float32_or_integer_vector():
    from workbench.linear.preconditioners import ssor_preconditioner

    prob = wb.get_problem("poisson2d", n=8)
    M = ssor_preconditioner(prob.A, 1.2)
    b32 = prob.b.astype(np.float32)
    np.testing.assert_array_equal(M(b32), M(b32.astype(np.float64)))
    assert M(np.ones(prob.n, dtype=int)).dtype == np.float64
