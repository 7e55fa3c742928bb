"""The UI layer for Jupyter, on ipywidgets (no Panel): controls and a live run.

* :func:`ipywidgets_controls` builds ipywidgets from a method's or problem's
  ``param`` declarations, linked both ways. Sliders use
  ``continuous_update=False`` (the value changes on release), the notebook
  twin of Panel's throttled sliders.
* :class:`NotebookRun` is a live run in a notebook: method / problem controls,
  Play / Pause / Step / Reset, the iteration counter, the status sentence and
  a Bokeh convergence plot (through ``jupyter_bokeh``), advanced by an asyncio
  task on the kernel's event loop, a time slice at a time, through the core's
  :class:`~workbench.core.Runner`. :meth:`NotebookRun.run` finishes the run
  synchronously, for scripts and headless execution.
"""
from __future__ import annotations

import asyncio
import html
import math
from typing import Mapping

import param

from ..core import Method, Problem, Runner, WorkbenchError
from ..core.registry import get_problem_factory
from .param_widgets import _public, slider_range
from .plots import ConvergencePlot, PALETTE, wants_log_axis

__all__ = ["ipywidgets_controls", "NotebookRun"]


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
    if isinstance(p, param.Number) and value is None:
        # "unset" (e.g. Prodigy's beta3 = None means "use sqrt(beta2)"): no slider or number
        # box can show None, a text box can; clearing it restores None (see _to_param).
        widget = w.Text(value="", placeholder="unset (default)", continuous_update=False, **common)
        widget.wb_number = int if isinstance(p, param.Integer) else float
        return widget
    if isinstance(p, param.Number):
        lo, hi = p.bounds if p.bounds is not None else (None, None)
        integer = isinstance(p, param.Integer)
        bounded = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
        if bounded and (not integer or hi - lo <= 10_000):
            start, end, step = slider_range(p)
            if integer:
                return w.IntSlider(value=int(value), min=int(start), max=int(end), step=int(step),
                                   continuous_update=False, **common)
            return w.FloatSlider(value=float(value), min=start, max=end, step=step, readout_format=".3g",
                                 continuous_update=False, **common)
        if integer:
            return w.BoundedIntText(value=int(value), min=int(lo if lo is not None else -2**31),
                                    max=int(hi if hi is not None else 2**31 - 1), **common)
        return w.FloatText(value=float(value), **common)
    if isinstance(p, param.String):
        return w.Text(value=str(value or ""), continuous_update=False, **common)
    return None


def _to_param(widget, value):
    """The param value a widget's value stands for: text boxes of optional numbers parse it."""
    number = getattr(widget, "wb_number", None)
    if number is None:
        return value
    return None if not str(value).strip() else number(str(value).strip())


def _to_widget(widget, value):
    if getattr(widget, "wb_number", None) is None:
        return value
    return "" if value is None else f"{value:g}"


