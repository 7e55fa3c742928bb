"""Views for bilevel races: the upper variable of every lane as bars, one group per coordinate."""
from __future__ import annotations

import numpy as np

__all__ = ["IterateBars"]


class IterateBars:
    """Companion of a live race: each lane's current upper iterate ``x`` as grouped bars.

    One group of bars per coordinate, one bar per lane in its colour; black diamonds mark
    the solution where the problem knows it. A problem may name what the coordinates are
    (``metadata["coordinate_label"]``), shade some of them (``metadata["highlight"]``, a
    list of indices, e.g. the features with true weight) and show the coordinates through a
    map (``metadata["display"]``: ``"exp"`` draws :math:`e^{x}` on a log axis, for
    log-penalties). Past ``max_bars`` coordinates only the first ``max_bars`` are drawn.
    Companion protocol of :mod:`workbench.ui.landscape`.
    """

    def __init__(self, height: int = 300, max_bars: int = 40):
        import panel as pn
        from bokeh.models import ColumnDataSource

        self.max_bars = int(max_bars)
        self.height = int(height)
        self.live = None
        self.problem = None
        self.sources: dict = {}
        self.shade = ColumnDataSource({"x": [], "top": []})
        self.solution = ColumnDataSource({"x": [], "y": []})
        self._figure_for = None
        self._floor = 0.0
        self._highlight: list[int] = []
        self.message = pn.pane.HTML("", css_classes=["wb-iterate-bars-note"], sizing_mode="stretch_width",
                                    margin=(0, 10))
        self._holder = pn.Column(sizing_mode="stretch_width")
        self.figure = None

    def _build_figure(self, log_axis: bool):
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        fig = figure(height=self.height, sizing_mode="stretch_width", y_axis_type="log" if log_axis else "linear",
                     tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
                     x_axis_label="coordinate")
        # A log axis needs a finite floor for the bars: penalties below 1e-3 are drawn down to it.
        self._floor = 1e-3 if log_axis else 0.0
        fig.vbar(x="x", top="top", bottom=self._floor, width=1.0, source=self.shade,
                 color="#eeeeaa", alpha=0.6, legend_label="highlighted")
        n = max(len(self.live.lanes), 1) if self.live is not None else 1
        width = 0.8 / n
        self.sources = {}
        for i, lane in enumerate(self.live.lanes if self.live is not None else []):
            src = ColumnDataSource({"x": [], "top": []})
            fig.vbar(x="x", top="top", bottom=self._floor, width=width, source=src,
                     color=lane.color, legend_label=lane.label)
            self.sources[lane.key] = (src, -0.4 + width * (i + 0.5))
        fig.scatter("x", "y", source=self.solution, marker="diamond", size=9, color="black",
                    legend_label="solution")
        fig.legend.click_policy = "hide"
        fig.legend.label_text_font_size = "9pt"
        fig.add_layout(fig.legend[0], "right")  # beside the bars, not over them
        self.figure = fig
        import panel as pn

        self._holder.objects = [pn.pane.Bokeh(fig, sizing_mode="stretch_width")]

    # -- companion protocol ------------------------------------------------------------
    def attach(self, live) -> None:
        self.live = live

    @property
    def done(self) -> bool:
        return True  # it only draws what the lanes do

    def advance(self, seconds: float) -> None:
        pass

    def _shown(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)[: self.max_bars]
        return np.exp(np.clip(x, -700, 700)) if self.problem.metadata.get("display") == "exp" else x

    def reset(self, problem) -> None:
        self.problem = problem
        log_axis = problem.metadata.get("display") == "exp"
        if self.figure is None or self._figure_for != log_axis:
            self._build_figure(log_axis)
            self._figure_for = log_axis
        label = problem.metadata.get("coordinate_label", "x_j")
        self.figure.title.text = f"The upper variable: {label} per coordinate"
        self.figure.yaxis.axis_label = label
        d = min(problem.dim, self.max_bars)
        self._highlight = [int(i) for i in problem.metadata.get("highlight", ()) if int(i) < d]
        star = getattr(problem, "x_star", None)
        self.solution.data = ({"x": list(range(d)), "y": self._shown(star).tolist()} if star is not None
                              else {"x": [], "y": []})
        more = f" (the first {self.max_bars} of {problem.dim})" if problem.dim > self.max_bars else ""
        self.message.object = problem.metadata.get("coordinate_note", "") + more
        self.refresh()

    def refresh(self) -> None:
        if self.live is None or self.problem is None:
            return
        tallest = 0.0
        for lane in self.live.lanes:
            entry = self.sources.get(lane.key)
            state = getattr(lane.runner, "state", None)
            if entry is None or state is None:
                continue
            src, offset = entry
            shown = self._shown(state.x)
            src.data = {"x": (np.arange(shown.size) + offset).tolist(), "top": shown.tolist()}
            tallest = max(tallest, float(np.max(shown, initial=0.0)))
        # the shading reaches just above the tallest bar, so it does not stretch the axis
        top = tallest * (3.0 if self._floor > 0 else 1.1) if tallest > 0 else 1.0
        self.shade.data = {"x": self._highlight, "top": [top] * len(self._highlight)}

    def view(self):
        import panel as pn

        return pn.Column(self._holder, self.message, sizing_mode="stretch_width")
