"""Static reports: the numbers they show, the self-contained HTML, the CLI, and a real browser."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import workbench as wb
from tests.fakes import refuse_omega
from workbench.cli import main
from workbench.core import Trace
from workbench.report import collect_runs, export_html, ranking, varying_parameters
from workbench.report.data import ReportRun
from workbench.report.png import CHROMIUM_ARGS
from workbench.store import RunStore
from workbench.sweep import run_sweep

CHROMIUM = "/usr/bin/chromium"

SWEEP = {"name": "omega-n", "method": {"name": "sor"}, "problem": {"name": "poisson2d"},
         "stop": {"rtol": 1e-8, "max_steps": 3000},
         "grid": {"method.omega": [1.0, 1.4, 1.7, 1.9], "problem.n": [6, 10, 14]}}


@pytest.fixture(scope="module")
def swept_store(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("report") / "runs.sqlite")
    run_sweep(SWEEP, store, progress=False)
    return store


def fake_run(label, residuals, matvecs=None, status="converged", params=None):
    cols = {"iteration": np.arange(len(residuals), dtype=float), "residual": np.asarray(residuals, float)}
    if matvecs is not None:
        cols["matvecs"] = np.asarray(matvecs, float)
    return ReportRun(label=label, method="m", problem="p", params=params or {}, status=status, message="",
                     iterations=len(residuals) - 1, wall_time=0.1 * len(residuals), metric="residual",
                     trace=Trace.from_dict(cols))


def test_ranking_is_work_per_digit_of_accuracy():
    # a: 4 digits for 40 matvecs (10/digit); b: 6 digits for 30 matvecs (5/digit); c: no progress
    a = fake_run("a", [1.0, 1e-2, 1e-4], matvecs=[1, 20, 40])
    b = fake_run("b", [2.0, 2e-3, 2e-6], matvecs=[1, 15, 30])
    c = fake_run("c", [1.0, 1.0, 3.0], matvecs=[1, 2, 3], status="diverged")
    rows = ranking([a, c, b])
    assert [r["label"] for r in rows] == ["b", "a", "c"]
    assert rows[0]["work_per_digit"] == pytest.approx(5.0) and rows[1]["work_per_digit"] == pytest.approx(10.0)
    assert rows[0]["digits"] == pytest.approx(6.0) and rows[0]["work_unit"] == "matvecs"
    assert math.isinf(rows[2]["work_per_digit"]) and rows[2]["rank"] == 3
    # without a work column the work is the iteration count
    d = fake_run("d", [1.0, 0.1, 0.01])
    assert d.work() == ("iterations", 2.0) and d.digits() == pytest.approx(2.0)


def test_varying_parameters_and_labels(swept_store):
    runs = collect_runs(swept_store.query(sweep="omega-n"))
    assert varying_parameters(runs) == ["method.omega", "problem.n"]
    assert runs[0].label.startswith(f"#{runs[0].run_id} omega=1 n=6")
    results = [wb.run(wb.get_method(m), wb.problems.poisson2d(8)) for m in ("cg", "sor")]
    labels = [r.label for r in collect_runs(results)]
    assert labels == ["cg", "sor"]  # several methods: the method names tell them apart
    with pytest.raises(wb.InvalidParameter, match="at least one run"):
        collect_runs([])
    with pytest.raises(wb.InvalidParameter, match="cannot report on a float"):
        collect_runs([1.5])


def test_export_html_is_self_contained(swept_store, tmp_path):
    import panel  # noqa: F401  (as in a served dashboard's "Export report": Panel adds external scripts)

    ids = [r.id for r in swept_store.query(sweep="omega-n")]
    path = export_html(ids, tmp_path / "r.html", title="SOR <omega> sweep", store=swept_store)
    text = path.read_text()
    assert "<title>SOR &lt;omega&gt; sweep</title>" in text
    # every script is inline: no <script src=...>, no stylesheet links, no remote references in the markup
    assert not re.search(r"<script[^>]*\bsrc\s*=", text) and not re.search(r"<link[^>]*\bhref\s*=", text)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", markup), "the report links a remote resource"
    assert "cdn.bokeh.org" not in text
    assert 'content="4"' in text  # convergence, cost vs omega, cost vs n, heatmap
    assert text.count('class="wb-plot"') == 4
    assert text.count("<tr") == 1 + len(ids)  # ranking table: header + one row per run
    with pytest.raises(wb.InvalidParameter, match=r"\.html"):
        export_html(ids, tmp_path / "r.pdf", store=swept_store)


def test_export_html_from_core_results_has_no_sweep_plots(tmp_path):
    results = [wb.run(wb.get_method(m), wb.problems.poisson2d(8)) for m in ("cg", "jacobi", "sor")]
    path = export_html(results, tmp_path / "race.html", title="race")
    text = path.read_text()
    assert 'name="workbench-figures" content="1"' in text and "Failed runs" not in text


def test_failed_runs_are_listed_with_their_message(tmp_path, monkeypatch):
    refuse_omega(monkeypatch, 1.9)
    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**SWEEP, "name": "bad", "grid": {"method.omega": [1.5, 1.9]}}, store, progress=False)
    text = export_html(store.query(sweep="bad"), tmp_path / "bad.html").read_text()
    assert "Failed runs" in text and "omega=1.9</b>: Failed: omega = 1.9 is refused" in text


def test_a_sweep_whose_runs_all_failed_gets_no_empty_convergence_plot(tmp_path, monkeypatch):
    from workbench.report.figures import build_figures

    refuse_omega(monkeypatch, 1.8, 1.9)
    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**SWEEP, "name": "all-bad", "grid": {"method.omega": [1.8, 1.9]}}, store, progress=False)
    runs = collect_runs(store.query(sweep="all-bad"))
    # No convergence plot, and no empty "digits gained" plot over the numeric omega either.
    assert build_figures(runs) == []
    text = export_html(store.query(sweep="all-bad"), tmp_path / "bad.html").read_text()
    assert "Failed runs" in text and "omega=1.9</b>: Failed: omega = 1.9 is refused" in text
    assert "No run has a convergence history to plot" in text and 'content="0"' in text
    # One such run alone: no figure at all to embed, and the page says so instead of failing.
    (one,) = store.query(sweep="all-bad")[:1]
    text = export_html([one.id], tmp_path / "one.html", store=store).read_text()
    assert "No run has a convergence history to plot" in text and 'content="0"' in text
    with pytest.raises(wb.WorkbenchError, match="pass a list of runs .* got '12'"):
        export_html("12", tmp_path / "x.html", store=store)
    from workbench.report.png import export_png

    with pytest.raises(wb.WorkbenchError, match="none of these runs has a convergence history to plot"):
        export_png([one.id], tmp_path / "png", store=store)  # said before any browser starts


def test_report_cli(swept_store, tmp_path, capsys):
    store = str(swept_store.path)
    out = tmp_path / "sweep.html"
    assert main(["report", "--sweep", "omega-n", "--store", store, "-o", str(out)]) == 0
    assert "report of 12 runs" in capsys.readouterr().out and out.stat().st_size > 100_000
    assert main(["report", "--runs", "1,3-4", "--store", store, "-o", str(tmp_path / "three.html")]) == 0
    assert "report of 3 runs" in capsys.readouterr().out
    assert main(["report", "--sweep", "nope", "--store", store, "-o", str(out)]) == 2
    assert "no sweep 'nope'" in capsys.readouterr().err
    assert main(["report", "--runs", "1,x", "--store", store, "-o", str(out)]) == 2
    assert "1,2,5-9" in capsys.readouterr().err


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.browser
def test_report_opens_offline_in_chromium_with_every_plot(swept_store, tmp_path, browser):
    path = export_html(swept_store.query(sweep="omega-n"), tmp_path / "r.html", title="omega x n")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, attempted = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:  # block everything else, and remember that it was tried
            attempted.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Object.values(Bokeh.index).filter(v => v.model.type === 'Figure').length === 4",
                           timeout=30_000)
    page.wait_for_timeout(500)
    figures = page.evaluate("() => Object.values(Bokeh.index).filter(v => v.model.type === 'Figure')"
                            ".map(v => v.el.getBoundingClientRect().height)")
    assert len(figures) == 4 and all(h > 200 for h in figures)  # four plots, each drawn at full size
    assert page.locator("canvas").count() >= 4
    assert page.locator("table.wb-ranking tr").count() == 13
    assert errors == [] and attempted == []
    page.close()


@pytest.mark.browser
def test_png_export_writes_one_image_per_figure(swept_store, tmp_path):
    from workbench.report import export_png

    folder = tmp_path / "png"
    folder.mkdir()
    # an earlier export's figure 5 and 12 would read as this report's; other files stay
    for name in ("figure-5.png", "figure-12.png", "figure-05.png", "figure-notes.png", "other-9.png"):
        (folder / name).write_bytes(b"old")
    written = export_png(swept_store.query(sweep="omega-n"), folder, width=600, height=300)
    assert [p.name for p in written] == [f"figure-{k}.png" for k in range(1, 5)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [p.name for p in written] + ["figure-05.png", "figure-notes.png", "other-9.png"])
    for p in written:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (600, 300) and len(data) > 5_000  # a drawn plot, not a blank page


def test_fixed_budget_sweeps_plot_digits_gained_instead_of_iterations():
    from workbench.report.figures import build_figures, measure_for

    runs = [fake_run(f"r{k}", [1.0, 10.0 ** -(k + 1)], status="max_steps",
                     params={"method.lr": 10.0 ** -k, "method.schedule": s})
            for k in range(3) for s in ("cosine", None)]
    m = measure_for(runs)
    assert m.name == "digits gained" and [m.value(r) for r in runs[::2]] == pytest.approx([1.0, 2.0, 3.0])
    figures = build_figures(runs)
    assert [f.title.text for _, f in figures[1:]] == [
        "Accuracy vs lr: digits gained", "Digits gained over lr x schedule (colour: digits gained)"]
    assert figures[1][1].x_scale.__class__.__name__ == "LogScale"  # lr spans decades
    runs[0].status = "converged"
    assert measure_for(runs).name == "iterations"


def test_failed_runs_have_no_cost_and_never_look_cheapest(tmp_path, monkeypatch):
    from bokeh.palettes import Viridis256

    from workbench.report.figures import build_figures

    refuse_omega(monkeypatch, 1.95)
    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**SWEEP, "name": "some-bad", "grid": {"method.omega": [1.0, 1.5, 1.9, 1.95], "problem.n": [6, 10]}},
              store, progress=False)
    runs = collect_runs(store.query(sweep="some-bad"))
    assert sum(r.status == "failed" for r in runs) == 2
    figures = dict((f.title.text, f) for _, f in build_figures(runs))
    heat = figures["Iterations over omega x n (colour: log10 iterations)"]
    cells = heat.renderers[0].data_source.data
    failed = [i for i, x in enumerate(cells["x"]) if x == "1.95"]
    assert len(failed) == 2 and all(math.isnan(cells["value"][i]) and math.isnan(cells["colour"][i])
                                    for i in failed)  # not 0 iterations, the cheapest colour
    assert {cells["converged"][i] for i in failed} == {"failed"}
    mapper = heat.renderers[0].glyph.fill_color.transform
    assert mapper.nan_color not in Viridis256  # a grey cell, outside the cost scale
    assert min(c for c in cells["colour"] if not math.isnan(c)) == mapper.low > 0
    # cost vs omega: a gap at 1.95 (nan) in both lines, and a marker in each line's colour there,
    # under the lowest point
    cost = figures["Cost vs omega: iterations"]

    def glyphs(fig, kind):
        return [r for r in fig.renderers if r.glyph.__class__.__name__ == kind]

    lines = [r.data_source.data for r in glyphs(cost, "Line")]
    assert lines and all(d["x"][-1] == 1.95 and math.isnan(d["y"][-1]) and min(d["y"][:-1]) > 0 for d in lines)
    marks = [r.data_source.data for r in glyphs(cost, "Scatter") if r.glyph.marker == "square_x"]
    assert len(marks) == 1 and list(marks[0]["x"]) == [1.95, 1.95]
    assert set(marks[0]["colour"]) == {r.glyph.line_color for r in glyphs(cost, "Line")}
    assert max(marks[0]["y"]) < min(min(d["y"][:-1]) for d in lines)
    assert len(set(marks[0]["y"])) == 2  # a row per group: two squares at 1.95, not one over the other
    # cost vs n: the group omega=1.95, whose every run failed, gets no line, only markers at n = 6
    # and 10 under a legend entry that names it; the other lines have no gap and no marker there
    by_n = figures["Cost vs n: iterations"]
    legend = [item.label["value"] for item in by_n.legend[0].items]
    assert "omega=1" in legend and "omega=1.95" not in legend and "failed (no cost)" not in legend
    assert "omega=1.95: every run failed" in legend
    (marks,) = [r.data_source.data for r in glyphs(by_n, "Scatter") if r.glyph.marker == "square_x"]
    assert list(marks["x"]) == [6.0, 10.0] and set(marks["group"]) == {"omega=1.95"}
    assert not glyphs(by_n, "VSpan")
    rows = ranking(runs)
    assert [r["status"] for r in rows[-2:]] == ["failed", "failed"]
    assert all(math.isnan(r["work_per_digit"]) and math.isnan(r["digits"]) for r in rows[-2:])
    # A run that failed mid-way after gaining digits is still no result: it ranks after the
    # others, and the fixed-budget measure (digits gained) is nan for it too.
    ok = fake_run("ok", [1.0, 0.5, 0.1], status="max_steps", params={"method.lr": 0.1})
    broke = fake_run("broke", [1.0, 1e-6], status="failed", params={"method.lr": 1.0})
    assert [r["label"] for r in ranking([broke, ok])] == ["ok", "broke"]
    from workbench.report.figures import measure_for

    m = measure_for([broke, ok])
    assert m.name == "digits gained" and math.isnan(m.value(broke)) and m.value(ok) == pytest.approx(1.0)


def test_heatmap_has_one_column_per_value_when_values_agree_to_four_digits():
    from bokeh.core.validation import check_integrity

    from workbench.report.figures import heatmap_figure

    omegas = list(np.linspace(1.90, 1.91, 21))
    runs = [fake_run(f"r{k}", [1.0, 1e-9], params={"method.omega": float(w), "problem.n": n})
            for k, (w, n) in enumerate((w, n) for w in omegas for n in (16, 32))]
    fig = heatmap_figure(runs)
    factors = list(fig.x_range.factors)
    assert len(factors) == len(set(factors)) == 21  # one column per omega, in order
    assert factors[:3] == ["1.9", "1.9005", "1.901"] and factors[-1] == "1.91"
    cells = fig.renderers[0].data_source.data
    assert sorted(set(cells["x"])) == sorted(factors) and len(set(zip(cells["x"], cells["y"]))) == 42
    assert not check_integrity(fig.references()).error  # no E-1019 DUPLICATE_FACTORS
    # labels of the runs use the same digits
    labelled = collect_runs(runs[:4])
    assert [r.label for r in labelled] == ["omega=1.9 n=16", "omega=1.9 n=32", "omega=1.9005 n=16",
                                           "omega=1.9005 n=32"]


def test_labels_tell_apart_runs_of_one_method_among_several(tmp_path):
    p = wb.problems.poisson2d(16)
    results = [wb.run(wb.linear.SOR(omega=1.5), p), wb.run(wb.linear.SOR(omega=1.9), p),
               wb.run(wb.get_method("cg"), p)]
    assert [r.label for r in collect_runs(results)] == ["sor omega=1.5", "sor omega=1.9", "cg"]
    q = wb.problems.quadratic()
    adam = [wb.run(wb.get_method("adam", lr=lr), q, max_steps=20) for lr in (0.01, 0.1, 1e6)]
    assert [r.label for r in collect_runs(adam + results[:1])] == [
        "adam lr=0.01", "adam lr=0.1", "adam lr=1e+06", "sor"]  # stop rules differ by method: not shown
    # the same spec twice: told apart by position (results) or by stored id
    twice = [results[0], wb.run(wb.linear.SOR(omega=1.5), p), results[2]]
    labels = [r.label for r in collect_runs(twice)]
    assert labels == ["sor (1)", "sor (2)", "cg"]
    store = RunStore(tmp_path / "runs.sqlite")
    ids = [store.save(r) for r in results]
    assert [r.label for r in collect_runs(ids, store)] == [
        f"#{ids[0]} sor omega=1.5", f"#{ids[1]} sor omega=1.9", f"#{ids[2]} cg"]
    assert [r.label for r in collect_runs([ids[0], ids[0]], store)] == [f"#{ids[0]} sor (1)", f"#{ids[0]} sor (2)"]
    # one method on several problems: the problem is named, and values differing past 4 digits show
    runs = collect_runs([wb.run(wb.linear.SOR(omega=w), wb.problems.get_problem(name, n=8))
                         for name in ("poisson2d", "anisotropic2d") for w in (1.5, 1.5 + 1e-7)])
    assert [r.label for r in runs] == ["omega=1.5 poisson2d", "omega=1.5000001 poisson2d",
                                       "omega=1.5 anisotropic2d", "omega=1.5000001 anisotropic2d"]


def _legend(fig):
    return [item.label.value for item in fig.legend.items]


def test_runs_of_several_methods_keep_a_line_per_method_and_their_own_parameters(tmp_path):
    # SOR swept over omega and n beside Jacobi over n: the cost of each method is its own line
    # (once the two were one median "all runs" line), SOR's omega stays a swept parameter, and
    # SOR's two-parameter sweep keeps its heatmap.
    from workbench.report.figures import build_figures

    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**SWEEP, "name": "sor", "grid": {"method.omega": [1.5, 1.8], "problem.n": [6, 10, 14]}},
              store, progress=False)
    run_sweep({**SWEEP, "name": "jacobi", "method": {"name": "jacobi"}, "grid": {"problem.n": [6, 10, 14]}},
              store, progress=False)
    runs = collect_runs(store.query())
    assert varying_parameters(runs) == ["method", "method.omega", "problem.n"]
    figures = {fig.title.text: fig for _, fig in build_figures(runs)}
    by_n = figures["Cost vs n: iterations"]
    assert _legend(by_n) == ["jacobi", "sor, omega=1.5", "sor, omega=1.8"]
    jacobi_line = next(r for r in by_n.renderers if r.data_source.data.get("group", [None])[0] == "jacobi")
    assert jacobi_line.data_source.data["y"] == [float(r.iterations) for r in runs if r.method == "jacobi"]
    assert _legend(figures["Cost vs omega (sor): iterations"]) == ["n=6", "n=10", "n=14"]
    assert "Iterations over omega x n (sor) (colour: log10 iterations)" in figures
    assert not any(t.startswith("Iterations over method") for t in figures)  # no method x n grid
    # A race exported from a page: SOR at two omegas beside CG gets no "method x omega" heatmap
    # with a row of None for CG, only SOR's cost against omega.
    p = wb.problems.poisson2d(8)
    race = collect_runs([wb.run(wb.linear.SOR(omega=w), p) for w in (1.5, 1.9)] + [wb.run(wb.get_method("cg"), p)])
    assert [fig.title.text for _, fig in build_figures(race)][1:] == ["Cost vs omega (sor): iterations"]
    # One method on two problems: the problems share omega, so the grid over them is drawn, and
    # the runs of one omega on the two problems differ by their dash, not only by position.
    from workbench.report.figures import _colour_runs, _dash_runs

    two = collect_runs([wb.run(wb.linear.SOR(omega=w), q) for q in (p, wb.problems.anisotropic2d(8))
                        for w in (1.2, 1.8)])
    assert any(fig.title.text.startswith("Iterations over problem x omega") for _, fig in build_figures(two))
    styles = list(zip(_colour_runs(two), _dash_runs(two)))
    assert len(set(styles)) == 4 and styles[0][0] == styles[2][0] and styles[0][1] != styles[2][1]
    text = export_html(store.query(), tmp_path / "mixed.html").read_text()
    assert "swept: method, method.omega, problem.n" in text


def test_a_method_and_a_problem_parameter_of_one_name_are_told_apart(tmp_path):
    from workbench.report.figures import build_figures

    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({"name": "seeds", "method": {"name": "randomized_kaczmarz"}, "problem": {"name": "random_spd"},
               "stop": {"max_steps": 30}, "grid": {"method.seed": [0, 1], "problem.seed": [0, 1]}},
              store, progress=False)
    stored = store.query(sweep="seeds")
    runs = collect_runs(stored)
    assert runs[1].label == f"#{runs[1].run_id} method.seed=0 problem.seed=1"
    assert stored[1].label.endswith("method.seed=0 problem.seed=1")
    titles = [fig.title.text for _, fig in build_figures(runs)]
    assert any(t.startswith("Accuracy vs method.seed") for t in titles)
    assert any(t.startswith("Accuracy vs problem.seed") for t in titles)
    assert any("over method.seed x problem.seed" in t for t in titles)


def test_a_run_that_diverged_has_no_cost_where_the_figures_count_iterations(tmp_path):
    # Jacobi at omega 1.5 and 1.9 diverges after a few dozen steps: drawn at those counts it
    # read as the fastest point of the sweep, below the converged runs' hundreds.
    from workbench.report.figures import build_figures

    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**SWEEP, "name": "jd", "method": {"name": "jacobi"},
               "grid": {"method.omega": [0.5, 1.0, 1.5, 1.9], "problem.n": [6, 10]}}, store, progress=False)
    runs = collect_runs(store.query(sweep="jd"))
    diverged = {(r.params["method.omega"], r.params["problem.n"]): r.iterations for r in runs
                if r.status == "diverged"}
    assert {w for w, _ in diverged} == {1.5, 1.9} and max(diverged.values()) < 200
    figures = build_figures(runs)
    by_omega = next(fig for _, fig in figures if fig.title.text.startswith("Cost vs omega"))
    lines = [r for r in by_omega.renderers if type(r.glyph).__name__ == "Line"]
    assert len(lines) == 2
    for line in lines:
        data = line.data_source.data
        xs_with_cost = [x for x, y in zip(data["x"], data["y"]) if math.isfinite(y)]
        assert xs_with_cost == [0.5, 1.0], data
    assert "diverged (no cost)" in _legend(by_omega)
    heat = next(fig for _, fig in figures if fig.title.text.startswith("Iterations over"))
    cells = heat.renderers[0].data_source.data
    assert sorted(s for s in cells["converged"]) == ["diverged"] * 4 + ["yes"] * 4
    assert any("A run that diverged has no cost" in caption for caption, _ in figures)
