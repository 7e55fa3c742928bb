"""Policies: Tsallis-INF against a transcription of the reference formulas, ChebCB, bins, comparators."""
import numpy as np
import pytest

import workbench as wb
from workbench.tuning import BinnedTsallisINF, ChebCB, FixedOmega, InstanceOptimal, TsallisINF, parse_policy

GRID = np.linspace(1.0, 1.95, 20)


def transcribed_reference_probabilities(k, scale, t):
    """learners/TsallisINF.m, predict(): eta = 2/sqrt(t), 20 Newton steps from x = -1."""
    eta = 2.0 / np.sqrt(t)
    x = -1.0
    for _ in range(20):
        probs = 4 * (eta * (k / scale - x)) ** (-2.0)
        x = x - (np.sum(probs) - 1) / (eta * np.sum(probs**1.5))
    return probs


def scripted_cost(arm, rng):
    """Iteration counts shaped like SOR's: a U over the arms times per-instance noise."""
    return float(np.round(40 + 300 * abs(GRID[arm] - 1.8) ** 1.5 * rng.uniform(0.7, 1.6)) + 1)


@pytest.mark.parametrize("normaliser,rounds", [("exact", 80), ("reference", 400)])
def test_tsallis_inf_matches_the_transcribed_reference(normaliser, rounds):
    rng = np.random.default_rng(0)
    pol = TsallisINF(normaliser=normaliser)
    pol.reset(GRID, seed=0)
    k = np.zeros(20)
    scale = 1.0
    seen = []
    broke = False
    for t in range(1, rounds + 1):
        expected = transcribed_reference_probabilities(k, scale, t)
        got = pol.raw_distribution()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
        broke |= not abs(expected.sum() - 1) < 1e-9
        # randsample(1:d, 1, true, probs) draws proportionally to the weights
        i = int(rng.choice(20, p=expected / expected.sum()))
        loss = scripted_cost(i, rng)
        pol.choose(None, arm=i)
        pol.observe(loss)
        # learners/TsallisINF.m, update()
        seen.append(loss)
        scale = np.mean(seen) - 1.0
        k[i] += (loss - 1.0) / expected[i]
    np.testing.assert_allclose(pol.cumulative / pol.scale, k / scale, rtol=1e-10)
    # The reference's Newton start stops finding the normaliser once losses grow;
    # the exact mode is only compared while the transcription still converges.
    assert broke == (normaliser == "reference")


def test_exact_normaliser_always_sums_to_one_and_favours_small_losses():
    pol = TsallisINF()
    pol.reset(GRID, seed=1)
    rng = np.random.default_rng(2)
    for _ in range(3000):
        pol.choose(None)
        pol.observe(scripted_cost(pol.last_arm, rng))
        p = pol.raw_distribution()
        assert abs(p.sum() - 1) < 1e-12 and np.all(p > 0)
    assert np.argmax(p) == np.argmin(pol.cumulative)


def test_tsallis_inf_learns_the_best_arm_from_bandit_feedback():
    rng = np.random.default_rng(0)
    mean_cost = 50 + 400 * np.abs(GRID - 1.6)
    pol = TsallisINF()
    pol.reset(GRID, seed=4)
    picks = []
    for _ in range(1500):
        pol.choose(None)
        picks.append(pol.last_arm)
        pol.observe(mean_cost[pol.last_arm] * rng.uniform(0.5, 1.5))
    best = int(np.argmin(mean_cost))
    assert np.mean(np.asarray(picks[-300:]) == best) > 0.5
    assert np.argmax(pol.distribution()) == best


def test_chebcb_learns_a_context_dependent_best_arm():
    """Cost minimised at omega = 1 + 0.9 * z: ChebCB should track it across contexts."""
    rng = np.random.default_rng(1)
    pol = ChebCB(degree=5)
    pol.reset(GRID, (-1.0, 1.0), seed=0)

    def cost(c, omega):
        target = 1.45 + 0.45 * c
        return 20 + 800 * (omega - target) ** 2 + rng.uniform(0, 3)

    for _ in range(1500):
        c = rng.uniform(-1, 1)
        omega = pol.choose(c)
        p = pol.last_probs
        assert abs(p.sum() - 1) < 1e-12 and p.min() >= 0
        pol.observe(cost(c, omega))
    for c in (-0.8, 0.0, 0.8):
        p = pol.distribution(c)
        assert abs(GRID[np.argmax(p)] - (1.45 + 0.45 * c)) <= 0.1


def test_binned_tsallis_routes_contexts_to_bins_like_the_reference():
    pol = BinnedTsallisINF(bins=5)
    pol.reset(GRID, (-0.15, 0.65), seed=0)
    np.testing.assert_allclose(pol.centres, -0.15 + 0.8 * np.linspace(0.1, 0.9, 5))
    assert [pol.bin_of(c) for c in (-0.15, 0.0, 0.1, 0.3, 0.65)] == [0, 0, 1, 2, 4]
    pol.choose(0.6)
    pol.observe(30)
    assert pol.learners[4].t == 1 and all(lr.t == 0 for lr in pol.learners[:4])


def test_comparators_and_parsing():
    fixed = FixedOmega(omega=1.8)
    fixed.reset(GRID)
    assert fixed.choose(0.2) == pytest.approx(1.8, abs=1e-12) and fixed.last_arm == 16
    seq = wb.problems.shifted_laplacian_sequence("low", instances=5, seed=0)
    opt = InstanceOptimal()
    opt.reset(GRID, sequence=seq)
    for t in range(3):
        expected = wb.linear.theory.optimal_omega(seq.rho_jacobi(t))
        assert opt.choose(seq.contexts[t]) == pytest.approx(expected) and opt.last_arm is None
        opt.observe(10)
    assert parse_policy("fixed:1.7") == ("fixed", {"omega": 1.7})
    assert parse_policy("tsallis")[0] == "tsallis_inf" and parse_policy("gs")[0] == "gauss_seidel"
    with pytest.raises(wb.UnknownName, match="no policy called 'ucb'"):
        parse_policy("ucb")
    with pytest.raises(wb.InvalidParameter, match=r"\(0, 2\)"):
        parse_policy("fixed:2.5")
    with pytest.raises(wb.InvalidParameter, match="empty"):
        ChebCB().reset(GRID, (0.5, 0.5))
