"""Step size: large steps on separable data, the 2/eta stability threshold, paths on 2-D functions."""
from __future__ import annotations

import numpy as np

TITLE = "Step size"
DESCRIPTION = ("Gradient descent with huge steps on separable logistic regression becomes the batch "
               "perceptron; on a quadratic GD is stable only while eta < 2 / lambda_max (eigenvalues "
               "drawn against 2/eta); and the paths of small, medium and large steps on 2-D functions.")

#: The log-scale gamma slider of the separable-data race (Tyurin's experiment spans 0.1 .. 1e4).
GAMMAS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 1e4]


# -- 1. large steps on separable data ---------------------------------------------------------
def first_separation(trace) -> int | None:
    """The first iteration with no misclassified point, or None."""
    if "misclassified" not in trace:
        return None
    hits = np.flatnonzero(trace["misclassified"] == 0)
    return int(hits[0]) if hits.size else None


def _separable_notes(race) -> str:
    m = race.problem.metadata
    return (f"**{race.problem.name}**: {m.get('n')} points in {m.get('d')} dimensions, separable with margin "
            f"{m.get('margin')}. GD on the logistic loss with step gamma; as gamma grows, "
            "w / gamma follows the batch perceptron, so the *direction* and the *misclassified count* "
            "match the perceptron's while the loss, which depends on the scale of w, behaves "
            "differently. Large gamma: the loss may rise for a while, yet the data separate in fewer "
            "iterations (the loss is a poor progress measure here). Tyurin (2024), *From logistic "
            "regression to the perceptron algorithm*.")


def _separation_sweep(race, make_gd):
    """A button and a plot: iterations to separate the data against gamma (one wb.run per gamma)."""
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    import workbench as wb

    fig = figure(title="Iterations to separate the data vs gamma", height=260, sizing_mode="stretch_width",
                 x_axis_type="log", y_axis_type="log", x_axis_label="gamma (step size)",
                 x_range=(0.05, 2e4), y_range=(1, 1e4),
                 y_axis_label="first iteration with 0 misclassified", tools="save", toolbar_location="above")
    source = ColumnDataSource({"gamma": [], "iterations": []})
    perceptron = ColumnDataSource({"gamma": [], "iterations": []})
    fig.line("gamma", "iterations", source=source, line_width=2)
    fig.scatter("gamma", "iterations", source=source, size=8, legend_label="GD on the logistic loss")
    fig.line("gamma", "iterations", source=perceptron, line_dash="dashed", color="black",
             legend_label="batch perceptron")
    status = pn.pane.HTML("", css_classes=["wb-sweep-status"], sizing_mode="stretch_width")
    button = pn.widgets.Button(name="Measure iterations to separate", button_type="primary")
    cap = 5000

    def stop_when_separated(runner):
        if runner.trace["misclassified"][-1] == 0:
            runner.stop("the data are separated.")

    def measure(event=None):
        problem = race.problem
        gammas, its, missing = [], [], []
        for gamma in GAMMAS[2:]:
            result = wb.run(make_gd(gamma), problem, max_steps=cap, observers=[stop_when_separated])
            k = first_separation(result.trace)
            if k is None:
                missing.append(f"{gamma:g}")
            else:
                gammas.append(gamma)
                its.append(max(k, 1))
        source.data = {"gamma": gammas, "iterations": its}
        k = first_separation(wb.run(wb.optim.BatchPerceptron(), problem, max_steps=cap,
                                    observers=[stop_when_separated]).trace)
        perceptron.data = ({"gamma": [GAMMAS[2], GAMMAS[-1]], "iterations": [max(k, 1)] * 2}
                           if k is not None else {"gamma": [], "iterations": []})
        status.object = (", ".join(f"gamma={g:g}: {i}" for g, i in zip(gammas, its))
                         + (f"; not separated in {cap} steps: {', '.join(missing)}" if missing else "")
                         + (f"; perceptron: {k}" if k is not None else ""))

    button.on_click(measure)
    return pn.Column(button, status, pn.pane.Bokeh(fig, sizing_mode="stretch_width"), sizing_mode="stretch_width")


def separable_section():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.optim_views import MetricPanel

    misclassified = MetricPanel("misclassified", log_y=False, title="misclassified points")
    race = Race({"GD": wb.optim.GD(lr=1.0), "Batch perceptron": wb.optim.BatchPerceptron()},
                "logistic_separable", problem_params={"logistic_separable": {"n": 200, "d": 10}},
                metrics=["loss"], companions=[misclassified], notes=_separable_notes,
                method_widgets={"GD": {"lr": {"type": pn.widgets.DiscreteSlider, "options": GAMMAS,
                                              "name": "gamma (log scale)"}}},
                max_steps=5000, plot_height=240, title="Large steps")
    sweep = _separation_sweep(race, lambda g: wb.optim.GD(lr=g))
    return pn.Row(race.sidebar(), pn.Column(race.main(), sweep, sizing_mode="stretch_width"),
                  sizing_mode="stretch_width")


# -- 2. the 2 / eta threshold -----------------------------------------------------------------
def eigenvalues(problem) -> np.ndarray:
    """The Hessian eigenvalues of a gallery quadratic (geometric from lambda_min to lambda_max)."""
    m = problem.metadata
    return np.geomspace(m["lambda_min"], m["lambda_max"], problem.dim) if problem.dim > 1 \
        else np.array([m["lambda_max"]])


