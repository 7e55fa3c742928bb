"""Review fixes of the UI layer, checked without a browser or a kernel: log axes for stop
metrics, an infinite number in a notebook box, the omega landscape of methods without omega
or with diverged runs, small values bounded at 0, per-widget refusals, lane colours."""
from __future__ import annotations

import json
import math

import param
import pytest

import workbench as wb
from workbench.core.registry import get_method_class, get_problem_factory, problems_list


def _method_classes():
    classes = {}
    for name in wb.methods():
        try:
            classes[name] = get_method_class(name)
        except Exception:  # an optional backend missing
            continue
    return classes


# -- 1. log axes -----------------------------------------------------------------------------

def test_every_positive_stop_metric_gets_a_log_axis():
    from workbench.ui.plots import LINEAR_METRICS, wants_log_axis

    stop_metrics = {cls.stop_metric for cls in _method_classes().values()}
    assert {"optimality", "spread", "fixed_point_residual"} <= stop_metrics
    for metric in sorted(stop_metrics - LINEAR_METRICS):
        # also where the caller does not say which metric is the stop metric (LiveRun, Race)
        assert wants_log_axis(metric, 23.7), metric
        assert wants_log_axis(metric, 23.7, stop_metric=metric), metric
    # a count of instances left ends at 0: linear
    assert "remaining" in stop_metrics and not wants_log_axis("remaining", 40.0, stop_metric="remaining")
    for metric in ("objective_gap", "relative_error"):
        assert wants_log_axis(metric, 0.5), metric


def test_a_positive_stop_metric_unknown_to_the_table_is_on_a_log_axis():
    from workbench.ui.plots import wants_log_axis

    assert wants_log_axis("my_residual", 3.0, stop_metric="my_residual")
    assert not wants_log_axis("my_residual", 3.0)  # not the stop metric: no assumption
    assert not wants_log_axis("my_residual", -3.0, stop_metric="my_residual")  # not positive
    assert not wants_log_axis("my_residual", math.nan, stop_metric="my_residual")


def test_the_notebook_plots_ista_optimality_on_a_log_axis():
    from workbench.ui import NotebookRun

    run = NotebookRun(wb.sparse.ISTA(), wb.get_problem("lasso_diabetes"), max_steps=5)
    try:
        assert run.metric == "optimality" and run.plot.log_y
        assert run.plot.figure.y_scale.__class__.__name__ == "LogScale"
    finally:
        run.close()


def test_the_lasso_race_draws_the_objective_gap_on_a_log_axis():
    from workbench.ui import Race

    race = Race({"ISTA": wb.sparse.ISTA(), "FISTA": wb.sparse.FISTA()}, "lasso_diabetes",
                metrics=["objective_gap", "nnz"], max_steps=20)
    assert [p.log_y for p in race.plots] == [True, False]


# -- 7. lane colours --------------------------------------------------------------------------

def test_twenty_lanes_get_twenty_colours_and_the_first_ten_are_unchanged():
    from bokeh.palettes import Category10_10

    from workbench.ui import Race
    from workbench.ui.plots import PALETTE

    assert PALETTE[:10] == list(Category10_10)
    methods = {f"Jacobi {i}": wb.linear.Jacobi(omega=0.5 + 0.02 * i) for i in range(20)}
    live = Race(methods, wb.problems.poisson2d(4), max_steps=5)
    colours = [lane.color for lane in live.lanes]
    assert len(set(colours)) == 20


# -- 2. infinite numbers in the notebook ----------------------------------------------------------

