"""The report's Bokeh figures. Bokeh is imported inside each function.

* convergence: the stop metric relative to its start vs iteration, one line per run;
* cost vs parameter: iterations against each numeric swept parameter, one line per
  value of the other swept parameters (e.g. iterations vs omega, one line per n);
* heatmap: iterations over the two swept parameters of a two-parameter sweep.

A failed run has no cost: it is ``nan`` in every figure (a gap in a line, a grey
heatmap cell), never 0 iterations, which would read as the cheapest run. Nor has a
run that diverged (or went non-finite) where the figures show iterations: the step
at which it blew up is no cost either, and drawn as one it would read as the fastest.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from typing import Callable

import numpy as np

from .data import GROUP_ADDRESSES, ReportRun, distinct_format, numeric, parameter, short_names, value_key, varying_parameters

__all__ = ["convergence_figure", "cost_figures", "heatmap_figure", "heatmap_figures", "build_figures"]

MAX_POINTS = 400      # per curve after min/max decimation: plenty for a screen
MAX_LEGEND = 12       # above this a legend hides the plot; hover labels instead
MAX_GROUPS = 12
MAX_CURVES = 200      # convergence lines drawn; a larger sweep shows an even subsample


BLEW_UP = ("diverged", "nonfinite")
FAILED_COLOUR = "#d0d0d0"  # a heatmap cell of failed runs: outside Viridis, so never read as a cost


def _palette(n: int) -> list[str]:
    from bokeh.palettes import Category10_10, Viridis256

    if n <= 10:
        return list(Category10_10[:max(n, 1)])
    idx = np.linspace(0, 230, n).astype(int)  # stop before Viridis' pale yellow end
    return [Viridis256[i] for i in idx]


def _base_figure(title: str, x_label: str, y_label: str, *, y_log: bool = False, **kw):
    from bokeh.plotting import figure

    fig = figure(title=title, x_axis_label=x_label, y_axis_label=y_label,
                 y_axis_type="log" if y_log else "linear", height=380, sizing_mode="stretch_width",
                 tools="pan,wheel_zoom,box_zoom,reset,save", **kw)
    fig.toolbar.logo = None
    return fig


def convergence_figure(runs: list[ReportRun]):
    """Stop metric / its initial value vs iteration, log scale, one line per run."""
    from bokeh.models import ColumnDataSource, HoverTool

    metrics = sorted({r.metric for r in runs})
    metric = metrics[0] if len(metrics) == 1 else "stop metric"
    shown = ""
    # Colours and dashes come from the whole sweep, so a subsample keeps each run's style.
    colors, dashes = _colour_runs(runs), _dash_runs(runs)
    if len(runs) > MAX_CURVES:
        pick = np.unique(np.linspace(0, len(runs) - 1, MAX_CURVES).astype(int))
        shown = f" ({len(pick)} of {len(runs)} runs)"
        runs = [runs[i] for i in pick]
        colors = [colors[i] for i in pick]
        dashes = [dashes[i] for i in pick]
    fig = _base_figure(f"Convergence: {metric} relative to its initial value{shown}", "iteration",
                       f"{metric} / initial", y_log=True)
    renderers = []
    for run, color, dash in zip(runs, colors, dashes):
        x, y = run.curve()
        if not len(x):
            continue
        keep = run.trace.decimate(MAX_POINTS, by=run.metric) if len(x) > MAX_POINTS else None
        if keep is not None:
            x, y = keep["iteration"], keep[run.metric]
        y0 = y[0] if len(y) and np.isfinite(y[0]) and y[0] > 0 else 1.0
        rel = y / y0
        # A log axis cannot show zeros or negatives; such points are left out.
        ok = np.isfinite(rel) & (rel > 0)
        if not ok.any():
            continue
        src = ColumnDataSource({"iteration": x[ok], "relative": rel[ok],
                                "run": [run.label] * int(ok.sum()), "status": [run.status] * int(ok.sum())})
        legend = {"legend_label": run.label} if len(runs) <= MAX_LEGEND else {}
        renderer = fig.line("iteration", "relative", source=src, color=color, line_width=2, alpha=0.85,
                            line_dash=dash, **legend)
        renderers.append(renderer)
    fig.add_tools(HoverTool(renderers=renderers, tooltips=[("run", "@run"), ("iteration", "@iteration"),
                                                           ("relative", "@relative{0.00e0}"),
                                                           ("status", "@status")]))
    if len(runs) <= MAX_LEGEND and renderers:
        fig.legend.click_policy = "hide"
        fig.legend.location = "top_right"
        fig.legend.label_text_font_size = "9pt"
    return fig


def _colour_runs(runs: list[ReportRun]) -> list[str]:
    """Colour by the first numeric swept parameter when there is one (a gradient reads as order)."""
    varying = [a for a in varying_parameters(runs) if a not in ("seed", *GROUP_ADDRESSES)]
    if varying and numeric(parameter(r, varying[0]) for r in runs):
        from bokeh.palettes import Viridis256

        values = np.array([float(parameter(r, varying[0])) for r in runs])
        lo, hi = values.min(), values.max()
        t = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        return [Viridis256[int(v * 230)] for v in t]
    palette = _palette(len(runs))
    return [palette[i % len(palette)] for i in range(len(runs))]


def _dash_runs(runs: list[ReportRun]) -> list[str]:
    """Dash pattern by the method (problem) when runs of several are shown, else by the second
    swept parameter, so colour + dash identify a run (SOR and SSOR at one omega differ)."""
    all_varying = varying_parameters(runs)
    names = [a for a in GROUP_ADDRESSES if a in all_varying]
    varying = [a for a in all_varying if a not in ("seed", *GROUP_ADDRESSES)]
    axis = names[0] if names else (varying[1] if len(varying) >= 2 else None)
    if axis is None:
        return ["solid"] * len(runs)
    styles = ["solid", "dashed", "dotted", "dotdash", "dashdot"]
    values = list(dict.fromkeys(value_key(parameter(r, axis)) for r in runs))
    return [styles[values.index(value_key(parameter(r, axis))) % len(styles)] for r in runs]


@dataclasses.dataclass
class Measure:
    """What the sweep plots show: iterations to tolerance, or (no run converged) digits gained.

    :meth:`value` is ``nan`` for a run with no cost: a failed run (its 0 iterations are no
    result) and, counting iterations, a diverged or non-finite one (the step it blew up at is
    no result either). In digits gained a diverged run keeps its (negative) digits.
    """

    name: str
    of: Callable[[ReportRun], float]
    is_iterations: bool

    def value(self, run: ReportRun) -> float:
        return float("nan") if self.no_cost(run) else self.of(run)

    def no_cost(self, run: ReportRun) -> bool:
        return run.failed or (self.is_iterations and run.status in BLEW_UP)

    def median(self, runs: list[ReportRun]) -> float:
        values = [self.value(r) for r in runs]
        values = [v for v in values if math.isfinite(v)]
        return float(np.median(values)) if values else float("nan")


def measure_for(runs: list[ReportRun]) -> Measure:
    """Iterations when some run reached its tolerance; otherwise (fixed step budgets) digits gained."""
    if any(r.converged for r in runs):
        return Measure("iterations", lambda r: float(r.iterations), True)
    return Measure("digits gained", lambda r: r.digits(), False)


def _groups(runs: list[ReportRun], x_address: str, others: list[str]):
    """Runs per (other values, x), to take the median over seeds."""
    cells: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        key = tuple(value_key(parameter(run, o)) for o in others)
        cells[key][run.params.get(x_address)].append(run)
    return cells


def _ordered(key: tuple) -> tuple:
    """Sort key of a group's values: numbers by size (n=8 before n=16), then text."""
    out = []
    for k in key:
        v = json.loads(k)
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        out.append((0, float(v), "") if number else (1, 0.0, k))
    return tuple(out)


