"""Bad input and edge cases of the Learning-to-Relax stack: clear errors, no crashes, honest reports."""
import json

import numpy as np
import pytest

import workbench as wb
from workbench.cli import main
from workbench.tuning import LearningToRelax, cost_row, cost_table, default_omegas


@pytest.fixture(scope="module")
def seq300():
    return wb.problems.shifted_laplacian_sequence("high", instances=300, seed=4)


@pytest.mark.parametrize("change", [{"degree": 3}, {"seed": 5}, {"arms": 10}])
def test_chebcb_survives_a_control_change_late_in_a_run(seq300, change):
    # A fresh learner takes over mid-run; it used to index its buffers by the sequence position.
    method = LearningToRelax(policy="chebcb", costs=cost_table(seq300))
    runner = wb.Runner(method, seq300, max_steps=300)
    runner.advance(max_steps=200)
    method.param.update(**change)
    runner.advance(max_steps=100)
    assert runner.status.label == "converged", runner.message
    assert runner.state.policy.t == 100 and runner.state.policy.instance == 300


def test_a_learner_started_mid_run_scales_by_its_own_costs(seq300):
    method = LearningToRelax(policy="tsallis_inf", costs=cost_table(seq300))
    runner = wb.Runner(method, seq300, max_steps=300)
    runner.advance(max_steps=280)
    method.seed = 9
    runner.advance(max_steps=20)
    pol = runner.state.policy
    own = runner.state.iterations[280:300]
    assert pol.t == 20 and pol.scale == pytest.approx(own.mean() - 1)


@pytest.mark.parametrize("m", [11, 12, 16])
def test_shifted_laplacians_stay_positive_definite_on_finer_grids(m):
    seq = wb.problems.shifted_laplacian_sequence("high", m=m, instances=400, seed=0)
    worst = int(np.argmin(seq.contexts))
    assert np.linalg.eigvalsh(seq.instance(worst).A.toarray()).min() > 0
    lo, hi = seq.context_range
    assert lo <= seq.contexts.min() and seq.contexts.max() <= hi
    # the same spread of conditioning as the reference grid: lambda_min(A_t) / lambda_min(L) in [0.074, 3.78]
    lam = 8 * np.sin(np.pi / (2 * (m + 1))) ** 2
    assert (lam + lo) / lam == pytest.approx(0.0741, abs=1e-3) and (lam + hi) / lam == pytest.approx(3.78, abs=1e-2)
    # the most nearly singular instances still converge well inside the cap
    sub = wb.problems.shifted_laplacian_sequence("high", m=m, instances=60, seed=0)
    res = wb.run(LearningToRelax(policy="instance_optimal"), sub)
    assert res.status.label == "converged" and res.state.capped == 0 and sub.contexts.min() < 0.9 * lo


def test_the_reference_grid_keeps_the_reference_shifts():
    seq = wb.problems.shifted_laplacian_sequence("high", m=10, instances=50, seed=7)
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(seq.contexts, -0.15 + 0.6 * rng.beta(0.5, 1.5, size=50))
    assert seq.context_range == (-0.15, 0.45)