@pytest.mark.parametrize("method", ["prodigy", "d_adaptation"])
def test_an_infinite_growth_rate_travels_as_text_and_comes_back(method):
    from workbench.ui import ipywidgets_controls

    opt = wb.get_method(method)
    assert opt.growth_rate == math.inf
    box = ipywidgets_controls(opt)
    widget, error = box.wb_widgets["growth_rate"], box.children[-1]
    # What the kernel sends must be plain JSON (no Infinity, no fallback to a string of a float)
    state = widget.get_state()
    json.dumps(state, allow_nan=False)
    assert widget.value == "inf"
    widget.value = "5"
    assert opt.growth_rate == 5.0 and error.value == ""
    widget.value = "inf"
    assert opt.growth_rate == math.inf
    # what a browser sends for a cleared box: a sentence, the value kept
    widget.set_state({"value": ""})
    assert opt.growth_rate == math.inf and widget.value == "inf" and "growth_rate needs a number" in error.value
    widget.value = "nan"
    assert opt.growth_rate == math.inf and "not a number" in error.value
    widget.value = "0.5"  # below the bound 1: the param's refusal, as a sentence
    assert opt.growth_rate == math.inf and widget.value == "inf" and "growth_rate" in error.value
    opt.growth_rate = 2.0  # fixed from code
    assert widget.value == "2.0" and error.value == ""


# -- 3, 4. the omega landscape ------------------------------------------------------------------

def _sweep(landscape, problem):
    landscape.reset(problem)
    while not landscape.done:
        landscape.advance(1.0)
    landscape.refresh()
    return landscape


@pytest.mark.parametrize("method", [lambda: wb.linear.CG(), lambda: wb.linear.GaussSeidel()])
def test_the_landscape_companion_of_a_run_without_omega(method):
    from workbench.ui import LiveRun, OmegaLandscape

    landscape = OmegaLandscape(omegas=[1.0, 1.5], rtol=1e-6, max_steps=500)
    live = LiveRun(method(), wb.problems.poisson2d(6), companions=[landscape], rtol=1e-6)
    while not landscape.done:
        landscape.advance(1.0)
    live._refresh()
    landscape.refresh()
    assert "your run" not in landscape.progress.object and not landscape.current_span.visible
    assert "2</b> of 2 omegas measured" in landscape.progress.object


def test_diverged_runs_are_not_drawn_as_fast_ones_and_jacobi_gets_no_young_curve():
    from workbench.ui import OmegaLandscape

    landscape = _sweep(OmegaLandscape(make_method=lambda w: wb.linear.Jacobi(omega=w),
                                      omegas=[0.8, 1.0, 1.3, 1.6, 1.9], rtol=1e-6, max_steps=2000),
                       wb.problems.poisson2d(8))
    statuses = {w: s for w, (_, s) in landscape.results.items()}
    assert statuses == {0.8: "converged", 1.0: "converged", 1.3: "diverged", 1.6: "diverged",
                        1.9: "diverged"}
    assert list(landscape.capped_source.data["omega"]) == []
    assert sorted(landscape.done_source.data["omega"]) == [0.8, 1.0]
    assert sorted(landscape.diverged_source.data["omega"]) == [1.3, 1.6, 1.9]
    assert min(landscape.diverged_source.data["iterations"]) > landscape.max_steps  # above the cap
    labels = {item.label["value"]: item for item in landscape.figure.legend[0].items}
    assert labels["diverged"].visible
    assert landscape.diverged() == [1.3, 1.6, 1.9] and "3 diverged" in landscape.progress.object
    # Young's SOR theory says nothing of Jacobi
    assert landscape.omega_star() is None and not landscape.omega_star_span.visible
    assert not landscape.theory_renderer.visible and not labels["theory (Young)"].visible
    assert len(landscape.theory_source.data["omega"]) == 0


def test_the_sor_landscape_keeps_its_theory_and_draws_capped_runs_at_the_cap():
    from workbench.ui import OmegaLandscape

    landscape = _sweep(OmegaLandscape(omegas=[1.0, 1.5], rtol=1e-12, max_steps=20), wb.problems.poisson2d(8))
    assert landscape.theory and landscape.omega_star() is not None and landscape.theory_renderer.visible
    assert len(landscape.theory_source.data["omega"]) > 0
    assert sorted(landscape.capped_source.data["omega"]) == [1.0, 1.5]
    assert list(landscape.capped_source.data["iterations"]) == [20.0, 20.0]
    assert list(landscape.diverged_source.data["omega"]) == []
    # a caller may ask for (or refuse) the theory explicitly
    assert OmegaLandscape(make_method=lambda w: wb.linear.SOR(omega=w)).theory
    assert not OmegaLandscape(theory=False).theory


