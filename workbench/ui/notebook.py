"""The UI layer for Jupyter, on ipywidgets (no Panel): controls and a live run.

* :func:`ipywidgets_controls` builds ipywidgets from a method's or problem's
  ``param`` declarations, linked both ways. Sliders use
  ``continuous_update=False`` (the value changes on release), the notebook
  twin of Panel's throttled sliders. A number gets a text box instead of a
  slider where a slider would misrepresent it (the rules of
  :func:`workbench.ui.param_widgets.widget_overrides`): its value is off the
  slider's grid (Adam's ``beta2 = 0.999`` on a 0..0.995 grid), its range spans
  more than four decades (a condition number from 1 to 1e12), an integer
  range is too long to drag, or it may be unset (``None``). A float that is or may be
  infinite (Prodigy's ``growth_rate = inf``) gets a text box that reads "inf": JSON,
  and so a number box, cannot carry Infinity. Widgets of the
  params an object reports in ``inert_params()`` are disabled.
* :class:`NotebookRun` is a live run in a notebook: method / problem controls,
  Play / Pause / Step / Reset, the iteration counter, the status sentence and
  a Bokeh convergence plot (through ``jupyter_bokeh``), advanced by one asyncio
  task on the kernel's event loop, a time slice at a time, through the core's
  :class:`~workbench.core.Runner`. :meth:`NotebookRun.run` finishes the run
  synchronously, for scripts and headless execution.
"""
from __future__ import annotations

import asyncio
import html
import logging
import math
from types import SimpleNamespace
from typing import Mapping

import param

from ..core import Method, Problem, Runner, Status, WorkbenchError
from ..core.errors import InvalidParameter
from ..core.registry import get_problem_factory
from ..core.runner import check_stop_keywords
from .param_widgets import _public, disable_inert, slider_grid
from .plots import ConvergencePlot, PALETTE, wants_log_axis

__all__ = ["ipywidgets_controls", "close_controls", "NotebookRun"]

log = logging.getLogger(__name__)

def _widget_for(obj: param.Parameterized, name: str):
    import ipywidgets as w

    p = obj.param[name]
    value = getattr(obj, name)
    label = name.replace("_", " ")
    style = {"description_width": "initial"}
    common = dict(description=label, style=style, tooltip=(p.doc or "").strip())
    if isinstance(p, param.Boolean):
        return w.Checkbox(value=bool(value), **common)
    if isinstance(p, param.Selector) and p.objects:
        objects = list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)
        return w.Dropdown(options=objects, value=value, **common)
    if isinstance(p, param.Number):
        integer = isinstance(p, param.Integer)
        if value is None or p.allow_None:
            # "unset" (Prodigy's beta3 = None means "use sqrt(beta2)", a horizon of None means
            # none): no slider or number box can show None, a text box can; clearing it
            # restores None (see _to_param).
            widget = w.Text(value="", placeholder="unset (default)", continuous_update=False, **common)
            widget.wb_number = int if integer else float
            widget.wb_optional = True
            widget.value = _to_widget(widget, value)
            return widget
        if not integer and _non_finite(p, value):
            # Prodigy's growth_rate = inf ("no limit"): a FloatText cannot hold it (JSON has no
            # Infinity: the kernel sends the string 'inf', the browser sends back null). A text
            # box shows "inf" and parses what is typed ("inf" included).
            widget = w.Text(value="", placeholder="a number, or inf", continuous_update=False, **common)
            widget.wb_number = float
            widget.wb_optional = False
            widget.value = _to_widget(widget, value)
            return widget
        grid = slider_grid(p, value)
        if grid is not None:
            start, end, step = grid
            if integer:
                return w.IntSlider(value=int(value), min=int(start), max=int(end), step=int(step),
                                   continuous_update=False, **common)
            # d3's format with no type is "~g", trailing zeros trimmed: 0.001 reads "0.001",
            # where ".3g" read "0.00100" (ipywidgets refuses the "~" spelled out).
            return w.FloatSlider(value=float(value), min=start, max=end, step=step, readout_format=".4",
                                 continuous_update=False, **common)
        # A box that keeps every digit and clamps nothing: a value the param refuses is refused
        # with its sentence (see ipywidgets_controls), never silently moved to a bound.
        if integer:
            return w.IntText(value=int(value), continuous_update=False, **common)
        return w.FloatText(value=float(value), continuous_update=False, **common)
    if isinstance(p, param.String):
        return w.Text(value=str(value or ""), continuous_update=False, **common)
    return None