def _state(group: list[ReportRun], m: "Measure") -> str:
    """Hover text for a point or cell: converged (all runs), failed or diverged (all: no cost), else no."""
    if all(m.no_cost(r) for r in group):
        return lost_word(group, m)
    return "yes" if all(r.converged for r in group) else "no"


def lost_word(runs: list[ReportRun], m: "Measure") -> str:
    """How the runs without a cost ended: ``failed``, ``diverged`` or ``failed or diverged``."""
    words = sorted({"failed" if r.failed else "diverged" for r in runs if m.no_cost(r)})
    return " or ".join(words) or "failed"


def cost_figures(runs: list[ReportRun]) -> list:
    """Iterations vs each numeric swept parameter (median over seeds), one line per group."""
    from bokeh.models import ColumnDataSource, HoverTool

    all_varying = varying_parameters(runs)
    varying = [a for a in all_varying if a != "seed"]
    over_seeds = " (median over seeds)" if "seed" in all_varying else ""
    m = measure_for(runs)
    if not any(math.isfinite(m.value(r)) for r in runs):
        return []  # no run has a cost (or none has a history): a plot would be empty
    values = [v for v in map(m.value, runs) if v > 0]
    y_log = m.is_iterations and bool(values) and max(values) / max(min(values), 1) > 20
    what = "Cost" if m.is_iterations else "Accuracy"
    figs = []
    several_methods = "method" in all_varying
    for x_address in varying:
        if x_address in GROUP_ADDRESSES:
            continue  # names, not numbers: they make the lines
        # A method's (problem's) parameter is plotted over the runs that have it: SOR's omega
        # beside a Jacobi run, which has none.
        sub = [r for r in runs if not x_address.startswith(("method.", "problem.")) or x_address in r.params]
        if not numeric(r.params.get(x_address) for r in sub):
            continue
        others = [a for a in varying_parameters(sub) if a not in (x_address, "seed")]
        groups = _groups(sub, x_address, others)
        if len(groups) > MAX_GROUPS:
            continue  # too many lines to read; the heatmap/table carry it
        names = short_names([x_address, *others])
        xs_all = [float(r.params.get(x_address)) for r in sub]
        # Parameters swept over decades (a step size, a tolerance) read best on a log axis.
        x_log = min(xs_all) > 0 and max(xs_all) / min(xs_all) > 50
        of = f" ({', '.join(sorted({r.method for r in sub}))})" if several_methods and "method" not in others else ""
        fig = _base_figure(f"{what} vs {names[x_address]}{of}: {m.name}{over_seeds}", names[x_address],
                           m.name, y_log=y_log, x_axis_type="log" if x_log else "linear")
        palette = _palette(len(groups))
        texts = {o: distinct_format(parameter(r, o) for r in sub) for o in others}
        hover_renderers = []
        # (colour, group, the xs whose runs all failed, whether that is every x of the group)
        failed: list[tuple[str, str, list[float], bool]] = []
        finite_y: list[float] = []
        for color, (key, by_x) in zip(palette, sorted(groups.items(), key=lambda kv: _ordered(kv[0]))):
            xs = sorted(by_x, key=float)
            label = _group_label(others, key, texts, names)
            y = [m.median(by_x[x]) for x in xs]
            lost = [float(x) for x, v in zip(xs, y) if math.isnan(v)]
            whole = len(lost) == len(xs)
            if lost:
                failed.append((color, label, lost, whole))
            if whole:
                continue  # a group whose every run failed: no line, only its failed-run markers
            ok = [all(r.converged for r in by_x[x]) or not m.is_iterations for x in xs]
            # nan (failed) stays nan: Bokeh leaves a gap there
            y_plot = [max(v, 1.0) if y_log and math.isfinite(v) else v for v in y]
            finite_y += [v for v in y_plot if math.isfinite(v)]
            src = ColumnDataSource({"x": [float(v) for v in xs], "y": y_plot, "group": [label] * len(xs),
                                    "converged": [_state(by_x[x], m) for x in xs]})
            fig.line("x", "y", source=src, color=color, line_width=2, legend_label=label)
            hover_renderers.append(fig.scatter("x", "y", source=src, color=color, size=6, legend_label=label))
            bad = [i for i, o in enumerate(ok) if not o and math.isfinite(y_plot[i])]
            if bad:
                fig.scatter([float(xs[i]) for i in bad], [y_plot[i] for i in bad], marker="x", size=12,
                            color="crimson", line_width=2, legend_label="did not converge")
        if failed and finite_y:
            # A hollow square in the group's colour under the lowest point, at each value whose runs
            # failed: it says which line has the gap, where a span over the whole height would say
            # every group failed there.
            # Each failed group has its own row, one below the other, so that two groups failed
            # at the same value show two squares, not one over the other.
            low, high = min(finite_y), max(finite_y)
            span = (high - low) or abs(low) or 1.0
            rows = {f[1]: (low / 1.6 ** (1 + 0.5 * i) if y_log else low - (0.08 + 0.05 * i) * span)
                    for i, f in enumerate(failed)}
            failed_renderers = []
            # The groups with a line share one legend entry; a group with no line (every run
            # failed) gets its own, or its colour would name nothing.
            ended = lost_word(sub, m)
            entries = [(f"{ended} (no cost)", [f for f in failed if not f[3]])]
            entries += [(f"{f[1]}: every run {ended}", [f]) for f in failed if f[3]]
            for legend, members in entries:
                if not members:
                    continue
                marks = ColumnDataSource({
                    "x": [x for _, _, xs, _ in members for x in xs],
                    "y": [rows[g] for _, g, xs, _ in members for _ in xs],
                    "colour": [c for c, _, xs, _ in members for _ in xs],
                    "group": [g for _, g, xs, _ in members for _ in xs]})
                failed_renderers.append(fig.scatter("x", "y", source=marks, marker="square_x", size=11,
                                                    fill_color=None, line_color="colour", line_width=2,
                                                    legend_label=legend))
            fig.add_tools(HoverTool(renderers=failed_renderers, tooltips=[
                (names[x_address], "@x"), ("group", "@group"), ("status", f"{ended}: no cost")]))
        fig.add_tools(HoverTool(renderers=hover_renderers, tooltips=[
            (names[x_address], "@x"), (m.name, "@y"), ("group", "@group"), ("converged", "@converged")]))
        fig.legend.click_policy = "hide"
        fig.legend.label_text_font_size = "9pt"
        figs.append(fig)
    return figs


