"""Live convergence plots on Bokeh, shared by the Panel components and the notebooks.

A :class:`ConvergencePlot` draws one metric (residual, loss, ...) of one or
more runs against iteration or wall time. It never holds more than
``max_points`` points per curve: new trace rows are *streamed* (only the rows
the browser has not seen travel over the websocket), and when a curve would
grow past the bound it is replaced by :meth:`workbench.core.Trace.decimate`
of the full trace (first, last, min and max of each bucket), which keeps the
spikes and the final value. The trace itself is never thinned.

This module imports Bokeh only, so the ipywidgets notebook adapter can use it
without Panel.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from bokeh.models import ColumnDataSource, Span
from bokeh.palettes import Category10_10, Category20_20
from bokeh.plotting import figure

__all__ = ["ConvergencePlot", "PALETTE", "LOG_METRICS", "LINEAR_METRICS", "wants_log_axis"]

#: Curve and lane colours: Category10, then the light halves of Category20's pairs, so a race
#: of up to 20 lanes has 20 distinct colours (the first ten as before).
PALETTE = list(Category10_10) + [c for c in Category20_20[1::2] if c not in Category10_10]

#: Metrics that decay geometrically and are positive: shown on a log axis.
LOG_METRICS = frozenset({
    "residual", "relative_residual", "grad_norm", "distance", "error", "gap", "suboptimality",
    "marginal_error", "step_norm", "lr", "loss_gap", "hypergradient_norm", "penalty_residual", "lower_gap",
    "fixed_point_residual", "kkt_residual",
    # the proximal methods' stop metric (ISTA, FISTA, coordinate descent: 23.7 -> 2e-9), the
    # LASSO race's objective gap, IHT's relative error and CBO's particle spread
    "optimality", "objective_gap", "relative_error", "spread",
})

#: Metrics read on a linear axis even when they are a method's stop metric: counts, indices
#: (``remaining`` counts the instances a sequence run has left; it ends at 0).
LINEAR_METRICS = frozenset({"remaining", "instance", "nnz", "iteration", "coordinate"})

#: "cost" is an optimizer's work in gradient-equivalents (its metric ``cost``; the step count
#: where a method does not report one), so a Newton step that needs a Hessian is charged for it.
X_AXES = {"iteration": "iteration", "time": "wall time (s)", "cost": "cost (gradient evaluations)"}


def wants_log_axis(metric: str, first_value: float | None = None, *,
                   stop_metric: str | None = None) -> bool:
    """Log y axis for geometric-decay metrics (:data:`LOG_METRICS`), for the method's own
    ``stop_metric`` when its first value is positive (the quantity a tolerance bounds is read
    in decades: on a linear axis most of the run is a flat line at 0), and for a loss whose
    first value is positive (least squares, logistic). Never for the counts of
    :data:`LINEAR_METRICS`."""
    if metric in LINEAR_METRICS:
        return False
    if metric in LOG_METRICS:
        return True
    if first_value is None or not math.isfinite(first_value) or first_value <= 0:
        return False
    return metric == stop_metric or metric in ("loss", "objective", "value")


class ConvergencePlot:
    """One Bokeh figure: ``metric`` against iteration (or wall time) for several curves.

    Parameters
    ----------
    metric : str
        Trace column on the y axis.
    log_y : bool
        Log y axis; non-positive values are not drawn (a residual of exactly 0).
    x_axis : {"iteration", "time", "cost"}
        Initial x axis; :meth:`set_x_axis` toggles it.
    max_points : int
        Bound on the points held per curve in the browser.
    title, height : figure title and height in pixels.

    Examples
    --------
    >>> import workbench as wb
    >>> from workbench.ui.plots import ConvergencePlot
    >>> r = wb.Runner(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(8))
    >>> plot = ConvergencePlot("residual", log_y=True)
    >>> plot.add_curve("sor", "SOR")
    >>> _ = r.advance(max_steps=10)
    >>> plot.update("sor", r.trace)
    11
    """

    def __init__(self, metric: str, *, log_y: bool = True, x_axis: str = "iteration",
                 max_points: int = 2000, title: str | None = None, height: int = 320,
                 y_label: str | None = None, x_range=None, step_label: str = "iteration"):
        if x_axis not in X_AXES:
            raise ValueError(f"x_axis must be one of {sorted(X_AXES)}")
        if max_points < 16:
            raise ValueError("max_points must be at least 16")
        self.metric = metric
        #: what the step axis counts ("instance" for a sequence run, one system per step)
        self.step_label = step_label
        self.log_y = bool(log_y)
        self.x_axis = x_axis
        self.max_points = int(max_points)
        kw = {} if x_range is None else {"x_range": x_range}
        self.figure = figure(
            title=title or metric.replace("_", " "),
            y_axis_type="log" if self.log_y else "linear",
            height=height, sizing_mode="stretch_width",
            tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
            x_axis_label=self._axis_label(x_axis), y_axis_label=y_label or metric.replace("_", " "),
            **kw,
        )
        self._sources: dict[str, ColumnDataSource] = {}
        self._renderers: dict[str, list] = {}
        self._shown: dict[str, int] = {}   # trace rows already represented in the browser
        self._held: dict[str, int] = {}    # points the browser holds for that curve
        self._overlays: dict[str, tuple[ColumnDataSource, object]] = {}
        self._spans: dict[str, Span] = {}
        self._span_at: dict[str, float | None] = {}  # key -> iteration marked (None: hidden)
        self.decimations = 0

    # -- curves ------------------------------------------------------------------
    def add_curve(self, key: str, label: str | None = None, color: str | None = None,
                  width: float = 2.0) -> None:
        color = color or PALETTE[len(self._sources) % len(PALETTE)]
        source = ColumnDataSource({"iteration": [], "time": [], "cost": [], "y": []})
        line = self.figure.line(x=self.x_axis, y="y", source=source, color=color,
                                line_width=width, legend_label=label or key)
        self._sources[key] = source
        self._renderers[key] = [line]
        self._shown[key] = 0
        self._held[key] = 0
        # The x range follows the measured curves only: a theory line running to its
        # predicted convergence far to the right must not squash the data.
        x_range = self.figure.x_range
        if hasattr(x_range, "renderers"):
            current = x_range.renderers if isinstance(x_range.renderers, list) else []
            x_range.renderers = [*current, line]
        self._place_legend()

    def _place_legend(self) -> None:
        legend = self.figure.legend[0] if self.figure.legend else None
        if legend is None:
            return
        legend.click_policy = "hide"
        legend.label_text_font_size = "9pt"
        legend.visible = len(legend.items) > 1
        if legend not in self.figure.right:
            # Outside the plot area, to the right: it never hides a curve.
            self.figure.center = [r for r in self.figure.center if r is not legend]
            self.figure.add_layout(legend, "right")

    @property
    def keys(self) -> list[str]:
        return list(self._sources)

    def points(self, key: str) -> int:
        """Points the browser currently holds for curve ``key``."""
        return self._held[key]

    def _clean(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        if self.log_y:
            y = np.where(y > 0, y, np.nan)
        return y

    def _columns(self, rows: dict) -> dict:
        n = len(next(iter(rows.values()))) if rows else 0
        y = rows.get(self.metric)
        return {
            "iteration": rows.get("iteration", np.arange(n, dtype=float)),
            "time": rows.get("time", np.zeros(n)),
            "cost": rows.get("cost", rows.get("iteration", np.arange(n, dtype=float))),
            "y": self._clean(y if y is not None else np.full(n, np.nan)),
        }

    def update(self, key: str, trace) -> int:
        """Send the rows of ``trace`` the browser has not seen; return the points now held.

        Streams the new rows; if that would exceed ``max_points`` the curve is
        replaced by a decimation of the full trace to ``max_points // 2`` points
        (so the next replacement is ``max_points // 2`` rows away).
        """
        n = len(trace)
        shown = self._shown[key]
        if n == shown:
            return self._held[key]
        source = self._sources[key]
        if n < shown:  # the trace was reset under us
            shown = 0
            self._held[key] = 0
        new = n - shown
        if self._held[key] + new <= self.max_points:
            cols = self._columns(trace.rows(shown, n))
            if shown == 0:
                source.data = cols
            else:
                source.stream(cols)
            self._held[key] += new
        else:
            by = self.metric if self.metric in trace else None
            cols = self._columns(trace.decimate(self.max_points // 2, by=by))
            source.data = cols
            self._held[key] = len(cols["y"])
            self.decimations += 1
        self._shown[key] = n
        return self._held[key]

    def clear(self, key: str | None = None, empty: bool = False) -> None:
        """Forget what the browser holds: the next :meth:`update` replaces the curve.

        The data are not emptied here unless ``empty=True``: two replacements of
        one source inside a single batched update may reach the browser out of
        order, so the replacement is left to ``update``.
        """
        for k in [key] if key is not None else list(self._sources):
            if empty:
                self._sources[k].data = {"iteration": [], "time": [], "cost": [], "y": []}
            self._shown[k] = 0
            self._held[k] = 0

    # -- axes ----------------------------------------------------------------------
    def _axis_label(self, x_axis: str) -> str:
        return self.step_label if x_axis == "iteration" else X_AXES[x_axis]

    def set_x_axis(self, x_axis: str) -> None:
        """Switch every curve between iteration, wall time and cost; overlays (drawn in
        iterations) are hidden on the other axes."""
        if x_axis not in X_AXES:
            raise ValueError(f"x_axis must be one of {sorted(X_AXES)}")
        if x_axis == self.x_axis:
            return
        self.x_axis = x_axis
        for renderers in self._renderers.values():
            for r in renderers:
                r.glyph.x = x_axis
        self.figure.xaxis.axis_label = self._axis_label(x_axis)
        for _, renderer in self._overlays.values():
            renderer.visible = x_axis == "iteration"
        for key, span in self._spans.items():
            span.visible = x_axis == "iteration" and self._span_at.get(key) is not None

    # -- theory overlays --------------------------------------------------------------
    def set_overlay(self, key: str, x: Iterable[float] | None, y: Iterable[float] | None,
                    label: str | None = None, color: str = "black", dash: str = "dashed") -> None:
        """Draw (or replace, or with ``x=None`` hide) a theory line in iteration units."""
        if key not in self._overlays:
            if x is None or y is None:
                return  # nothing to draw yet: no legend entry either
            source = ColumnDataSource({"x": [], "y": []})
            renderer = self.figure.line(x="x", y="y", source=source, color=color, line_dash=dash,
                                        line_width=1.5, alpha=0.8, legend_label=label or key)
            self._overlays[key] = (source, renderer)
            self._place_legend()
        source, renderer = self._overlays[key]
        if label is not None:
            self._relabel(renderer, label)
        if x is None or y is None:
            source.data = {"x": [], "y": []}
            renderer.visible = False
            return
        source.data = {"x": np.asarray(x, dtype=float), "y": self._clean(y)}
        renderer.visible = self.x_axis == "iteration"

    def _relabel(self, renderer, label: str) -> None:
        for legend in self.figure.legend:
            for item in legend.items:
                if renderer in item.renderers:
                    current = item.label.get("value") if isinstance(item.label, dict) else getattr(item.label, "value", None)
                    if current != label:
                        item.label = {"value": label}

    def set_vline(self, key: str, location: float | None, color: str = "gray") -> None:
        """A vertical marker (e.g. an iteration of interest); ``None`` hides it."""
        span = self._spans.get(key)
        if span is None:
            span = Span(dimension="height", line_dash="dotted", line_color=color, line_width=1.5)
            self.figure.add_layout(span)
            self._spans[key] = span
        # An iteration marker means nothing on the wall-time axis: hidden there, like the overlays.
        self._span_at[key] = location
        span.visible = location is not None and self.x_axis == "iteration"
        if location is not None:
            span.location = float(location)
