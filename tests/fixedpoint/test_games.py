"""Monotone operators and games: GDA spirals out, extragradient contracts, anchoring gives O(1/k)."""
import math

import numpy as np
import pytest

import workbench as wb

FP = wb.fixedpoint


def random_monotone(seed, n=12):
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n, n))
    P = rng.standard_normal((n, 3))
    M = (S - S.T) + 0.3 * P @ P.T  # skew plus a singular PSD part: monotone, not strongly
    return wb.problems.linear_operator_problem(M, rng.standard_normal(n), rng.standard_normal(n))


@pytest.mark.parametrize("lr", [0.1, 0.5, 0.9])
def test_gda_moves_away_from_a_bilinear_saddle_by_exactly_sqrt_one_plus_eta_squared(lr):
    res = wb.run(FP.GDA(lr=lr), wb.problems.bilinear_game(n=1), max_steps=10)
    d = res.trace["distance"]
    np.testing.assert_allclose(d[1:] / d[:-1], math.sqrt(1 + lr ** 2), rtol=1e-12)


def test_gda_converges_once_the_game_is_strongly_monotone():
    game = wb.problems.bilinear_game(n=5, regularization=0.5)
    assert wb.run(FP.GDA(lr=0.2), game, max_steps=5000).status is wb.Status.CONVERGED
    assert wb.run(FP.GDA(lr=0.2), wb.problems.bilinear_game(n=5), max_steps=5000).status is wb.Status.DIVERGED


@pytest.mark.parametrize("lr", [0.1, 0.5, 0.9])
def test_extragradient_contracts_a_bilinear_mode_by_its_closed_form(lr):
    res = wb.run(FP.Extragradient(lr=lr), wb.problems.bilinear_game(n=1), max_steps=10)
    d = res.trace["distance"]
    np.testing.assert_allclose(d[1:] / d[:-1], math.sqrt(1 - lr ** 2 + lr ** 4), rtol=1e-12)
    assert res.final["operator_evals"] == 1 + 2 * res.iterations


@pytest.mark.parametrize("method", [FP.Extragradient(), FP.OptimisticGDA()])
def test_the_convergent_methods_solve_a_random_monotone_operator(method):
    # (Halpern's anchor trades the linear rate these problems allow for the worst-case O(1/k):
    # its bound is tested below; to rtol 1e-6 it would need about 1e6 steps)
    prob = random_monotone(0)
    res = wb.run(method, prob, max_steps=20_000, rtol=1e-6)
    assert res.status is wb.Status.CONVERGED, res.message
    assert res.final["distance"] < 1e-3 * np.linalg.norm(prob.z0 - prob.z_star)


def test_optimistic_gda_spends_one_operator_call_a_step():
    res = wb.run(FP.OptimisticGDA(), wb.problems.bilinear_game(n=5), max_steps=50)
    assert res.final["operator_evals"] == res.iterations + 1


def test_anchoring_makes_the_last_iterates_residual_fall_like_one_over_k():
    game = wb.problems.bilinear_game(n=10, condition=1000.0)
    eag = wb.run(FP.AnchoredExtragradient(), game, max_steps=3000).trace["residual"]
    eg = wb.run(FP.Extragradient(), game, max_steps=3000).trace["residual"]
    k = np.arange(eag.size)
    assert np.max((k + 1) * eag) < 12 * game.lipschitz  # measured 9.84 (||z0 - z*|| = 1)
    assert eag[1000] / eag[3000] > 2.5  # 1/k would give 3 (measured 3.4)
    assert eg[1000] / eg[3000] < 2.0  # extragradient's slow modes: measured 1.47
    assert eag[3000] < 0.5 * eg[3000]  # with a step 4x smaller (measured 2.4e-3 against 9.4e-3)


@pytest.mark.parametrize("seed", range(3))
def test_halperns_fixed_point_residual_obeys_lieders_bound_at_every_step(seed):
    prob = random_monotone(seed)
    res = wb.run(FP.Halpern(), prob, max_steps=500)
    fp = res.trace["fixed_point_residual"]
    k = np.arange(fp.size)
    bound = 2 * np.linalg.norm(prob.z0 - prob.z_star) / (k + 1)
    assert np.all(fp <= bound * (1 + 1e-9)), np.max(fp / bound)


def test_the_runs_replay_from_their_specs():
    game = wb.problems.bilinear_game(n=4, seed=2)
    for method in (FP.AnchoredExtragradient(lr=0.3), FP.Halpern(lr=2.0)):
        res = wb.run(method, game, max_steps=30)
        np.testing.assert_array_equal(wb.from_spec(res.spec()).run().trace["residual"], res.trace["residual"])


