"""The UI components without a browser: bounded plots, generated controls, live-run semantics."""
from __future__ import annotations

import numpy as np

import workbench as wb
from workbench.core import Trace


def test_plot_holds_a_bounded_number_of_points_and_keeps_extremes():
    from workbench.ui.plots import ConvergencePlot

    plot = ConvergencePlot("residual", log_y=True, max_points=100)
    plot.add_curve("a")
    trace = Trace()
    rng = np.random.default_rng(0)
    values = np.exp(-np.arange(5000) / 500) * (1 + 0.1 * rng.random(5000))
    values[3210] = 50.0  # a spike that must survive decimation
    held = []
    for k, v in enumerate(values):
        trace.append({"iteration": k, "time": k * 1e-3, "residual": v})
        if k % 37 == 0:
            held.append(plot.update("a", trace))
    held.append(plot.update("a", trace))
    data = plot._sources["a"].data
    assert max(held) <= 100
    assert plot.decimations > 0
    assert len(trace) == 5000  # the trace keeps everything
    assert data["iteration"][-1] == 4999 and data["y"][-1] == values[-1]
    assert 50.0 in set(np.asarray(data["y"]).tolist())


def test_plot_drops_nonpositive_values_on_a_log_axis():
    from workbench.ui.plots import ConvergencePlot

    plot = ConvergencePlot("residual", log_y=True)
    plot.add_curve("a")
    trace = Trace()
    for k, v in enumerate([1.0, 0.5, 0.0]):
        trace.append({"iteration": k, "residual": v})
    plot.update("a", trace)
    y = np.asarray(plot._sources["a"].data["y"], dtype=float)
    assert y[:2].tolist() == [1.0, 0.5] and np.isnan(y[2])


def test_iteration_markers_are_hidden_on_the_wall_time_axis():
    from workbench.ui.plots import ConvergencePlot

    plot = ConvergencePlot("residual", log_y=True)
    plot.set_x_axis("time")
    plot.set_vline("change", 50)  # a change at iteration 50: no place on a seconds axis
    plot.set_vline("gone", None)
    assert not plot._spans["change"].visible
    plot.set_x_axis("iteration")
    assert plot._spans["change"].visible and plot._spans["change"].location == 50
    assert not plot._spans["gone"].visible  # a hidden marker stays hidden


def test_controls_respect_exclusive_bounds_and_throttle():
    from workbench.ui import controls

    sor = wb.linear.SOR(omega=1.5)
    panel = controls(sor)
    omega = panel.widget("omega")
    assert (omega.start, omega.end) == (0.01, 1.99)
    assert "wb-param-sor-omega" in omega.css_classes
    import param

    omega.value = 1.6  # dragging: the method does not see it yet
    assert sor.omega == 1.5
    with param.edit_constant(omega):
        omega.value_throttled = 1.8  # what the browser sends when the slider is released
    assert sor.omega == 1.8


def test_a_released_slider_the_object_refuses_goes_back_with_the_sentence():
    # WSD's warm-up and decay fractions may not add up to more than 1: each slider alone is in
    # its bounds, so the refusal comes from the object, on release of the throttled slider.
    import param

    from workbench.schedules import WarmupStableDecay
    from workbench.ui import controls

    wsd = WarmupStableDecay(warmup=0.5, decay=0.2)
    panel = controls(wsd)
    warmup = panel._widgets["warmup"]
    with param.edit_constant(warmup):
        warmup.param.update(value=0.9, value_throttled=0.9)  # a release at 0.9
    assert wsd.warmup == 0.5 and (warmup.value, warmup.value_throttled) == (0.5, 0.5)
    refusals = [o for o in panel._widget_box.objects if "wb-param-refusal-warmup" in o.css_classes]
    assert len(refusals) == 1 and "fractions add up to more than 1" in refusals[0].object
    with param.edit_constant(warmup):
        warmup.param.update(value=0.3, value_throttled=0.3)
    assert wsd.warmup == 0.3
    assert not [o for o in panel._widget_box.objects if "wb-param-refusal-warmup" in o.css_classes]


