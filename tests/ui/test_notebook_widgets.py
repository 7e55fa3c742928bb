"""The ipywidgets notebook layer (workbench.ui.notebook) without a browser or a kernel:
generated controls that never misstate a value, and NotebookRun's live-run semantics."""
from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import workbench as wb
from workbench.core.errors import InvalidParameter


def _widgets(box):
    """The widgets of ipywidgets_controls by param name (the label is the name, spaced)."""
    return {c.description.replace(" ", "_"): c for c in box.children if getattr(c, "description", "")}


def _watchers(obj, name):
    return len(obj.param.watchers.get(name, {}).get("value", []))


# -- controls -------------------------------------------------------------------------------
def test_a_value_off_the_slider_grid_gets_a_box_and_is_never_rounded_into_the_param():
    import ipywidgets as w
    from workbench.ui import ipywidgets_controls

    adam = wb.get_method("adam")
    box = ipywidgets_controls(adam)
    beta2 = _widgets(box)["beta2"]
    # beta2 in [0, 1) with a 0.005 grid: a slider would end at 0.995 and write that back.
    assert not isinstance(beta2, w.FloatSlider) and beta2.value == 0.999 and adam.beta2 == 0.999
    beta2.value = 0.9
    assert adam.beta2 == 0.9
    adam.beta2 = 0.999  # from a notebook cell
    assert adam.beta2 == 0.999 and beta2.value == 0.999
    beta2.value = 1.0  # refused with its sentence, not clamped
    assert adam.beta2 == 0.999 and beta2.value == 0.999 and "beta2" in box.children[-1].value


def test_a_slider_never_echoes_its_clamp_into_the_param():
    from workbench.ui import ipywidgets_controls

    sor = wb.linear.SOR(omega=1.5)
    omega = _widgets(ipywidgets_controls(sor))["omega"]  # slider 0.01 .. 1.99
    sor.omega = 1.995  # allowed (omega < 2), past the slider's end
    assert sor.omega == 1.995


def test_a_float_slider_reads_small_values_with_their_digits():
    import ipywidgets as w
    from workbench.ui import ipywidgets_controls

    reg = _widgets(ipywidgets_controls(wb.sparse.Sinkhorn(reg=0.001)))["reg"]
    assert isinstance(reg, w.FloatSlider) and reg.value == 0.001
    # d3-format reads a format with no type as "~g" (ipywidgets refuses the "~" spelled out):
    # four significant digits, trailing zeros trimmed. ".3g" read 0.001 as "0.00100".
    assert reg.readout_format == ".4"


def test_ranges_over_many_decades_get_a_box():
    import ipywidgets as w
    from workbench.core.registry import get_problem_factory
    from workbench.ui import ipywidgets_controls

    factory = get_problem_factory("random_spd")()  # condition in [1, 1e12]
    condition = _widgets(ipywidgets_controls(factory))["condition"]
    assert not isinstance(condition, w.FloatSlider)
    condition.value = 12345.678
    assert factory.condition == 12345.678


def test_optional_numbers_show_every_digit():
    from workbench.ui import ipywidgets_controls

    prodigy = wb.optim.Prodigy()
    beta3 = _widgets(ipywidgets_controls(prodigy))["beta3"]
    prodigy.beta3 = 0.9995123
    assert beta3.value == "0.9995123" and prodigy.beta3 == 0.9995123


def test_a_number_that_allows_none_can_be_unset_from_code_and_from_the_box():
    from workbench.ui import ipywidgets_controls

    gd = wb.optim.GD(lr=1.0)
    box = ipywidgets_controls(gd)
    horizon = _widgets(box)["horizon"]
    assert horizon.value == "1000"
    gd.horizon = None  # "no horizon", as notebook 04 does; raised a TraitError
    assert gd.horizon is None and horizon.value == ""
    horizon.value = "500"
    assert gd.horizon == 500
    horizon.value = "many"  # refused with a sentence, the box goes back
    assert gd.horizon == 500 and horizon.value == "500"
    assert "not a whole number" in box.children[-1].value
    horizon.value = ""
    assert gd.horizon is None