# -- 5. small values bounded at 0 ------------------------------------------------------------------

@pytest.mark.parametrize("make, knob", [
    (lambda: wb.get_method("sketched_sqp"), "inner_accuracy"),
    (lambda: wb.get_method("fista"), "l1_weight"),
    (lambda: get_problem_factory("random_spd")(), "density"),
])
def test_a_small_scale_bounded_at_zero_gets_a_box_that_takes_1e_3(make, knob):
    import ipywidgets as w
    import panel as pn

    from workbench.ui import ipywidgets_controls
    from workbench.ui.param_widgets import widget_overrides

    obj = make()
    default = getattr(obj, knob)
    box = ipywidgets_controls(obj)
    widget = box.wb_widgets[knob]
    assert isinstance(widget, w.FloatText) and widget.value == default
    widget.value = 1e-3
    assert getattr(obj, knob) == 1e-3 and widget.value == 1e-3 and box.children[-1].value == ""
    assert widget_overrides(obj, [knob])[knob]["type"] is pn.widgets.FloatInput
    # built at 1e-3, the value stays 1e-3
    setattr(obj, knob, 1e-3)
    again = ipywidgets_controls(obj).wb_widgets[knob]
    assert getattr(obj, knob) == 1e-3 and again.value == 1e-3


def test_sliders_stay_where_they_read_well():
    import ipywidgets as w

    from workbench.ui import ipywidgets_controls

    assert isinstance(ipywidgets_controls(wb.get_method("adam")).wb_widgets["beta1"], w.FloatSlider)
    assert isinstance(ipywidgets_controls(wb.linear.SOR(omega=1.5)).wb_widgets["omega"], w.FloatSlider)
    # a Peclet number of 0.5 in [0, 100] is not a tolerance read in decades: it keeps its slider
    stencil = get_problem_factory("convection_diffusion2d")()
    assert isinstance(ipywidgets_controls(stencil).wb_widgets["peclet"], w.FloatSlider)


def _all_controlled_objects():
    for name, cls in _method_classes().items():
        try:
            yield name, cls()
        except Exception:
            continue
    for name in problems_list():
        name = name if isinstance(name, str) else getattr(name, "name", str(name))
        try:
            yield name, get_problem_factory(name)()
        except Exception:
            continue


def test_building_the_controls_changes_no_value_and_every_number_box_is_json():
    from workbench.ui import ipywidgets_controls

    for label, obj in _all_controlled_objects():
        before = {n: getattr(obj, n) for n in obj.param if n != "name"}
        box = ipywidgets_controls(obj)
        after = {n: getattr(obj, n) for n in obj.param if n != "name"}
        assert after == before or all(
            a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
            for a, b in zip(after.values(), before.values())), label
        for name, widget in box.wb_widgets.items():
            state = widget.get_state()
            json.dumps({k: v for k, v in state.items() if k == "value"}, allow_nan=False)
            value = getattr(obj, name)
            if isinstance(obj.param[name], param.Number) and isinstance(widget.value, float):
                assert widget.value == value, (label, name)


# -- 6. per-widget refusals in the notebook ----------------------------------------------------------

def test_a_refusal_goes_when_its_param_is_fixed_and_only_then():
    from workbench.ui import ipywidgets_controls

    opt = wb.get_method("adam")
    box = ipywidgets_controls(opt)
    widgets, error = box.wb_widgets, box.children[-1]
    widgets["lr"].value = -1.0
    assert opt.lr == 0.001 and "lr" in error.value
    opt.lr = 0.01  # fixed from code
    assert widgets["lr"].value == 0.01 and error.value == ""

    widgets["lr"].value = -2.0
    widgets["beta1"].value = 0.5  # another widget accepted: lr's refusal stands
    assert opt.beta1 == 0.5 and "Adam.lr" in error.value
    widgets["eps"].value = -1.0
    assert "Adam.lr" in error.value and "Adam.eps" in error.value
    widgets["lr"].value = 0.02  # lr fixed from its widget: eps's refusal stays
    assert opt.lr == 0.02 and "Adam.lr" not in error.value and "Adam.eps" in error.value
    opt.eps = 1e-7
    assert error.value == ""