def _stability_notes(live) -> str:
    eta = float(live.method.lr)
    lam = eigenvalues(live.problem)
    factors = np.abs(1 - eta * lam)
    unstable = int(np.sum(factors > 1))
    verdict = (f"**unstable**: {unstable} eigen-direction(s) have |1 - eta lambda| > 1 and grow every step"
               if unstable else f"**stable**: the slowest direction shrinks by {factors.max():.4f} per step")
    return (f"lambda_max = {lam.max():.4g}, so GD is stable iff eta < 2 / lambda_max = {2 / lam.max():.4g}. "
            f"Now eta = {eta:.4g}, 2/eta = {2 / eta:.4g}: {verdict}. The best constant step, "
            f"2 / (lambda_min + lambda_max) = {2 / (lam.min() + lam.max()):.4g}, balances the slowest and "
            "the fastest direction. (Training networks, the sharpness rises until it hovers at 2/eta: "
            "the *edge of stability*, Cohen et al. 2021.)")


def stability_section():
    import panel as pn
    from bokeh.models import ColumnDataSource, Span
    from bokeh.plotting import figure

    import workbench as wb
    from workbench.ui import LiveRun

    fig = figure(title="Per-direction factor |1 - eta lambda_i| against the eigenvalues", height=260,
                 sizing_mode="stretch_width", x_axis_label="eigenvalue lambda_i of the Hessian",
                 y_axis_label="|1 - eta lambda_i|", tools="save", toolbar_location="above")
    source = ColumnDataSource({"lam": [], "factor": [], "color": []})
    fig.scatter("lam", "factor", source=source, size=9, color="color")
    fig.add_layout(Span(location=1.0, dimension="width", line_dash="dotted", line_color="gray"))
    threshold = Span(dimension="height", line_color="#d62728", line_width=2)
    fig.add_layout(threshold)
    label = pn.pane.HTML("", css_classes=["wb-threshold"], margin=(0, 10))

    class FollowTheProblem:
        """A do-nothing companion of the live run whose reset redraws the eigenvalue plot: the
        run resets whenever the problem changes (dim, lambda_max, condition)."""

        done = True

        def attach(self, live):
            self.live = live

        def reset(self, problem):
            update(live=self.live)

        def advance(self, seconds):
            pass

        def refresh(self):
            pass

        def view(self):
            return pn.Column(pn.pane.Bokeh(fig, sizing_mode="stretch_width"), label, sizing_mode="stretch_width")

    def update(*_, live=None):
        live = live or follower.live
        eta = float(live.method.lr)
        lam = eigenvalues(live.problem)
        factor = np.abs(1 - eta * lam)
        source.data = {"lam": lam, "factor": factor,
                       "color": np.where(factor > 1, "#d62728", "#1f77b4").tolist()}
        threshold.location = 2.0 / eta
        fig.x_range.start, fig.x_range.end = 0.0, max(lam.max(), 2.0 / eta) * 1.1
        label.object = (f"red line: 2/eta = {2 / eta:.4g}; eigenvalues to its right (red dots) make GD "
                        "diverge along their eigenvectors")

    follower = FollowTheProblem()
    live = LiveRun(wb.optim.GD(lr=1.5), wb.problems.quadratic(dim=20, condition=10.0, lambda_max=1.0),
                   metrics=["loss"], notes=_stability_notes, companions=[follower],
                   method_widgets={"gd": {"lr": {"type": pn.widgets.FloatSlider, "start": 0.05, "end": 3.0,
                                                 "step": 0.05, "name": "eta (step size)"}}},
                   max_steps=3000, plot_height=260, title="Stability")

    live.method.param.watch(update, "lr")
    update()
    return pn.Row(live.sidebar(), live.main(), sizing_mode="stretch_width")


# -- 3. paths on 2-D functions ----------------------------------------------------------------
def paths_section():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.optim_views import TrajectoryMap

    trajectories = TrajectoryMap()
    race = Race({"small step": wb.optim.GD(lr=0.0003), "medium step": wb.optim.GD(lr=0.001),
                 "large step": wb.optim.GD(lr=0.0019)},
                ["rosenbrock", "beale", "quadratic"],
                problem_params={"quadratic": {"dim": 2, "condition": 20.0, "lambda_max": 1.0}},
                metrics=["loss"], companions=[trajectories], observers=[trajectories.observe],
                max_steps=20_000, plot_height=240, title="Paths")
    return pn.Row(race.sidebar(), race.main(), sizing_mode="stretch_width")


def page():
    import panel as pn

    intro = pn.pane.Markdown(
        "Three views of the step size. **Large steps**: GD on separable logistic regression with a "
        "log-scale gamma slider, racing the batch perceptron. **Stability**: GD on a quadratic; move eta "
        "and watch the eigenvalues cross 2/eta. **Paths**: small, medium and large steps on 2-D "
        "functions. Every slider acts on the next step, without a reset.", sizing_mode="stretch_width")
    return pn.Column(intro, pn.Tabs(("Large steps", separable_section()), ("Stability", stability_section()),
                                    ("Paths", paths_section()), sizing_mode="stretch_width"),
                     sizing_mode="stretch_width")