def _non_finite(p: param.Number, value) -> bool:
    """Whether a float param's value or one of its bounds is infinite or NaN: no number box
    can carry it (JSON has no Infinity), so it gets a text box."""
    ends = [b for b in (p.bounds or ()) if b is not None]
    if getattr(p, "softbounds", None):
        ends += [b for b in p.softbounds if b is not None]
    numbers = [value, *ends]
    return any(isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isfinite(v)
               for v in numbers)


def _to_param(widget, value, name: str = "the value"):
    """The param value a widget's value stands for: text boxes of numbers parse it (an optional
    one's empty box is None; a float box takes "inf")."""
    number = getattr(widget, "wb_number", None)
    if number is None:
        return value
    text = str(value).strip()
    optional = getattr(widget, "wb_optional", True)
    kind = "a whole number" if number is int else "a number"
    if not text:
        if optional:
            return None
        raise InvalidParameter(f"{name} needs {kind}; type one (inf for no limit).")
    try:
        parsed = number(text) if number is float else int(text)
    except ValueError:
        hint = "or clear the box to leave it unset" if optional else "inf for no limit"
        raise InvalidParameter(f"{name} = {text!r} is not {kind}; type {kind}, {hint}.") from None
    if number is float and math.isnan(parsed):
        raise InvalidParameter(f"{name} = {text!r} is not a number; type a number (inf for no limit).")
    return parsed


def _to_widget(widget, value):
    if getattr(widget, "wb_number", None) is None:
        return value
    # Every digit (repr of the float): the box must not show, nor later write back, a rounding.
    return "" if value is None else str(widget.wb_number(value))


def _show(widget, value) -> None:
    """Put ``value`` into ``widget`` without the widget writing anything back into the param
    (a slider clamps a value past its ends; that approximation must not become the value)."""
    widget.wb_syncing = True
    try:
        widget.value = _to_widget(widget, value)
    except Exception:  # a value this widget cannot hold: the param keeps it all the same
        log.debug("widget %s cannot show %r", widget.description, value, exc_info=True)
    finally:
        widget.wb_syncing = False


class _DisableHandle:
    """An ipywidget as :func:`~workbench.ui.param_widgets.disable_inert` sees a Panel widget:
    something with a ``disabled`` parameter."""

    param = ("disabled",)

    def __init__(self, widget):
        self.widget = widget

    @property
    def disabled(self) -> bool:
        return bool(self.widget.disabled)

    @disabled.setter
    def disabled(self, value) -> None:
        self.widget.disabled = bool(value)


def _all_watchers(obj) -> list:
    return [w for what in obj.param.watchers.values() for ws in what.values() for w in ws]


def _control_names(obj, parameters) -> list[str]:
    """The names :func:`ipywidgets_controls` makes widgets for: ``parameters`` (one name or a
    list of names, each a control of ``obj``), or all of them."""
    if not isinstance(obj, param.Parameterized):
        raise WorkbenchError("expected a workbench method or problem factory (a param.Parameterized), "
                             f"got {type(obj).__name__}; build one with workbench.get_method(name, ...) "
                             "or workbench.get_problem_factory(name)().")
    if parameters is None:
        return _public(obj, None)
    if isinstance(parameters, str):  # one name, not its letters
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise InvalidParameter(f"parameters is a list of parameter names (or one name), got "
                               f"{type(parameters).__name__}.") from None
    known = _public(obj, None)
    unknown = [n for n in parameters if n not in known]
    if unknown:
        label = getattr(obj, "registry_name", "") or type(obj).__name__
        raise InvalidParameter(f"{label} has no control {unknown[0]!r}; its controls are "
                               f"{', '.join(known) or 'none'}.")
    return _public(obj, parameters)