# -- NotebookRun ----------------------------------------------------------------------------
def test_an_inert_problem_param_neither_resets_the_run_nor_stays_enabled():
    from workbench.ui import NotebookRun

    seq = wb.problems.shifted_laplacian_sequence("high", instances=6, seed=0)
    method = wb.get_method("learning_to_relax", policy="chebcb")
    run = NotebookRun(method, seq, max_steps=len(seq))
    problem = _widgets(run.problem_box.children[0])
    assert run._factory.inert_params() >= {"alpha", "beta"}
    assert problem["alpha"].disabled and problem["beta"].disabled and not problem["setting"].disabled
    res = run.run()
    assert res.status.label == "converged" and res.iterations == 6
    problem["alpha"].disabled = False  # (a widget the user cannot touch; set it from code)
    run._factory.alpha = 2.0
    assert run.runner.iteration == 6 and run.runner.status.label == "converged"
    # The method's inert knobs (omega, bins, ... under ChebCB) are disabled too.
    controls = _widgets(run.method_box.children[0])
    inert = method.inert_params()
    assert inert and all(controls[n].disabled for n in inert if n in controls)
    run._factory.setting = "custom"  # alpha now matters: enabled, and a real change rebuilds
    assert not problem["alpha"].disabled and run.runner.iteration == 0


def test_a_problem_change_shows_a_busy_note_while_the_problem_builds(monkeypatch):
    from workbench.ui import NotebookRun

    run = NotebookRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(16), rtol=1e-8)
    factory = type(run._factory)
    make = factory.make
    seen = []

    def slow_make(self):
        seen.append(run.busy_label.layout.display)  # what the notebook shows during the build
        if self.n == 33:
            raise ValueError("no grid of 33")
        return make(self)

    monkeypatch.setattr(factory, "make", slow_make)
    restart = type(run)._restart

    def watched_restart(self):
        seen.append(f"restart {self.busy_label.layout.display}")  # the method's set-up too
        restart(self)

    monkeypatch.setattr(type(run), "_restart", watched_restart)
    assert run.busy_label.layout.display == "none"
    run._factory.n = 24
    assert seen == ["", "restart "] and run.busy_label.layout.display == "none" and run.problem.n == 24 ** 2
    run._factory.n = 33  # a refused build takes the note off too
    assert seen == ["", "restart ", ""] and run.busy_label.layout.display == "none" and "no grid of 33" in run.error


def test_an_inert_method_param_is_not_marked_as_a_change():
    from workbench.ui import NotebookRun

    seq = wb.problems.shifted_laplacian_sequence("high", instances=6, seed=0)
    method = wb.get_method("learning_to_relax", policy="chebcb")
    run = NotebookRun(method, seq, max_steps=len(seq))
    run.runner.advance(max_steps=2)
    assert "omega" in method.inert_params()  # ChebCB picks omega itself
    method.omega = 1.5
    span = run.plot._spans.get("change")
    assert span is None or not span.visible
    # Where omega is read (a fixed policy) the same move is marked.
    fixed = wb.get_method("learning_to_relax", policy="fixed")
    run = NotebookRun(fixed, seq, max_steps=len(seq))
    run.runner.advance(max_steps=2)
    fixed.omega = 1.5
    assert run.plot._spans["change"].visible and run.plot._spans["change"].location == 2


def run_in_a_thread_of_its_own(scenario):
    """``asyncio.run(scenario())`` in a thread: the browser tests may leave an event loop
    running in this one, where asyncio.run refuses to start."""
    out = {}

    def target():
        try:
            out["value"] = asyncio.run(scenario())
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_quick_pause_play_runs_exactly_one_loop():
    from workbench.ui import NotebookRun

    async def scenario():
        run = NotebookRun(wb.linear.Jacobi(), wb.problems.poisson2d(64), rtol=1e-14, max_steps=10**7,
                          tick_seconds=0.005)
        tasks = set()
        advance = run.runner.advance
        run.runner.advance = lambda *a, **k: (tasks.add(id(asyncio.current_task())), advance(*a, **k))[1]
        run.buttons["Play"].click()
        await asyncio.sleep(0.1)
        for other in ("Pause", "Reset", "Step"):
            run.buttons[other].click()
            run.buttons["Play"].click()
            await asyncio.sleep(0.01)
            run.runner.advance = lambda *a, r=run.runner, **k: (tasks.add(id(asyncio.current_task())),
                                                                  r.__class__.advance(r, *a, **k))[1]
        tasks.clear()
        await asyncio.sleep(0.4)
        loops = len(tasks)
        run.buttons["Pause"].click()
        await asyncio.sleep(0.15)
        return loops, run.playing

    loops, playing = run_in_a_thread_of_its_own(scenario)
    assert loops == 1 and not playing


