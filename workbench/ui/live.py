"""Live runs in the browser: :class:`LiveRun` (one method) and :class:`Race` (several).

Both drive the core's :class:`workbench.core.Runner` from a Panel periodic
callback: each tick advances the run(s) by a small time budget (about 30 ms
shared by all live sessions of the server), then sends only the new trace rows
to the browser in one batched update (``pn.io.hold`` around Bokeh
``ColumnDataSource.stream``). The callback is created from ``pn.state.onload``
and removed when the session ends. Hyperparameter widgets write into the
method, whose ``step`` reads them at call time: a slider moved mid-run acts on
the next step, without a reset. Changing the problem resets the run.

DOM conventions the browser tests rely on: buttons labelled exactly "Play",
"Pause", "Step", "Reset"; the iteration counter has CSS class ``wb-iteration``,
the status ``wb-status``, the time per iteration ``wb-timing``, the per-method
table of a race ``wb-lanes``.
"""
from __future__ import annotations

import html
import logging
import math
import time
import weakref
from typing import Callable, Iterable, Mapping, Sequence

import panel as pn
import param

from ..core.runner import check_stop_keywords
from ..core import Method, Problem, ProblemFactory, Runner, WorkbenchError
from ..core.errors import error_sentence as reason
from ..core.registry import get_problem_factory
from .param_widgets import controls
from .plots import PALETTE, ConvergencePlot, wants_log_axis

__all__ = ["LiveRun", "Race", "Lane", "after_first_render", "live_components", "active_callbacks",
           "reap_orphans"]

log = logging.getLogger(__name__)

#: Every live component whose session is still open (weak: closed sessions vanish).
_LIVE: "weakref.WeakSet[_LiveBase]" = weakref.WeakSet()

#: Total compute per tick, shared by the sessions that are playing. With the
#: batched update (a few ms) this fits inside the 40 ms period, so one session
#: refreshes at up to 25 Hz.
TICK_SECONDS = 0.025
#: Never less than this per session, however many play at once.
MIN_TICK_SECONDS = 0.004
#: Period of the periodic callback (ms): at most 25 refreshes per second.
PERIOD_MS = 40

SPEEDS = {"1": 1, "3": 3, "10": 10, "30": 30, "100": 100, "300": 300, "1000": 1000, "max": 0}


#: Server-wide counters for ``/health`` and ``benchmarks/ui.py``: plot updates sent and the
#: CPU time they took (building and serialising the batched update), ticks and their CPU time.
STATS = {"updates": 0, "update_cpu_s": 0.0, "ticks": 0, "tick_cpu_s": 0.0}


def live_components() -> int:
    """Live components whose browser session is still open."""
    return len(_LIVE)


def active_callbacks() -> int:
    """Periodic callbacks of live components that are currently scheduled."""
    return sum(1 for c in list(_LIVE) if c._callback is not None and c._callback.running)


def reap_orphans(max_idle_seconds: float) -> int:
    """End live components whose browser is gone, even if Bokeh has not destroyed the session.

    Bokeh destroys a session once it has had no connection for its unused-session
    lifetime; under heavy load a websocket can close in a way that leaves the
    session looking connected, and its periodic callback would run on. The server
    calls this every second: a component whose page has loaded and whose session
    has had no connection for ``max_idle_seconds`` (or is destroyed) stops its
    callback and leaves the registry. Returns how many were ended.
    """
    ended = 0
    for comp in list(_LIVE):
        if not comp._loaded:
            continue  # its browser has not connected yet (a slow page load): Bokeh's business
        doc = comp._doc
        ctx = getattr(doc, "session_context", None) if doc is not None else None
        session = getattr(ctx, "_session", None)
        if session is None:
            continue
        try:
            gone = session.destroyed or (
                session.connection_count == 0
                and session.milliseconds_since_last_unsubscribe > 1000 * max_idle_seconds)
        except Exception:  # a half-torn-down session: treat as gone
            gone = True
        if gone:
            try:
                comp._on_session_destroyed(None)
            except Exception:
                log.debug("reaping a live component failed", exc_info=True)
                _LIVE.discard(comp)
            ended += 1
    return ended


def after_first_render(build: Callable[[], object], **layout):
    """``build()``'s panel, sent to the browser only once the page has rendered.

    In a served session the first document then carries only the plots and the
    read-outs, so the first curve appears sooner: the controls are most of a
    page's Bokeh models, and on the 2-core VM deferring them brings the first
    plot of the six-method race from 1.06 s to 0.71 s and of a single live run
    from 0.68 s to 0.55 s (returning browser, medians of 5 sessions). The
    controls follow a moment later, in place of a loading spinner. Outside a
    server session (notebooks, static exports, tests) ``build()`` is returned
    as it is.

    ``layout`` (``width=330``, ``sizing_mode=...``) sizes the placeholder.
    """
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return build()
    return pn.panel(build, defer_load=True, **layout)


def _fmt_seconds(s: float) -> str:
    if not math.isfinite(s) or s <= 0:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt_value(v: float) -> str:
    if v is None or not math.isfinite(v):
        return str(v)
    return f"{v:.3e}" if (abs(v) < 1e-3 or abs(v) >= 1e4) and v != 0 else f"{v:.4g}"