def ipywidgets_controls(obj: param.Parameterized, parameters=None):
    """ipywidgets for the params of ``obj``, linked both ways; returns a ``VBox``.

    A value the object rejects (outside the bounds, wrong type) is shown in red
    under the widgets and the widget snaps back; nothing is raised. Each widget's refusal
    stands until its own param gets a value (from the widget or from code); several
    standing refusals are shown one a line, the latest last. A value set
    from code that a widget cannot show exactly stays the object's value (the
    widget never writes its approximation back). Widgets of the params
    ``obj.inert_params()`` names are disabled, following every change.

    ``box.wb_widgets`` maps param names to their widgets; :func:`close_controls`
    removes the links (the object outlives the widgets).

    Examples
    --------
    >>> import workbench as wb
    >>> from workbench.ui import ipywidgets_controls
    >>> sor = wb.linear.SOR(omega=1.5)
    >>> box = ipywidgets_controls(sor)
    >>> box.children[0].description, box.children[0].continuous_update
    ('omega', False)
    >>> box.children[0].value = 1.8
    >>> sor.omega
    1.8
    """
    import ipywidgets as w

    names = _control_names(obj, parameters)
    error = w.HTML("")
    # The standing refusal of each widget (name -> sentence), oldest first: a refusal stays
    # until its own param gets a value (typed into its widget or set from code), whatever
    # the other widgets do.
    refusals: dict[str, str] = {}

    def say() -> None:
        error.value = "<br>".join(f"<span style='color:#b00'>{html.escape(text)}</span>"
                                  for text in refusals.values())
    widgets: dict = {}
    before = {id(x) for x in _all_watchers(obj)}
    for name in names:
        widget = _widget_for(obj, name)
        if widget is None:
            continue
        widget.wb_syncing = False
        widgets[name] = widget

        def push(change, name=name, widget=widget):
            if widget.wb_syncing:
                return
            try:
                setattr(obj, name, _to_param(widget, change["new"], name))
            except Exception as exc:  # param's bound / type checks, unparsable text
                _show(widget, getattr(obj, name))
                refusals.pop(name, None)  # (the latest refusal goes last)
                refusals[name] = str(exc)
                say()
                return
            if refusals.pop(name, None) is not None:
                say()

        widget.observe(push, "value")

        def pull(event, widget=widget, name=name):
            try:
                same = _to_param(widget, widget.value) == event.new
            except WorkbenchError:
                same = False
            if not same:
                _show(widget, event.new)
            # The param took a value (from code, or from this widget): its refusal is over.
            if refusals.pop(name, None) is not None:
                say()

        obj.param.watch(pull, name)
    if hasattr(obj, "inert_params") and widgets:
        handles = {name: _DisableHandle(widget) for name, widget in widgets.items()}
        disable_inert(obj, SimpleNamespace(_widgets=handles), list(widgets))
    ordered = list(widgets.values())
    # Omega first: the knob the notebooks are about.
    ordered.sort(key=lambda wd: wd.description != "omega")
    box = w.VBox([*ordered, error])
    box.wb_widgets = widgets
    box.wb_links = [(obj, x) for x in _all_watchers(obj) if id(x) not in before]
    return box


def close_controls(box) -> None:
    """Unlink the widgets of :func:`ipywidgets_controls` from their object and close them."""
    for obj, watcher in getattr(box, "wb_links", []):
        try:
            obj.param.unwatch(watcher)
        except Exception:
            pass
    box.wb_links = []
    for child in box.children:
        child.close()
    box.close()


def _positive_number(name, value, what) -> float:
    try:
        number = float(value) if not isinstance(value, (bool, str)) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise InvalidParameter(f"{name} is {what}: a positive number, got {value!r}.")
    return number


def _whole_number(name, value, least, what) -> int:
    try:
        number = float(value) if not isinstance(value, (bool, str)) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number == int(number) and number >= least):
        raise InvalidParameter(f"{name} is {what}: a whole number, at least {least}, got {value!r}.")
    return int(number)