def test_capped_solves_are_counted_and_reported(capsys):
    seq = wb.problems.shifted_laplacian_sequence("high", instances=12, seed=0)
    res = wb.run(LearningToRelax(policy="gauss_seidel", max_iterations=50), seq)
    assert res.state.capped == 12 and res.trace["capped"][-1] == 12
    assert "All 12 systems of the sequence are solved" in res.message
    assert main(["relax", "--instances", "12", "--max-iterations", "50", "--policies", "gs,fixed:1.8,best",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "stopped at the iteration cap 50" in out and "gs 12" in out and "Raise --max-iterations" in out
    assert "cost-table cells stopped at the cap" in out


def test_chebcb_learns_from_zero_cost_instances():
    # Warm-started heat steps at a loose tolerance can take 0 iterations.
    seq = wb.problems.heat_sequence(m=8, instances=200)
    res = wb.run(LearningToRelax(policy="chebcb", rtol=0.5), seq)
    assert res.status.label == "converged", res.message
    assert (res.state.iterations == 0).any()


def test_chebcb_clips_contexts_outside_its_interval():
    pol = wb.tuning.ChebCB(degree=5)
    pol.reset(default_omegas(), (-0.15, 0.45), seed=0)
    for t in range(30):
        pol.choose(0.3)
        pol.observe(50 + 40 * pol.last_arm)
    np.testing.assert_array_equal(pol.distribution(10.0), pol.distribution(0.45))
    np.testing.assert_array_equal(pol.distribution(-3.0), pol.distribution(-0.15))
    with pytest.raises(wb.InvalidParameter, match="finite context"):
        pol.choose(float("nan"))


def test_only_contextual_policies_need_a_context_interval():
    seq = wb.problems.heat_sequence(m=8, instances=1)
    assert wb.run(LearningToRelax(policy="tsallis_inf"), seq).status.label == "converged"
    with pytest.raises(wb.InvalidParameter, match="context interval"):
        wb.Runner(LearningToRelax(policy="chebcb"), seq)


def test_a_cost_table_from_other_settings_is_refused(seq300):
    table = cost_table(seq300, rtol=1e-8)
    with pytest.raises(wb.InvalidParameter, match="rtol 0.0001 \\(table: 1e-08\\)"):
        wb.Runner(LearningToRelax(policy="fixed", rtol=1e-4, costs=table), seq300)
    with pytest.raises(wb.InvalidParameter, match="max_iterations 20"):
        wb.Runner(LearningToRelax(policy="fixed", max_iterations=20, costs=table), seq300)
    other = wb.problems.shifted_laplacian_sequence("high", instances=300, seed=5)
    with pytest.raises(wb.InvalidParameter, match="contexts differ"):
        wb.Runner(LearningToRelax(policy="fixed", costs=table), other)
    # a tolerance changed mid-run: the rest is solved, not read from the table
    method = LearningToRelax(policy="fixed", omega=1.8, costs=table)
    runner = wb.Runner(method, seq300, max_steps=20)
    runner.advance(max_steps=10)
    method.rtol = 1e-4
    runner.advance(max_steps=10)
    solved = wb.run(LearningToRelax(policy="fixed", omega=1.8, rtol=1e-4), seq300, max_steps=20)
    np.testing.assert_array_equal(runner.state.iterations[10:20], solved.state.iterations[10:20])


def test_cost_table_and_grid_errors_say_what_to_do(seq300):
    cases = [
        (lambda: cost_table(seq300, rtol=0), "rtol must lie in"),
        (lambda: cost_table(seq300, max_iterations=0), "max_iterations must be"),
        (lambda: cost_table(seq300, omegas=[]), "non-empty 1-D"),
        (lambda: cost_table(seq300, omegas=[[1.0, 1.5]]), "non-empty 1-D"),
        (lambda: cost_table(seq300, omegas=[1.0, 2.5]), "values in \\(0, 2\\)"),
        (lambda: cost_table(seq300, instances=-1), "instances must be"),
        (lambda: cost_table(seq300, chunk=0), "chunk must be"),
        (lambda: default_omegas(1.5, 1.5, 5), "5 arms need omega_min < omega_max"),
        (lambda: default_omegas(1.0, 1.9, 2.7), "whole number"),
    ]
    for call, message in cases:
        with pytest.raises(wb.InvalidParameter, match=message):
            call()
    for call in (lambda: cost_row(seq300, 300, default_omegas()), lambda: seq300.instance(300),
                 lambda: wb.problems.heat_sequence(m=4, instances=3).instance(-1)):
        with pytest.raises(wb.core.OutOfRange, match="outside 0.."):
            call()


@pytest.mark.parametrize("argv, message", [
    (["--arms", "0"], "arms"), (["--rtol", "0"], "rtol"), (["--max-iterations", "0"], "max_iterations"),
    (["--policy-seed", "-1"], "seed"), (["--m", "0"], "--m must be at least 2"),
    (["--degree", "-1"], "degree"), (["--policies", "fixed:"], "without a value"),
    (["--policies", "fixed:1.8,fixed:1.80"], "list each policy once"),
])
def test_relax_command_refuses_bad_options_in_one_line(capsys, argv, message):
    assert main(["relax", "--instances", "5", "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_relax_command_reports_a_failed_policy_and_writes_strict_json(tmp_path, capsys, monkeypatch):
    def broken(self, cost):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(wb.tuning.ChebCB, "_observe", broken)
    out = tmp_path / "r.json"
    assert main(["relax", "--instances", "8", "--policies", "gs,chebcb,best_fixed", "--quiet",
                 "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "chebcb" in captured.out and "failed after 0 of 8 instances" in captured.out
    assert "ZeroDivisionError" in captured.out and "1 of 3 policies failed: chebcb" in captured.err

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    data = json.loads(out.read_text(), parse_constant=refuse)
    assert data["policies"]["chebcb"]["status"] == "failed"
    assert data["policies"]["chebcb"]["per_instance"]["omega"][0] is None  # NaN written as null
    assert data["policies"]["gs"]["total_iterations"] == data["comparators"]["gauss_seidel_total"]


def test_a_setting_the_policy_does_not_read_leaves_its_learner_alone(seq300):
    method = LearningToRelax(policy="tsallis_inf", costs=cost_table(seq300))
    runner = wb.Runner(method, seq300, max_steps=300)
    runner.advance(max_steps=50)
    learner = runner.state.policy
    method.param.update(degree=9, bins=9, omega=1.3)      # ChebCB's, binned's and fixed's settings
    runner.advance(max_steps=10)
    assert runner.state.policy is learner and learner.t == 60
    method.normaliser = "reference"                        # one Tsallis-INF reads: a fresh learner
    runner.advance(max_steps=1)
    assert runner.state.policy is not learner and runner.state.policy.t == 1


def test_policies_refuse_bad_settings_costs_and_calls_out_of_order():
    from workbench.core import InvalidParameter
    from workbench.tuning.policies.base import PolicyNotReset

    with pytest.raises(InvalidParameter, match="FixedOmega.omega' must be less than 2.0"):
        wb.tuning.FixedOmega(omega=2.5)
    with pytest.raises(InvalidParameter, match="bins' must be at least 1"):
        wb.tuning.BinnedTsallisINF(bins=0)
    with pytest.raises(PolicyNotReset, match="before reset\\(omegas, ...\\) gives it its arm grid"):
        wb.tuning.TsallisINF().choose(0.0)
    with pytest.raises(PolicyNotReset, match="TsallisINF cannot observe a cost before reset"):
        wb.tuning.TsallisINF().observe(40)
    with pytest.raises(InvalidParameter, match="context_range is a pair"):
        wb.tuning.TsallisINF().reset([1.0, 1.5], context_range=(1,))
    with pytest.raises(InvalidParameter, match="instance of CostTable"):
        wb.get_method("learning_to_relax", costs=[1, 2])
    policy = wb.tuning.TsallisINF()
    policy.reset([1.0, 1.5, 1.8], seed=0)
    policy.choose(0.0)
    before = policy.distribution(0.0).copy()
    for cost in (float("nan"), -1e6, "10", True):
        # a NaN cost would leave the weights NaN (uniform) for good
        with pytest.raises(InvalidParameter, match="a cost is a finite number of iterations"):
            policy.observe(cost)
    assert policy.t == 0 and np.array_equal(policy.distribution(0.0), before)
    policy.observe(40)
    assert policy.t == 1 and np.all(np.isfinite(policy.distribution(0.0)))
