"""Test-only page (served with --extra-pages, not listed): one Bokeh line and nothing else.

The floor of ``benchmarks/ui.py``'s time to first plot: what Panel and Bokeh
cost on this machine before any Workbench component is involved.
"""
from __future__ import annotations

TITLE = "Bare plot (benchmark floor)"
DESCRIPTION = "A single Bokeh line with one point, no widgets, no live run."


def page():
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    fig = figure(height=340, sizing_mode="stretch_width", y_axis_type="log")
    fig.line(x="iteration", y="y", source=ColumnDataSource({"iteration": [0], "y": [1.0]}))
    return pn.pane.Bokeh(fig, sizing_mode="stretch_width")