class Lane:
    """One method's run inside a live component: method, runner, colour, label."""

    def __init__(self, key: str, label: str, method: Method, color: str, stop: dict):
        if not isinstance(method, Method):
            raise WorkbenchError(
                f"a live run needs workbench methods, got {type(method).__name__}; build one with "
                "workbench.get_method(name, ...)."
            )
        self.key, self.label, self.method, self.color, self.stop = key, label, method, color, stop
        self.runner: Runner | None = None
        self.error = ""

    def start(self, problem: Problem) -> None:
        """(Re)build the runner on ``problem``; an incompatible problem is reported, not raised."""
        self.error = ""
        try:
            self.runner = Runner(self.method, problem, **self.stop)
        except Exception as exc:  # IncompatibleProblem, InvalidProblem, or a bug in init
            self.runner = None
            self.error = reason(exc)

    def reset(self) -> None:
        if self.runner is None:
            return
        try:
            self.runner.reset()
        except Exception as exc:
            self.runner = None
            self.error = reason(exc)

    @property
    def running(self) -> bool:
        return self.runner is not None and not self.runner.done

    @property
    def iteration(self) -> int:
        return self.runner.iteration if self.runner is not None else 0

    @property
    def status_label(self) -> str:
        return "failed" if self.runner is None else self.runner.status.label

    @property
    def message(self) -> str:
        if self.runner is None:
            return f"Failed: could not start. {self.error}"
        return self.runner.message

    @property
    def seconds_per_iteration(self) -> float:
        r = self.runner
        return r.elapsed / r.iteration if r is not None and r.iteration else math.nan


class _ProblemChooser:
    """A problem selector plus the chosen factory's parameter widgets."""

    def __init__(self, problem, widgets: Mapping | None, on_change: Callable[[Problem], None],
                 params: Mapping | None = None, busy: Callable[[bool], None] | None = None,
                 later: Callable[[Callable[[], None]], bool] | None = None):
        self.on_change = on_change
        # busy(flag) shows the page's busy note; later(work) runs work at the session's
        # next turn (False: it will not run). Both None outside a served session: changes
        # build at once.
        self.busy = busy
        self.later = later
        self._scheduled = False  # a build waits for the session's next turn (see pending)
        self._settings_changed = False  # the chosen factory's settings moved since its build
        self.widgets = dict(widgets or {})
        self.error = ""
        self._factories: dict[str, ProblemFactory] = {}
        self.problem: Problem | None = None
        params = dict(params or {})
        if isinstance(problem, str):
            problem = [problem]
        self._built: dict = {}  # problem name -> the settings that last built it
        if isinstance(problem, Problem):
            self.problem = problem
            spec = getattr(problem, "_spec", None)
            names = []
            if spec:
                factory = get_problem_factory(spec["name"])(**spec.get("params", {}))
                self._factories[factory.registry_name] = factory
                names = [factory.registry_name]
                # (the settings that built the given problem: a refused change goes back to them)
                self._built[factory.registry_name] = _settings_of(factory)
        elif isinstance(problem, ProblemFactory):
            self._factories[problem.registry_name] = problem
            names = [problem.registry_name]
        elif isinstance(problem, (list, tuple)) and problem and all(isinstance(p, str) for p in problem):
            names = list(problem)
            for name in names:
                self._factories[name] = get_problem_factory(name)(**params.get(name, {}))
            names = [f.registry_name for f in self._factories.values()]
            self._factories = {f.registry_name: f for f in self._factories.values()}
        else:
            raise WorkbenchError(
                "problem must be a Problem, a ProblemFactory, a registered problem name or a list "
                "of names; e.g. wb.problems.poisson2d(32) or ['poisson2d', 'anisotropic2d']."
            )
        self.names = names
        self.current = names[0] if names else None
        self.select = pn.widgets.Select(name="Problem", options=names, value=self.current,
                                        sizing_mode="stretch_width", visible=len(names) > 1,
                                        css_classes=["wb-problem"])
        self.select.param.watch(self._on_select, "value")
        self.params_box = pn.Column(sizing_mode="stretch_width")
        self._panes: dict = {}
        self._restoring = False
        for factory in self._factories.values():
            # (after the controls' own links, precedence 0: a refused change put back here is
            # the last the widgets hear of)
            factory.param.watch(self._on_param, [n for n in factory.param if n != "name"], precedence=1)
        self._show_params()
        if self.problem is None:
            self.problem = self._build()
            if self.problem is None:
                raise WorkbenchError(f"could not build the problem: {self.error}")

    @property
    def factory(self) -> ProblemFactory | None:
        return self._factories.get(self.current)

    def _show_params(self):
        factory = self.factory
        if factory is None:
            self.params_box.objects = []
            return
        # One controls pane per factory, made once: each new pn.Param would leave its watchers
        # on the factory, which lives as long as the chooser.
        if self.current not in self._panes:
            self._panes[self.current] = controls(factory, widgets=self.widgets.get(self.current) or self.widgets.get("*"),
                                                 name=f"Problem: {self.current}")
        self.params_box.objects = [self._panes[self.current]]

    def _build(self, name: str | None = None) -> Problem | None:
        name = self.current if name is None else name
        factory = self._factories[name]
        try:
            problem = factory.make()
        except Exception as exc:  # a bad size, a missing file, a start off the objective: say so, keep the old problem
            self.error = reason(exc)
            return None
        self.error = ""
        self._built[name] = _settings_of(factory)
        return problem

    @property
    def pending(self) -> bool:
        """Whether a problem change waits for its build at the session's next turn."""
        return self._scheduled

    def _soon(self) -> None:
        """Build the problem the controls ask for and restart the runs on it: now, or in a
        served session at the session's next turn, with the page's busy note on until done.

        A grid of millions of unknowns or a large cost matrix takes seconds to build, and the
        release of a slider should not look ignored meanwhile. Panel sends a widget change's
        model updates only once its handler returns, so a note switched on and off inside the
        handler never shows: it goes on here, and the build waits for the next turn. Changes
        made meanwhile join the one waiting build, which reads the selector and the settings
        as they are when it runs (several selections build only the last one). Meanwhile the
        page does not step the old problem (see ``pending``): ticks skip, and a Step or Reset
        clicked in between is queued behind the build.
        """
        if self.later is None or self.busy is None:
            self._apply_changes()
            return
        if self._scheduled:
            return  # the waiting build reads this change too

        def run():
            try:
                self._apply_changes()
            finally:
                self._show_busy(False)

        self._scheduled = True
        self._show_busy(True)
        if not self.later(run):  # the session has closed: nobody is waiting
            self._scheduled = self._settings_changed = False
            self._show_busy(False)

    def _show_busy(self, flag: bool) -> None:
        # The note is decoration: a failure to show it must not leave a change counted as
        # waiting (the page would skip every tick) nor stop the build.
        try:
            self.busy(flag)
        except Exception:
            log.warning("could not %s the busy note", "show" if flag else "hide", exc_info=True)

    def _on_select(self, event):
        if not self._restoring:
            self._soon()

    def _on_param(self, *events):
        # Only the settings of the problem the selector names can change what is built; a
        # param the current values make inert (Beta's alpha while the setting is "high")
        # builds the same problem: the runs go on.
        factory = self._factories.get(self.select.value)
        if self._restoring or not any(e.obj is factory and e.name not in factory.inert_params() for e in events):
            return
        self._settings_changed = True
        self._soon()

    def _apply_changes(self) -> None:
        """Build what the selector and its factory's settings now say; if that is refused, put
        the controls back to the problem that runs, so that the page never names or shows
        settings it does not run."""
        self._scheduled = False
        target, running = self.select.value, self.current
        settings_changed, self._settings_changed = self._settings_changed, False
        if target == running and not settings_changed:
            return  # chosen away and back before the build: the runs go on
        problem = self._build(target)
        if problem is None:
            error = self.error if target == running else f"{target}: {self.error}"
            good = self._built.get(running)
            factory = self._factories[running]

            def undo():
                self.select.value = running
                if good is not None and _settings_of(factory) != good:
                    factory.param.update(**good)

            self._restore(undo)
            self.error = error
        else:
            self.current = target
        self._show_params()
        self._apply(problem)

    def _restore(self, undo) -> None:
        self._restoring = True
        try:
            undo()
        finally:
            self._restoring = False

    def _apply(self, problem: Problem | None) -> None:
        if problem is not None:
            self.problem = problem
        self.on_change(problem)

    def view(self):
        return pn.Column(self.select, self.params_box, sizing_mode="stretch_width")


