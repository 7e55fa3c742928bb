"""Page logic without a browser: the parts of the apps a browser test would only see as pixels."""
from pathlib import Path

import numpy as np
import panel as pn

import workbench as wb
from workbench.ui import controls
from workbench.ui.server import _load_module

APPS = Path(__file__).resolve().parents[2] / "apps"


def _run_to_end(race, limit=3000):
    """Step the race until every lane has finished (or ``limit`` ticks)."""
    for _ in range(limit):
        if not any(lane.running for lane in race.lanes):
            return
        race.step()


def _problem_factory(root):
    # the problem chooser's controls: a pn.Param whose object is a ProblemFactory
    for pane in root.select(pn.Param):
        if isinstance(pane.object, wb.core.ProblemFactory):
            return pane.object
    raise AssertionError("no problem controls on the page")


def test_the_stability_plot_follows_the_problem():
    page = _load_module(APPS / "step_size.py", "wb_test_")
    section = page.stability_section()
    (source,) = [r.data_source for p in section.select(pn.pane.Bokeh) for r in p.object.renderers
                 if "lam" in r.data_source.data]
    assert len(source.data["lam"]) == 20 and max(source.data["lam"]) == 1.0
    factory = _problem_factory(section)
    factory.param.update(dim=5, lambda_max=4.0)
    assert len(source.data["lam"]) == 5 and max(source.data["lam"]) == 4.0
    assert "#d62728" in source.data["color"]  # eta = 1.5 > 2 / 4: unstable directions are red


def test_omega_star_is_set_only_where_young_applies():
    page = _load_module(APPS / "linear_solvers.py", "wb_test_")
    root = page.page()
    (button,) = [b for b in root.select(pn.widgets.Button) if b.name == "Set SOR omega to omega*"]
    (said,) = [m for m in root.select(pn.pane.Markdown) if "wb-omega-star-status" in m.css_classes]
    factory = _problem_factory(root)
    sor = [lane for lane in root.select(pn.Param) if isinstance(lane.object, wb.linear.SOR)][0].object
    button.clicks += 1  # poisson2d(32): omega* = 2 / (1 + sin(pi h))
    assert abs(sor.omega - wb.linear.theory.optimal_omega(np.cos(np.pi / 33))) < 1e-4 and "omega* =" in said.object
    # anisotropic diffusion without rotation is a 5-point stencil: Young applies, and omega*
    # beats 1.5 by a factor 4 (112 against 509 iterations at n = 32)
    aniso = wb.get_problem("anisotropic2d")
    assert "consistently_ordered" in aniso.properties
    assert "consistently_ordered" not in wb.get_problem("anisotropic2d", theta=0.5).properties
    w = wb.linear.theory.optimal_omega(wb.linear.theory.jacobi_spectral_radius(aniso))
    assert wb.run(wb.linear.SOR(omega=w), aniso, rtol=1e-8).iterations < \
        wb.run(wb.linear.SOR(omega=1.5), aniso, rtol=1e-8).iterations / 3


def test_no_predicted_rate_lines_for_stationary_methods_on_a_non_normal_matrix():
    from workbench.ui.overlays import linear_rate

    # at Pe = 10, SOR(1.5) has asymptotic rate 0.5 but its residual first grows 2.5e8-fold
    convection = wb.problems.convection_diffusion2d(n=32, peclet=10.0)
    for method in (wb.linear.Jacobi(), wb.linear.GaussSeidel(), wb.linear.SOR(omega=1.5)):
        assert linear_rate(method, convection) is None
    assert linear_rate(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(n=16)) is not None


