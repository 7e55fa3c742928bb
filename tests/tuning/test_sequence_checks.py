"""A sequence run refuses what would corrupt its records, and keeps them right when controls move mid-run."""
import numpy as np
import pytest

import workbench as wb
from workbench.cli import main
from workbench.tuning import LearningToRelax, cost_table, default_omegas
from workbench.tuning.kernels import sor_iterations


@pytest.fixture(scope="module")
def seq():
    return wb.problems.shifted_laplacian_sequence("high", instances=40, seed=0)


# -- 1. a cost table is the table of this very sequence ------------------------------------------
def test_a_table_of_another_sequence_with_the_same_contexts_is_refused():
    # heat contexts depend only on dt: m = 8 and m = 16 share them, not their costs
    h8, h16 = wb.problems.heat_sequence(m=8, instances=30), wb.problems.heat_sequence(m=16, instances=30)
    assert np.array_equal(h8.contexts, h16.contexts)
    with pytest.raises(wb.InvalidParameter, match=r"m 16 \(table: 8\)"):
        wb.Runner(LearningToRelax(policy="fixed", omega=1.5, costs=cost_table(h8)), h16)
    # a 10-instance sequence shares its first shifts with a 100-instance one of the same seed, not its rhs
    s10 = wb.problems.shifted_laplacian_sequence("high", instances=10, seed=0)
    s100 = wb.problems.shifted_laplacian_sequence("high", instances=100, seed=0)
    assert np.array_equal(s10.contexts, s100.contexts[:10])
    with pytest.raises(wb.InvalidParameter, match=r"instances 100 \(table: 10\)"):
        wb.Runner(LearningToRelax(policy="fixed", omega=1.5, costs=cost_table(s10)), s100)


def test_a_table_must_cover_the_whole_sequence(seq):
    with pytest.raises(wb.InvalidParameter, match="covers 20 of the sequence's 40 instances"):
        wb.Runner(LearningToRelax(policy="best_fixed", costs=cost_table(seq, instances=20)), seq)
    # the table of the sequence itself is read, and gives what solving gives
    read = wb.run(LearningToRelax(policy="fixed", omega=1.5, costs=cost_table(seq)), seq)
    solved = wb.run(LearningToRelax(policy="fixed", omega=1.5), seq)
    np.testing.assert_array_equal(read.state.iterations, solved.state.iterations)


def test_a_table_assigned_mid_run_is_checked(seq):
    other = wb.problems.shifted_laplacian_sequence("low", instances=40, seed=5)
    method = LearningToRelax(policy="fixed", omega=1.5)
    runner = wb.Runner(method, seq, max_steps=40)
    runner.advance(max_steps=20)
    method.costs = cost_table(other)
    runner.advance(max_steps=20)
    assert runner.status.label == "failed" and "contexts differ" in runner.message
    assert runner.state.t == 20 and not runner.state.iterations[20:].any()  # no record written from it
    # the sequence's own table, assigned mid-run, is read and matches the solves
    method = LearningToRelax(policy="fixed", omega=1.5)
    runner = wb.Runner(method, seq, max_steps=40)
    runner.advance(max_steps=20)
    method.costs = cost_table(seq)
    runner.advance()
    truth = cost_table(seq).iterations[:, cost_table(seq).index_of(1.5)]
    assert runner.status.label == "converged"
    np.testing.assert_array_equal(runner.state.iterations, truth)


# -- 2. a new grid mid-run with the comparators on ------------------------------------------------
def test_a_new_grid_mid_run_recomputes_the_grid_comparators(seq):
    method = LearningToRelax(policy="tsallis_inf", comparators=True)
    runner = wb.Runner(method, seq, max_steps=40)
    runner.advance(max_steps=30)
    gs_before = runner.state.comparators["gauss_seidel"]
    method.arms = 10
    runner.advance(max_steps=1)
    state = runner.state
    new = cost_table(seq, default_omegas(1.0, 1.95, 10))
    metrics = method.metrics(seq, state)
    # best fixed and per-instance best over all 31 instances on the new grid, not restarted at 30
    assert metrics["best_fixed_cumulative"] == new.iterations[:31].sum(axis=0).min()
    assert metrics["oracle_cumulative"] == new.iterations[:31].min(axis=1).sum()
    assert metrics["gauss_seidel_cumulative"] == gs_before + new.iterations[30, 0]
    # the old-grid arm records are -1 (their omega stays); the new ones index the new grid
    assert (state.arm[:30] == -1).all() and np.isfinite(state.omega[:30]).all()
    assert state.arm[30] >= 0 and state.omegas[state.arm[30]] == state.omega[30]


# -- 3. CG is not run on non-symmetric systems ----------------------------------------------------
def test_ssor_pcg_is_refused_on_a_non_symmetric_sequence():
    conv = wb.problems.convection_diffusion_sequence(m=8, instances=3, peclet=3.0)
    for kernel in ("numba", "reference"):
        with pytest.raises(wb.IncompatibleProblem, match="needs symmetric systems.*solver='sor'"):
            wb.Runner(LearningToRelax(policy="tsallis_inf", solver="ssor_pcg", kernel=kernel), conv)
    with pytest.raises(wb.IncompatibleProblem, match="needs symmetric systems"):
        cost_table(conv, solver="ssor_pcg")
    assert wb.run(LearningToRelax(policy="tsallis_inf", solver="sor"), conv).status.label == "converged"
    # switched to it mid-run: refused at the next step, not run to the cap
    method = LearningToRelax(policy="fixed", omega=1.2)
    runner = wb.Runner(method, conv, max_steps=3)
    runner.advance(max_steps=1)
    method.solver = "ssor_pcg"
    runner.advance()
    assert runner.status.label == "failed" and "needs symmetric systems" in runner.message
    assert runner.state.t == 1 and runner.state.capped == 0


