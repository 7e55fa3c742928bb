"""Learning to Relax: bandits that learn SOR's omega across a sequence of linear systems."""
from __future__ import annotations

TITLE = "Learning to relax"
DESCRIPTION = ("A bandit picks SOR's omega before each of thousands of related systems and learns from "
               "the iteration count alone: cumulative cost per policy live, the arm probabilities, and the "
               "omegas chosen against the instance-optimal curve (Khodak et al., ICLR 2024).")

#: Lanes: label -> policy and its settings. Each lane's card lets you switch its policy.
LANES = {
    "Tsallis-INF": {"policy": "tsallis_inf"},
    "ChebCB": {"policy": "chebcb"},
    "binned Tsallis-INF": {"policy": "binned_tsallis_inf"},
    "instance-optimal": {"policy": "instance_optimal"},
}
#: The lane settings shown in each card (the rest keep the reference defaults). The solver and
#: the tolerance are page-wide: the comparators (best fixed omega, Gauss-Seidel) use the same.
LANE_CONTROLS = ["policy", "omega", "degree", "bins", "normaliser", "seed"]
TOLERANCES = {"1e-4": 1e-4, "1e-6": 1e-6, "1e-8 (reference)": 1e-8, "1e-10": 1e-10}
SOLVERS = {"SOR": "sor", "CG preconditioned by SSOR(omega)": "ssor_pcg"}
#: Policies not offered in the lanes' cards (they need the whole sequence solved first).
HINDSIGHT = ("best_fixed",)


