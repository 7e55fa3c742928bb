"""The Learning-to-Relax page's summary text, without a browser (a stand-in for the race)."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import workbench as wb
from workbench.ui.server import _load_module

APP = Path(__file__).resolve().parents[2] / "apps" / "learning_to_relax.py"


def test_summary_flags_capped_solves_and_switched_policies():
    page = _load_module(APP, "wb_test_")
    seq = wb.problems.shifted_laplacian_sequence("high", instances=6, seed=0)
    method = wb.get_method("learning_to_relax", policy="tsallis_inf", max_iterations=40)
    runner = wb.Runner(method, seq, max_steps=6)
    runner.advance(max_steps=6)
    lane = SimpleNamespace(key="a", label="Tsallis-INF", color="#000", method=method, runner=runner,
                           iteration=runner.iteration)
    views = page.RelaxViews()
    views.live = SimpleNamespace(lanes=[lane], playing=False, closed=False)
    views._first_policy = {"a": "tsallis_inf"}
    views.problem = seq
    views.rows, views.totals, views.gauss_seidel, views.capped_cells = [], None, 0, 0
    views.best_trace = wb.Trace()
    views.best_trace.append({"iteration": 0, "time": 0.0, "cumulative_iterations": 0.0})
    views.advance(0.0)  # paused: the rows the lane reached are solved at once
    assert views.rows_done == 6 and views.capped_cells > 0
    method.policy = "fixed"
    views._update_summary()
    text = views.summary.object
    assert "comparator solves stopped at the iteration cap (40)" in text
    assert f"{runner.state.capped} instances stopped at the iteration cap" in text and runner.state.capped > 0
    assert "Tsallis-INF lane (policy now fixed)" in text
    np.testing.assert_array_equal(views.rows[2], wb.tuning.cost_row(seq, 2, method.grid(), rtol=1e-8,
                                                                    max_iterations=40))