# -- 4. comparators switched on mid-run -----------------------------------------------------------
def test_comparators_switched_on_mid_run_are_backfilled(seq):
    method = LearningToRelax(policy="tsallis_inf", seed=1)
    runner = wb.Runner(method, seq, max_steps=40)
    runner.advance(max_steps=10)
    method.comparators = True
    runner.advance(max_steps=10)
    full = wb.Runner(LearningToRelax(policy="tsallis_inf", seed=1, comparators=True), seq, max_steps=40)
    full.advance(max_steps=20)
    ours, theirs = method.metrics(seq, runner.state), full.method.metrics(seq, full.state)
    for key in ("gauss_seidel_cumulative", "best_fixed_cumulative", "best_fixed_omega",
                "instance_optimal_cumulative", "oracle_cumulative", "cumulative_iterations"):
        assert ours[key] == theirs[key], key
    # switched off again: no frozen totals reported as current
    method.comparators = False
    runner.advance(max_steps=1)
    assert "best_fixed_cumulative" not in method.metrics(seq, runner.state)


# -- 5. the run's tolerance is not the per-instance tolerance -------------------------------------
def test_a_runs_rtol_and_atol_do_not_end_a_sequence_early():
    seq = wb.problems.shifted_laplacian_sequence("high", instances=20, seed=0)
    default = wb.run(LearningToRelax(policy="fixed"), seq)
    for rtol in (5.0, 0.9, 1e-3):
        res = wb.run(LearningToRelax(policy="fixed"), seq, rtol=rtol)
        assert res.status.label == "converged" and res.iterations == 20
        np.testing.assert_array_equal(res.state.iterations, default.state.iterations)
    res = wb.run(LearningToRelax(policy="fixed"), seq, atol=3)
    assert res.status.label == "failed" and res.state.t == res.iterations == 17
    assert "method's rtol parameter" in res.message and "3 of 20 left" in res.message
    # atol below one instance is harmless: the run still ends when all are solved
    assert wb.run(LearningToRelax(policy="fixed"), seq, atol=0.5).status.label == "converged"


# -- 6. the CLI's refusal names the CLI's options -------------------------------------------------
def test_relax_command_refuses_contextual_policies_on_a_single_context(capsys):
    assert main(["relax", "--setting", "heat", "--m", "8", "--instances", "1", "--policies", "chebcb,tsallis",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "chebcb" in err and "--instances" in err and "context_low" not in err
    assert main(["relax", "--setting", "heat", "--m", "8", "--instances", "1", "--policies", "tsallis",
                 "--quiet"]) == 0


# -- 7. capped means "did not converge" -----------------------------------------------------------
def test_a_solve_converging_exactly_at_the_cap_is_not_capped(seq):
    from workbench.tuning.kernels import solve_csr_status

    p = seq.instance(0)
    k, _ = sor_iterations(p.A, p.b, 1.8)
    A = p.A.tocsr()
    A.sort_indices()
    args = (A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, A.diagonal(), p.b, np.zeros_like(p.b))
    assert solve_csr_status("sor", *args, 1.8, max_iterations=k) == (k, True)
    assert solve_csr_status("sor", *args, 1.8, max_iterations=k - 1) == (k - 1, False)
    for kernel in ("numba", "reference"):
        for cap, capped in ((k, 0), (k - 1, 1)):
            m = LearningToRelax(policy="fixed", omega=1.8, max_iterations=cap, kernel=kernel)
            res = wb.run(m, seq, max_steps=1)
            assert (res.state.iterations[0], res.state.capped) == (cap, capped), (kernel, cap)
    # the cost table tells the two apart as well, and a run reading it counts the same
    table = cost_table(seq, [1.8], max_iterations=k, instance_optimal=False)
    assert table.iterations[0, 0] == k and table.converged[0, 0]
    free = cost_table(seq, [1.8], instance_optimal=False).iterations[:, 0]  # without a binding cap
    assert table.capped() == int(np.count_nonzero(free > k)) < int(np.count_nonzero(free >= k))
    np.testing.assert_array_equal(table.converged[:, 0], free <= k)
    read = wb.run(LearningToRelax(policy="fixed", omega=1.8, omega_min=1.8, omega_max=1.8, arms=1,
                                  max_iterations=k, costs=table), seq)
    solved = wb.run(LearningToRelax(policy="fixed", omega=1.8, max_iterations=k), seq)
    assert read.state.capped == solved.state.capped == table.capped()


def test_a_finished_sequence_says_every_system_is_solved():
    # (it read "remaining = 0.000e+00 <= 0.000e+00 after 12 instances")
    seq = wb.problems.shifted_laplacian_sequence("high", instances=12, m=8, seed=0)
    for name in ("learning_to_relax", "krylov_recycling"):
        res = wb.run(wb.get_method(name), seq)
        assert res.message == ("Converged: the stopping tolerance was reached. All 12 systems of the "
                               "sequence are solved."), name


def test_a_sequence_run_ends_when_all_are_solved_whatever_the_runs_tolerance():
    # rtol = 0 used to step past the last system and fail; an atol met at the start said
    # "All 5 systems of the sequence are solved" after 0 instances.
    seq = wb.problems.shifted_laplacian_sequence("high", instances=5, m=8, seed=0)
    for name in ("learning_to_relax", "krylov_recycling"):
        res = wb.run(wb.get_method(name), seq, rtol=0)
        assert res.status.label == "converged" and res.iterations == 5, (name, res.message)
        for atol in (5, 10):
            res = wb.run(wb.get_method(name), seq, atol=atol)
            assert res.status.label == "failed" and res.iterations == 0, (name, atol)
            assert "would end it with 5 of 5 left" in res.message and "solved." not in res.message
