"""Sweep driver pieces that need no cluster: where the pilot runs are taken."""


def test_pilot_runs_are_spread_over_the_whole_sweep():
    from workbench.sweep.driver import pilot_indices

    assert pilot_indices(64, 6) == [0, 13, 25, 38, 50, 63]
    assert pilot_indices(3, 6) == [0, 1, 2]
    assert pilot_indices(0, 6) == []
    assert pilot_indices(10, 1) == [0]