def test_ipywidgets_controls_round_trip():
    from workbench.ui import ipywidgets_controls

    sor = wb.linear.SOR(omega=1.5)
    box = ipywidgets_controls(sor)
    slider = box.children[0]
    assert slider.continuous_update is False and (slider.min, slider.max) == (0.01, 1.99)
    slider.value = 1.7
    assert sor.omega == 1.7
    sor.omega = 1.2
    assert slider.value == 1.2


def test_ipywidgets_controls_for_an_unset_number():
    """Prodigy's beta3 = None ("use sqrt(beta2)"): a text box, empty while unset."""
    from workbench.ui import ipywidgets_controls

    prodigy = wb.get_method("prodigy")
    box = ipywidgets_controls(prodigy)
    beta3 = next(c for c in box.children if getattr(c, "description", "") == "beta3")
    error = box.children[-1]
    assert beta3.value == "" and prodigy.beta3 is None
    beta3.value = "0.9"
    assert prodigy.beta3 == 0.9
    beta3.value = "2"  # outside (0, 1): refused, the box snaps back, the reason is shown
    assert prodigy.beta3 == 0.9 and beta3.value == "0.9" and "beta3" in error.value
    beta3.value = ""
    assert prodigy.beta3 is None and error.value == ""


def test_live_run_hyperparameter_change_acts_without_reset():
    from workbench.ui import LiveRun

    live = LiveRun(wb.linear.SOR(omega=1.0), wb.problems.poisson2d(16), rtol=1e-10)
    live.lanes[0].runner.advance(max_steps=30)
    live.method.omega = 1.7
    assert live.runner.iteration == 30  # no reset
    assert live.events[-1] == {"lane": "sor", "param": "omega", "old": 1.0, "new": 1.7, "iteration": 30}
    live.lanes[0].runner.advance(max_steps=30)
    # The same run replayed by hand: 30 sweeps at omega = 1, then 30 at 1.7.
    ref = wb.Runner(wb.linear.SOR(omega=1.0), wb.problems.poisson2d(16), rtol=1e-10)
    ref.advance(max_steps=30)
    ref.method.omega = 1.7
    ref.advance(max_steps=30)
    np.testing.assert_array_equal(live.runner.trace["residual"], ref.trace["residual"])


def test_race_isolates_an_incompatible_method_and_problem_change_resets():
    from workbench.ui import Race

    race = Race({"SOR": wb.linear.SOR(), "CG": wb.linear.CG()}, ["poisson2d", "convection_diffusion2d"],
                rtol=1e-8)
    for lane in race.lanes:
        lane.runner.advance(max_steps=5)
    race.chooser.select.value = "convection_diffusion2d"
    sor, cg = race.lanes
    assert sor.runner.iteration == 0 and sor.status_label == "running"
    assert cg.status_label == "failed" and "symmetric" in cg.message
    race._tick()  # advances the others; does not raise
    assert sor.runner.iteration > 0


def test_a_failing_method_fails_its_run_only():
    from workbench.ui import LiveRun

    class Boom(wb.linear.SOR):
        def step(self, problem, state):
            if state.matvecs > 10:
                raise RuntimeError("boom")
            return super().step(problem, state)

    live = LiveRun(Boom(), wb.problems.poisson2d(8), rtol=0.0)
    live.lanes[0].runner.advance(max_steps=100)
    live._refresh()
    assert "failed" in live.status_pane.object and "RuntimeError: boom" in live.status_pane.object