class NotebookRun:
    """A live run in a Jupyter notebook, on ipywidgets.

    Parameters
    ----------
    methods : Method or dict label -> Method
        With several, a drop-down chooses the method (changing it resets).
    problem : Problem
        A registered problem (its parameters get widgets; changing one resets,
        except one the factory reports inert; a change the factory cannot build
        is refused and its widget goes back).
    metric : str, optional
        The plotted metric (default: the method's stop metric). It must be one
        the first method reports; a method chosen later that does not report it
        plots its own stop metric.
    max_points : int
        Bound on the plotted points (decimated display, full trace kept).
    tick_seconds : float
        Compute per tick when playing.
    **stop
        ``rtol``, ``max_steps``, ... of :class:`~workbench.core.Runner`.

    Examples
    --------
    ::

        run = NotebookRun({"SOR": wb.linear.SOR(omega=1.5), "Jacobi": wb.linear.Jacobi()},
                          wb.problems.poisson2d(32), rtol=1e-8)
        run           # displays the widget; press Play, move omega
        run.run()     # or finish synchronously (headless)
        run.close()   # before building another run on the same methods (unlinks the widgets)
    """

    def __init__(self, methods, problem: Problem, *, metric: str | None = None, max_points: int = 2000,
                 tick_seconds: float = 0.03, plot_height: int = 320, problem_parameters=None, **stop):
        import ipywidgets as w

        if isinstance(methods, Method):
            methods = {methods.registry_name or type(methods).__name__: methods}
        if not isinstance(methods, Mapping) or not methods:
            raise WorkbenchError("NotebookRun needs a method or a dict of label -> method.")
        for label, method in methods.items():
            if not isinstance(method, Method):
                raise WorkbenchError(f"NotebookRun needs workbench methods, got {type(method).__name__} for "
                                     f"{label!r}; build one with workbench.get_method(name, ...).")
        check_stop_keywords(stop, "a notebook run",
                            "the plotted metric is metric=, and a problem's settings go to its constructor")
        # A label is shown as text (the drop-down, the legend): a non-string one is its str().
        self.methods = {str(label): method for label, method in methods.items()}
        if len(self.methods) < len(methods):
            raise InvalidParameter("two methods have labels that read the same as text; give each method "
                                   "its own label.")
        self.label = next(iter(self.methods))
        self.stop = stop
        self.tick_seconds = _positive_number("tick_seconds", tick_seconds, "the compute per tick, in seconds "
                                             "(try 0.03)")
        # The plot keeps at least 16 points per curve (ConvergencePlot's floor).
        self.max_points = _whole_number("max_points", max_points, 16, "the most points plotted per curve "
                                        "(try 2000)")
        self.plot_height = _whole_number("plot_height", plot_height, 1, "the plot's height in pixels (try 320)")
        self.problem = problem
        self._task = None
        self.playing = False
        self.error = ""
        self.runner: Runner | None = None
        self._metric = metric
        self._plots: dict = {}           # (label, metric, log) -> (ConvergencePlot, BokehModel)
        self._controls: dict = {}        # label -> the method's controls, built once
        self._links: list = []           # (object, watcher) this run added, for close()
        self._snapping = False
        self._start()
        if metric is not None and self.runner is not None and metric not in self.runner.trace:
            reported = [c for c in self.runner.trace.columns if c not in ("iteration", "time", "step_time")]
            raise InvalidParameter(f"cannot plot {metric!r}: {self.label} reports {', '.join(reported)}; "
                                   "pass one of them as metric=.")

        # -- widgets ----------------------------------------------------------------
        self.method_select = w.Dropdown(options=list(self.methods), value=self.label, description="method",
                                        layout=w.Layout(display="" if len(self.methods) > 1 else "none"))
        self.method_select.observe(self._on_method, "value")
        self.method_box = w.VBox([self._controls_for(self.label)])
        self.problem_box = w.VBox([])
        self._factory = None
        self._built: dict = {}
        spec = getattr(problem, "_spec", None)
        if spec:
            self._factory = get_problem_factory(spec["name"])(**spec.get("params", {}))
            self._built = self._factory_values()
            self.problem_box.children = [ipywidgets_controls(self._factory, problem_parameters)]
            self._links.append((self._factory, self._factory.param.watch(
                self._on_problem, [n for n in self._factory.param if n != "name"])))
        self.buttons = {name: w.Button(description=name, layout=w.Layout(width="70px"))
                        for name in ("Play", "Pause", "Step", "Reset")}
        self.buttons["Play"].on_click(lambda b: self.play())
        self.buttons["Pause"].on_click(lambda b: self.pause())
        self.buttons["Step"].on_click(lambda b: self.step())
        self.buttons["Reset"].on_click(lambda b: self.reset())
        self.iteration_label = w.HTML()
        # Shown while a changed problem builds: a kernel sends widget changes as they are made,
        # so the note is in the notebook during the build (a served page must wait a turn).
        self.busy_label = w.HTML("<i>Building the new problem&hellip;</i>", layout=w.Layout(display="none"))
        self.status_label = w.HTML()
        for method in self.methods.values():
            self._links.append((method, method.param.watch(
                self._on_hyperparameter, [n for n in method.param if n != "name"])))
        self._show_plot()
        self.widget = w.VBox([
            w.HBox([w.VBox([self.method_select, self.method_box, self.problem_box]),
                    w.VBox([w.HBox(list(self.buttons.values())), self.iteration_label, self.busy_label,
                            self.status_label])]),
            self.figure_widget,
        ])
        self.refresh()

    # -- state ----------------------------------------------------------------------------
    @property
    def method(self) -> Method:
        return self.methods[self.label]

    @property
    def metric(self) -> str:
        """The plotted metric: the one asked for if the current method reports it, else its stop metric."""
        if self._metric is not None and (self.runner is None or self._metric in self.runner.trace):
            return self._metric
        return self.method.stop_metric

    def _factory_values(self) -> dict:
        return {n: getattr(self._factory, n) for n in self._factory.param if n != "name"}

    def _controls_for(self, label: str):
        # Built once per method: each new set would leave its links on the method for good.
        if label not in self._controls:
            self._controls[label] = ipywidgets_controls(self.methods[label])
        return self._controls[label]

    def _show_plot(self) -> None:
        """The plot of the current method and metric (made once per method, metric and axis)."""
        from jupyter_bokeh import BokehModel

        metric = self.metric
        first = None
        if self.runner is not None and len(self.runner.trace) and metric in self.runner.trace:
            first = float(self.runner.trace[metric][0])
        log_y = wants_log_axis(metric, first, stop_metric=self.method.stop_metric)
        key = (self.label, metric, log_y)
        if key not in self._plots:
            plot = ConvergencePlot(metric, log_y=log_y, max_points=self.max_points, height=self.plot_height)
            plot.add_curve("run", self.label, PALETTE[list(self.methods).index(self.label) % len(PALETTE)])
            plot.figure.sizing_mode = "fixed"
            plot.figure.width = 640
            self._plots[key] = (plot, BokehModel(plot.figure))
        self.plot, self.figure_widget = self._plots[key]
        widget = getattr(self, "widget", None)
        if widget is not None and widget.children[-1] is not self.figure_widget:
            widget.children = (*widget.children[:-1], self.figure_widget)

    def _start(self):
        self.error = ""
        try:
            self.runner = Runner(self.method, self.problem, **self.stop)
        except Exception as exc:  # incompatible problem, bad parameter: say so, keep the notebook alive
            from ..core.errors import error_sentence

            self.runner = None
            self.error = error_sentence(exc)

    def _restart(self):
        self.pause()
        self._start()
        self._show_plot()
        self.plot.clear("run", empty=self.runner is None)
        self.plot.set_vline("change", None)
        self.refresh()

    def _on_method(self, change):
        self.label = change["new"]
        self.method_box.children = [self._controls_for(self.label)]
        self._restart()

    def _on_problem(self, *events):
        factory = self._factory
        if self._snapping:
            return
        # A param the current values make inert (the sequence's alpha while the setting is
        # "high") builds the same problem: the run goes on.
        if all(e.name in factory.inert_params() for e in events):
            return
        # (on through the restart too: a method's set-up on the new problem, an AMG hierarchy
        # say, can take as long as the build)
        self.busy_label.layout.display = ""
        try:
            try:
                problem = factory.make()
            except Exception as exc:
                # Keep the run and put the factory (and so its widgets) back to the values that
                # built it, so the controls show the problem the run is on; the reason stays shown.
                self._snapping = True
                try:
                    factory.param.update(**self._built)
                except Exception:
                    log.debug("could not restore the problem's settings", exc_info=True)
                finally:
                    self._snapping = False
                self.error = f"Problem not changed: {exc}"
                self.refresh()
                return
            self._built = self._factory_values()
            self.problem = problem
            self._restart()
        finally:
            self.busy_label.layout.display = "none"

    def _on_hyperparameter(self, *events):
        # The next step reads the new value: no reset. Mark where it happened, unless the run
        # does not read it (an inert param) or has finished (the knob acts on no iteration).
        r = self.runner
        for event in events:
            if event.obj is not self.method or event.name in self.method.inert_params():
                continue
            if r is not None and not r.done:
                self.plot.set_vline("change", r.iteration, color="#ff7f0e")
        self.refresh()

    # -- transport ------------------------------------------------------------------------
    def play(self) -> None:
        """Advance in the background (one asyncio task on the kernel's loop) until paused or done."""
        if self.runner is None or self.runner.done:
            return
        self.playing = True
        if self._task is not None and not self._task.done():
            # Paused a moment ago and not yet woken: that loop sees `playing` again and goes on.
            # (A second loop would advance the same run twice as often.)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        self._task = loop.create_task(self._play())

    async def _play(self):
        try:
            while self.playing and self.runner is not None and not self.runner.done:
                self._advance(max_seconds=self.tick_seconds)
                self.refresh()
                await asyncio.sleep(0.05)
        finally:
            self.playing = False
            self.refresh()

    def _advance(self, **budget) -> None:
        """Advance the runner; an exception it lets through (an observer's) ends the run as
        failed, with the reason in the status line. The trace so far is kept."""
        r = self.runner
        if r is None:
            return
        try:
            r.advance(**budget)
        except Exception as exc:
            log.warning("notebook run failed", exc_info=True)
            self.playing = False
            r.status = Status.FAILED
            r.detail = f"{type(exc).__name__}: {exc} (raised while advancing; the trace so far is kept)"

    def pause(self) -> None:
        self.playing = False

    def step(self) -> None:
        self.pause()
        if self.runner is not None and not self.runner.done:
            self._advance(max_steps=1)
        self.refresh()

    def reset(self) -> None:
        self._restart()

    def run(self, max_seconds: float | None = None):
        """Finish the run synchronously (or for ``max_seconds``) and return its Result."""
        self.pause()
        if self.runner is None:
            raise WorkbenchError(f"there is no run to advance: {self.error or 'it could not start'}")
        self._advance(max_seconds=max_seconds)
        self.refresh()
        return self.runner.result()

    def close(self) -> None:
        """Stop, unlink every widget from the methods and the problem settings, close the widgets.

        Each run links its widgets to its methods' params; a run built again on the same
        method objects (a re-executed cell) adds links of its own, so close the old one."""
        self.pause()
        for obj, watcher in self._links:
            try:
                obj.param.unwatch(watcher)
            except Exception:
                pass
        self._links = []
        for box in [*self._controls.values(), *self.problem_box.children]:
            close_controls(box)
        self._controls = {}

    # -- display --------------------------------------------------------------------------
    def refresh(self) -> None:
        r = self.runner
        if r is not None:
            self.plot.update("run", r.trace)
            per = r.elapsed / r.iteration if r.iteration else math.nan
            per_text = f" · {per * 1e6:.1f} µs per iteration" if math.isfinite(per) else ""
            self.iteration_label.value = f"Iteration <b>{r.iteration}</b>{per_text}"
            label, sentence = r.status.label, r.message
        else:
            self.iteration_label.value = "Iteration <b>0</b>"
            label, sentence = "failed", f"Could not start: {self.error}"
        notes = []
        if self.error and r:
            notes.append(self.error)
        if self._metric is not None and self.metric != self._metric:
            notes.append(f"{self.label} does not report {self._metric}; the plot shows {self.metric}.")
        extra = "".join(f" <span style='color:#b00'>{html.escape(n)}</span>" for n in notes)
        self.status_label.value = f"<b>{label}</b> — {html.escape(sentence)}{extra}"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