def _group_label(others: list[str], key: tuple, texts: dict, names: dict) -> str:
    """``sor, omega=1.5, n=32``: names as they are, parameters as ``name=value``; a parameter the
    group's method does not have (Jacobi's omega) is left out."""
    bits = []
    for o, k in zip(others, key):
        if o in GROUP_ADDRESSES:
            bits.append(texts[o][k])
        elif k != value_key(None):
            bits.append(f"{names[o]}={texts[o][k]}")
    return ", ".join(bits) or "all runs"


def heatmap_figures(runs: list[ReportRun]) -> list:
    """The heatmap of a two-parameter sweep; runs of several methods get one per method that
    swept two parameters."""
    single = heatmap_figure(runs)
    if single is not None or "method" not in varying_parameters(runs):
        return [single] if single is not None else []
    out = []
    for method in dict.fromkeys(r.method for r in runs):
        fig = heatmap_figure([r for r in runs if r.method == method], of=method)
        if fig is not None:
            out.append(fig)
    return out


def heatmap_figure(runs: list[ReportRun], of: str = ""):
    """log10(iterations) (or digits gained) over a two-parameter sweep; ``None`` unless exactly two vary.

    ``of`` (a method's name) is added to the title.
    """
    from bokeh.models import BasicTicker, ColorBar, ColumnDataSource, HoverTool, LinearColorMapper
    from bokeh.palettes import Viridis256

    varying = [a for a in varying_parameters(runs) if a != "seed"]
    if len(varying) != 2:
        return None
    if set(GROUP_ADDRESSES) & set(varying) and any(
            parameter(r, a) is None for r in runs for a in varying if a not in GROUP_ADDRESSES):
        # (SOR's omega beside CG, which has none: not a "method x omega" grid with a row of None;
        # heatmap_figures draws one per method instead)
        return None
    xa, ya = varying

    m = measure_for(runs)
    if not any(math.isfinite(m.value(r)) for r in runs):
        return None  # no run has a cost: every cell would be empty

    def order(address):
        """Factors, one per distinct value, with enough digits that no two read the same."""
        values = {value_key(parameter(r, address)): parameter(r, address) for r in runs}
        keys = list(values)
        if numeric(values.values()):
            keys.sort(key=lambda k: float(values[k]))
        names = distinct_format(values[k] for k in keys)
        return [names[k] for k in keys], names

    x_range, x_name = order(xa)
    y_range, y_name = order(ya)
    cells = defaultdict(list)
    for run in runs:
        cells[(value_key(parameter(run, xa)), value_key(parameter(run, ya)))].append(run)
    data = {"x": [], "y": [], "value": [], "colour": [], "converged": []}
    for (kx, ky), group in cells.items():
        value = m.median(group)  # nan when every run of the cell failed: a grey cell
        data["x"].append(x_name[kx])
        data["y"].append(y_name[ky])
        data["value"].append(value)
        data["colour"].append(math.log10(max(value, 1.0)) if m.is_iterations and math.isfinite(value) else value)
        data["converged"].append(_state(group, m))
    src = ColumnDataSource(data)
    finite = [c for c in data["colour"] if math.isfinite(c)]
    lo, hi = min(finite), max(finite)
    mapper = LinearColorMapper(palette=Viridis256, low=lo, high=hi if hi > lo else lo + 1,
                               nan_color=FAILED_COLOUR)
    from bokeh.plotting import figure

    colour_name = "log10 iterations" if m.is_iterations else "digits gained"
    names = short_names([xa, ya])
    of = f" ({of})" if of else ""
    fig = figure(title=f"{m.name.capitalize()} over {names[xa]} x {names[ya]}{of} (colour: {colour_name})",
                 x_range=x_range, y_range=y_range, x_axis_label=names[xa], y_axis_label=names[ya],
                 height=380, sizing_mode="stretch_width", tools="hover,save,reset",
                 tooltips=[(names[xa], "@x"), (names[ya], "@y"), (m.name, "@value"),
                           ("converged", "@converged")])
    fig.toolbar.logo = None
    fig.rect("x", "y", 1, 1, source=src, fill_color={"field": "colour", "transform": mapper},
             line_color="white")
    bad = [i for i, c in enumerate(data["converged"]) if c == "no" and math.isfinite(data["value"][i])]
    if bad and m.is_iterations:
        fig.scatter([data["x"][i] for i in bad], [data["y"][i] for i in bad], marker="x", size=12,
                    color="crimson", line_width=2)
    fig.add_layout(ColorBar(color_mapper=mapper, ticker=BasicTicker(),
                            title="log10 it." if m.is_iterations else "digits"), "right")
    fig.xaxis.major_label_orientation = 0.8 if len(x_range) > 8 else 0.0
    fig.grid.grid_line_color = None
    _ = HoverTool  # the "hover" tool string above configures it
    return fig