def test_omega_landscape_fills_and_finds_the_optimum():
    from workbench.ui import LiveRun, OmegaLandscape
    from workbench.ui.landscape import coarse_to_fine

    assert sorted(coarse_to_fine(9)) == list(range(9)) and coarse_to_fine(9)[:3] == [0, 8, 4]
    landscape = OmegaLandscape(omegas=np.round(np.linspace(1.0, 1.95, 20), 3), rtol=1e-6)
    LiveRun(wb.linear.SOR(), wb.problems.poisson2d(12), companions=[landscape], rtol=1e-6)
    while not landscape.done:
        landscape.advance(0.05)
    landscape.refresh()
    best_omega, best_iterations = landscape.best()
    assert abs(best_omega - landscape.omega_star()) < 0.1  # Young's omega* = 1.62 for n = 12
    assert best_iterations < landscape.results[1.0][0] / 3  # far better than Gauss-Seidel


def test_controls_handle_unset_parameters_and_the_name_is_the_function():
    import workbench as wb
    import workbench.ui.param_widgets  # noqa: F401  (importing the submodule must not shadow the function)
    from workbench.ui import controls

    assert callable(controls)
    import panel as pn

    panel_obj = controls(wb.get_method("prodigy"))  # beta3 is None: a numeric input, not a slider
    beta3 = panel_obj._widgets["beta3"]
    assert isinstance(beta3, pn.widgets.FloatInput) and beta3.value is None
    assert isinstance(panel_obj._widgets["beta1"], pn.widgets.FloatSlider)


def test_controls_are_built_at_once_outside_a_served_session():
    """Notebooks, exports and tests get the controls themselves; a served session a deferred panel."""
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from workbench.ui.live import after_first_render

    built = pn.Column(pn.widgets.FloatSlider(name="omega"))
    assert after_first_render(lambda: built) is built

    class Request:
        arguments, cookies, headers = {}, {}, {}

    class SessionContext:  # what Bokeh's server attaches to a session's document
        id, request = "session", Request()

    doc = Document()
    doc._session_context = lambda: SessionContext()
    with set_curdoc(doc):
        deferred = after_first_render(lambda: built, width=330)
    assert deferred is not built and deferred.defer_load and deferred.width == 330


def test_served_websockets_send_frames_without_nagle_delay():
    """``workbench serve`` sets TCP_NODELAY on each session's websocket before Bokeh opens it."""
    import pytest
    from bokeh.protocol.exceptions import ProtocolError
    from bokeh.server.views.ws import WSHandler

    from workbench.ui.server import send_websocket_frames_at_once

    send_websocket_frames_at_once()
    patched = WSHandler.open
    send_websocket_frames_at_once()
    assert WSHandler.open is patched  # idempotent: one wrapper, however many servers

    class Connection:  # a handshake Bokeh refuses: it closes before doing anything else
        selected_subprotocol = "not-bokeh"
        _token = None
        current_user = "student"  # past Bokeh's authentication check

        def __init__(self):
            self.calls = []

        def set_nodelay(self, flag):
            self.calls.append(("nodelay", flag))

        def close(self):
            self.calls.append(("close",))

    conn = Connection()
    with pytest.raises(ProtocolError):
        WSHandler.open(conn)
    assert conn.calls == [("nodelay", True), ("close",)]


def test_button_events_run_with_the_document_lock():
    """A click that flushes a pending widget change must hold the document lock (see server.py)."""
    from functools import partial

    import panel as pn

    from workbench.ui.server import run_widget_events_with_the_document_lock

    run_widget_events_with_the_document_lock()
    button = pn.widgets.Button(name="Step")
    # panel.io.server.async_execute runs a scheduled partial unlocked unless its function has `lock`.
    scheduled = partial(button._event_coroutine, None, None)
    assert getattr(scheduled.func, "lock", False) is True


