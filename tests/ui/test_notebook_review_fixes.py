"""Fixes from a review of the notebook layer: refusals with sentences instead of raw errors,
and plotted metrics that a method reports only after its first step."""
from __future__ import annotations

import pytest

import workbench as wb
from workbench.core.errors import InvalidParameter, WorkbenchError


@pytest.mark.parametrize("method, problem, metric", [
    (lambda: wb.sparse.SinkhornNewtonSparse(reg=0.01, warmup=2), lambda: wb.problems.histograms_1d(n=30),
     "cg_iterations"),
    (lambda: wb.sparse.IHT(k=3), lambda: wb.problems.compressed_sensing(n=40, k=3, seed=0), "step_size"),
    (lambda: wb.sparse.CoordinateDescent(), lambda: wb.problems.compressed_sensing(n=40, k=3, seed=0),
     "coordinate"),
])
def test_notebook_run_plots_a_metric_reported_from_the_first_step(method, problem, metric):
    from workbench.ui import NotebookRun

    run = NotebookRun(method(), problem(), metric=metric, max_steps=5)
    try:
        assert run.metric == metric
        run.run()
        assert run.runner.status.label == "max_steps", run.runner.message
    finally:
        run.close()


@pytest.mark.parametrize("keyword, value, match", [
    ("max_points", 0, "max_points .* at least 16"),
    ("max_points", "many", "max_points"),
    ("tick_seconds", "abc", "tick_seconds .* a positive number"),
    ("tick_seconds", -1.0, "tick_seconds"),
    ("plot_height", -5, "plot_height .* at least 1"),
    ("plot_height", None, "plot_height"),
    ("plot_height", 2.5, "plot_height"),
])
def test_notebook_run_refuses_bad_display_arguments_with_a_sentence(keyword, value, match):
    from workbench.ui import NotebookRun

    with pytest.raises(InvalidParameter, match=match):
        NotebookRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(8), **{keyword: value})


def test_notebook_run_takes_a_non_string_label_as_its_text():
    from workbench.ui import NotebookRun

    run = NotebookRun({1: wb.sparse.Sinkhorn(reg=0.01)}, wb.problems.histograms_1d(n=20), max_steps=3)
    try:
        assert run.label == "1" and list(run.methods) == ["1"]
        run.run()
    finally:
        run.close()


def test_ipywidgets_controls_refuses_what_is_not_parameterized():
    from workbench.ui import ipywidgets_controls

    with pytest.raises(WorkbenchError, match=r"expected a workbench method or problem factory "
                                             r"\(a param.Parameterized\), got object"):
        ipywidgets_controls(object())


def test_ipywidgets_controls_takes_one_name_and_refuses_an_unknown_one():
    from workbench.ui import ipywidgets_controls

    sink = wb.sparse.Sinkhorn(reg=0.01)
    box = ipywidgets_controls(sink, parameters="reg")
    assert list(box.wb_widgets) == ["reg"]
    with pytest.raises(InvalidParameter, match="no control 'omega'; its controls are reg"):
        ipywidgets_controls(sink, parameters=["omega"])