def test_bad_operators_are_refused_with_what_is_wrong():
    with pytest.raises(wb.InvalidProblem, match="not monotone"):
        wb.problems.linear_operator_problem([[-1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(wb.InvalidProblem, match="M must be square"):
        wb.problems.linear_operator_problem([[1.0, 0.0]], [0.0], [1.0])
    with pytest.raises(wb.IncompatibleProblem):
        FP.Extragradient().init(wb.problems.quadratic())


def test_halperns_lr_moved_mid_run_acts_on_the_next_step_and_is_reported():
    game = wb.problems.bilinear_game(n=3, seed=1)
    method = FP.Halpern(lr=1.0)
    runner = wb.Runner(method, game, max_steps=40)
    runner.advance(max_steps=10)
    kept = wb.Runner(FP.Halpern(lr=1.0), game, max_steps=40)
    kept.advance(max_steps=11)
    method.lr = 5.0
    runner.advance(max_steps=1)
    assert runner.trace["step_size"][-1] == pytest.approx(5.0 / game.lipschitz)
    assert not np.allclose(runner.state.z, kept.state.z)  # T(z_10) with the new eta


def test_an_empty_operator_is_refused():
    with pytest.raises(wb.InvalidProblem, match="at least one row"):
        wb.problems.linear_operator_problem(np.zeros((0, 0)), [], [])


def test_operators_no_method_can_solve_are_refused_with_why():
    # M = 0: GDA's step was lr / 1e-300, to z = 5e301 at the step limit
    with pytest.raises(wb.InvalidProblem, match="M is zero"):
        wb.problems.linear_operator_problem([[0.0]], [1.0], [0.0])
    with pytest.raises(wb.InvalidProblem, match=r"no zero.*\|\|\(I - M M\^\+\) b\|\| = 1 for every z"):
        wb.problems.linear_operator_problem([[1.0, 0.0], [0.0, 0.0]], [0.0, 1.0], [0.0, 0.0])
    singular = wb.problems.linear_operator_problem([[1.0, 0.0], [0.0, 0.0]], [3.0, 0.0], [0.0, 1.0])
    assert singular.z_star.tolist() == [3.0, 0.0]  # b in the range of a singular M is fine
    assert wb.run(FP.Extragradient(), singular, max_steps=200).status is wb.Status.CONVERGED


def test_the_anchor_weight_has_no_value_before_the_first_step_and_cannot_stop_the_run():
    game = wb.problems.bilinear_game(n=2)
    res = wb.run(FP.AnchoredExtragradient(), game, max_steps=2)
    assert np.isnan(res.trace["anchor_weight"][0])
    np.testing.assert_allclose(res.trace["anchor_weight"][1:], [1 / 2, 1 / 3])  # the beta_k = 1/(k+2) each step used
    with pytest.raises(wb.InvalidParameter, match="cannot stop on 'anchor_weight': it has no value at the start"):
        wb.run(FP.AnchoredExtragradient(), game, metric="anchor_weight", atol=1e-3, max_steps=10)


def test_distance_is_to_the_set_of_zeros_when_m_is_singular():
    # zeros of F(z) = diag(1, 0) z - (1, 0): the line (1, t); the start (0, 5) is 1 from it, not |(0,5) - (1,0)|
    prob = wb.problems.linear_operator_problem([[1.0, 0.0], [0.0, 0.0]], [1.0, 0.0], [0.0, 5.0])
    res = wb.run(wb.fixedpoint.Extragradient(), prob, max_steps=2000, rtol=1e-10)
    assert res.trace["distance"][0] == pytest.approx(1.0)
    assert res.converged and res.final["distance"] < 1e-9  # it reached (1, 5), a zero
    assert np.allclose(res.state.z, [1.0, 5.0])
    full = wb.problems.linear_operator_problem([[2.0, 1.0], [-1.0, 2.0]], [1.0, 0.0], [3.0, 4.0])
    assert full.distance_to_solutions([3.0, 4.0]) == pytest.approx(np.linalg.norm(np.array([3.0, 4.0]) - full.z_star))


def test_a_one_variable_game_says_its_condition_is_1():
    game = wb.problems.bilinear_game(n=1, condition=100.0)
    assert game.metadata["condition"] == 1.0 and "kappa=1)" in game.name
    assert wb.problems.bilinear_game(n=3, condition=100.0).metadata["condition"] == 100.0


@pytest.mark.parametrize("mu", [0.0, 0.3])
def test_the_games_known_constants_are_its_norm_and_zero(mu):
    game = wb.problems.bilinear_game(n=6, regularization=mu, condition=50.0)
    assert game.lipschitz == pytest.approx(np.linalg.norm(game.M, 2), rel=1e-12)
    assert np.allclose(np.linalg.solve(game.M, game.b), game.z_star)
    assert game.distance_to_solutions(game.z0) == pytest.approx(np.linalg.norm(game.z0))
