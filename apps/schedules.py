"""Step-size schedules: their shapes, their effect on a live race, and record-then-refine."""
from __future__ import annotations

import html

import numpy as np

TITLE = "Step-size schedules"
DESCRIPTION = ("Constant, step, cosine, linear decay, warm-up, warmup-stable-decay and the refined "
               "schedule: their shapes, a live race of GD under each, and the record-then-refine flow "
               "of Defazio, Cutkosky, Mehta and Mishchenko.")

HORIZON = 400
LANES = {"constant": None, "cosine": "cosine", "linear decay": "linear", "WSD": "wsd",
         "refined": "linear"}  # the refined lane runs linear decay until a run has been refined
PROBLEMS = ["rastrigin", "logistic_regression", "rosenbrock", "mlp_digits"]
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def shapes_section():
    """Every registered schedule's multiplier s(t, T), with the chosen one's knobs."""
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    from workbench.schedules import make_schedule, schedules
    from workbench.ui import controls

    names = [n for n in schedules() if n != "refined"]
    fig = figure(title="Multiplier s(t, T) on the base learning rate", height=300, sizing_mode="stretch_width",
                 x_axis_label="step t", y_axis_label="s(t, T)", y_range=(-0.02, 1.05), tools="save,hover",
                 toolbar_location="above")
    instances = {n: make_schedule(n) for n in names}
    sources = {n: ColumnDataSource({"t": [], "s": []}) for n in names}
    renderers = {n: fig.line("t", "s", source=sources[n], color=PALETTE[i % len(PALETTE)], line_width=2,
                             legend_label=n) for i, n in enumerate(names)}
    fig.legend.location = "top_right"
    fig.legend.click_policy = "hide"
    horizon = pn.widgets.IntSlider(name="Horizon T", start=20, end=2000, step=20, value=HORIZON,
                                   css_classes=["wb-shape-horizon"])
    choice = pn.widgets.Select(name="Schedule", options=names, value="warmup", css_classes=["wb-shape-choice"])
    knobs = pn.Column(sizing_mode="stretch_width")
    error = pn.pane.HTML("", css_classes=["wb-shape-error"], sizing_mode="stretch_width")

    def draw(*_):
        T = int(horizon.value)
        message = ""  # about the chosen schedule only (another one's redraw must not clear it)
        for n, s in instances.items():
            try:
                sources[n].data = {"t": np.arange(T + 1), "s": s.values(T)}
            except Exception as exc:  # a knob out of range for this T: say so, keep the old curve
                if n == choice.value:
                    message = f"<span style='color:#d62728'>{html.escape(str(exc))}</span>"
        error.object = message
        for n, r in renderers.items():
            r.glyph.line_width = 4 if n == choice.value else 1.5
            r.glyph.line_alpha = 1.0 if n == choice.value else 0.35

    panes = {}  # one controls pane per schedule, made once (each new one would stay linked to it)

    def show_knobs(*_):
        schedule = instances[choice.value]
        if choice.value not in panes:
            panes[choice.value] = controls(schedule, name=choice.value)
        widget = panes[choice.value]
        knobs.objects = [widget] if widget.parameters else [pn.pane.Markdown("(no knobs)")]
        doc = (type(schedule).__doc__ or "").strip().split("\n\n")[0]
        knobs.append(pn.pane.Markdown(doc.replace("\n", " ")))
        draw()

    for s in instances.values():
        s.param.watch(draw, [p for p in s.param if p != "name"])
    horizon.param.watch(draw, "value")
    choice.param.watch(show_knobs, "value")
    show_knobs()
    return pn.Row(pn.Column(choice, horizon, knobs, error, width=330),
                  pn.pane.Bokeh(fig, sizing_mode="stretch_width"), sizing_mode="stretch_width")


def _race_notes(race) -> str:
    T = race.lanes[0].method.horizon
    return (f"GD on **{race.problem.name}**, horizon T = {T} steps for every schedule (the lower plot is "
            "the step size each lane uses). With exact gradients, as here, decaying early only slows a "
            "convex run down; the schedules earn their keep when the gradients are noisy (SGD) or, as on "
            "Rastrigin, when a large step bounces between basins and only a decaying one settles. "
            "On SGD, linear decay matches or beats cosine and the refined schedule does at least as "
            "well (the seeded replication in `tests/schedules` measures it).")


