"""One self-contained HTML file: Bokeh's JS inlined, no CDN, no network at view time."""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import re
from pathlib import Path

from ..core import InvalidParameter
from .data import ReportRun, collect_runs, ranking, varying_parameters

__all__ = ["export_html", "render_html"]

_TEMPLATE = """
{% extends base %}
{% block title %}{{ title | e }}{% endblock %}
{% block postamble %}
<meta name="generator" content="workbench report">
<meta name="workbench-figures" content="{{ n_figures }}">
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px;
         padding: 1.5em 2em 4em; color: #222; height: auto; }
  h1 { margin-bottom: 0.2em; }
  .wb-meta { color: #666; margin-top: 0; }
  figure.wb-figure { margin: 2em 0; }
  figure.wb-figure figcaption { color: #555; font-size: 0.92em; margin-top: 0.4em; }
  table.wb-ranking { border-collapse: collapse; width: 100%; font-size: 0.9em; }
  table.wb-ranking th, table.wb-ranking td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
  table.wb-ranking th:nth-child(2), table.wb-ranking td:nth-child(2),
  table.wb-ranking th:nth-child(3), table.wb-ranking td:nth-child(3) { text-align: left; }
  table.wb-ranking tr.wb-bad td { color: #a33; }
  pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
</style>
{% endblock %}
{% block contents %}
<h1>{{ title | e }}</h1>
<p class="wb-meta">{{ meta | e }}</p>
{% for doc in docs %}
{% for root in doc.roots %}
<figure class="wb-figure">
  <div id="{{ root.elementid }}" data-root-id="{{ root.id }}" class="wb-plot" style="display: contents;"></div>
  <figcaption>{{ captions[loop.index0] | e }}</figcaption>
</figure>
{% endfor %}
{% endfor %}
<h2>Ranking: work per digit of accuracy</h2>
<p class="wb-meta">Work is {{ work_unit | e }}; digits gained are log10(initial / final) of the stopping
metric. Lower work per digit is better; runs that gained no digits rank last.</p>
{{ table }}
{% if failures %}
<h2>Failed runs</h2>
<ul class="wb-failures">
{% for label, message in failures %}<li><b>{{ label | e }}</b>: {{ message | e }}</li>
{% endfor %}</ul>
{% endif %}
<details><summary>Run specs (replay any run in Python with <code>wb.from_spec(spec).run()</code>)</summary>
<pre>{{ specs | e }}</pre></details>
{% endblock %}
"""


def _number(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "&infin;"
    return f"{value:.{digits}g}"


def ranking_table(runs: list[ReportRun]) -> str:
    rows = ranking(runs)
    head = ("<tr><th>rank</th><th>run</th><th>status</th><th>iterations</th><th>work</th><th>digits</th>"
            "<th>work / digit</th><th>wall time (s)</th><th>s / digit</th></tr>")
    body = []
    for r in rows:
        bad = "" if r["status"] == "converged" else ' class="wb-bad"'
        body.append(
            f"<tr{bad}><td>{r['rank']}</td><td>{html.escape(r['label'])}</td><td>{html.escape(r['status'])}</td>"
            f"<td>{r['iterations']}</td><td>{_number(r['work'], 6)}</td><td>{_number(r['digits'], 3)}</td>"
            f"<td>{_number(r['work_per_digit'])}</td><td>{_number(r['wall_time'], 3)}</td>"
            f"<td>{_number(r['time_per_digit'], 3)}</td></tr>")
    return f'<table class="wb-ranking">{head}{"".join(body)}</table>'


def render_html(runs: list[ReportRun], *, title: str = "Workbench report", subtitle: str = "") -> tuple[str, int]:
    """The report page as a string, and its number of figures."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE
    from jinja2 import Template

    from .figures import build_figures

    figures = build_figures(runs)
    if not figures:
        # Bokeh embeds at least one model; with no trace to plot (every run failed before its
        # first step) the page says so where the plots would be.
        from bokeh.models import Div

        figures = [("No run has a convergence history to plot; the table below says why each failed.",
                    Div(text=""))]
        n_figures = 0
    else:
        n_figures = len(figures)
    units = sorted({r.work()[0] for r in runs})
    varying = varying_parameters(runs)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = (f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
            + (f"; swept: {', '.join(varying)}" if varying else "")
            + f"; {sum(r.converged for r in runs)} converged; generated {stamp} by workbench"
            + (f"; {subtitle}" if subtitle else ""))
    specs = json.dumps([{"label": r.label, "status": r.status, "message": r.message, "spec": r.spec}
                        for r in runs], indent=1, default=str)
    page = file_html(
        [fig for _, fig in figures], resources=INLINE, title=title, template=Template(_TEMPLATE),
        template_variables={
            "captions": [c for c, _ in figures], "meta": meta, "table": ranking_table(runs),
            "work_unit": " / ".join(units), "specs": specs, "n_figures": n_figures,
            "failures": [(r.label, r.message) for r in runs if r.status == "failed"][:100],
        },
    )
    return without_external_scripts(page), n_figures


def without_external_scripts(page: str) -> str:
    """``page`` without ``<script src=...>`` tags.

    Panel, once imported in the process (a served dashboard's "Export report"), hands
    Bokeh's bundler the external scripts of every model class it defines (es-module-shims
    for its ESM components), as tags relative to a server. The report uses Bokeh's own
    models, inlined, so those tags are dropped: the file must open offline.
    """
    return re.sub(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*</script>\s*", "", page)


def export_html(results, path: str | os.PathLike, *, title: str = "Workbench report", store=None,
                subtitle: str = "") -> Path:
    """Write a self-contained interactive HTML report of ``results``; return its path.

    Parameters
    ----------
    results : list
        Core :class:`~workbench.core.Result` objects, stored runs, or stored run
        ids (looked up in ``store``; the default store when ``None``).
    path : str or Path
        The ``.html`` file to write (its folder is created).
    title : str
        Page title and heading.

    The page holds a convergence plot (stop metric relative to its start, log
    scale), iterations against each numeric swept parameter, a heatmap when
    exactly two parameters vary, and a table ranking the runs by work per
    digit of accuracy. Bokeh's JavaScript is inlined, so the file opens
    offline in any browser, with pan/zoom/hover.

    Examples
    --------
    >>> import workbench as wb, tempfile, os
    >>> results = [wb.run(wb.linear.SOR(omega=w), wb.problems.poisson2d(8)) for w in (1.0, 1.5)]
    >>> path = wb.report.export_html(results, os.path.join(tempfile.mkdtemp(), "r.html"), title="SOR")
    >>> path.stat().st_size > 100_000   # Bokeh's JS is inside
    True
    """
    runs = collect_runs(results, store)
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InvalidParameter(f"the report is an HTML file; give a path ending in .html, not {str(path)!r}.")
    page, _ = render_html(runs, title=title, subtitle=subtitle)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)  # never leave a half-written report behind
    return path