def test_inert_settings_are_disabled_and_change_nothing():
    # Beta's alpha counts only for the custom setting, ChebCB's degree only on a ChebCB lane:
    # their controls are disabled, and moving one neither rebuilds the sequence nor marks an event.
    from workbench.ui import Race, controls

    race = Race({"Tsallis-INF": wb.get_method("learning_to_relax", policy="tsallis_inf")},
                ["shifted_laplacian_sequence"], problem_params={"shifted_laplacian_sequence": {"instances": 50}})
    lane = race.lanes[0]
    lane.runner.advance(max_steps=5)
    factory = race.chooser.factory
    sequence = race.problem
    alpha = race.chooser.params_box.objects[0]._widgets["alpha"]
    assert alpha.disabled and factory.inert_params() == {"alpha", "beta"}
    factory.alpha = 3.0
    assert race.problem is sequence and lane.runner.iteration == 5  # the runs go on
    factory.setting = "custom"
    assert not alpha.disabled and race.problem is not sequence and lane.runner.iteration == 0
    lane.runner.advance(max_steps=5)
    factory.alpha = 2.0  # now it counts: a new sequence
    assert lane.runner.iteration == 0
    assert race.problem.metadata["beta"] == (2.0, 1.5)

    card = controls(lane.method, ["policy", "omega", "degree", "bins", "normaliser", "seed"])
    widgets = card._widgets
    assert [n for n in ("omega", "degree", "bins", "normaliser", "seed") if widgets[n].disabled] == \
        ["omega", "degree", "bins"]
    lane.runner.advance(max_steps=5)
    lane.method.degree = 7
    assert race.events == [] and lane.runner.iteration == 5
    lane.method.policy = "chebcb"
    assert not widgets["degree"].disabled and widgets["normaliser"].disabled and widgets["omega"].disabled
    assert [e["param"] for e in race.events] == ["policy"]

    # A control its caller disabled stays disabled when the policy makes it count, and the
    # widgets of settings that are never inert are left alone.
    method = wb.get_method("learning_to_relax", policy="tsallis_inf")
    card = controls(method, ["policy", "degree", "omega_max"],
                    widgets={"degree": {"disabled": True}, "omega_max": {"disabled": True}})
    method.policy = "chebcb"
    assert card._widgets["degree"].disabled and card._widgets["omega_max"].disabled
    card._widgets["omega_max"].disabled = False
    method.policy = "tsallis_inf"
    assert not card._widgets["omega_max"].disabled

    # Showing the chooser's controls again re-uses the pane: no new watchers pile up on the factory.
    chooser = race.chooser

    def count():  # watchers on the factory, over all its params and kinds
        return sum(len(kinds) for by_kind in chooser.factory.param.watchers.values() for kinds in by_kind.values())

    before = count()
    for _ in range(3):
        chooser._show_params()
    assert count() == before


def test_a_live_run_refuses_an_unknown_keyword_with_the_ones_it_takes():
    import pytest

    from workbench.ui import LiveRun

    with pytest.raises(wb.core.InvalidParameter, match="unknown keyword .params.: a live run takes .*rtol.*problem_params"):
        LiveRun(wb.linear.SOR(), "poisson2d", params={"poisson2d": {"n": 8}})


def test_a_number_with_only_soft_bounds_gets_our_slider_or_a_box():
    # Sinkhorn-Newton-Sparse's knobs have no hard bounds (its checks refuse what is out of
    # range): their sliders span the soft bounds on the param's step, with labels that show
    # small values, and cg_rtol's eight decades get a box, not pn.Param's 0.1-step slider.
    from workbench.ui import controls

    pane = controls(wb.sparse.SinkhornNewtonSparse())
    reg, rho, cg_rtol = (pane._widgets[n] for n in ("reg", "rho", "cg_rtol"))
    assert type(reg).__name__ == "FloatSlider" and (reg.start, reg.end, reg.step) == (0.0005, 0.05, 0.0005)
    assert reg.format.format == "%.4g" and rho.format.format == "%.4g"
    assert type(cg_rtol).__name__ == "FloatInput" and cg_rtol.value == 0.01
    # a value set off the soft range in code is shown in a box with no ends, which the browser
    # would otherwise clamp (reg = 0.2 to 0.05) and send back
    pane = controls(wb.sparse.Sinkhorn(reg=0.2))
    box = pane._widgets["reg"]
    assert type(box).__name__ == "FloatInput" and box.value == 0.2 and box.start is box.end is None
    # A box's arrows step by the order of magnitude of the value, or of its distance to the
    # nearer bound (pn.Param's 0.1 took cg_rtol from 0.01 to 0.11, beta2 from 0.999 to the end)
    assert controls(wb.sparse.SinkhornNewtonSparse())._widgets["cg_rtol"].step == 0.01
    adam = controls(wb.optim.Adam(lr=3e-4, beta2=0.999))._widgets
    assert type(adam["lr"]).__name__ == type(adam["beta2"]).__name__ == "FloatInput"
    assert adam["lr"].step == 1e-4 and adam["beta2"].step == 0.001
    assert box.step == 0.0005  # the param's own step comes first
    # ... and follows the value, typed in the box or set in code (a box made at lr = 3e-4 kept
    # stepping by 1e-4 at lr = 0.5)
    optimizer = wb.optim.Adam(lr=3e-4, beta2=0.999)
    adam = controls(optimizer)._widgets
    adam["lr"].value = 0.5
    assert optimizer.lr == 0.5 and adam["lr"].step == 0.1
    optimizer.beta2 = 0.9
    assert adam["beta2"].value == 0.9 and adam["beta2"].step == 0.1
    box.value = 0.004
    assert box.step == 0.0005