def build_figures(runs: list[ReportRun]) -> list[tuple[str, object]]:
    """(caption, figure) pairs in the order the report shows them."""
    convergence = convergence_figure(runs)
    # No curve at all (every run failed before its first step): no empty plot; the table of
    # runs says why each failed.
    out = [("How fast each run reduced its stopping metric. Click a legend entry to hide a run.",
            convergence)] if convergence.renderers else []
    m = measure_for(runs) if runs else None
    if m is not None and m.is_iterations:
        cost = ("Iterations to the stopping tolerance against a swept parameter; red crosses mark "
                "points that did not converge.")
        heat_caption = ("Iterations over the two swept parameters (median over seeds); crosses mark "
                        "points that did not converge.")
    else:
        cost = ("No run reached its tolerance, so the plots show the digits of accuracy each run gained "
                "(log10 of initial / final stopping metric) within its step budget; higher is better.")
        heat_caption = "Digits of accuracy gained over the two swept parameters (median over seeds)."
    if m is not None and any(m.no_cost(r) for r in runs):
        lost = lost_word(runs, m)
        a_run = {"failed": "A failed run", "diverged": "A run that diverged"}.get(lost, "A run that failed or diverged")
        cost += (f" {a_run} has no cost: its point is left out (a gap in its line), and a hollow "
                 f"square in its line's colour under the lowest point marks each value whose runs {lost}.")
        heat_caption += f" Grey cells: every run there {lost} (no cost)."
    for fig in cost_figures(runs):
        out.append((cost, fig))
    for heat in heatmap_figures(runs):
        out.append((heat_caption, heat))
    return out
