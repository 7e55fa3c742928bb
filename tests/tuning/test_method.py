"""The sequence run as a method on the core protocol."""
import json

import numpy as np
import pytest

import workbench as wb


@pytest.fixture(scope="module")
def seq():
    return wb.problems.shifted_laplacian_sequence("high", instances=40, seed=2)


def test_a_sequence_run_records_every_instance(seq):
    method = wb.get_method("learning_to_relax", policy="tsallis_inf", seed=1, comparators=True)
    res = wb.run(method, seq)
    assert res.status.label == "converged" and res.iterations == 40
    tr = res.trace
    assert len(tr) == 41 and tr["remaining"][-1] == 0
    np.testing.assert_array_equal(tr["iterations"][1:], res.state.iterations)
    assert tr["cumulative_iterations"][-1] == res.state.iterations.sum()
    np.testing.assert_allclose(tr["context"][1:], seq.contexts)
    probs = np.column_stack([tr[f"p_{i}"][1:] for i in range(20)])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    chosen = tr["arm"][1:].astype(int)
    np.testing.assert_allclose(tr["omega"][1:], np.linspace(1, 1.95, 20)[chosen])
    # comparators: the best fixed omega so far can never cost more than Gauss-Seidel
    table = wb.tuning.cost_table(seq)
    assert tr["best_fixed_cumulative"][-1] == table.best_fixed()[2]
    assert tr["gauss_seidel_cumulative"][-1] == table.iterations[:, 0].sum()
    assert tr["instance_optimal_cumulative"][-1] == table.optimal_iterations.sum()
    assert tr["oracle_cumulative"][-1] == table.oracle().sum()


def test_replaying_against_the_cost_table_equals_solving(seq):
    table = wb.tuning.cost_table(seq)
    for policy in ("tsallis_inf", "chebcb", "binned_tsallis_inf"):
        solved = wb.run(wb.get_method("learning_to_relax", policy=policy, seed=3), seq)
        replay = wb.run(wb.get_method("learning_to_relax", policy=policy, seed=3, costs=table), seq)
        np.testing.assert_array_equal(solved.state.iterations, replay.state.iterations)


def test_comparator_policies_cost_what_the_table_says(seq):
    table = wb.tuning.cost_table(seq)
    gs = wb.run(wb.get_method("learning_to_relax", policy="gauss_seidel"), seq)
    assert gs.state.iterations.sum() == table.iterations[:, 0].sum()
    best = wb.run(wb.get_method("learning_to_relax", policy="best_fixed"), seq)
    assert best.state.iterations.sum() == table.best_fixed()[2]
    opt = wb.run(wb.get_method("learning_to_relax", policy="instance_optimal"), seq)
    np.testing.assert_array_equal(opt.state.iterations, table.optimal_iterations)
    np.testing.assert_allclose(opt.state.omega, table.optimal_omega)


def test_changing_the_policy_mid_run_takes_effect_on_the_next_instance(seq):
    method = wb.get_method("learning_to_relax", policy="fixed", omega=1.5)
    runner = wb.Runner(method, seq)
    runner.advance(max_steps=5)
    method.policy = "instance_optimal"
    runner.advance(max_steps=5)
    omegas = runner.trace["omega"][1:]
    assert np.all(omegas[:5] == pytest.approx(1.5))
    expected = [wb.linear.theory.optimal_omega(seq.rho_jacobi(t)) for t in range(5, 10)]
    np.testing.assert_allclose(omegas[5:10], expected)


def test_spec_round_trip_and_ssor_pcg_solver(seq):
    method = wb.get_method("learning_to_relax", policy="chebcb", solver="ssor_pcg", degree=3)
    clone = wb.from_spec(json.loads(json.dumps(method.spec())))
    assert clone.spec() == method.spec()
    res = wb.run(method, seq, max_steps=10)
    assert res.iterations == 10 and 5 < res.state.iterations[:10].mean() < 60


def test_errors_say_what_to_do(seq):
    with pytest.raises(wb.IncompatibleProblem, match="sequence"):
        wb.get_method("learning_to_relax").init(wb.problems.poisson2d(4))
    with pytest.raises(wb.InvalidParameter, match="omega_min"):
        wb.get_method("learning_to_relax", omega_min=1.9, omega_max=1.2).init(seq)
    with pytest.raises(wb.InvalidParameter, match="context"):
        wb.get_method("learning_to_relax", policy="chebcb", context_low=1.0, context_high=0.0).init(seq)
    method = wb.get_method("learning_to_relax", policy="gauss_seidel")
    runner = wb.Runner(method, seq, rtol=0.0, max_steps=100)
    runner.advance()
    assert runner.status.label == "converged" and runner.iteration == 40  # (rtol = 0: still "every system")
    with pytest.raises(wb.InvalidProblem, match="all 40 instances are solved; reset to start again"):
        method.step(seq, runner.state)