class _LiveBase(pn.viewable.Viewer):
    """Shared machinery of :class:`LiveRun` and :class:`Race` (see their docs)."""

    autoplay = param.Boolean(default=False, doc="Start playing when the page loads.")

    def __init__(self, methods, problem, *, labels: Sequence[str] | None = None,
                 metrics: Sequence[str] | None = None, x_axis: str = "iteration",
                 log_y: bool | None = None, max_points: int = 2000,
                 overlays: Iterable[Callable] = (), problem_widgets: Mapping | None = None,
                 problem_params: Mapping | None = None, show_problem_controls: bool = True,
                 autoplay: bool | None = None, period_ms: int = PERIOD_MS,
                 tick_seconds: float = TICK_SECONDS, title: str | None = None,
                 notes: Callable | None = None, companions: Iterable = (),
                 method_widgets: Mapping | None = None, plot_height: int = 340,
                 cost_axis: bool = False, **stop):
        if autoplay is None:
            autoplay = _session_flag("autoplay")
        super().__init__(autoplay=bool(autoplay))
        self.period_ms = int(period_ms)
        self.tick_seconds = float(tick_seconds)
        self.max_points = int(max_points)
        self.overlays = list(overlays)
        self.notes = notes
        self.companions = list(companions)
        self.title = title
        self._callback = None
        self._closed = False
        self._loaded = False
        self._allowance = 0.0
        self._last_tick = None
        self._rest_until = 0.0  # (perf_counter time before which ticks do nothing: see _tick)
        self.ticks = 0
        self.refreshes = 0
        self.error = ""

        # -- lanes -------------------------------------------------------------------
        if isinstance(methods, Method):
            methods = [methods]
        if isinstance(methods, Mapping):
            labels = list(methods)
            methods = list(methods.values())
        methods = list(methods)
        if not methods:
            raise WorkbenchError("a live run needs at least one method.")
        if labels is None:
            names = [m.registry_name or type(m).__name__ for m in methods]
            labels = [n if names.count(n) == 1 else f"{n} {names[:i + 1].count(n)}"
                      for i, n in enumerate(names)]
        if len(labels) != len(methods):
            raise WorkbenchError(f"got {len(labels)} labels for {len(methods)} methods.")
        check_stop_keywords(stop, "a live run", "its problem's settings go in problem_params")
        self.lanes = [Lane(f"lane{i}", str(label), m, PALETTE[i % len(PALETTE)], dict(stop))
                      for i, (label, m) in enumerate(zip(labels, methods))]

        # -- problem -----------------------------------------------------------------
        doc = pn.state.curdoc
        self._doc = doc if doc is not None and doc.session_context is not None else None
        self.chooser = _ProblemChooser(problem, problem_widgets, self._on_problem, problem_params,
                                       busy=self._set_busy,
                                       later=self.call_soon if self._doc is not None else None)
        self.problem = self.chooser.problem
        for lane in self.lanes:
            lane.start(self.problem)

        # -- plots -------------------------------------------------------------------
        first = self.lanes[0].method
        metrics = list(metrics or [first.stop_metric])
        self.plots: list[ConvergencePlot] = []
        for metric in metrics:
            first_value = None
            for lane in self.lanes:
                if lane.runner is not None and metric in lane.runner.trace:
                    first_value = float(lane.runner.trace[metric][0])
                    break
            log_axis = wants_log_axis(metric, first_value, stop_metric=first.stop_metric) if log_y is None else bool(log_y)
            # (a sequence run's step is one system: "instance", not "iteration")
            step_label = str(getattr(first, "step_noun", "iterations")).removesuffix("s")
            plot = ConvergencePlot(metric, log_y=log_axis, x_axis=x_axis, max_points=max_points,
                                   height=plot_height, step_label=step_label,
                                   x_range=self.plots[0].figure.x_range if self.plots else None)
            for lane in self.lanes:
                plot.add_curve(lane.key, lane.label, lane.color)
            self.plots.append(plot)

        # -- widgets -----------------------------------------------------------------
        self.play_button = pn.widgets.Button(name="Play", button_type="success", width=70)
        self.pause_button = pn.widgets.Button(name="Pause", button_type="warning", width=70)
        self.step_button = pn.widgets.Button(name="Step", button_type="default", width=70)
        self.reset_button = pn.widgets.Button(name="Reset", button_type="default", width=70)
        self.play_button.on_click(lambda e: self.play())
        self.pause_button.on_click(lambda e: self.pause())
        self.step_button.on_click(lambda e: self.step())
        self.reset_button.on_click(lambda e: self.reset())
        speed = _session_arg("speed")
        self.speed = pn.widgets.Select(name="Speed (iterations per second)", options=SPEEDS,
                                       value=SPEEDS.get(speed, 0), css_classes=["wb-speed"],
                                       sizing_mode="stretch_width")
        x_options = {"iteration": "iteration", "wall time": "time"}
        if cost_axis or x_axis == "cost":
            x_options["cost"] = "cost"
        self.x_toggle = pn.widgets.RadioButtonGroup(
            name="x axis", options=x_options, value=x_axis,
            button_type="default", sizing_mode="stretch_width")
        self.x_toggle.param.watch(lambda e: self._set_x_axis(e.new), "value")
        self.iteration_pane = pn.pane.HTML("", css_classes=["wb-iteration"], margin=(5, 10))
        # Shown from a problem change until the new problem is built and the runs restart on it.
        # A small note, not Panel's spinner over the plots: that re-renders every figure in the
        # browser (seconds on the relax page, with the lanes racing at a few hundred instances/s).
        self.busy_note = pn.Row(pn.indicators.LoadingSpinner(value=True, size=18, margin=(6, 4)),
                                pn.pane.HTML("Building the new problem&hellip;", margin=(5, 4)),
                                css_classes=["wb-busy"], visible=False)
        self.timing_pane = pn.pane.HTML("", css_classes=["wb-timing"], margin=(5, 10))
        self.settings_pane = pn.pane.HTML("", css_classes=["wb-settings"], margin=(5, 10),
                                          visible=len(self.lanes) == 1)
        self.status_pane = pn.pane.HTML("", css_classes=["wb-status"], margin=(5, 10),
                                        sizing_mode="stretch_width")
        self.lanes_pane = pn.pane.HTML("", css_classes=["wb-lanes"], sizing_mode="stretch_width",
                                       visible=len(self.lanes) > 1)
        self.notes_pane = pn.pane.Markdown("", css_classes=["wb-notes"], sizing_mode="stretch_width",
                                           visible=notes is not None)
        self.method_controls = [controls(l.method, widgets=(method_widgets or {}).get(l.label),
                                         name=l.label) for l in self.lanes]
        self.export_button = self._export_button()
        self._last_text: dict[int, str] = {}

        self.events: list[dict] = []
        self.events_pane = pn.pane.HTML("", css_classes=["wb-events"], sizing_mode="stretch_width",
                                        margin=(0, 10))
        for lane in self.lanes:
            names = [n for n in lane.method.param if n != "name"]
            lane.method.param.watch(lambda *events, lane=lane: [self._on_method_change(lane, e) for e in events],
                                    names)
        for companion in self.companions:
            companion.attach(self)
            companion.reset(self.problem)
        self._update_overlays()
        self._refresh(force=True)

        # -- session lifecycle ---------------------------------------------------------
        _LIVE.add(self)
        if self._doc is not None:
            pn.state.onload(self._on_load)
            pn.state.on_session_destroyed(_destroy_hook(self))

    # -- lifecycle -------------------------------------------------------------------
    def _on_load(self):
        self._loaded = True
        if self._callback is None and not self._closed:
            self._callback = pn.state.add_periodic_callback(self._tick, period=self.period_ms,
                                                            start=self.autoplay and self._work_left())

    def _on_session_destroyed(self, session_context=None):
        self._closed = True
        _LIVE.discard(self)
        if self._callback is not None:
            try:
                self._callback.stop()
            finally:
                self._callback = None

    @property
    def closed(self) -> bool:
        """True once the browser session has gone (background work should stop)."""
        return self._closed

    def call_soon(self, callback: Callable[[], None]) -> bool:
        """Run ``callback`` on the session's own thread at its next turn; safe from a worker
        thread (Bokeh's ``add_next_tick_callback``), which is how a worker's results reach the
        browser while nothing ticks. Returns False outside a served session or after it closed
        (nothing is scheduled: a notebook shows the results at the next Step or redraw)."""
        if self._doc is None or self._closed:
            return False

        def run():
            if not self._closed:
                callback()

        try:
            self._doc.add_next_tick_callback(run)
        except Exception:  # the session is being torn down
            log.debug("call_soon: the document took no callback", exc_info=True)
            return False
        return True

    @property
    def playing(self) -> bool:
        return self._callback is not None and self._callback.running

    def play(self) -> None:
        """Start (or resume) advancing on every tick."""
        if self._closed or self.playing:
            return
        self._last_tick = None
        self._allowance = 0.0
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self._tick, period=self.period_ms)
        else:
            self._callback.start()
        self._refresh(force=True)

    def pause(self) -> None:
        """Stop advancing; the run keeps its state."""
        if self._callback is not None and self._callback.running:
            self._callback.stop()
        self._refresh(force=True)

    def step(self, _queued: bool = False) -> None:
        """Pause, then advance every unfinished run by exactly one step."""
        if self.chooser.pending and not _queued and self.call_soon(lambda: self.step(_queued=True)):
            # A problem change waits for its build (queued first, so run first): this Step is
            # for the new problem, not a step on the old one that the restart would undo.
            return
        self.pause()
        for lane in self.lanes:
            if lane.running:
                lane.runner.advance(max_steps=1)
        for companion in self.companions:
            if not companion.done:
                companion.advance(0.0)
        self._refresh(force=True)

    def reset(self, _queued: bool = False) -> None:
        """Pause and restart every run from its initial iterate with the current settings."""
        if self.chooser.pending and not _queued and self.call_soon(lambda: self.reset(_queued=True)):
            return  # after the waiting build, as a Step
        self.pause()
        self._restart()

    def _restart(self) -> None:
        for lane in self.lanes:
            if lane.runner is None or lane.runner.problem is not self.problem:
                lane.start(self.problem)
            else:
                lane.reset()
        for plot in self.plots:
            for lane in self.lanes:
                plot.clear(lane.key, empty=lane.runner is None)
            for i in range(8):
                if f"event{i}" in plot._spans:
                    plot.set_vline(f"event{i}", None)
        self.events.clear()
        self._set_text(self.events_pane, "")
        for companion in self.companions:
            companion.reset(self.problem)
        self._update_overlays()
        self._refresh(force=True)

    def _on_problem(self, problem):
        was_playing = self.playing
        if problem is None:
            self.error = f"Problem not changed: {self.chooser.error}"
            self._refresh(force=True)
            return
        self.error = ""
        self.problem = problem
        self.pause()
        self._restart()
        if was_playing:
            self.play()

    def _on_method_change(self, lane: Lane, event=None):
        # A hyperparameter moved: the next step uses it (no reset). Mark the
        # iteration on the plots so the bend in the curve has a visible cause.
        if event is not None and event.name in lane.method.inert_params():
            return  # a setting the run does not read (ChebCB's degree on a Tsallis-INF lane)
        if event is not None and lane.runner is not None and not lane.runner.done:
            # (a knob moved on a finished lane acts on no iteration: no event, and the lane's
            # result keeps the settings it finished with)
            k = lane.runner.iteration
            self.events.append({"lane": lane.label, "param": event.name, "old": event.old,
                                "new": event.new, "iteration": k})
            for plot in self.plots:
                plot.set_vline(f"event{len(self.events) % 8}", k, color=lane.color)
            self._set_text(self.events_pane, self._events_text())
        if lane.runner is None or not lane.runner.done:
            self._update_overlays(lanes=[lane])  # a finished lane keeps the theory of its settings
        self._refresh(force=True)

    def _events_text(self) -> str:
        items = []
        for e in self.events[-4:][::-1]:
            old, new = e["old"], e["new"]
            fmt = (lambda v: f"{v:.4g}") if isinstance(new, float) else str
            who = f"{html.escape(e['lane'])}: " if len(self.lanes) > 1 else ""
            items.append(f"<li>{who}{html.escape(e['param'])} {html.escape(fmt(old))} &rarr; "
                         f"<b>{html.escape(fmt(new))}</b> at iteration {e['iteration']}</li>")
        return f"<ul style='margin:0;padding-left:1.2em;font-size:0.9em'>{''.join(items)}</ul>"

    def _set_x_axis(self, x_axis: str):
        with pn.io.hold():
            for plot in self.plots:
                plot.set_x_axis(x_axis)
            for companion in self.companions:  # a companion that plots a metric follows the toggle
                if hasattr(companion, "set_x_axis"):
                    companion.set_x_axis(x_axis)

    def _work_left(self) -> bool:
        return any(l.running for l in self.lanes) or any(not c.done for c in self.companions)

    # -- the tick --------------------------------------------------------------------
    def _budget(self) -> float:
        # The server's compute per tick is shared among the sessions that play.
        return max(MIN_TICK_SECONDS, self.tick_seconds / max(1, active_callbacks()))

    def _tick(self) -> None:
        if self._closed or self.chooser.pending:
            return  # (no steps on the old problem while the new one builds: the restart drops them)
        start = time.perf_counter()
        if start < self._rest_until:
            return
        cpu0 = time.process_time()
        try:
            self._tick_inner()
        finally:
            STATS["ticks"] += 1
            STATS["tick_cpu_s"] += time.process_time() - cpu0
            # A tick always takes one step per lane, so one slow step (a bilevel lane at 10000
            # inner steps: 0.24 s) overruns the period, and back-to-back ticks left the server
            # no turn for the browser's clicks: Pause waited 40 s. After an overrun the next
            # ticks rest as long as it worked, so at least half the time is the user's.
            elapsed = time.perf_counter() - start
            if elapsed > self.period_ms / 1000.0:
                self._rest_until = time.perf_counter() + elapsed

    def _tick_inner(self) -> None:
        now = time.perf_counter()
        rate = self.speed.value
        max_steps = None
        if rate:
            dt = 0.0 if self._last_tick is None else min(now - self._last_tick, 0.25)
            self._allowance = min(self._allowance + rate * dt, max(rate, 1))
            if self._last_tick is None:
                self._allowance = max(self._allowance, 1.0)
            max_steps = int(self._allowance)
            self._allowance -= max_steps
        self._last_tick = now
        self.ticks += 1
        if max_steps == 0:
            return
        try:
            budget = self._budget()
            running = [l for l in self.lanes if l.running]
            busy = [c for c in self.companions if not c.done]
            share = budget / max(1, len(running) + len(busy))
            for lane in running:
                lane.runner.advance(max_steps=max_steps, max_seconds=share)
            for companion in busy:
                companion.advance(share)
        except Exception as exc:  # a bug must not take the server down; show it and stop
            log.exception("live run tick failed")
            self.error = f"{type(exc).__name__}: {exc}"
            if self._callback is not None:
                self._callback.stop()
        if not self._work_left() and self._callback is not None:
            self._callback.stop()
        self._refresh()

    # -- display ---------------------------------------------------------------------
    def _update_overlays(self, lanes: Iterable[Lane] | None = None) -> None:
        if not self.overlays:
            return
        with pn.io.hold():
            for lane in lanes or self.lanes:
                for i, overlay in enumerate(self.overlays):
                    line = None
                    if lane.runner is not None:
                        try:
                            line = overlay(lane.runner)
                        except Exception:  # theory does not apply here: hide it
                            log.debug("overlay failed", exc_info=True)
                    for plot in self.plots:
                        if line is not None and (line.metric or self.plots[0].metric) == plot.metric:
                            plot.set_overlay(f"{lane.key}:{i}", line.x, line.y,
                                             label=f"{lane.label}: {line.label}", color=lane.color)
                        else:
                            plot.set_overlay(f"{lane.key}:{i}", None, None,
                                             label=f"{lane.label}: theory", color=lane.color)

    def _set_text(self, pane, text: str) -> None:
        # Only changed text travels to the browser.
        if self._last_text.get(id(pane)) != text:
            self._last_text[id(pane)] = text
            pane.object = text

    def _refresh(self, force: bool = False) -> None:
        t0 = time.process_time()
        with pn.io.hold():
            for plot in self.plots:
                for lane in self.lanes:
                    if lane.runner is not None:
                        plot.update(lane.key, lane.runner.trace)
            for companion in self.companions:
                companion.refresh()
            self._set_text(self.iteration_pane, self._iteration_text())
            self._set_text(self.timing_pane, self._timing_text())
            self._set_text(self.status_pane, self._status_text())
            if len(self.lanes) > 1:
                self._set_text(self.lanes_pane, self._lanes_text())
            else:
                self._set_text(self.settings_pane, html.escape(_settings(self.lanes[0].method, self.lanes[0].runner)))
            if self.notes is not None and force:
                try:
                    self._set_text(self.notes_pane, self.notes(self))
                except Exception as exc:
                    self._set_text(self.notes_pane, f"(notes unavailable: {exc})")
        self.refreshes += 1
        STATS["updates"] += 1
        STATS["update_cpu_s"] += time.process_time() - t0

    def _iteration_text(self) -> str:
        k = max(l.iteration for l in self.lanes)
        return f"Iteration <b>{k}</b>"

    def _timing_text(self) -> str:
        lane = self.lanes[0]
        if lane.runner is None:
            return ""
        return f"{_fmt_seconds(lane.seconds_per_iteration)} per iteration · {_fmt_seconds(lane.runner.elapsed)} in all"

    def _status_label(self) -> str:
        labels = [l.status_label for l in self.lanes]
        if any(l == "running" for l in labels):
            return "running"
        return labels[0] if len(set(labels)) == 1 else "finished"

    def _status_text(self) -> str:
        state = "playing" if self.playing else "paused"
        label = self._status_label()
        if len(self.lanes) == 1:
            sentence = self.lanes[0].message
        else:
            n_run = sum(l.running for l in self.lanes)
            sentence = (f"{n_run} of {len(self.lanes)} methods still running." if n_run
                        else "Every method has finished; the table says how.")
        extra = f" <span style='color:#b00'>{html.escape(self.error)}</span>" if self.error else ""
        if label == "running" and not self.playing:
            sentence = f"Paused. {sentence}" if sentence else "Paused."
        return (f"<span class='wb-status-label' data-status='{label}' data-state='{state}'>"
                f"<b>{label}</b></span> — {html.escape(sentence)}{extra}")

    def _lanes_text(self) -> str:
        metric = self.plots[0].metric
        rows = []
        for lane in self.lanes:
            value = math.nan
            if lane.runner is not None and len(lane.runner.trace) and metric in lane.runner.trace:
                value = float(lane.runner.trace[metric][-1])
            rows.append(
                f"<tr title='{html.escape(lane.message)}' data-lane='{html.escape(lane.label)}'>"
                f"<td><span style='color:{lane.color}'>&#9632;</span> {html.escape(lane.label)}</td>"
                f"<td class='wb-lane-status'>{lane.status_label}</td>"
                f"<td class='wb-lane-iteration' style='text-align:right'>{lane.iteration}</td>"
                f"<td style='text-align:right'>{_fmt_value(value)}</td>"
                f"<td style='text-align:right'>{_fmt_seconds(lane.seconds_per_iteration)}</td>"
                f"<td class='wb-lane-settings'>{html.escape(_settings(lane.method, lane.runner))}</td></tr>"
            )
        head = (f"<tr><th>method</th><th>status</th><th>iterations</th>"
                f"<th>{html.escape(metric.replace('_', ' '))}</th><th>per iteration</th><th>settings</th></tr>")
        return ("<table style='width:100%; border-collapse:collapse; font-size:0.9em'>"
                f"{head}{''.join(rows)}</table>")

    # -- report export -----------------------------------------------------------------
    def results(self) -> list:
        """Core :class:`Result` objects of the runs so far (for reports, stores)."""
        return [l.runner.result() for l in self.lanes if l.runner is not None]

    def _export_button(self):
        try:
            from ..report import export_html  # noqa: F401
        except Exception:  # no report module in this install: no button
            return None

        def make_file():
            import io
            import os
            import tempfile

            from ..report import export_html

            fd, path = tempfile.mkstemp(suffix=".html")
            os.close(fd)
            try:
                export_html(self.results(), path, title=self.title or "Workbench run")
                with open(path, "rb") as fh:
                    return io.BytesIO(fh.read())
            finally:
                os.unlink(path)

        return pn.widgets.FileDownload(callback=make_file, filename="workbench_report.html",
                                       label="Export report", button_type="primary",
                                       sizing_mode="stretch_width")

    # -- layout ------------------------------------------------------------------------
    def transport(self):
        """Play / Pause / Step / Reset and the speed slider."""
        return pn.Column(pn.Row(self.play_button, self.pause_button, self.step_button, self.reset_button),
                         self.speed, sizing_mode="stretch_width")

    def readout(self):
        """Iteration counter, time per iteration and status."""
        return pn.Column(pn.Row(self.iteration_pane, self.busy_note, self.timing_pane, self.settings_pane),
                         self.status_pane, sizing_mode="stretch_width")

    def plot_panes(self):
        return [pn.pane.Bokeh(p.figure, sizing_mode="stretch_width") for p in self.plots]

    def _set_busy(self, busy: bool) -> None:
        """Show (or take off) the "Building the new problem" note, while a new problem builds
        and the runs restart on it."""
        self.busy_note.visible = busy

    def _method_controls_view(self):
        return pn.Column(*self.method_controls, sizing_mode="stretch_width")

    def sidebar(self, *extra, width: int = 330):
        """Title, transport, x-axis toggle, problem and method controls, export, then ``extra``.

        In a served session it reaches the browser after the first render
        (:func:`after_first_render`), so the plots come first.
        """
        return after_first_render(lambda: self._sidebar_items(*extra, width=width), width=width)

    def _sidebar_items(self, *extra, width: int = 330):
        items = []
        if self.title:
            items.append(pn.pane.Markdown(f"### {self.title}"))
        items += [self.transport(), pn.pane.Markdown("**x axis**", margin=(0, 10)), self.x_toggle]
        items.append(self.chooser.view())
        items.append(self._method_controls_view())
        if self.export_button is not None:
            items.append(self.export_button)
        items.extend(extra)
        return pn.Column(*items, width=width)

    def main(self):
        items = [self.readout(), *self.plot_panes(), self.events_pane, self.lanes_pane]
        items += [c.view() for c in self.companions]
        items.append(self.notes_pane)
        return pn.Column(*items, sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Row(self.sidebar(), self.main(), sizing_mode="stretch_width")


def _destroy_hook(component: "_LiveBase"):
    # Bokeh wants exactly func(session_context); hold the component weakly so a
    # closed session's objects can be collected.
    ref = weakref.ref(component)

    def on_session_destroyed(session_context):
        obj = ref()
        if obj is not None:
            obj._on_session_destroyed(session_context)

    return on_session_destroyed


def _session_arg(name: str) -> str | None:
    """A URL argument of the current session (``?speed=100``), or None."""
    try:
        args = pn.state.session_args or {}
    except Exception:
        return None
    values = args.get(name) or []
    if not values:
        return None
    return values[0].decode() if isinstance(values[0], bytes) else str(values[0])


def _session_flag(name: str) -> bool:
    """A boolean URL argument of the current session (``?autoplay=1``)."""
    value = _session_arg(name)
    return value is not None and value.lower() in ("1", "true", "yes", "on")


def _settings_of(factory: ProblemFactory) -> dict:
    """A factory's current values, to put back after a refused change."""
    return {n: getattr(factory, n) for n in factory.param if n != "name"}


def _settings(method: Method, runner: Runner | None = None) -> str:
    """The method's numeric and choice hyperparameters, compactly: ``omega=1.9``; those the
    run ended with once ``runner`` has finished (a knob moved afterwards did not act on it)."""
    values = method.hyperparameters()
    moved = False
    if runner is not None and runner.done:
        current = values
        values = {k: v for k, v in runner.method_spec().get("params", {}).items() if k in values}
        moved = any(current.get(k) != v for k, v in values.items())
    parts = []
    for name, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float):
            parts.append(f"{name}={value:.4g}")
        elif isinstance(value, (int, str)) and name not in ("kernel",):
            parts.append(f"{name}={value}")
    # (a knob moved after the run ended shows on the widget, not in this finished run)
    return ", ".join(parts) + (" (knobs moved since: they act after Reset)" if moved else "")