class RelaxViews:
    """Companion of the race: comparators from full-information cost rows, arm-probability
    bars, and chosen omega against the context with Young's omega* curve.

    It shares the race's ticks (companion protocol: ``attach``, ``reset``,
    ``advance``, ``done``, ``refresh``, ``view``); its share of each tick computes
    the cost of every grid omega on the instances the lanes have reached (compiled
    kernel, in a worker thread: the kernel releases the GIL), which gives the best
    fixed omega in hindsight and Gauss-Seidel over the instances so far.
    """

    def __init__(self, height: int = 260):
        import panel as pn
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        import threading

        self.live = None
        self.problem = None
        self.totals = None
        self.rows = []  # the comparator rows: iterations of every grid omega, one row per instance
        self._drawn = 0.0
        self._asked = 0.0  # when the worker last asked a paused session for a redraw
        self._generation = 0
        self._lock = threading.Lock()
        self.bars = figure(title="Arm probabilities for the last instance", height=height,
                           sizing_mode="stretch_width", x_axis_label="omega", y_axis_label="probability",
                           tools="save", toolbar_location=None, y_range=(0, 1.02))
        self.scatter = figure(title="Chosen omega vs context; black: instance-optimal omega*", height=height,
                              sizing_mode="stretch_width", x_axis_label="context (shift c_t)",
                              y_axis_label="omega", tools="pan,wheel_zoom,reset,save", toolbar_location="above")
        self.curve = ColumnDataSource({"c": [], "w": []})
        self.scatter.line("c", "w", source=self.curve, color="black", line_width=2)
        self.bar_sources, self.point_sources, self.sent = {}, {}, {}
        self.summary = pn.pane.HTML("", css_classes=["wb-relax-summary"], sizing_mode="stretch_width",
                                    margin=(0, 10))
        self._ColumnDataSource = ColumnDataSource

    # -- companion protocol -------------------------------------------------------------
    def attach(self, live) -> None:
        import workbench as wb

        self.live = live
        self._first_policy = {lane.key: lane.method.policy for lane in live.lanes}
        n = len(live.lanes)
        for i, lane in enumerate(live.lanes):
            self.bar_sources[lane.key] = self._ColumnDataSource({"x": [], "top": []})
            self.bars.vbar(x="x", top="top", width=0.04 / n, source=self.bar_sources[lane.key], color=lane.color,
                           legend_label=lane.label)
            self.point_sources[lane.key] = self._ColumnDataSource({"c": [], "w": []})
            self.scatter.scatter("c", "w", source=self.point_sources[lane.key], color=lane.color, size=4,
                                 alpha=0.5, legend_label=lane.label)
        for fig in (self.bars, self.scatter):
            fig.legend.label_text_font_size = "8pt"
            fig.legend.click_policy = "hide"
            fig.legend.location = "top_left"
        self.plot = live.plots[0]
        self.plot.add_curve("best_fixed", "best fixed omega so far (hindsight)", "black", width=1.5)
        self.best_trace = wb.Trace()

    #: Instances the comparator rows may run ahead of the fastest lane: none, so the black
    #: curve and the summary never show instances the lanes have not reached (Step by Step
    #: teaching), and no rows are solved for a session nobody watches.
    AHEAD = 0

    @property
    def rows_done(self) -> int:
        """Instances the comparator has solved with every grid omega."""
        return len(self.rows)

    @property
    def done(self) -> bool:
        # Not done while the comparator rows lag behind the lanes, so the ticks (and
        # the refreshes that draw the rows) go on until they catch up.
        return self.problem is None or self.rows_done >= min(len(self.problem), self._reached())

    def _reached(self) -> int:
        return max((lane.iteration for lane in self.live.lanes), default=0) if self.live else 0

    def _settings(self):
        method = self.live.lanes[0].method
        return method.grid(), method.solver, method.rtol, method.max_iterations

    def reset(self, problem) -> None:
        import numpy as np

        import workbench as wb
        from workbench.linear.theory import optimal_omega

        with self._lock:
            self._generation += 1  # the previous worker, if any, stops
            self.problem = problem
            self.totals = None
            self.rows = []
            self.gauss_seidel = 0
            self.capped_cells = 0  # comparator solves that stopped at the iteration cap
            self.best_trace = wb.Trace()
            self.best_trace.append({"iteration": 0, "time": 0.0, "cumulative_iterations": 0.0})
        self.plot.clear("best_fixed", empty=True)
        for key in self.point_sources:
            self.point_sources[key].data = {"c": [], "w": []}
            self.bar_sources[key].data = {"x": [], "top": []}
            self.sent[key] = 0
        # omega*(c) over the contexts of (at most 400 of) the instances, sorted by context
        T = len(problem)
        ts = np.unique(np.linspace(0, T - 1, min(T, 400)).astype(int))
        c = np.asarray(problem.contexts)[ts]
        w = np.array([optimal_omega(problem.rho_jacobi(int(t))) for t in ts])
        order = np.argsort(c)
        self.curve.data = {"c": c[order], "w": w[order]}
        self.scatter.xaxis.axis_label = ("diffusivity a(t)" if "heat" in problem.name else "context (shift c_t)")
        self._update_summary()
        import threading

        threading.Thread(target=self._work, args=(self._generation, problem, *self._settings()),
                         name="relax-comparators", daemon=True).start()

    #: Seconds a paused page's Step may spend catching the comparator up on the server thread.
    CATCH_UP = 0.5

    def advance(self, seconds: float) -> None:
        """While playing, a worker thread computes the comparator rows; on a Step (paused) the
        rows the lanes have just reached are solved here, so the summary shows them at once."""
        import time

        from workbench.tuning import cost_row

        if self.live is None or self.live.playing or self.problem is None:
            return
        omegas, solver, rtol, cap = self._settings()
        start = time.perf_counter()
        while self.rows_done < min(len(self.problem), self._reached()) and \
                time.perf_counter() - start < self.CATCH_UP:
            t = self.rows_done
            self._add_row(self._generation, t, cost_row(self.problem, t, omegas, solver, rtol, cap), omegas)

    def _add_row(self, generation, t, row, omegas) -> bool:
        # Rows come from the worker and from a Step; each instance's row is added once, in order.
        import numpy as np

        with self._lock:
            if generation != self._generation or t != self.rows_done:
                return False
            gs = np.flatnonzero(np.isclose(omegas, 1.0))
            self.totals = row if self.totals is None else self.totals + row
            self.rows.append(row)
            self.gauss_seidel += int(row[gs[0]]) if gs.size else 0
            self.capped_cells += int((row >= self._settings()[3]).sum())
            self.best_trace.append({"iteration": float(self.rows_done), "time": 0.0,
                                    "cumulative_iterations": float(self.totals.min())})
            return True

    def _work(self, generation: int, problem, omegas, solver, rtol, cap) -> None:
        # The compiled kernel releases the GIL, so these solves run on the second core
        # while the server thread advances the lanes. The worker keeps at most AHEAD
        # instances ahead of the lanes, and ends on reset or when the session closes.
        import time

        from workbench.tuning import cost_row

        try:  # Linux: a nice value per thread, so the server thread and the browser come first
            import os
            import threading

            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while generation == self._generation and self.rows_done < len(problem):
            if self.live is None or self.live.closed:
                return
            if self.rows_done >= min(len(problem), self._reached() + self.AHEAD):
                time.sleep(0.05)  # waiting for the lanes costs nothing; a paused page resumes later
                continue
            started = time.perf_counter()
            t = self.rows_done
            row = cost_row(problem, t, omegas, solver, rtol, cap)
            # A short pause after each row (a fifth of its time) on top of the nice value: the
            # server thread and the browser keep the lanes above 20 instances/s on 2 cores. At
            # the "max" speed the lanes (one solve each per instance) still outrun these rows
            # (one solve per grid omega); the summary then compares over the rows done.
            time.sleep(0.2 * (time.perf_counter() - started))
            if generation != self._generation:
                return
            if self._add_row(generation, t, row, omegas) and not self.live.playing:
                self._ask_for_redraw(problem)

    def _ask_for_redraw(self, problem) -> None:
        # Paused with the rows behind the lanes (at "max" the lanes outrun them): nothing
        # ticks, so the worker asks the session for the redraws that bring the black curve
        # and the summary up to the lanes, every REDRAW seconds and once when caught up.
        import time

        now = time.perf_counter()
        caught_up = self.rows_done >= min(len(problem), self._reached())
        if caught_up or now - self._asked >= self.REDRAW:
            self._asked = now
            call_soon = getattr(self.live, "call_soon", None)
            if call_soon is not None:
                call_soon(self._redraw_held)

    def _redraw_held(self) -> None:
        import panel as pn

        with pn.io.hold():  # one message to the browser for the bars, points and summary
            self._redraw()

    #: Seconds between redraws of the bars, the scatter and the summary while playing.
    REDRAW = 0.5

    def refresh(self) -> None:
        import time

        now = time.perf_counter()
        if self.live.playing and now - self._drawn < self.REDRAW:
            return
        self._drawn = now
        self._redraw()

    def _redraw(self) -> None:
        import numpy as np

        omegas = self._settings()[0]
        n = len(self.live.lanes)
        for i, lane in enumerate(self.live.lanes):
            runner = lane.runner
            if runner is None:
                continue
            state = runner.state
            t = state.t
            if t and t <= len(state.probabilities):
                p = state.probabilities[t - 1]
                if np.all(np.isfinite(p)) and len(p) == len(omegas):
                    self.bar_sources[lane.key].data = {"x": omegas + (i - (n - 1) / 2) * 0.045 / n, "top": p}
                else:
                    self.bar_sources[lane.key].data = {"x": [], "top": []}
            sent = self.sent.get(lane.key, 0)
            if t > sent:
                self.point_sources[lane.key].stream({"c": state.contexts[sent:t], "w": state.omega[sent:t]},
                                                    rollover=800)
                self.sent[lane.key] = t
        with self._lock:
            self.plot.update("best_fixed", self.best_trace)
            self._update_summary()

    #: Instances before the summary shows each lane's last-quarter ratio (fewer would be noise).
    LAST_QUARTER_FROM = 40

    def _update_summary(self) -> None:
        from workbench.tuning import last_quarter_ratio

        if self.live is None:
            return
        items = []
        best = None
        if self.totals is not None:
            omegas = self._settings()[0]
            j = int(self.totals.argmin())
            best = int(self.totals[j])
            solver = self.live.lanes[0].method.solver
            omega_one = "Gauss-Seidel" if solver == "sor" else "omega = 1 (symmetric Gauss-Seidel preconditioner)"
            items.append(f"best fixed omega over the first {self.rows_done} instances: "
                         f"<b>{omegas[j]:.3f}</b> ({best} iterations); {omega_one}: {self.gauss_seidel}")
            cap = self.live.lanes[0].method.max_iterations
            if self.capped_cells:
                items.append(f"&#9888; {self.capped_cells} of {self.rows_done * len(omegas)} comparator solves stopped at the "
                             f"iteration cap ({cap}); the best fixed omega and {omega_one} count them at the cap.")
        for lane in self.live.lanes:
            r = lane.runner
            if r is None or not r.iteration:
                continue
            k = r.iteration
            total = int(r.state.iterations[:k].sum())
            ratio = ""
            # The comparator rows may trail the lanes while playing: compare over the instances both have.
            m = min(k, self.rows_done)
            ref = int(self.best_trace["cumulative_iterations"][m]) if best and m else 0
            if ref:
                covered = "" if m == k else f" over the first {m}"
                ratio = f" = {int(r.state.iterations[:m].sum()) / ref:.3f} x best fixed{covered}"
                # The total carries a learner's exploration; the last quarter shows where it has got to.
                if m >= self.LAST_QUARTER_FROM:
                    late = last_quarter_ratio(r.state.iterations[:m], self.rows[:m])
                    ratio += f" (last quarter: {late:.3f} x)"
            # A lane keeps its name and its running total when its card switches the policy.
            label = lane.label if lane.method.policy == self._first_policy.get(lane.key) else (
                f"{lane.label} lane (policy now {lane.method.policy})")
            items.append(f"<span style='color:{lane.color}'>&#9632;</span> {label}: {total} iterations "
                         f"over {k} instances{ratio}")
            if r.state.capped:
                items.append(f"&#9888; {lane.label}: {r.state.capped} instances stopped at the iteration cap "
                             f"({lane.method.max_iterations}) without reaching the tolerance; they count at the cap.")
        if self.live.lanes and self.live.lanes[0].method.solver == "ssor_pcg":
            items.append("instance-optimal uses Young's omega*, the optimal parameter of SOR; for CG "
                         "preconditioned by SSOR it is a heuristic.")
        self.summary.object = "<br>".join(items)

    def view(self):
        import panel as pn

        return pn.Column(self.summary, pn.Row(self.bars, self.scatter, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")


def page():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race

    methods = {label: wb.get_method("learning_to_relax", **kw) for label, kw in LANES.items()}
    for method in methods.values():
        # The best fixed omega in hindsight needs every omega's cost on the whole sequence before
        # its first instance (50 s for 5000 heat steps at m = 32), which would stall the page; the
        # black curve shows it over the instances so far instead.
        method.param.policy.objects = [p for p in method.param.policy.objects if p not in HINDSIGHT]
    views = RelaxViews()
    race = Race(
        methods, ["shifted_laplacian_sequence", "heat_sequence"],
        metrics=["cumulative_iterations"], log_y=False, companions=[views], max_steps=10_000_000,
        problem_widgets={
            "shifted_laplacian_sequence": {
                "m": {"type": pn.widgets.DiscreteSlider, "options": [6, 8, 10, 12, 16, 20, 24, 32]},
                "instances": {"type": pn.widgets.DiscreteSlider, "options": [200, 500, 1000, 2000, 5000, 10000]},
                "alpha": {"type": pn.widgets.FloatSlider, "start": 0.1, "end": 10.0, "step": 0.1},
                "beta": {"type": pn.widgets.FloatSlider, "start": 0.1, "end": 10.0, "step": 0.1},
            },
            "heat_sequence": {
                "m": {"type": pn.widgets.DiscreteSlider, "options": [8, 12, 16, 24, 32]},
                "instances": {"type": pn.widgets.DiscreteSlider, "options": [500, 1000, 2000, 5000]},
            },
        },
        plot_height=300, period_ms=100, tick_seconds=0.06,
    )
    tolerance = pn.widgets.Select(name="Tolerance (relative residual per instance)", options=TOLERANCES,
                                  value=1e-8, css_classes=["wb-relax-tolerance"], sizing_mode="stretch_width")

    solver = pn.widgets.Select(name="Solver of each instance", options=SOLVERS, value="sor",
                               css_classes=["wb-relax-solver"], sizing_mode="stretch_width")

    def set_for_every_lane(name):
        def handler(event):
            # A new tolerance or solver is a new experiment: every lane and the comparators start again.
            playing = race.playing
            for lane in race.lanes:
                setattr(lane.method, name, event.new)
            race.reset()
            if playing:
                race.play()
        return handler

    tolerance.param.watch(set_for_every_lane("rtol"), "value")
    solver.param.watch(set_for_every_lane("solver"), "value")
    intro = pn.pane.Markdown(
        "Before each system **A_t x = b_t** (a shifted 5-point Laplacian, A + c_t I, or a heat-equation "
        "step) each policy picks omega from the grid 1.00, 1.05, ..., 1.95 and is told only how many "
        "iterations the solve (SOR, or CG preconditioned by SSOR) took. **Tsallis-INF** ignores the shift, **ChebCB** and **binned "
        "Tsallis-INF** use it as context; **instance-optimal** is Young's omega* of each system. "
        "The black curve is the best fixed omega in hindsight over the instances so far. "
        "Switch a lane's policy in its card; change the distribution (high / low / custom Beta), "
        "grid size and seed under *Problem*.",
        sizing_mode="stretch_width")
    from workbench.ui import controls
    from workbench.ui.live import after_first_render

    def sidebar_items():
        cards = [pn.Card(controls(lane.method, LANE_CONTROLS, name=lane.label), title=lane.label,
                         collapsed=i > 1, header_color=lane.color, sizing_mode="stretch_width")
                 for i, lane in enumerate(race.lanes)]
        return pn.Column(race.transport(), tolerance, solver, race.chooser.view(),
                         pn.pane.Markdown("**Policies**", margin=(0, 10)), *cards, width=330)

    sidebar = after_first_render(sidebar_items, width=330)
    main = pn.Column(intro, race.readout(), *race.plot_panes(), race.lanes_pane, views.view(), race.events_pane,
                     sizing_mode="stretch_width")
    return pn.Row(sidebar, main, sizing_mode="stretch_width")
