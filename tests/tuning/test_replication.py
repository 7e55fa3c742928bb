"""Replication of Learning to Relax (Khodak et al., ICLR 2024) on seeded sequences, T = 2000.

Costs are read from the full-information cost table (every grid omega on every
instance, compiled kernel, computed once per session in conftest.py); test_method.py
checks that reading the table gives exactly the iteration counts of solving.

Measured on these sequences (sequence seed 0, policy seeds 0, 1, 2), ratio of total
iterations to the best fixed grid omega in hindsight:

============  ================  ======================  ========  ===============  ======
setting       Tsallis-INF       Tsallis-INF, reference  ChebCB    binned Tsallis   vs GS
============  ================  ======================  ========  ===============  ======
high, T=2000  1.30 - 1.34       1.21 - 1.25             0.71      1.09 - 1.16      0.22
low, T=2000   1.22 - 1.26       1.12 - 1.21             0.85      1.18 - 1.24      0.27
============  ================  ======================  ========  ===============  ======

On instances 1501-2000 alone, against the best fixed omega on those instances,
the exact Tsallis-INF is at 1.03 - 1.17 (high) and 1.07 - 1.10 (low), over
sequence seeds 0, 1 x policy seeds 0-5. That is the claim of METHODS.md 1.2 ("an
independent re-simulation found Tsallis-INF within 5-16 % of the best fixed
omega after 1500 instances"), and it meets the issue's bounds (<= 1.2x high,
<= 1.15x low): test_tsallis_inf_is_near_the_best_fixed_omega_after_1500_instances.

The issue states those bounds for the total over all 2000 instances. The total
also carries the first 1500 instances' exploration (20 arms, cost noise shared
by all arms: one hard instance costs every omega more), and no faithful variant
gets it under them: the exact Tsallis-INF is at 1.28 - 1.35 (high) and 1.21 -
1.27 (low) over those 12 runs, 1.31 / 1.25 on average over sequence seeds 0-3 x
policy seeds 0-7. The reference code's variant (``normaliser="reference"``) is
1.29 / 1.17 on average with a wide spread (1.11 - 1.61), and gets closer only
because its Newton solve breaks after ~140 instances and it then mostly follows
the leader. The total-ratio bounds at T = 2000 below assert what holds, with a
margin over the measured spread.

At the reference setup's own horizon, T = 5000 (METHODS.md 1.2; its experiment
scripts plot the totals at T = 5000), the totals meet the issue's bounds on
every seed measured (sequence seed 0, policy seeds 0-7): high 1.14 - 1.19
(mean 1.16), low 1.12 - 1.14 (mean 1.13); over instances 2001 - 5000 alone it
is within 5 - 7 % of the best fixed omega.
test_tsallis_inf_meets_the_bounds_at_the_reference_horizon checks that.
"""
import numpy as np
import pytest

import workbench as wb

# The two cost tables (20 omegas x 2000 instances each) take ~10-20 s of CPU per session.
pytestmark = pytest.mark.slow

T = 2000


def run_policy(seq, table, policy, seed=0, **kw):
    method = wb.get_method("learning_to_relax", policy=policy, seed=seed, costs=table, **kw)
    res = wb.run(method, seq, max_steps=T)
    assert res.status.label == "converged" and res.iterations == T
    return np.cumsum(res.state.iterations)


def test_the_cost_table_has_the_reference_shape(high_2000):
    seq, table = high_2000
    assert table.iterations.shape == (T, 20)
    # omega* of the Laplacian is ~1.56; the shift makes systems harder, best fixed near 1.8
    j, omega, total = table.best_fixed()
    assert omega == pytest.approx(1.8, abs=0.051)
    gs = table.iterations[:, 0].sum()
    assert 4 < gs / total < 8
    # instance-optimal omega* is 27-44 % below the best fixed omega in the independent re-simulation
    assert 0.45 < table.optimal_iterations.sum() / total < 0.75


def test_high_variance_tsallis_inf_against_best_fixed_and_gauss_seidel(high_2000):
    seq, table = high_2000
    cost = run_policy(seq, table, "tsallis_inf")
    best = table.best_fixed()[2]
    gs = table.iterations[:, 0].sum()
    ratio = cost[-1] / best
    assert ratio <= 1.4            # measured 1.31 (issue target 1.2: not reached, see module docstring)
    assert cost[-1] <= 0.35 * gs   # measured 0.22
    # The bandit approaches the best fixed omega as T grows: the ratio falls from T = 500 to T = 2000.
    ratio_500 = cost[499] / table.best_fixed(500)[2]
    assert ratio_500 > ratio + 0.15


def test_high_variance_chebcb_beats_the_best_fixed_omega(high_2000):
    seq, table = high_2000
    cost = run_policy(seq, table, "chebcb")
    best = table.best_fixed()[2]
    assert cost[-1] < 0.85 * best                          # measured 0.71: the context pays
    assert cost[-1] < 1.6 * table.optimal_iterations.sum()  # and it heads for instance-optimal (1.28)


def test_low_variance_tsallis_inf_and_chebcb(low_2000):
    seq, table = low_2000
    best = table.best_fixed()[2]
    tsallis = run_policy(seq, table, "tsallis_inf")[-1]
    assert tsallis <= 1.35 * best   # measured 1.26 (issue target 1.15: not reached, see module docstring)
    assert tsallis <= 0.35 * table.iterations[:, 0].sum()
    assert run_policy(seq, table, "chebcb")[-1] < best


def test_the_reference_normaliser_reproduces_the_reference_code(high_2000):
    """The reference code's Newton start: close to best fixed here, by exploiting the leader early."""
    seq, table = high_2000
    cost = run_policy(seq, table, "tsallis_inf", normaliser="reference")
    assert cost[-1] / table.best_fixed()[2] <= 1.3  # measured 1.21 - 1.25


def test_tsallis_inf_is_near_the_best_fixed_omega_after_1500_instances(high_2000, low_2000):
    """METHODS.md 1.2: "within 5-16 % of the best fixed omega after 1500 instances".

    Over instances 1501-2000, the exact Tsallis-INF against the best fixed omega on the
    same instances, with the issue's bounds: <= 1.2x (high variance), <= 1.15x (low).
    """
    # measured (policy seeds 0, 1, 2): high 1.030, 1.074, 1.174; low 1.102, 1.067, 1.088
    for (seq, table), bound in ((high_2000, 1.2), (low_2000, 1.15)):
        best_late = table.best_fixed(start=1500)[2]
        for seed in (0, 1, 2):
            cost = run_policy(seq, table, "tsallis_inf", seed=seed)
            late = (cost[-1] - cost[1499]) / best_late
            assert late <= bound
            # ... while the total still carries the exploration of the first 1500 instances
            assert cost[-1] / table.best_fixed()[2] > late + 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tsallis_inf_meets_the_bounds_at_the_reference_horizon(high_5000, low_5000, seed):
    """T = 5000, the reference setup's horizon: <= 1.2x (high) and <= 1.15x (low) the best fixed omega."""
    for (seq, table), bound in ((high_5000, 1.2), (low_5000, 1.15)):
        method = wb.get_method("learning_to_relax", policy="tsallis_inf", seed=seed, costs=table)
        res = wb.run(method, seq, max_steps=5000)
        assert res.iterations == 5000
        # measured (policy seeds 0, 1, 2): high 1.169, 1.156, 1.157; low 1.136, 1.118, 1.124
        assert np.sum(res.state.iterations) / table.best_fixed()[2] <= bound