def test_convection_diffusion_knows_its_jacobi_radius_and_young_applies():
    # at Pe = 100 the matrix is so non-normal that eigenvalue solvers miss rho_J by a factor 3
    p = wb.problems.convection_diffusion2d(n=8, peclet=2.0)
    A = p.A.toarray()
    J = np.eye(p.n) - A / np.diag(A)[:, None]
    rho = wb.linear.theory.jacobi_spectral_radius(p)
    assert abs(rho - np.abs(np.linalg.eigvals(J)).max()) < 1e-10 and "consistently_ordered" in p.properties
    big = wb.problems.convection_diffusion2d(n=32, peclet=0.5)
    w = wb.linear.theory.optimal_omega(wb.linear.theory.jacobi_spectral_radius(big))
    its = {om: wb.run(wb.linear.SOR(omega=om), big, rtol=1e-8).iterations for om in (1.3, w, 1.7)}
    assert its[w] < its[1.3] and its[w] < its[1.7], its


def test_the_chosen_schedules_error_is_shown_and_cleared():
    page = _load_module(APPS / "schedules.py", "wb_test_")
    section = page.shapes_section()
    (error,) = [h for h in section.select(pn.pane.HTML) if "wb-shape-error" in h.css_classes]
    (choice,) = [s for s in section.select(pn.widgets.Select) if "wb-shape-choice" in s.css_classes]
    assert choice.value == "warmup"
    schedule = [p.object for p in section.select(pn.Param) if type(p.object).__name__ == "Warmup"][0]
    schedule.steps = 5000  # longer than the horizon of 400
    assert "takes the whole horizon" in error.object
    schedule.steps = 10
    assert error.object == ""


def test_sliders_only_where_they_can_land_on_the_value():
    adam = controls(wb.optim.Adam(), ["lr", "beta1", "beta2"])._widgets
    assert isinstance(adam["beta1"], pn.widgets.FloatSlider)  # 0.9 is on the slider's grid
    assert isinstance(adam["beta2"], pn.widgets.FloatInput) and adam["beta2"].value == 0.999
    # no ends in the browser, whose spinner would silently ignore a typed value past one: the
    # object refuses it with its sentence
    assert isinstance(adam["lr"], pn.widgets.FloatInput) and adam["lr"].start is adam["lr"].end is None
    quadratic = controls(wb.core.get_problem_factory("quadratic")())._widgets
    assert isinstance(quadratic["condition"], pn.widgets.FloatInput)  # 1 .. 1e12 is no slider
    assert isinstance(controls(wb.linear.SOR())._widgets["omega"], pn.widgets.FloatSlider)


def test_a_tab_closed_mid_write_leaves_no_traceback_but_real_errors_stay(caplog):
    import asyncio
    import gc
    import logging
    import threading

    from tornado.websocket import WebSocketClosedError

    from workbench.ui.server import quiet_closed_tabs

    quiet_closed_tabs()
    quiet_closed_tabs()  # idempotent

    async def closed():
        raise WebSocketClosedError()

    async def broken():
        raise RuntimeError("a real bug")

    def run_in_a_thread_of_its_own():  # (the browser tests may leave a loop running here)
        loop = asyncio.new_event_loop()
        for make in (closed, broken):
            task = loop.create_task(make())
            loop.run_until_complete(asyncio.sleep(0.01))
            del task
            gc.collect()  # "never retrieved" is logged when the task is collected
        loop.close()

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        thread = threading.Thread(target=run_in_a_thread_of_its_own)
        thread.start()
        thread.join()
    text = caplog.text
    assert "a real bug" in text and "WebSocketClosedError" not in text


def test_the_trajectory_map_skips_a_one_dimensional_objective():
    page = _load_module(APPS / "optimizer_race.py", "wb_test_")
    race = page.page()
    race.chooser.select.value = "quadratic"
    race.chooser.factory.dim = 1
    assert race.problem.dim == 1 and not race.error
    for _ in range(3):
        race.step()  # the map's observer read x[1] and stopped the race with an IndexError
    assert all(lane.iteration == 3 and lane.status_label != "failed" for lane in race.lanes)