def test_an_exception_during_play_fails_the_run_and_says_so():
    from workbench.ui import NotebookRun

    def observer(runner):
        if runner.iteration == 5:
            raise ValueError("observer bug")

    async def scenario():
        run = NotebookRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(16), rtol=1e-8,
                          observers=[observer])
        run.buttons["Play"].click()
        await asyncio.sleep(0.3)
        return run

    run = run_in_a_thread_of_its_own(scenario)
    assert not run.playing and run.runner.status.label == "failed"
    assert "failed" in run.status_label.value and "observer bug" in run.status_label.value
    assert len(run.runner.trace) == 6  # the iterations done are kept
    assert run.run().status.label == "failed"  # and a later run() returns that result


def test_an_unknown_metric_is_refused_naming_the_reported_ones():
    from workbench.ui import NotebookRun

    with pytest.raises(InvalidParameter, match="residual") as err:
        NotebookRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(8), metric="residul", rtol=1e-8)
    assert "residul" in str(err.value) and "metric=" in str(err.value)


def test_the_log_axis_follows_the_plotted_metric():
    from workbench.problems.objectives import from_functions
    from workbench.ui import NotebookRun

    # A loss that is negative from the start; the stop metric (grad_norm) is positive.
    prob = from_functions(lambda x: 0.5 * x @ x - 10.0, lambda x: x, x0=np.ones(3))
    run = NotebookRun(wb.optim.GD(lr=0.1), prob, metric="loss", max_steps=50)
    run.run()
    y = np.asarray(run.plot._sources["run"].data["y"], dtype=float)
    assert not run.plot.log_y and np.isfinite(y).all() and len(y) == 51


def test_the_plotted_metric_follows_a_method_switch():
    from workbench.sparse import FISTA, IHT
    from workbench.ui import NotebookRun

    cs = wb.problems.compressed_sensing(n=128, k=5, seed=0)
    run = NotebookRun({"FISTA": FISTA(l1_weight=0.05), "IHT": IHT(k=5)}, cs, rtol=1e-10, max_steps=500)
    assert run.plot.metric == "optimality"
    run.method_select.value = "IHT"
    run.run()
    y = np.asarray(run.plot._sources["run"].data["y"], dtype=float)
    assert run.plot.metric == "fixed_point_residual" and np.isfinite(y).all() and len(y) == run.runner.iteration + 1
    assert run.widget.children[-1] is run.figure_widget
    run.method_select.value = "FISTA"
    assert run.plot.metric == "optimality"


def test_a_refused_problem_change_puts_the_widgets_back_and_keeps_the_message():
    from workbench.sparse import IHT
    from workbench.ui import NotebookRun

    cs = wb.problems.compressed_sensing(n=128, k=5, seed=0)
    run = NotebookRun(IHT(k=5), cs, rtol=1e-10, max_steps=500)
    run.runner.advance(max_steps=3)
    n = _widgets(run.problem_box.children[0])["n"]
    n.value = 4  # below k: the factory cannot build it
    assert n.value == 128 and run._factory.n == 128 and run.runner.problem.n == 128
    assert run.runner.iteration == 3  # the run goes on
    assert "Problem not changed" in run.status_label.value and "k &lt;= n" in run.status_label.value
    n.value = 64  # a good change still rebuilds
    assert run.runner.problem.n == 64 and run.runner.iteration == 0


def test_a_method_switch_reuses_the_controls():
    from workbench.ui import NotebookRun

    sor = wb.linear.SOR(omega=1.5)
    run = NotebookRun({"SOR": sor, "Jacobi": wb.linear.Jacobi()}, wb.problems.poisson2d(8), rtol=1e-8)
    box = run.method_box.children[0]
    start = _watchers(sor, "omega")
    for _ in range(5):
        run.method_select.value = "Jacobi"
        run.method_select.value = "SOR"
    assert _watchers(sor, "omega") == start and run.method_box.children[0] is box
    run.close()
    assert _watchers(sor, "omega") == 0


def test_a_typo_in_a_stop_keyword_names_the_accepted_ones():
    from workbench.ui import NotebookRun

    with pytest.raises(InvalidParameter, match="rtol"):
        NotebookRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(8), tol=1e-8)


def test_the_change_marker_goes_with_reset_and_is_not_set_on_a_finished_run():
    from workbench.ui import NotebookRun

    sor = wb.linear.SOR(omega=1.2)
    run = NotebookRun(sor, wb.problems.poisson2d(16), rtol=1e-8)
    run.runner.advance(max_steps=40)
    sor.omega = 1.8
    span = run.plot._spans["change"]
    assert span.visible and span.location == 40
    run.buttons["Reset"].click()
    assert not span.visible
    run.run()
    sor.omega = 1.5  # acts on no iteration
    assert not span.visible
