"""A factory's build is checked before it is handed out: an objective not finite at its start
is refused there (every method, and every dashboard lane, would fail on it)."""
import pytest

import workbench as wb


def test_an_objective_built_at_a_start_where_it_overflows_is_refused():
    with pytest.raises(wb.InvalidProblem, match="the objective is inf at the start"):
        wb.get_problem("rosenbrock", start=[1e308, -1e308])
    prob = wb.get_problem("rosenbrock", start=[1.0, 2.0])
    assert prob.value(prob.x0) == pytest.approx(100.0)