def test_the_transport_plan_shows_the_iterate_a_step_reached(monkeypatch):
    import re

    page = _load_module(APPS / "sparsity.py", "wb_test_")
    races = []
    attach = page._PlanView.attach
    monkeypatch.setattr(page._PlanView, "attach", lambda self, live: (races.append(live), attach(self, live))[1])
    tab = page._transport_tab()
    (plan_text,) = [h for h in tab.select(pn.pane.HTML) if "wb-plan-info" in h.css_classes]  # shown once
    (race,) = races
    for _ in range(6):
        race.step()  # six Steps within the 0.5 s the plan's redraw waits while playing
    assert re.search(r"at iteration 6\b", plan_text.object), plan_text.object


def test_a_knob_moved_on_a_finished_lane_changes_neither_its_settings_nor_its_theory():
    import re

    from workbench.ui import Race
    from workbench.ui.overlays import predicted_rate

    race = Race({"SOR": wb.linear.SOR(omega=1.5), "CG": wb.linear.CG()}, wb.problems.poisson2d(16),
                overlays=[predicted_rate()], rtol=1e-8)
    while any(lane.running for lane in race.lanes):
        race.step()
    sor = race.lanes[0]
    source, _ = race.plots[0]._overlays[f"{sor.key}:0"]
    line = {k: list(v) for k, v in source.data.items()}
    sor.method.omega = 1.9  # after the run: it acts on no iteration
    row = re.search(r"data-lane='SOR'.*?</tr>", race.lanes_pane.object).group(0)
    assert "wb-lane-settings'>omega=1.5 (knobs moved since: they act after Reset)<" in row
    assert {k: list(v) for k, v in source.data.items()} == line  # no predicted line for omega = 1.9
    assert sor.runner.result().method_spec["params"]["omega"] == 1.5
    race.reset()
    assert "omega=1.9" in re.search(r"data-lane='SOR'.*?</tr>", race.lanes_pane.object).group(0)


def test_a_problem_that_does_not_build_leaves_the_chooser_on_the_problem_that_runs(monkeypatch):
    page = _load_module(APPS / "optimizer_race.py", "wb_test_")
    race = page.page()
    chooser = race.chooser
    chooser.select.value = "quadratic"
    factory = chooser.factory
    factory.dim = 3000  # a rotated quadratic that large is refused when built
    assert "Problem not changed" in race.error and "rotate=False above 2000 variables" in race.error
    assert factory.dim == 2 and chooser._panes["quadratic"]._widgets["dim"].value == 2
    assert race.problem.dim == 2
    # a chosen problem that does not build: the select goes back to the one that runs
    beale = type(chooser._factories["beale"])
    monkeypatch.setattr(beale, "build", lambda self: (_ for _ in ()).throw(MemoryError("no room")))
    chooser.select.value = "beale"
    assert chooser.select.value == "quadratic" and chooser.current == "quadratic"
    assert "beale: MemoryError: no room" in race.error and race.problem.name.startswith("quadratic")
    assert chooser.params_box.objects == [chooser._panes["quadratic"]]


def test_the_schedule_shapes_keep_one_controls_pane_per_schedule_and_an_emptied_rate_box_is_put_back():
    page = _load_module(APPS / "schedules.py", "wb_test_")
    section = page.shapes_section()
    (choice,) = [s for s in section.select(pn.widgets.Select) if "wb-shape-choice" in s.css_classes]
    (warmup,) = [p.object for p in section.select(pn.Param) if type(p.object).__name__ == "Warmup"]

    def watchers():
        return sum(len(ws) for what in warmup.param.watchers.values() for ws in what.values())

    before = watchers()
    for _ in range(5):
        choice.value = "cosine"
        choice.value = "warmup"
    assert watchers() == before  # each switch used to link a new pn.Param to the schedule
    race, view = page.race_section()
    (lr,) = [w for w in view.select(pn.widgets.FloatInput) if "wb-race-lr" in w.css_classes]
    lr.value = None  # an emptied box: float(None) raised in the watcher
    assert lr.value == 0.01 and all(lane.method.lr == 0.01 for lane in race.lanes)


