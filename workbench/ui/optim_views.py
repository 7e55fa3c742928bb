"""Companion views for optimizer races: trajectories over a contour map and extra metric panels.

They plug into :class:`workbench.ui.Race` like the convergence plot does, and are
shared by the step-size, schedules and optimizer-race pages.
"""
from __future__ import annotations

import numpy as np


class TrajectoryMap:
    """Companion of a live race: the paths of 2-D iterates over the objective's contour map.

    An observer (``map.observe``, passed to each lane's runner) records every
    iterate, so no step is lost between two screen refreshes; past
    ``max_points`` per path it keeps every second point of what follows
    (doubling the stride), so the browser never holds more than a few thousand.
    Companion protocol of :mod:`workbench.ui.landscape`: ``attach``, ``reset``,
    ``advance``, ``done``, ``refresh``, ``view``.
    """

    def __init__(self, height: int = 420, resolution: int = 60, max_points: int = 3000):
        import panel as pn
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        self.resolution = int(resolution)
        self.max_points = int(max_points)
        self.live = None
        self.problem = None
        self._kept: dict[int, int] = {}  # points kept at the current stride, per runner
        self._pending: dict[int, list] = {}
        self._stride: dict[int, int] = {}
        self._seen: dict[int, int] = {}
        self.figure = figure(title="Trajectories over log10(f - f_min) contours", height=height,
                             sizing_mode="stretch_width", match_aspect=False,
                             tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
                             x_axis_label="x1", y_axis_label="x2")
        self.background = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []})
        self.figure.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.background,
                          palette="Viridis256", alpha=0.85)
        self.star = ColumnDataSource({"x0": [], "x1": []})
        self.figure.scatter("x0", "x1", source=self.star, marker="star", size=18, color="white",
                            line_color="black", legend_label="minimiser")
        self.sources: dict[str, ColumnDataSource] = {}
        self.message = pn.pane.HTML("", css_classes=["wb-trajectory-note"], sizing_mode="stretch_width",
                                    margin=(0, 10))
        self._pane = pn.pane.Bokeh(self.figure, sizing_mode="stretch_width")

    # -- recording ---------------------------------------------------------------------
    def observe(self, runner) -> None:
        """Runner observer: remember the first two coordinates of the new iterate."""
        key = id(runner)
        n = self._seen.get(key, 0) + 1
        self._seen[key] = n
        stride = self._stride.setdefault(key, 1)
        if n % stride:
            return
        x = runner.state.x
        if len(x) < 2:
            return  # a 1-D objective: the map (2-D objectives only, as it says) has no path to draw
        self._pending.setdefault(key, []).append((float(x[0]), float(x[1])))
        kept = self._kept.get(key, 0) + 1
        if kept >= self.max_points:
            self._stride[key] = stride * 2
            kept = 0
        self._kept[key] = kept

    # -- companion protocol ------------------------------------------------------------
    def attach(self, live) -> None:
        self.live = live
        for lane in live.lanes:
            if lane.key not in self.sources:
                from bokeh.models import ColumnDataSource

                src = ColumnDataSource({"x0": [], "x1": []})
                self.figure.line("x0", "x1", source=src, color=lane.color, line_width=2, legend_label=lane.label)
                self.figure.scatter("x0", "x1", source=src, color=lane.color, size=3)
                self.sources[lane.key] = src
        self.figure.legend.click_policy = "hide"
        self.figure.legend.label_text_font_size = "9pt"

    @property
    def done(self) -> bool:
        return True  # no work of its own: it only draws what the lanes do

    def advance(self, seconds: float) -> None:
        pass

    def reset(self, problem) -> None:
        self.problem = problem
        self._kept.clear()
        self._pending.clear()
        self._stride.clear()
        self._seen.clear()
        two_d = getattr(problem, "dim", 0) == 2
        # The figure too: Panel copies visible=False onto it, and setting the pane back to its default
        # True drops the override without showing the figure again (3-D and back to 2-D left it hidden).
        self.figure.visible = two_d
        self._pane.visible = two_d
        if not two_d:
            self.message.object = (f"Trajectories are drawn for 2-D objectives; {problem.name} has "
                                   f"{getattr(problem, 'dim', '?')} variables.")
            return
        self.message.object = ("Each path starts at x0 (the first dot); the white star is the minimiser. "
                               "Colours as in the loss plot.")
        self._draw_background(problem)
        for lane in self.live.lanes:
            self.sources[lane.key].data = {"x0": [float(problem.x0[0])], "x1": [float(problem.x0[1])]}

    def refresh(self) -> None:
        if self.live is None or not self._pending:
            return
        for lane in self.live.lanes:
            if lane.runner is None:
                continue
            new = self._pending.pop(id(lane.runner), None)
            if new:
                xs, ys = zip(*new)
                self.sources[lane.key].stream({"x0": list(xs), "x1": list(ys)})
        self._pending.clear()

    def view(self):
        import panel as pn

        return pn.Column(self._pane, self.message, sizing_mode="stretch_width")

    # -- pieces ------------------------------------------------------------------------
    def _box(self, problem):
        bounds = problem.metadata.get("bounds")
        if bounds and len(bounds) >= 2:
            return [float(v) for v in bounds[0]], [float(v) for v in bounds[1]]
        pts = [problem.x0] + ([problem.x_star] if problem.x_star is not None else [])
        pts = np.array(pts)
        lo, hi = pts.min(0), pts.max(0)
        pad = 0.5 * max(float(np.max(hi - lo)), 1.0)
        return [lo[0] - pad, hi[0] + pad], [lo[1] - pad, hi[1] + pad]

    def _draw_background(self, problem) -> None:
        (x_lo, x_hi), (y_lo, y_hi) = self._box(problem)
        xs = np.linspace(x_lo, x_hi, self.resolution)
        ys = np.linspace(y_lo, y_hi, self.resolution)
        values = np.array([[problem.value(np.array([x, y])) for x in xs] for y in ys])
        finite = np.isfinite(values)
        low = values[finite].min() if finite.any() else 0.0
        # log of the excess over the grid's minimum shows valleys and basins at once
        image = np.log10(np.where(finite, values - low, np.nan) + 1e-3)
        self.background.data = {"image": [image], "x": [x_lo], "y": [y_lo], "dw": [x_hi - x_lo],
                                "dh": [y_hi - y_lo]}
        self.figure.x_range.start, self.figure.x_range.end = x_lo, x_hi
        self.figure.y_range.start, self.figure.y_range.end = y_lo, y_hi
        if problem.x_star is not None:
            self.star.data = {"x0": [float(problem.x_star[0])], "x1": [float(problem.x_star[1])]}
        else:
            self.star.data = {"x0": [], "x1": []}


