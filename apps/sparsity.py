"""Sparsity: sparse-Newton Sinkhorn, sparse regression and sparse systems, live."""
from __future__ import annotations

import time

TITLE = "Sparsity"
DESCRIPTION = ("Sinkhorn vs Sinkhorn-Newton-Sparse on transport problems (move rho while it runs), "
               "ISTA / FISTA / greedy coordinate descent / IHT on sparse regression, and CG beside "
               "the sparsity pattern of a random sparse SPD matrix.")

TRANSPORT_PROBLEMS = ["histograms_2d", "histograms_1d", "point_clouds"]
REGRESSION_PROBLEMS = ["compressed_sensing", "lasso_diabetes"]


class _ImageCompanion:
    """A picture next to a live run, redrawn at most every ``period`` seconds (no work of its own)."""

    done = True
    period = 0.5

    def __init__(self, title: str, css_class: str, height: int = 300):
        import panel as pn
        from bokeh.models import ColumnDataSource, LinearColorMapper
        from bokeh.plotting import figure

        self.mapper = LinearColorMapper(palette="Viridis256")
        self.source = ColumnDataSource({"image": [], "dw": [], "dh": []})
        self.figure = figure(title=title, height=height, width=height + 40, match_aspect=True,
                             toolbar_location=None, tools="", x_axis_label="column", y_axis_label="row")
        self.figure.image(image="image", x=0, y=0, dw="dw", dh="dh", source=self.source,
                          color_mapper=self.mapper)
        self.figure.y_range.flipped = True
        self.text = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10), css_classes=[css_class])
        self._last = 0.0
        self._key = None
        self.live = None

    def attach(self, live) -> None:
        self.live = live

    def reset(self, problem) -> None:
        self._key = None
        self.refresh(force=True)

    def advance(self, seconds: float) -> None:  # pragma: no cover - done is always True
        pass

    def show(self, image, low=None, high=None) -> None:
        import numpy as np

        image = np.asarray(image, dtype=float)
        self.mapper.low = float(np.nanmin(image)) if low is None else low
        self.mapper.high = float(np.nanmax(image)) if high is None else high
        self.source.data = {"image": [image], "dw": [image.shape[1]], "dh": [image.shape[0]]}

    def view(self):
        import panel as pn

        return pn.Row(pn.pane.Bokeh(self.figure), self.text, sizing_mode="stretch_width")


class _PlanView(_ImageCompanion):
    """The current transport plan of one lane (log10 scale) and what its Newton step kept."""

    def __init__(self, lane_index: int):
        super().__init__("Transport plan, log10 P (Sinkhorn-Newton-Sparse)", "wb-plan-info")
        self.lane_index = lane_index

    def refresh(self, force: bool = False) -> None:
        import numpy as np

        if self.live is None:
            return
        lane = self.live.lanes[self.lane_index]
        runner = lane.runner
        if runner is None:
            return
        key = (id(runner.state), runner.iteration)
        now = time.perf_counter()
        if key == self._key and not force:
            return
        if not force and self.live.playing and not runner.done and now - self._last < self.period:
            return  # throttled while playing only: a Step, a Pause or the end shows the iterate then
        self._key, self._last = key, now
        P = lane.method.plan(runner.problem, runner.state)
        with np.errstate(divide="ignore"):
            self.show(np.maximum(np.log10(P), -12.0), low=-12.0)
        kept = runner.state.extra.get("sparse_plan")
        phase = "Newton" if runner.state.extra.get("phase") else "Sinkhorn warm-up"
        lines = [f"<b>{phase}</b> at iteration {runner.iteration}",
                 f"plan {P.shape[0]} x {P.shape[1]}, mass {P.sum():.6f}"]
        if kept is not None:
            mass = float(kept.sum()) / max(float(P.sum()), 1e-300)
            lines.append(f"sparsified Hessian keeps {kept.nnz} entries "
                         f"({kept.nnz / P.size:.2%} of the plan) holding {mass:.6%} of its mass")
        self.text.object = "<br>".join(lines)


