"""Static reports: one self-contained HTML file (or PNG images) from runs or a sweep.

:func:`export_html` takes core results, stored runs or stored run ids and writes
an interactive Bokeh page with every resource inlined, so it can be mailed to
someone without Python and opened offline. Bokeh is imported only when a
report is made.

Examples
--------
>>> import workbench as wb, tempfile, os
>>> results = [wb.run(wb.linear.SOR(omega=w), wb.problems.poisson2d(8)) for w in (1.2, 1.6)]
>>> out = wb.report.export_html(results, os.path.join(tempfile.mkdtemp(), "sor.html"))
>>> out.suffix
'.html'
"""
from __future__ import annotations

from .data import ReportRun, collect_runs, ranking, varying_parameters
from .html import export_html, render_html
from .png import export_png

__all__ = ["export_html", "export_png", "render_html", "collect_runs", "ranking", "varying_parameters",
           "ReportRun", "sweep_runs"]


def sweep_runs(name: str, store=None) -> list:
    """The stored runs of sweep ``name`` (for :func:`export_html`)."""
    from ..store import open_store

    store = open_store(store)
    store.sweep_spec(name)  # a clear error for an unknown sweep
    return store.query(sweep=name)
