"""The Krylov methods update their residual by a recurrence, which drifts from b - A x in
rounding; a run is called converged only on the true residual (recomputed once, one matvec),
restarts from it when it misses, and says so when the tolerance is below what rounding allows."""
import numpy as np
import pytest

import workbench as wb


def true_relative(problem, x):
    return float(np.linalg.norm(problem.b - problem.A @ x)) / problem.b_norm


@pytest.mark.parametrize("method", [wb.linear.CG(), wb.linear.PCG(), wb.linear.Chebyshev(), wb.linear.DeflatedCG()],
                         ids=["cg", "pcg", "chebyshev", "deflated_cg"])
def test_a_converged_run_reports_its_true_residual(method):
    prob = wb.problems.poisson2d(24)
    res = wb.run(method, prob, rtol=1e-8, max_steps=5000)
    assert res.converged
    assert res.final["relative_residual"] == pytest.approx(true_relative(prob, res.x), rel=1e-12)
    assert true_relative(prob, res.x) <= 1e-8


def test_on_an_ill_conditioned_system_the_recurrence_no_longer_claims_convergence():
    # condition 1e10: the recurred residual met 1e-8 (6.8e-9) while b - A x was 6.2e-8
    prob = wb.problems.random_spd_matrix(400, condition=1e10)
    res = wb.run(wb.linear.CG(), prob, rtol=1e-8, max_steps=20_000)
    assert res.status.label == "failed"
    assert "cannot reach this tolerance" in res.message and "Loosen rtol to about" in res.message
    assert true_relative(prob, res.x) > 1e-8  # (the claim it used to make was false)


def test_a_true_residual_that_misses_restarts_the_recurrence_and_can_then_converge():
    # condition 1e7, rtol 1e-10: the first check misses, CG restarts from b - A x and gets there
    prob = wb.problems.random_spd_matrix(400, condition=1e7)
    res = wb.run(wb.linear.CG(), prob, rtol=1e-10, max_steps=20_000)
    assert res.converged and true_relative(prob, res.x) <= 1e-10
    assert res.final["matvecs"] == res.iterations + 3  # r0, the steps, two checks of b - A x


def test_a_tolerance_below_rounding_ends_with_the_level_reached():
    prob = wb.problems.poisson2d(32)
    res = wb.run(wb.linear.CG(), prob, rtol=1e-20, max_steps=3000)
    assert res.status.label == "failed" and res.iterations < 1000  # not 3000 steps of spinning
    level = true_relative(prob, res.x)
    assert level < 1e-13 and f"(best {level:.2e}, the iterate kept)" in res.message


@pytest.mark.parametrize("condition,rtol", [(1e8, 1e-10), (1e6, 1e-13), (1e8, 1e-12)])
def test_a_run_that_cannot_reach_the_tolerance_ends_at_its_best_checked_iterate_and_reports_it(condition, rtol):
    # the last row and x are the iterate kept, its residual recomputed (they were the step before,
    # with the recurred residual: 1.65e-10 reported where b - A x was 3.9e-10)
    prob = wb.problems.random_spd_matrix(200, condition=condition)
    res = wb.Runner(wb.linear.CG(), prob, rtol=rtol, max_steps=20_000).run()
    assert res.status.label == "failed"
    assert res.final["relative_residual"] == pytest.approx(true_relative(prob, res.x), rel=1e-12)
    assert res.state.residual_norm == pytest.approx(res.final["residual"])
    assert len(res.trace["residual"]) == res.iterations + 1


def test_a_run_stopped_on_relative_residual_scales_its_rtol_by_its_initial_value():
    # with the scale of the residual (||b|| = 3e5 here) it stopped at relative residual 3e-3
    base = wb.problems.poisson2d(32)
    prob = wb.problems.from_matrix(base.A, base.b * 1e4)
    res = wb.run(wb.linear.CG(), prob, metric="relative_residual", atol=1e-10)
    assert res.converged and res.final["relative_residual"] <= 1e-8


def test_methods_whose_residual_is_computed_need_no_check():
    prob = wb.problems.poisson2d(16)
    res = wb.run(wb.linear.SOR(omega=1.5), prob, rtol=1e-8)
    # r0, then a sweep and b - A x (one pass over A each) a step, and no extra check
    assert res.converged and res.final["matvecs"] == 2 * res.iterations + 1