def test_a_busy_note_that_fails_neither_stops_the_build_nor_freezes_the_page(monkeypatch):
    from workbench.ui import Race

    race = Race({"SOR": wb.linear.SOR()}, ["poisson2d", "poisson1d"], rtol=1e-8)
    queue = []
    race.chooser.later = lambda work: queue.append(work) or True

    def broken(flag):
        raise RuntimeError("the note's model is gone")

    race.chooser.busy = broken
    race.chooser.select.value = "poisson1d"
    assert race.chooser.pending
    queue.pop(0)()
    assert not race.chooser.pending and race.problem.name.startswith("poisson1d")


def test_in_a_served_session_a_new_problem_builds_at_the_next_turn_under_a_busy_note(monkeypatch):
    from workbench.ui import Race

    race = Race({"SOR": wb.linear.SOR(), "CG": wb.linear.CG()}, ["poisson2d", "poisson1d"], rtol=1e-8)
    queue = []
    turns = lambda work: queue.append(work) or True  # a session's next turns, in order
    race.chooser.later = turns
    monkeypatch.setattr(race, "call_soon", turns)
    race.chooser.select.value = "poisson1d"
    # The note is on and nothing is built yet.
    assert race.busy_note.visible and race.problem.name.startswith("poisson2d")
    # A Step clicked before the build runs is for the new problem: it waits behind the build
    # (a step on the old problem would be undone by the restart, and the click lost).
    race.step()
    assert [lane.runner.iteration for lane in race.lanes] == [0, 0]
    queue.pop(0)()
    assert not race.busy_note.visible and race.problem.name.startswith("poisson1d")
    queue.pop(0)()
    assert [lane.runner.iteration for lane in race.lanes] == [1, 1]
    assert all(lane.runner.problem is race.problem for lane in race.lanes)
    factory = race.chooser.factory
    factory.n = 48
    race.chooser.select.value = "poisson2d"
    race.chooser.select.value = "poisson1d"
    factory.n = 40
    # The four changes join one build, which reads the selector and n as they are then; no
    # tick steps the old problem meanwhile.
    assert len(queue) == 1
    race._tick()
    assert [lane.runner.iteration for lane in race.lanes] == [1, 1]
    queue.pop(0)()
    assert not race.busy_note.visible and not queue
    assert race.problem.n == 40 and race.lanes[0].runner.problem is race.problem
    # Chosen away and back before the build: nothing to build, and the runs go on.
    race.step()
    race.chooser.select.value = "poisson2d"
    race.chooser.select.value = "poisson1d"
    queue.pop(0)()
    assert not queue and race.lanes[0].runner.iteration == 1 and race.problem.n == 40
    # A setting that does not build goes back at the next turn, and the note goes with it.
    build = type(factory).build
    monkeypatch.setattr(type(factory), "build", lambda self: build(self) if self.n != 33 else 1 / 0)
    factory.n = 33
    assert race.busy_note.visible
    queue.pop(0)()
    assert factory.n == 40 and not race.busy_note.visible
    assert "Problem not changed" in race.error