def test_the_wall_time_toggle_reaches_the_metric_panels():
    from workbench.ui.optim_views import MetricPanel

    page = _load_module(APPS / "optimizer_race.py", "wb_test_")
    race = page.page()
    panels = [c for c in race.companions if isinstance(c, MetricPanel)]
    assert panels
    race.x_toggle.value = "time"  # the "wall time" button
    assert race.plots[0].x_axis == "time" and all(p.plot.x_axis == "time" for p in panels)


def test_a_refused_change_of_a_given_problem_goes_back_too():
    from workbench.ui import LiveRun

    live = LiveRun(wb.optim.GD(lr=1.5), wb.problems.quadratic(dim=20, condition=10.0, lambda_max=1.0))
    live.chooser.factory.dim = 3000  # a rotated quadratic that large is refused when built
    assert "Problem not changed" in live.error and live.chooser.factory.dim == 20 and live.problem.dim == 20


def test_the_recycling_page_races_three_lanes_and_sorting_wins_on_the_rotated_sequence():
    page = _load_module(APPS / "krylov_recycling.py", "wb_test_")
    race = page.page()
    race.chooser.factory.param.update(m=16, instances=30)
    assert len(race.problem) == 30 and not race.error
    while not all(lane.runner.done for lane in race.lanes):
        race.step()
    totals = {lane.label: lane.runner.trace["cumulative_matvecs"][-1] for lane in race.lanes}
    assert all(lane.status_label == "converged" and lane.iteration == 30 for lane in race.lanes)
    assert totals["sorted, then recycled"] < totals["recycled"] < totals["CG on every system"]
    assert "rotated_anisotropic" in page._notes(race) and "sorted by angle" in page._notes(race)
    race.chooser.select.value = "shifted_laplacian_sequence"
    assert "sorting adds nothing" in page._notes(race) and not race.error


def test_a_sequence_race_counts_instances_on_its_step_axis():
    page = _load_module(APPS / "krylov_recycling.py", "wb_test_")
    race = page.page()
    assert [p.figure.xaxis[0].axis_label for p in race.plots] == ["instance", "instance"]
    race.plots[0].set_x_axis("time")
    assert race.plots[0].figure.xaxis[0].axis_label == "wall time (s)"
    from workbench.ui import Race

    linear = Race([wb.linear.CG()], wb.problems.poisson2d(8))
    assert linear.plots[0].figure.xaxis[0].axis_label == "iteration"


def test_the_second_order_page_ranks_the_lanes_by_cost_not_by_steps():
    page = _load_module(APPS / "second_order.py", "wb_test_")
    race = page.page()
    assert race.plots[0].x_axis == "cost" and "cost" in race.x_toggle.options.values()
    _run_to_end(race)
    by = {lane.label: lane for lane in race.lanes}
    assert all(lane.status_label == "converged" for lane in race.lanes), {l.label: l.status_label for l in race.lanes}
    cost = {label: float(lane.runner.trace["cost"][-1]) for label, lane in by.items()}
    # Newton takes the fewest steps, the lazy method the least work (89 vs 127 vs GD's 376 measured)
    assert by["Newton"].iteration < by["Lazy Newton"].iteration < by["GD"].iteration
    assert cost["Lazy Newton"] < cost["Newton"] < cost["GD"]
    race.chooser.select.value = "rosenbrock"
    while any(lane.running for lane in race.lanes):
        race.step()
    newton = by["Newton"].runner.result()
    assert newton.status is wb.Status.FAILED and "levenberg above" in newton.message
    assert by["Lazy Newton"].status_label == "converged"


def test_the_global_search_page_finds_rastrigins_minimum_with_the_swarm_only():
    page = _load_module(APPS / "global_search.py", "wb_test_")
    race = page.page()
    _run_to_end(race)
    by = {lane.label: lane for lane in race.lanes}
    assert all(lane.status_label == "converged" for lane in race.lanes)
    assert by["CBO"].runner.trace["distance"][-1] < 1e-3 and by["ES"].runner.trace["distance"][-1] < 1e-2
    assert by["GD"].runner.trace["distance"][-1] > 1.0 and by["Heavy ball"].runner.trace["distance"][-1] > 1.0
    (swarm,) = race.companions
    swarm.refresh()
    cloud = swarm.clouds[by["CBO"].key].data
    assert len(cloud["px"]) == 100 and max(abs(v) for v in cloud["px"] + cloud["py"]) < 1e-2  # gathered at 0
    assert by["GD"].key not in swarm.clouds  # a path-only lane has no cloud


