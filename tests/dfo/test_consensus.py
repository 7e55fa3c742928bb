"""Consensus-based optimisation: the consensus point, the drift's rate, and global minima GD misses."""
import numpy as np
import pytest

import workbench as wb
from workbench.dfo.consensus import consensus_point

CBO = wb.dfo.ConsensusBasedOptimization


def test_the_consensus_point_runs_from_the_mean_to_the_best_particle():
    rng = np.random.default_rng(0)
    X, f = rng.standard_normal((50, 3)), rng.uniform(0, 1e6, 50)  # values far beyond exp's range
    np.testing.assert_allclose(consensus_point(X, f, 0.0), X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(consensus_point(X, f, 1e3), X[np.argmin(f)], rtol=1e-12)
    assert np.all(np.isfinite(consensus_point(X, f, 1e8)))


def test_without_noise_the_drift_shrinks_the_spread_by_one_minus_lambda_dt():
    prob = wb.problems.quadratic(dim=4)
    res = wb.run(CBO(noise_scale=0.0, alpha=0.0, drift=2.0, dt=0.05), prob, max_steps=20)
    spread = res.trace["spread"]
    np.testing.assert_allclose(spread[1:] / spread[:-1], 1 - 2.0 * 0.05, rtol=1e-10)


@pytest.mark.parametrize("dim,found_at_least", [(2, 6), (5, 5)])
def test_cbo_finds_rastrigins_global_minimum_where_gd_stops_at_a_local_one(dim, found_at_least):
    prob = wb.problems.rastrigin(dim=dim, start=[3.0] * dim)
    found = 0
    for seed in range(6):
        res = wb.run(CBO(seed=seed), prob, max_steps=5000, atol=1e-4)
        assert res.status is wb.Status.CONVERGED, res.message
        found += res.final["distance"] < 1e-3
    assert found >= found_at_least  # measured 6 / 6 in 2-D, 5 / 6 in 5-D
    gd = wb.run(wb.optim.GD(lr=0.002), prob, max_steps=5000)
    assert gd.final["distance"] > 1.0  # the local minimum nearest the start


def test_only_function_values_are_spent_and_counted():
    prob = wb.problems.rastrigin(dim=3, start=[1.0] * 3)
    res = wb.run(CBO(particles=20), prob, max_steps=7)
    assert res.final["function_evals"] == 8 * (20 + 1)  # each step: every particle and the consensus point


def test_the_run_replays_from_its_spec():
    prob = wb.problems.rastrigin(dim=3, start=[1.0] * 3)
    res = wb.run(CBO(seed=4, particles=30, noise="isotropic", noise_scale=0.5), prob, max_steps=25)
    np.testing.assert_array_equal(wb.from_spec(res.spec()).run().trace["loss"], res.trace["loss"])


def test_particles_where_the_objective_is_not_finite_are_explained():
    prob = wb.problems.from_functions(lambda x: float(np.log(x[0])) if x[0] > 0 else float("nan"),
                                      lambda x: np.array([1 / x[0], 0.0]), x0=[1.0, 0.0])
    with pytest.raises(wb.InvalidProblem, match="not finite at .* particles; start them where it is"):
        CBO(init_spread=5.0).init(prob)


def test_alpha_moved_mid_run_acts_on_the_next_move():
    prob = wb.problems.quadratic(dim=3)
    method = CBO(noise_scale=0.0, alpha=1e5, particles=20)
    runner = wb.Runner(method, prob, max_steps=10)
    runner.advance(max_steps=3)
    X = runner.state.X.copy()
    method.alpha = 0.0
    runner.advance(max_steps=1)
    # the move is towards the plain mean of the particles, the consensus at alpha = 0
    np.testing.assert_allclose(runner.state.X, X - method.drift * method.dt * (X - X.mean(axis=0)), rtol=1e-12)


def test_an_objective_that_raises_at_a_particle_is_explained():
    def f(x):
        if x[0] > 2:
            raise ValueError("domain")
        return float(x @ x)

    prob = wb.problems.from_functions(f, lambda x: 2 * x, x0=[1.0, 1.0])
    with pytest.raises(wb.InvalidProblem, match="failed at a particle .*ValueError: domain.*init_spread"):
        CBO(particles=10).init(prob)


def test_isotropic_noise_multiplies_the_mean_square_spread_by_the_factor_the_refusal_tests():
    # alpha = 0: the consensus is the plain mean, so the spread^2 ratio is (1 - lambda dt)^2 + sigma^2 dt d
    dim, sigma, dt = 5, 0.62, 0.01
    prob = wb.problems.quadratic(dim=dim)
    res = wb.run(CBO(noise="isotropic", noise_scale=sigma, alpha=0.0, particles=40_000, seed=3), prob, max_steps=1)
    ratio = (res.trace["spread"][1] / res.trace["spread"][0]) ** 2
    assert ratio == pytest.approx((1 - dt) ** 2 + sigma ** 2 * dt * dim, abs=3e-3)  # anisotropic: 0.984


def test_isotropic_noise_that_spreads_the_swarm_is_refused_with_the_sigma_to_use():
    prob = wb.problems.rastrigin(dim=2, start=[3.0] * 2)
    with pytest.raises(wb.InvalidParameter, match=r"spreads the swarm out in 2 dimensions.*= 1.48 >= 1; take "
                                                  r"noise_scale below .* = 0.997"):
        wb.run(CBO(seed=1, noise="isotropic"), prob, max_steps=3000, atol=1e-4)  # diverged at step 196
    with pytest.raises(wb.InvalidParameter, match="below .* = 0.631"):
        CBO(noise="isotropic").init(wb.problems.rastrigin(dim=5, start=[3.0] * 5))
    res = wb.run(CBO(seed=1, noise="isotropic", noise_scale=0.7), prob, max_steps=5000, atol=1e-4)
    assert res.status is wb.Status.CONVERGED and res.final["distance"] < 1e-3, res.message  # measured 1532 steps
    CBO(seed=1).init(prob)  # anisotropic noise has no such limit
    CBO(noise="isotropic").init(wb.problems.rastrigin(dim=1, start=[3.0]))  # in 1-D it is anisotropic noise


def test_isotropic_noise_switched_on_mid_run_is_refused_at_the_assignment_and_the_run_goes_on():
    prob = wb.problems.rastrigin(dim=2, start=[3.0] * 2)
    method = CBO(seed=1)
    runner = wb.Runner(method, prob, max_steps=100)
    runner.advance(max_steps=5)
    with pytest.raises(wb.InvalidParameter, match="spreads the swarm out"):
        method.noise = "isotropic"
    assert method.noise == "anisotropic"
    method.param.update(noise="isotropic", noise_scale=0.5)  # a setting that contracts is taken
    runner.advance(max_steps=5)
    assert runner.status is wb.Status.RUNNING and runner.iteration == 10