def test_selections_that_wait_together_build_the_last_and_a_refusal_names_the_running_problem(monkeypatch):
    from workbench.ui import Race

    names = ["poisson2d", "poisson1d", "anisotropic2d"]
    race = Race({"SOR": wb.linear.SOR()}, names, rtol=1e-8)
    chooser = race.chooser
    queue = []
    chooser.later = lambda work: queue.append(work) or True
    broken = type(chooser._factories["poisson1d"])
    monkeypatch.setattr(broken, "build", lambda self: 1 / 0)
    # A refused selection between two others is never built: the last one is.
    chooser.select.value = "poisson1d"
    chooser.select.value = "anisotropic2d"
    assert len(queue) == 1
    queue.pop(0)()
    assert chooser.select.value == chooser.current == "anisotropic2d"
    assert race.problem.name.startswith("anisotropic2d") and not race.error
    # A refused last selection goes back to the problem that runs, and says which was refused.
    chooser.select.value = "poisson2d"
    chooser.select.value = "poisson1d"
    queue.pop(0)()
    assert chooser.select.value == chooser.current == "anisotropic2d"
    assert race.problem.name.startswith("anisotropic2d") and "poisson1d: ZeroDivisionError" in race.error
    assert chooser.params_box.objects == [chooser._panes["anisotropic2d"]]
    # A setting of the problem being left, moved while the selection waits, builds nothing more.
    chooser.select.value = "poisson2d"
    chooser._factories["anisotropic2d"].n = 20
    assert len(queue) == 1
    queue.pop(0)()
    assert not queue and chooser.current == "poisson2d" and race.problem.name.startswith("poisson2d")


def test_a_change_in_a_closed_session_leaves_nothing_waiting():
    from workbench.ui import Race

    race = Race({"SOR": wb.linear.SOR()}, "poisson2d", rtol=1e-8)
    chooser = race.chooser
    chooser.later = lambda work: False  # the session has closed: the work will never run
    chooser.factory.n = 20
    assert not chooser.pending and not race.busy_note.visible
    # (had the change stayed counted as waiting, no later change would build, nor tick run)
    queue = []
    chooser.later = lambda work: queue.append(work) or True
    chooser.factory.n = 24
    assert chooser.pending and len(queue) == 1
    queue.pop(0)()
    assert race.problem.n == 24 * 24 and not chooser.pending  # (a 24 x 24 grid)


def test_after_a_tick_that_overruns_the_period_the_next_ticks_rest_as_long():
    import time

    from workbench.ui import LiveRun

    class Slow(wb.linear.SOR):
        def step(self, problem, state):
            time.sleep(0.12)  # three periods of 40 ms
            return super().step(problem, state)

    live = LiveRun(Slow(), wb.problems.poisson2d(8), rtol=1e-12)
    live.speed.value = 0  # max speed: every tick would step
    live._tick()
    assert live.lanes[0].iteration == 1
    live._tick()  # at once: resting, so the server can take the browser's events
    assert live.lanes[0].iteration == 1
    time.sleep(0.15)
    live._tick()
    assert live.lanes[0].iteration == 2


def test_a_knob_moved_on_a_finished_lane_is_flagged_as_acting_after_reset():
    from workbench.ui import LiveRun

    live = LiveRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(8), rtol=1e-6)
    live.lanes[0].runner.advance()
    assert live.lanes[0].runner.done
    assert "omega=1.5" in live._lanes_text() and "act after Reset" not in live._lanes_text()
    live.lanes[0].method.omega = 1.8
    text = live._lanes_text()
    assert "omega=1.5" in text and "knobs moved since: they act after Reset" in text