def test_the_games_page_shows_gda_spiralling_out_and_the_others_in():
    page = _load_module(APPS / "games.py", "wb_test_")
    race = page.page()
    _run_to_end(race)
    by = {lane.label: lane for lane in race.lanes}
    assert by["GDA"].status_label == "diverged"
    assert by["Extragradient"].status_label == "converged" and by["Optimistic GDA"].status_label == "converged"
    for label in ("Anchored EG", "Halpern"):  # O(1/k): below 1e-2 of the start, not yet at rtol
        residual = by[label].runner.trace["residual"]
        assert residual[-1] < 1e-2 * residual[0]
    (paths,) = race.companions
    paths.refresh()
    assert paths._pane.visible and len(paths.sources[by["GDA"].key].data["x0"]) > 10


def test_the_contour_map_comes_back_after_a_three_dimensional_problem():
    page = _load_module(APPS / "global_search.py", "wb_test_")
    race = page.page()
    (swarm,) = race.companions
    factory = race.chooser.factory
    factory.param.update(dim=3, start=[3.0] * 3)
    assert not swarm.figure.visible
    factory.param.update(dim=2, start=[3.0, 3.0])
    assert swarm._pane.visible and swarm.figure.visible  # it stayed hidden until a second round trip


def test_the_bilevel_page_beats_the_best_single_penalty_and_shows_the_bias():
    page = _load_module(APPS / "bilevel.py", "wb_test_")
    race = page.page()
    _run_to_end(race)
    best = race.problem.metadata["best_scalar_validation_loss"]
    by = {lane.label: lane for lane in race.lanes}
    for lane in race.lanes:
        assert lane.runner.trace["hyper_objective"][-1] < 0.9 * best, lane.label
    single, inner = by["Penalty, single loop"].runner.trace, by["Penalty, 10 inner steps"].runner.trace
    assert inner["cost"][-1] > 4 * single["cost"][-1]
    (bars,) = race.companions
    bars.refresh()
    lam = bars.sources[by["Implicit hypergradient"].key][0].data["top"]
    assert len(lam) == 20 and max(lam[:5]) < min(lam[5:])  # the relevant features are penalised least
    race.chooser.select.value = "quadratic_bilevel"
    _run_to_end(race)
    assert all(lane.status_label == "converged" for lane in race.lanes)
    assert 0.05 < by["Penalty, single loop"].runner.trace["distance"][-1] < 0.2   # the O(1/sigma) bias
    assert by["Implicit hypergradient"].runner.trace["distance"][-1] < 1e-4
    assert bars.figure.yaxis[0].axis_label == "x_j" and len(bars.solution.data["y"]) == 5


def test_a_start_where_the_objective_is_not_finite_is_refused_and_the_finished_runs_stay():
    from workbench.ui import Race

    race = Race({"GD": wb.optim.GD(lr=0.001), "Adam": wb.optim.Adam(lr=0.01)}, wb.problems.rosenbrock(dim=2),
                max_steps=50)
    for lane in race.lanes:
        lane.runner.advance()
    done = [lane.runner.iteration for lane in race.lanes]
    assert done == [50, 50]
    race.chooser.factory.start = [1e308, -1e308]  # the widget accepts it; the objective overflows there
    assert "Problem not changed" in race.error and "is inf at the start" in race.error
    assert "InvalidProblem" not in race.error  # a sentence, not the class name
    assert race.chooser.factory.start != [1e308, -1e308]
    assert [lane.runner.iteration for lane in race.lanes] == done  # the finished lanes are kept