class SwarmMap(TrajectoryMap):
    """A :class:`TrajectoryMap` that also shows the particles of the lanes that have them.

    A lane whose state carries a particle array ``X`` (consensus-based optimisation) is drawn
    as its cloud of particles, refreshed with the screen, next to the path of its answer
    (``state.x``, the consensus point); the other lanes are paths only.
    """

    def __init__(self, **kw):
        super().__init__(**kw)
        self.figure.title.text = "Paths and particles over log10(f - f_min) contours"
        self.clouds: dict = {}

    def attach(self, live) -> None:
        super().attach(live)
        from bokeh.models import ColumnDataSource

        for lane in live.lanes:
            if lane.key not in self.clouds and hasattr(lane.method, "particles"):
                src = ColumnDataSource({"px": [], "py": []})
                self.figure.scatter("px", "py", source=src, color=lane.color, size=4, alpha=0.6,
                                    legend_label=f"{lane.label} particles")
                self.clouds[lane.key] = src

    def reset(self, problem) -> None:
        super().reset(problem)
        for src in self.clouds.values():
            src.data = {"px": [], "py": []}
        self._draw_clouds()

    def refresh(self) -> None:
        super().refresh()
        self._draw_clouds()

    def _draw_clouds(self) -> None:
        if self.live is None or getattr(self.problem, "dim", 0) != 2:
            return
        for lane in self.live.lanes:
            src = self.clouds.get(lane.key)
            X = getattr(getattr(lane.runner, "state", None), "X", None)
            if src is None or X is None:
                continue
            src.data = {"px": X[:, 0].tolist(), "py": X[:, 1].tolist()}


class MetricPanel:
    """Companion of a live race: one more metric plotted per lane, in its own figure.

    The same streaming and bounded display as the race's own plots
    (:class:`workbench.ui.plots.ConvergencePlot`), but with an independent x
    range: a race with two linked plots keeps the browser busy re-ranging on
    every tick. ``reference(problem) -> (value, label)`` draws a dashed
    horizontal line (e.g. the true distance D).
    """

    def __init__(self, metric: str, *, log_y: bool = True, height: int = 240, title: str | None = None,
                 reference=None, max_points: int = 2000):
        from workbench.ui.plots import ConvergencePlot

        self.plot = ConvergencePlot(metric, log_y=log_y, height=height, title=title, max_points=max_points)
        self.metric = metric
        self.reference = reference
        self.live = None

    def set_x_axis(self, x_axis: str) -> None:
        """Follow the race's iteration / wall-time toggle."""
        self.plot.set_x_axis(x_axis)

    def attach(self, live) -> None:
        self.live = live
        for lane in live.lanes:
            if lane.key not in self.plot.keys:
                self.plot.add_curve(lane.key, lane.label, lane.color)

    @property
    def done(self) -> bool:
        return True

    def advance(self, seconds: float) -> None:
        pass

    def reset(self, problem) -> None:
        for lane in self.live.lanes:
            self.plot.clear(lane.key, empty=lane.runner is None)
        line = self.reference(problem) if self.reference is not None else None
        end = max(float(getattr(self.live.lanes[0].runner, "max_steps", 0) or 0), 1000.0)
        if line is None:
            self.plot.set_overlay("reference", None, None)
        else:
            value, label = line
            self.plot.set_overlay("reference", [0.0, end], [value, value], label=label, color="black")
        self.refresh()

    def refresh(self) -> None:
        for lane in self.live.lanes:
            if lane.runner is not None:
                self.plot.update(lane.key, lane.runner.trace)

    def view(self):
        import panel as pn

        return pn.pane.Bokeh(self.plot.figure, sizing_mode="stretch_width")


def true_distance_of(problem):
    """``(||x0 - x*||, label)`` when the minimiser is known, else None."""
    if getattr(problem, "x_star", None) is None:
        return None
    d = float(np.linalg.norm(problem.x0 - problem.x_star))
    return d, f"true D = ||x0 - x*|| = {d:.3g}"