def ipywidgets_controls(obj: param.Parameterized, parameters=None):
    """ipywidgets for the params of ``obj``, linked both ways; returns a ``VBox``.

    A value the object rejects (outside the bounds, wrong type) is shown in red
    under the widgets and the widget snaps back; nothing is raised.

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

    names = _public(obj, parameters)
    error = w.HTML("")
    widgets = []
    for name in names:
        widget = _widget_for(obj, name)
        if widget is None:
            continue
        widgets.append(widget)

        def push(change, name=name, widget=widget):
            try:
                setattr(obj, name, _to_param(widget, change["new"]))
                error.value = ""
            except Exception as exc:  # param's bound / type checks, unparsable text
                # Snap back first: that change comes through here too and clears the message.
                widget.value = _to_widget(widget, getattr(obj, name))
                error.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

        widget.observe(push, "value")

        def pull(event, widget=widget):
            if _to_param(widget, widget.value) != event.new:
                widget.value = _to_widget(widget, event.new)

        obj.param.watch(pull, name)
    # Omega first: the knob the notebooks are about.
    widgets.sort(key=lambda wd: wd.description != "omega")
    return w.VBox([*widgets, error])


class NotebookRun:
    """A live run in a Jupyter notebook, on ipywidgets.

    Parameters
    ----------
    methods : Method or dict label -> Method
        With several, a drop-down chooses the method (changing it resets).
    problem : Problem
        A registered problem (its parameters get widgets; changing one resets).
    metric : str, optional
        The plotted metric (default: the method's stop metric).
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
    """

    def __init__(self, methods, problem: Problem, *, metric: str | None = None, max_points: int = 2000,
                 tick_seconds: float = 0.03, plot_height: int = 320, problem_parameters=None, **stop):
        import ipywidgets as w
        from jupyter_bokeh import BokehModel

        if isinstance(methods, Method):
            methods = {methods.registry_name or type(methods).__name__: methods}
        if not isinstance(methods, Mapping) or not methods:
            raise WorkbenchError("NotebookRun needs a method or a dict of label -> method.")
        self.methods = dict(methods)
        self.label = next(iter(self.methods))
        self.stop = stop
        self.tick_seconds = float(tick_seconds)
        self.problem = problem
        self._task = None
        self.playing = False
        self.error = ""
        self.runner: Runner | None = None
        self._start()
        first = self.runner.trace[self.runner.metric][0] if self.runner else None
        self.metric = metric or self.method.stop_metric
        self.plot = ConvergencePlot(self.metric, log_y=wants_log_axis(self.metric, first),
                                    max_points=max_points, height=plot_height)
        self.plot.add_curve("run", self.label, PALETTE[0])
        self.plot.figure.sizing_mode = "fixed"
        self.plot.figure.width = 640

        # -- widgets ----------------------------------------------------------------
        self.method_select = w.Dropdown(options=list(self.methods), value=self.label, description="method",
                                        layout=w.Layout(display="" if len(self.methods) > 1 else "none"))
        self.method_select.observe(self._on_method, "value")
        self.method_box = w.VBox([ipywidgets_controls(self.method)])
        self.problem_box = w.VBox([])
        self._factory = None
        spec = getattr(problem, "_spec", None)
        if spec:
            self._factory = get_problem_factory(spec["name"])(**spec.get("params", {}))
            self.problem_box.children = [ipywidgets_controls(self._factory, problem_parameters)]
            self._factory.param.watch(self._on_problem, [n for n in self._factory.param if n != "name"])
        self.buttons = {name: w.Button(description=name, layout=w.Layout(width="70px"))
                        for name in ("Play", "Pause", "Step", "Reset")}
        self.buttons["Play"].on_click(lambda b: self.play())
        self.buttons["Pause"].on_click(lambda b: self.pause())
        self.buttons["Step"].on_click(lambda b: self.step())
        self.buttons["Reset"].on_click(lambda b: self.reset())
        self.iteration_label = w.HTML()
        self.status_label = w.HTML()
        self.figure_widget = BokehModel(self.plot.figure)
        for method in self.methods.values():
            method.param.watch(self._on_hyperparameter, [n for n in method.param if n != "name"])
        self.widget = w.VBox([
            w.HBox([w.VBox([self.method_select, self.method_box, self.problem_box]),
                    w.VBox([w.HBox(list(self.buttons.values())), self.iteration_label, self.status_label])]),
            self.figure_widget,
        ])
        self.refresh()

    # -- state ----------------------------------------------------------------------------
    @property
    def method(self) -> Method:
        return self.methods[self.label]

    def _start(self):
        self.error = ""
        try:
            self.runner = Runner(self.method, self.problem, **self.stop)
        except Exception as exc:  # incompatible problem, bad parameter: say so, keep the notebook alive
            self.runner = None
            self.error = f"{type(exc).__name__}: {exc}"

    def _restart(self):
        self.pause()
        self._start()
        self.plot.clear("run", empty=self.runner is None)
        self.refresh()

    def _on_method(self, change):
        self.label = change["new"]
        self.method_box.children = [ipywidgets_controls(self.method)]
        self._restart()

    def _on_problem(self, event):
        try:
            self.problem = self._factory.make()
        except Exception as exc:
            self.error = f"problem not changed: {exc}"
            self.refresh()
            return
        self._restart()

    def _on_hyperparameter(self, event):
        # The next step reads the new value: no reset. Mark where it happened.
        if self.runner is not None and event.obj is self.method:
            self.plot.set_vline("change", self.runner.iteration, color="#ff7f0e")
        self.refresh()

    # -- transport ------------------------------------------------------------------------
    def play(self) -> None:
        """Advance in the background (an asyncio task on the kernel's loop) until paused or done."""
        if self.playing or self.runner is None or self.runner.done:
            return
        self.playing = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        self._task = loop.create_task(self._play())

    async def _play(self):
        try:
            while self.playing and self.runner is not None and not self.runner.done:
                self.runner.advance(max_seconds=self.tick_seconds)
                self.refresh()
                await asyncio.sleep(0.05)
        finally:
            self.playing = False
            self.refresh()

    def pause(self) -> None:
        self.playing = False

    def step(self) -> None:
        self.pause()
        if self.runner is not None:
            self.runner.advance(max_steps=1)
        self.refresh()

    def reset(self) -> None:
        self._restart()

    def run(self, max_seconds: float | None = None):
        """Finish the run synchronously (or for ``max_seconds``) and return its Result."""
        self.pause()
        if self.runner is None:
            raise WorkbenchError(self.error or "there is no run to advance.")
        self.runner.advance(max_seconds=max_seconds)
        self.refresh()
        return self.runner.result()

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
        extra = f" <span style='color:#b00'>{html.escape(self.error)}</span>" if self.error and r else ""
        self.status_label.value = f"<b>{label}</b> — {html.escape(sentence)}{extra}"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