def refine_section(race):
    """Record-then-refine: gradient norms of the linear-decay lane -> the refined lane's schedule."""
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    from workbench.schedules import LinearDecay, refine_from_trace, refined_profile

    linear_lane = next(l for l in race.lanes if l.label == "linear decay")
    refined_lane = next(l for l in race.lanes if l.label == "refined")
    adam_like = pn.widgets.Checkbox(name="Adam-like weights (w = 1/G instead of 1/G^2)", value=False)
    button = pn.widgets.Button(name="Refine from the linear-decay run", button_type="primary",
                               css_classes=["wb-refine"])
    status = pn.pane.HTML("Run the race first (at least a few dozen steps), then refine.",
                          css_classes=["wb-refine-status"], sizing_mode="stretch_width")
    norms_fig = figure(title="Gradient norms G_t of the linear-decay run", height=220, y_axis_type="log",
                       sizing_mode="stretch_width", x_axis_label="step t", tools="save", toolbar_location="above")
    raw = ColumnDataSource({"t": [], "g": []})
    smooth = ColumnDataSource({"t": [], "g": []})
    norms_fig.line("t", "g", source=raw, color="lightgray", legend_label="recorded")
    norms_fig.line("t", "g", source=smooth, color="black", line_width=2, legend_label="median-filtered")
    sched_fig = figure(title="Refined schedule vs linear decay", height=220, sizing_mode="stretch_width",
                       x_axis_label="step t", y_axis_label="s(t, T)", tools="save", toolbar_location="above")
    refined_src = ColumnDataSource({"t": [], "s": []})
    linear_src = ColumnDataSource({"t": [], "s": []})
    sched_fig.line("t", "s", source=linear_src, color="#2ca02c", line_dash="dashed", legend_label="linear decay")
    sched_fig.line("t", "s", source=refined_src, color="#9467bd", line_width=2, legend_label="refined")

    def refine(event=None):
        runner = linear_lane.runner
        if runner is None or len(runner.trace) < 10:
            status.object = "Run the race for a few dozen steps first: refinement needs recorded gradient norms."
            return
        try:
            schedule = refine_from_trace(runner.result(), adam_like=adam_like.value)
        except Exception as exc:  # e.g. a diverged recording: say why
            status.object = f"<span style='color:#d62728'>Cannot refine: {exc}</span>"
            return
        g = np.asarray(runner.trace["grad_norm"][:-1], dtype=float)
        t = np.arange(g.size)
        from scipy.ndimage import median_filter

        width = int(round(0.1 * g.size)) | 1
        raw.data = {"t": t, "g": g}
        smooth.data = {"t": t, "g": median_filter(g, size=width, mode="nearest")}
        T = int(refined_lane.method.horizon)
        refined_src.data = {"t": np.arange(T + 1), "s": schedule.values(T)}
        linear_src.data = {"t": np.arange(T + 1), "s": LinearDecay().values(T)}
        refined_lane.method.schedule = schedule  # used from the refined lane's next step on
        peak = int(np.argmax(refined_profile(g, adam_like=adam_like.value)))
        status.object = (f"Refined from {g.size} recorded steps; the schedule peaks at step {peak} of {g.size}. "
                         "The refined lane uses it from its next step; press <b>Reset</b> to race it from the "
                         "start.")

    button.on_click(refine)
    intro = pn.pane.Markdown(
        "**Record, then refine.** Run GD with linear decay and record the gradient norms G_t; then "
        "set eta_t proportional to w_t * sum_{s>t} w_s with w_t = G_t^-2 (G_t^-1 for Adam-like "
        "methods), after a median filter, normalised to a maximum of 1. Constant norms give back "
        "linear decay; norms that shrink produce a warm-up and a fast final decay.",
        sizing_mode="stretch_width")
    return pn.Column(intro, pn.Row(button, adam_like), status, norms_fig, sched_fig, sizing_mode="stretch_width")


def race_section():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.optim_views import MetricPanel

    methods = {label: wb.optim.GD(lr=0.01, schedule=name, horizon=HORIZON) for label, name in LANES.items()}
    lr_panel = MetricPanel("lr", log_y=False, title="Step size used by each lane: lr * s(t, T)")
    race = Race(methods, PROBLEMS,
                problem_params={"rastrigin": {"dim": 2, "seed": 3}, "logistic_regression": {"n": 300, "d": 10},
                                "mlp_digits": {"width": 16}},
                metrics=["loss"], log_y=False, notes=_race_notes, max_steps=5000, plot_height=240,
                companions=[lr_panel],
                method_widgets={label: {"schedule": {"type": pn.widgets.LiteralInput, "disabled": True}}
                                for label in LANES},
                title="Schedules race")
    horizon = pn.widgets.IntSlider(name="Horizon T of every lane", start=50, end=3000, step=50, value=HORIZON,
                                   css_classes=["wb-race-horizon"], value_throttled=HORIZON)

    def set_horizon(event):
        for lane in race.lanes:
            lane.method.horizon = int(event.new)

    horizon.param.watch(set_horizon, "value_throttled")
    lr = pn.widgets.FloatInput(name="Base learning rate of every lane", value=0.01, start=1e-6, step=0.001,
                               css_classes=["wb-race-lr"])

    def set_lr(event):
        if event.new is None:  # an emptied box: the lanes keep their rate, the box shows it again
            lr.value = event.old
            return
        for lane in race.lanes:
            lane.method.lr = float(event.new)

    lr.param.watch(set_lr, "value")
    sidebar = race.sidebar(pn.pane.Markdown("**Every lane**", margin=(0, 10)), horizon, lr, width=340)
    return race, pn.Row(sidebar, pn.Column(race.main(), refine_section(race), sizing_mode="stretch_width"),
                        sizing_mode="stretch_width")


def page():
    import panel as pn

    race, race_view = race_section()
    intro = pn.pane.Markdown(
        "A schedule multiplies the base learning rate: eta_t = lr * s(t, T). **Race**: GD under five "
        "schedules on one problem, live (the second plot shows each lane's step size). **Shapes**: every "
        "schedule and its knobs. Changing T or the learning rate acts on the next step, without a reset.",
        sizing_mode="stretch_width")
    return pn.Column(intro, pn.Tabs(("Race and refine", race_view), ("Shapes", shapes_section()),
                                    sizing_mode="stretch_width"), sizing_mode="stretch_width")