class LiveRun(_LiveBase):
    """A live run of one method on one problem, with controls, plots and status.

    Parameters
    ----------
    method : Method
        E.g. ``wb.linear.SOR(omega=1.5)``; its params become widgets.
    problem : Problem, ProblemFactory, str or list of str
        A built problem (its spec gives the problem widgets), a factory, a
        registered name, or several names to choose from. Changing the
        problem resets the run.
    metrics : list of str, optional
        One plot per metric (default: the method's stop metric).
    x_axis : {"iteration", "time", "cost"}
        Initial x axis (a toggle switches).
    cost_axis : bool
        Offer "cost" on the toggle: the methods' ``cost`` metric (gradient-equivalents for
        the optimizers), for races where a step of one method costs many of another's.
    log_y : bool, optional
        Force the y scale; default: log for residuals, gradient norms, ...
    max_points : int
        At most this many points per curve in the browser (decimated display;
        the trace keeps everything).
    overlays : list of callables
        Theory overlays ``f(runner) -> Line | None``, e.g.
        :func:`workbench.ui.overlays.predicted_rate`.
    problem_widgets : dict
        Widget overrides for the problem params, per problem name (or ``"*"``).
    autoplay : bool, optional
        Start on page load (default: the URL argument ``?autoplay=1``).
    notes : callable ``f(live) -> str``, optional
        Markdown re-rendered on reset, problem change and hyperparameter change.
    companions : list
        Extra tick consumers (see :class:`workbench.ui.landscape.OmegaLandscape`).
    **stop
        ``rtol``, ``atol``, ``max_steps``, ... of :class:`workbench.core.Runner`.

    Examples
    --------
    In an ``apps/<slug>.py`` page::

        import workbench as wb
        from workbench.ui import LiveRun
        from workbench.ui.overlays import predicted_rate

        def page():
            return LiveRun(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(32),
                           overlays=[predicted_rate()], rtol=1e-8)
    """

    def __init__(self, method: Method, problem, **kwargs):
        if not isinstance(method, Method):
            raise WorkbenchError(
                f"LiveRun takes one workbench method, got {type(method).__name__}; use Race for several."
            )
        super().__init__([method], problem, **kwargs)

    @property
    def runner(self) -> Runner | None:
        return self.lanes[0].runner

    @property
    def method(self) -> Method:
        return self.lanes[0].method


class Race(_LiveBase):
    """Several methods on the same problem, overlaid, each with its own controls.

    Every tick shares the time budget equally among the methods still running,
    so on the wall-time axis the race is fair, and on the iteration axis the
    cheaper method runs ahead. A method that cannot solve the problem (CG on a
    non-symmetric matrix) shows "failed" with the reason in the table; the
    others run.

    Parameters
    ----------
    methods : list of Method or dict label -> Method
    problem, **kwargs
        As for :class:`LiveRun`.

    Examples
    --------
    ::

        Race({"Jacobi": wb.linear.Jacobi(), "SOR": wb.linear.SOR(omega=1.8),
              "CG": wb.linear.CG()}, ["poisson2d", "anisotropic2d"], rtol=1e-8)
    """

    def _method_controls_view(self):
        cards = [pn.Card(c, title=l.label, collapsed=i > 2, sizing_mode="stretch_width",
                         header_color=l.color)
                 for i, (l, c) in enumerate(zip(self.lanes, self.method_controls))
                 if c.parameters]
        return pn.Column(pn.pane.Markdown("**Methods**", margin=(0, 10)), *cards, sizing_mode="stretch_width")