class _PatternView(_ImageCompanion):
    """Sparsity pattern, nnz and fill of the linear system on screen."""

    def __init__(self):
        super().__init__("Sparsity pattern of A", "wb-pattern-info")

    def refresh(self, force: bool = False) -> None:
        import workbench as wb

        if self.live is None:
            return
        problem = self.live.problem
        if problem is None or (self._key is problem and not force):
            return
        self._key = problem
        self.show(wb.sparse.pattern_image(problem.A, pixels=200) > 0, low=0.0, high=1.0)
        s = wb.sparse.sparsity_summary(problem.A)
        self.text.object = (
            f"<b>{problem.name}</b><br>n = {int(s['n'])}, nnz = {int(s['nnz'])} "
            f"(density {s['density']:.3%}), bandwidth {int(s['bandwidth'])}<br>"
            f"LU fill-in: {s['fill']:.1f} x nnz(A) with COLAMD ordering, "
            f"{s['fill_natural']:.1f} x without reordering.<br>"
            "CG only needs products with A: its cost per iteration is nnz, whatever the fill."
        )


def _transport_tab():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race

    plan = _PlanView(lane_index=1)
    race = Race({"Sinkhorn": wb.sparse.Sinkhorn(reg=0.001),
                 "Sinkhorn-Newton-Sparse": wb.sparse.SinkhornNewtonSparse(reg=0.001, rho=0.02)},
                TRANSPORT_PROBLEMS,
                problem_params={"histograms_2d": {"side": 16}, "histograms_1d": {"n": 200},
                                "point_clouds": {"n": 200}},
                problem_widgets={"histograms_2d": {"side": {"type": pn.widgets.DiscreteSlider,
                                                            "options": [8, 12, 16, 20, 24, 32]}}},
                metrics=["marginal_error"], companions=[plan], rtol=1e-8, max_steps=20_000,
                title="Optimal transport")
    note = pn.pane.Markdown(
        "Both methods maximise the same entropic dual. Sinkhorn alternates exact row and column "
        "scalings; Sinkhorn-Newton-Sparse runs `warmup` of them, then tries Newton steps whose Hessian "
        "keeps only the largest fraction **rho** of the plan's entries (CG solve, line search), and "
        "keeps one only if it beats the Sinkhorn step from the same point (after a rejection the next "
        "try waits a few Sinkhorn steps). "
        "Move rho while it runs: too small and the steps stall, large and each step costs more.",
        sizing_mode="stretch_width")
    # (race.main() holds the plan's view, as every companion's)
    return pn.Row(race.sidebar(), pn.Column(race.main(), note, sizing_mode="stretch_width"),
                  sizing_mode="stretch_width")


def _regression_tab():
    import panel as pn

    import workbench as wb
    from workbench.ui import LiveRun, Race

    race = Race({"ISTA": wb.sparse.ISTA(), "FISTA": wb.sparse.FISTA(),
                 "CD (Gauss-Southwell-q)": wb.sparse.CoordinateDescent(rule="gauss_southwell_q")},
                REGRESSION_PROBLEMS, metrics=["objective_gap", "nnz"], rtol=1e-10, max_steps=50_000,
                title="LASSO solvers")
    iht = LiveRun(wb.sparse.IHT(k=8), "compressed_sensing", metrics=["relative_error", "nnz"],
                  rtol=1e-10, max_steps=5_000, title="Iterative hard thresholding")
    return pn.Column(
        pn.Row(race.sidebar(), race.main(), sizing_mode="stretch_width"),
        pn.pane.Markdown("IHT keeps the k largest entries each step; with m = 4 k log(n/k) Gaussian "
                         "measurements it recovers the k-sparse signal exactly."),
        pn.Row(iht.sidebar(), iht.main(), sizing_mode="stretch_width"),
        sizing_mode="stretch_width")


def _systems_tab():
    import panel as pn

    import workbench as wb
    from workbench.ui import LiveRun

    pattern = _PatternView()
    live = LiveRun(wb.linear.CG(), "random_spd",
                   problem_params={"random_spd": {"n": 400, "density": 0.01, "condition": 1000.0}},
                   problem_widgets={"random_spd": {
                       "n": {"type": pn.widgets.DiscreteSlider, "options": [100, 200, 400, 800, 1600]},
                       "density": {"type": pn.widgets.DiscreteSlider,
                                   "options": [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]}}},
                   companions=[pattern], rtol=1e-10, max_steps=20_000, title="Sparse SPD systems")
    return pn.Row(live.sidebar(), live.main(),
                  sizing_mode="stretch_width")


def page():
    import panel as pn

    return pn.Tabs(("Optimal transport", _transport_tab()),
                   ("Sparse regression", _regression_tab()),
                   ("Sparse systems", _systems_tab()),
                   sizing_mode="stretch_width")
