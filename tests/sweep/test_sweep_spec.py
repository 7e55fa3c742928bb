"""Sweep specs (grid, zip, random, seeds) and the serial executor."""
from __future__ import annotations

import math

import numpy as np
import pytest

import workbench as wb
from tests.fakes import refuse_omega
from workbench.core import MalformedInput, UnknownName
from workbench.store import RunStore, run_key
from workbench.sweep import SweepSpec, load_spec, plan_batches, run_sweep, seeded_spec

BASE = {"name": "t", "method": {"name": "sor", "params": {"kernel": "pyamg"}},
        "problem": {"name": "poisson2d", "params": {"n": 8}}, "stop": {"rtol": 1e-8, "max_steps": 2000}}


def test_grid_zip_random_and_seeds_combine_as_a_product():
    spec = SweepSpec({**BASE,
                      "grid": {"method.omega": {"linspace": [1.0, 1.9, 10]}, "problem.n": [6, 8]},
                      "zip": {"stop.rtol": [1e-6, 1e-8], "stop.max_steps": [100, 200]},
                      "seeds": [0, 1, 2]})
    runs = spec.runs()
    assert len(runs) == 10 * 2 * 2 * 3
    omegas = sorted({r["method"]["params"]["omega"] for r in runs})
    assert omegas[:3] == [1.0, 1.1, 1.2] and omegas[-1] == 1.9  # linspace without round-off noise
    pairs = {(r["stop"]["rtol"], r["stop"]["max_steps"]) for r in runs}
    assert pairs == {(1e-6, 100), (1e-8, 200)}  # zipped, not crossed
    assert {r["seed"] for r in runs} == {0, 1, 2}
    assert all(r["method"]["params"]["kernel"] == "pyamg" for r in runs)
    assert len({run_key(r) for r in runs}) == len(runs)
    assert spec.swept() == ["method.omega", "problem.n", "stop.rtol", "stop.max_steps", "seed"]


def test_random_axis_is_seeded_and_within_bounds():
    raw = {**BASE, "random": {"samples": 50, "seed": 4, "params": {
        "method.omega": {"uniform": [1.2, 1.8]}, "problem.n": {"choice": [6, 10]},
        "stop.rtol": {"loguniform": [1e-10, 1e-4]}}}}
    a, b = SweepSpec(raw).runs(), SweepSpec(raw).runs()
    assert a == b and len(a) == 50
    omegas = np.array([r["method"]["params"]["omega"] for r in a])
    assert omegas.min() >= 1.2 and omegas.max() <= 1.8 and omegas.std() > 0.1
    assert {r["problem"]["params"]["n"] for r in a} == {6, 10}
    rtols = np.array([r["stop"]["rtol"] for r in a])
    assert rtols.min() >= 1e-10 and rtols.max() <= 1e-4 and np.log10(rtols).std() > 1
    other = SweepSpec({**raw, "random": {**raw["random"], "seed": 5}}).runs()
    assert other != a


@pytest.mark.parametrize("change,needle", [
    ({"grid": {"method.omegaa": [1.0]}}, "no parameter 'omegaa'"),
    ({"grid": {"solver.omega": [1.0]}}, "method.<param>"),
    ({"zip": {"method.omega": [1.0, 1.2], "problem.n": [4]}}, "equal lengths"),
    ({"grids": {}}, "unknown keys grids"),
    ({"stop": {"tolerance": 1}}, "unknown stop options"),
    ({"grid": {"method.omega": {"linspace": [1, 2]}}}, "cannot expand linspace"),
    ({"random": {"samples": 3, "params": {"method.omega": {"normal": [0, 1]}}}}, "unknown distribution"),
    ({"seed": 1, "seeds": [1, 2]}, "not both"),
    # wrong types and empty axes: a sentence, never a bare TypeError / AttributeError
    ({"grid": [1, 2]}, "`grid` should be a mapping"),
    ({"stop": 5}, "`stop` should be a mapping"),
    ({"random": {"samples": "many", "params": {"method.omega": {"uniform": [1, 2]}}}}, "random.samples should be"),
    ({"random": {"samples": 0, "params": {"method.omega": {"uniform": [1, 2]}}}}, "at least 1"),
    ({"random": {"samples": 3, "seed": "abc", "params": {"method.omega": {"uniform": [1, 2]}}}}, "random.seed"),
    ({"random": {"samples": 3, "params": [1, 2]}}, "`random.params` should be a mapping"),
    ({"method": {"name": "sor", "params": [1]}}, "`method.params` should be a mapping"),
    ({"grid": {"method.omega": {"linspace": [1, 2, 0]}}}, "number of values of 'method.omega'"),
    ({"grid": {"method.omega": {"range": [1.0, 1.9, 0]}}}, "has a step of 0"),
    ({"grid": {"method.omega": {"range": [1.9, 1.0, 0.1]}}}, "has no values"),
    ({"seeds": "abc"}, "seeds are whole numbers"),
])
def test_malformed_specs_say_what_is_wrong(change, needle):
    with pytest.raises(MalformedInput, match=needle):
        SweepSpec({**BASE, **change}).runs()


def test_unknown_method_is_an_unknown_name():
    with pytest.raises(UnknownName, match="Did you mean sor"):
        SweepSpec({**BASE, "method": "sorr"})


def test_yaml_file_and_name_from_file(tmp_path):
    path = tmp_path / "my-sweep.yaml"
    path.write_text("method: sor\nproblem: poisson2d\ngrid:\n  method.omega: {range: [1, 2, 1]}\n")
    spec = load_spec(path)
    assert spec.name == "my-sweep" and len(spec.runs()) == 1
    (tmp_path / "bad.yaml").write_text("method: [unclosed\n")
    with pytest.raises(MalformedInput, match="not valid YAML"):
        load_spec(tmp_path / "bad.yaml")
    with pytest.raises(MalformedInput, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")


def test_run_seed_reaches_the_problem_unless_set():
    spec = {"method": {"name": "sor", "params": {}}, "problem": {"name": "poisson2d", "params": {"n": 4}},
            "stop": {}, "seed": 7}
    assert seeded_spec(spec)["problem"]["params"]["seed"] == 7
    spec["problem"]["params"]["seed"] = 1
    assert seeded_spec(spec)["problem"]["params"]["seed"] == 1


def test_plan_batches_targets_a_tenth_of_a_second_per_task():
    items = list(range(100))
    assert [len(b) for b in plan_batches(items, 0.5, 2)] == [1] * 100  # slow runs: one per task
    assert {len(b) for b in plan_batches(items, 0.01, 2)[:-1]} == {10}  # 10 x 10 ms = 0.1 s
    # tiny runs are capped so each of the 2 workers still gets about four tasks
    assert len(plan_batches(items, 1e-5, 2)) == 8
    assert sum(len(b) for b in plan_batches(items, 1e-3, 3)) == 100
    assert [len(b) for b in plan_batches(items, 0.01, 2, batch_size=30)] == [30, 30, 30, 10]


def test_serial_sweep_stores_failures_and_reruns_only_missing(tmp_path, monkeypatch):
    refuse_omega(monkeypatch, 1.9)
    store = RunStore(tmp_path / "runs.sqlite")
    raw = {**BASE, "grid": {"method.omega": [1.0, 1.5, 1.9], "problem.n": [4, 6]}}
    summary = run_sweep(raw, store, progress=False)
    assert (summary.total, summary.ran, summary.failed, summary.already) == (6, 6, 2, 0)
    failed = store.query(sweep="t", status="failed")
    assert len(failed) == 2
    assert all(r.message == "Failed: omega = 1.9 is refused when the run starts (a test)." for r in failed)
    assert all(len(r.trace) == 0 for r in failed)
    ok = store.query(sweep="t", status="converged")
    assert len(ok) == 4 and all(len(r.trace) == r.iterations + 1 for r in ok)

    # a larger spec under the same name: only the new points run
    raw["grid"]["method.omega"].append(1.8)
    again = run_sweep(raw, store, progress=False)
    assert (again.total, again.already, again.ran) == (8, 6, 2)
    assert store.count() == 8 and store.count(sweep="t") == 8
    assert run_sweep(raw, store, progress=False).ran == 0


def test_a_method_that_raises_is_stored_as_failed(tmp_path, monkeypatch):
    from workbench.linear.sor import SOR

    def broken_step(self, problem, state):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(SOR, "step", broken_step)
    store = RunStore(tmp_path / "runs.sqlite")
    summary = run_sweep({**BASE, "grid": {"method.omega": [1.2, 1.4]}}, store, progress=False)
    assert summary.ran == 2 and summary.failed == 2
    assert all(r.message.endswith("RuntimeError: kernel exploded") for r in store.query())


def test_a_sweep_shared_between_names_attaches_stored_runs(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**BASE, "name": "a", "grid": {"method.omega": [1.2, 1.4]}}, store, progress=False)
    s = run_sweep({**BASE, "name": "b", "grid": {"method.omega": [1.4, 1.6]}}, store, progress=False)
    assert (s.already, s.ran) == (1, 1)
    assert store.count() == 3 and store.count(sweep="b") == 2
    assert [x["name"] for x in store.sweeps()] == ["a", "b"]


@pytest.mark.parametrize("batch_size", [None, 5])
def test_ctrl_c_keeps_finished_runs_and_a_rerun_finishes(tmp_path, monkeypatch, batch_size):
    # The serial executor runs one run at a time whatever the batch size, so an interrupt
    # after three runs finds three stored (with batch_size=5 the whole batch used to be lost).
    import workbench.sweep.executors as executors

    real = executors.execute_batch
    calls = {"n": 0}

    def interrupted_after_three(batch):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(batch)

    monkeypatch.setattr(executors, "execute_batch", interrupted_after_three)
    store = RunStore(tmp_path / "runs.sqlite")
    spec = {**BASE, "grid": {"method.omega": [1.1, 1.3, 1.5, 1.7, 1.9]}}
    summary = run_sweep(spec, store, batch_size=batch_size, progress=False)
    assert summary.interrupted and summary.ran == 3 and not summary.complete
    assert "run the same command again" in str(summary)
    assert store.count() == 3
    store.check()
    monkeypatch.setattr(executors, "execute_batch", real)
    again = run_sweep(spec, store, progress=False)
    assert (again.already, again.ran) == (3, 2) and store.count() == 5


def test_cli_dry_run_and_bad_spec(tmp_path, capsys):
    from workbench.cli import main

    spec = tmp_path / "s.yaml"
    spec.write_text("method: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.2, 1.6]}\n")
    store = str(tmp_path / "runs.sqlite")
    assert main(["sweep", str(spec), "--store", store, "--dry-run"]) == 0
    assert "2 runs, 0 stored, 2 to run" in capsys.readouterr().out
    assert not (tmp_path / "runs.sqlite").exists()  # a dry run creates no store
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sweep", str(spec), "--store", store, "--dry-run"]) == 0
    assert "2 runs, 2 stored, 0 to run" in capsys.readouterr().out
    spec.write_text("method: sor\nproblem: poisson2d\ngrid: {method.omegaa: [1.2]}\n")
    assert main(["sweep", str(spec), "--store", store]) == 2
    assert "no parameter 'omegaa'" in capsys.readouterr().err
    spec.write_text("method: sor\nproblem: poisson2d\ngrid: {method.omega: [1.2]}\n")
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler needs the dask executor" in capsys.readouterr().err


def test_sizes_are_checked_before_anything_is_expanded():
    from workbench.core import TooLarge

    with pytest.raises(TooLarge, match="'method.omega' = 100000000 is more than a sweep may hold"):
        SweepSpec({**BASE, "grid": {"method.omega": {"linspace": [1.0, 1.9, 100_000_000]}}})
    with pytest.raises(TooLarge, match="1,000,000 runs"):
        SweepSpec({**BASE, "grid": {"method.omega": {"linspace": [1.0, 1.9, 1000]}, "problem.n": list(range(1000))}})
    # Every way of making many runs counts: ranges, seed ranges, float sample counts.
    omegas = {"method.omega": {"linspace": [1.0, 1.9, 1000]}}
    with pytest.raises(TooLarge, match="999,000 runs"):
        SweepSpec({**BASE, "grid": {**omegas, "problem.n": {"range": [1, 1000]}}})
    with pytest.raises(TooLarge, match="1,000,000 runs"):
        SweepSpec({**BASE, "grid": omegas, "seeds": {"range": [0, 1000]}})
    with pytest.raises(TooLarge, match="1,000,000 runs"):
        SweepSpec({**BASE, "grid": omegas, "random": {"samples": 1000.0, "params": {"method.omega": [1.2]}}})
    with pytest.raises(TooLarge, match="axis 'method.omega' has more values than a sweep may hold"):
        SweepSpec({**BASE, "grid": {"method.omega": {"range": [0.0, 1e9, 1e-3]}}})
    # Infinite counts are refused with a sentence, not an OverflowError.
    with pytest.raises(MalformedInput, match="needs finite start, stop and step"):
        SweepSpec({**BASE, "grid": {"method.omega": {"range": [0.0, math.inf, 1.0]}}})
    with pytest.raises(MalformedInput, match="whole number of at least 1.*got inf"):
        SweepSpec({**BASE, "grid": {"method.omega": {"linspace": [1.0, 1.9, math.inf]}}})
    # Ranges too long for range() itself, or with a vanishing step, are counted, not built.
    for args in ([0, 10**20, 1], [0.0, 1.0, 1e-300], [-1e308, 1e308, 1e-10]):
        with pytest.raises(TooLarge, match="has more values than a sweep may hold"):
            SweepSpec({**BASE, "grid": {"method.omega": {"range": args}}})
    with pytest.raises(MalformedInput, match="has a step of 0"):
        SweepSpec({**BASE, "grid": {"method.omega": {"range": [1, 2, 0]}}})
    assert SweepSpec({**BASE, "grid": {"problem.n": {"range": [11, 1, -3]}}}).grid["problem.n"] == [11, 8, 5, 2]


def test_yaml_exponents_without_a_dot_are_numbers_and_integral_float_seeds_are_seeds():
    spec = load_spec("method: {name: sor}\nproblem: {name: poisson2d, params: {n: 8}}\n"
                     "stop: {rtol: 1e-8, max_steps: 10}\nzip: {stop.atol: [1e-12, 2E-3]}\nseeds: [0.0, 2.0]\n")
    assert spec.stop["rtol"] == 1e-8 and spec.zip["stop.atol"] == [1e-12, 2e-3]
    assert spec.seeds == [0, 2] and all(isinstance(s, int) for s in spec.seeds)
    # Whole-number settings written as floats are the same runs as written as ints; the
    # name stays as the file spells it.
    floats = load_spec("name: 1e5\nmethod: sor\nproblem: {name: poisson2d, params: {n: 1e1}}\n"
                       "stop: {max_steps: 1e3}\ngrid: {problem.n: [1.2e1], method.omega: [1.5]}\n")
    ints = load_spec("method: sor\nproblem: {name: poisson2d, params: {n: 10}}\n"
                     "stop: {max_steps: 1000}\ngrid: {problem.n: [12], method.omega: [1.5]}\n")
    assert floats.name == "1e5" and [run_key(r) for r in floats.runs()] == [run_key(r) for r in ints.runs()]
    with pytest.raises(MalformedInput, match="seeds are whole numbers from 0 to 2..63 - 1"):
        load_spec("method: sor\nproblem: poisson2d\nseeds: [1e30]\n")


def test_a_real_setting_written_as_an_int_is_the_run_written_as_a_float():
    # omega: 1 and omega: 1.0 are one run (they were two, with identical results, and a list
    # turned into a linspace re-ran omega = 1); so are rtol: 0 and rtol: 0.0.
    listed = load_spec("method: sor\nproblem: {name: poisson2d, params: {n: 8}}\nstop: {rtol: 0, atol: 1}\n"
                       "grid: {method.omega: [1, 1.0, 1.5]}\n")
    spaced = load_spec("method: {name: sor, params: {omega: 1.5}}\nproblem: {name: poisson2d, params: {n: 8}}\n"
                       "stop: {rtol: 0.0, atol: 1.0}\ngrid: {method.omega: {linspace: [1, 1.5, 2]}}\n")
    keys = [run_key(r) for r in listed.runs()]
    assert len(set(keys)) == 2 and set(keys) == {run_key(r) for r in spaced.runs()}
    assert all(isinstance(r["method"]["params"]["omega"], float) for r in listed.runs())
    # whole-number settings stay whole (n, max_steps), text stays text
    mixed = load_spec("method: {name: sor, params: {kernel: reference}}\nproblem: {name: poisson2d, params: {n: 8}}\n"
                      "stop: {max_steps: 10}\n")
    (run,) = mixed.runs()
    assert run["problem"]["params"]["n"] == 8 and isinstance(run["problem"]["params"]["n"], int)
    assert isinstance(run["stop"]["max_steps"], int) and run["method"]["params"]["kernel"] == "reference"


def test_fixed_values_are_checked_once_before_anything_runs():
    from workbench.core import InvalidParameter

    with pytest.raises(InvalidParameter, match="does not accept 'numpy'.*a fixed value of the sweep spec's method"):
        SweepSpec({**BASE, "method": {"name": "sor", "params": {"kernel": "numpy"}},
                   "grid": {"method.omega": [1.2]}})
    with pytest.raises(InvalidParameter, match="rtol and atol must be finite and non-negative"):
        SweepSpec({**BASE, "stop": {"rtol": -1}, "grid": {"method.omega": [1.2]}})


def test_a_bad_value_of_an_axis_is_refused_before_anything_runs(tmp_path):
    from workbench.cli import main
    from workbench.core import InvalidParameter

    with pytest.raises(InvalidParameter, match=r"the value 2.5 of the swept method.omega is refused: bad value "
                                               r"for sor: .*less than 2.0.* Remove it from the axis"):
        SweepSpec({**BASE, "grid": {"method.omega": [1.2, 2.5]}})
    with pytest.raises(InvalidParameter, match="the value 1 of the swept problem.n is refused"):
        SweepSpec({**BASE, "zip": {"problem.n": [8, 1], "method.omega": [1.2, 1.5]}})
    with pytest.raises(InvalidParameter, match="the value -1.0 of the swept stop.rtol is refused: rtol and atol"):
        SweepSpec({**BASE, "grid": {"stop.rtol": [1e-6, -1]}})
    # a distribution reaching past the bounds is refused at once, whatever the seed would draw
    # (with samples: 2 and the default seed the draws were 1.955 and 1.405, and it used to run)
    for samples in (2, 20):
        with pytest.raises(InvalidParameter, match=r"the random axis 'method.omega' draws from \{'uniform': "
                                                   r"\[1.0, 2.5\]\}, which reaches values its parameter refuses"):
            SweepSpec({**BASE, "random": {"samples": samples, "params": {"method.omega": {"uniform": [1.0, 2.5]}}}})
    with pytest.raises(InvalidParameter, match="the random axis 'problem.n' draws from"):
        SweepSpec({**BASE, "random": {"samples": 1, "params": {"problem.n": {"choice": [8, 1]}}}})
    # an exclusive end that uniform never reaches is fine
    assert len(SweepSpec({**BASE, "random": {"samples": 3, "params": {"method.omega": {"uniform": [1.0, 2.0]}}}})
               .runs()) == 3
    from workbench.core import UnknownName

    optimizer = {"method": {"name": "gd", "params": {"lr": 0.1}}, "problem": {"name": "quadratic", "params": {}}}
    with pytest.raises(UnknownName, match="the value 'cosin' of the swept method.schedule is refused: there is "
                                          "no schedule called 'cosin'. Did you mean cosine?"):
        SweepSpec({**BASE, **optimizer, "grid": {"method.schedule": ["linear", "cosin"]}})
    with pytest.raises(InvalidParameter, match="the value .* of the swept method.schedule is refused: bad value "
                                               "for cosine: .*min_ratio"):
        SweepSpec({**BASE, **optimizer, "grid": {"method.schedule": [{"name": "cosine", "min_ratio": 2}]}})
    # Values are checked one by one, with the fixed ones: a combination is left to the runs.
    assert len(SweepSpec({**BASE, "grid": {"method.omega": [1.2, 1.9], "problem.n": [4, 8]}}).runs()) == 4
    spec = tmp_path / "s.yaml"
    spec.write_text("method: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.2, 2.5]}\n")
    store = tmp_path / "runs.sqlite"
    assert main(["sweep", str(spec), "--store", str(store), "--executor", "serial", "--quiet"]) == 2
    assert not store.exists() or RunStore(store).count() == 0


def test_an_edited_spec_under_the_same_name_is_what_the_sweep_holds(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run_sweep({**BASE, "grid": {"method.omega": [1.2, 1.5, 1.8]}}, store, progress=False)
    summary = run_sweep({**BASE, "method": {"name": "ssor"}, "grid": {"method.omega": [1.2, 1.5]}}, store,
                        progress=False)
    assert summary.left == 3 and "3 earlier runs outside it left the sweep" in str(summary)
    assert {r.method for r in store.query(sweep="t")} == {"ssor"} and store.count() == 5
    grown = run_sweep({**BASE, "method": {"name": "ssor"}, "grid": {"method.omega": [1.2, 1.5, 1.7]}}, store,
                      progress=False)
    assert (grown.already, grown.ran, grown.left) == (2, 1, 0)  # adding a value keeps the others


def test_runs_finished_after_another_process_redefined_the_sweep_stay_out_of_it(tmp_path):
    # Two processes run different specs under one name: the second redefines the sweep while
    # the first is still running. The first's later runs are stored but no longer join the
    # sweep (they did, so the sweep held runs its stored spec excludes, and no rerun repaired it).
    from workbench.sweep import SerialExecutor

    path = tmp_path / "runs.sqlite"
    edited = {**BASE, "grid": {"method.omega": [1.2, 1.3]}}

    class RedefinedAfterTheFirstRun(SerialExecutor):
        def map(self, batches, more=None, after=0):
            for k, item in enumerate(super().map(batches, more, after)):
                if k == 1:
                    run_sweep(edited, RunStore(path), progress=False)  # "another process"
                yield item

    store = RunStore(path)
    first = run_sweep({**BASE, "grid": {"method.omega": [1.2, 1.5, 1.6, 1.7]}}, store,
                      executor=RedefinedAfterTheFirstRun(), progress=False)
    assert first.ran == 4 and first.detached == 3 and "3 runs finished after another process" in str(first)
    held = sorted(r.params["method.omega"] for r in store.query(sweep="t"))
    assert held == [1.2, 1.3] and store.count() == 5  # 1.5 was stored before the edit, then left
    again = run_sweep(edited, store, progress=False)
    assert (again.already, again.ran, again.left) == (2, 0, 0)
    # A member outside the stored spec (as an older store could hold) leaves on the next run.
    store._conn.execute("INSERT INTO sweep_runs SELECT 't', key FROM runs WHERE id = 4")
    assert len(store.query(sweep="t")) == 3
    run_sweep(edited, store, progress=False)
    assert sorted(r.params["method.omega"] for r in store.query(sweep="t")) == [1.2, 1.3]


def test_runs_finished_after_another_process_wrote_the_same_sweep_differently_stay_in_it(tmp_path):
    # omega: [1, 1.2, 1.5] and [1.0, 1.2, 1.5] are the same runs: the other process's spec holds
    # every run of this one, so none is kept out (the spec texts differ; their runs do not).
    from workbench.sweep import SerialExecutor

    path = tmp_path / "runs.sqlite"
    same = {**BASE, "grid": {"method.omega": [1.0, 1.2, 1.5]}}

    class SameRunsWrittenDifferently(SerialExecutor):
        def map(self, batches, more=None, after=0):
            for k, item in enumerate(super().map(batches, more, after)):
                if k == 1:
                    spec = load_spec(same)
                    RunStore(path).register_sweep(spec.name, spec.to_dict(), [run_key(r) for r in spec.runs()])
                yield item

    store = RunStore(path)
    summary = run_sweep({**BASE, "grid": {"method.omega": [1, 1.2, 1.5]}}, store,
                        executor=SameRunsWrittenDifferently(), progress=False)
    assert (summary.ran, summary.detached) == (3, 0) and len(store.query(sweep="t")) == 3


def test_cli_retry_failed_delete_and_an_all_failed_sweep(tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    refuse_omega(monkeypatch, 1.8, 1.9)
    spec = tmp_path / "s.yaml"
    spec.write_text("method: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.2, 1.8]}\n")
    store = str(tmp_path / "runs.sqlite")
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--quiet"]) == 0
    assert "(1 failed)" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--quiet"]) == 0
    assert "1 of the runs stored before failed (`workbench sweep --retry-failed`" in capsys.readouterr().out
    spec.write_text("method: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.9]}\n"
                    "name: s2\n")
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--quiet"]) == 1
    assert "every run failed" in capsys.readouterr().err
    # A cluster that cannot be reached: nothing is deleted, the failed run keeps its message.
    assert main(["sweep", str(spec), "--store", store, "--scheduler", "tcp://127.0.0.1:noport", "--quiet",
                 "--retry-failed"]) == 2
    err = capsys.readouterr().err  # (without the dask extra: "sweeps on Dask need dask.distributed")
    assert "could not connect to tcp://127.0.0.1:noport" in err or "need dask.distributed" in err
    assert main(["runs", "list", "--status", "failed", "--sweep", "s2", "--store", store]) == 0
    assert "1 run in" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--quiet", "--retry-failed"]) == 1
    out, err = capsys.readouterr()
    assert "1 failed run of 's2' removed, to be run again" in err and "1 ran" in out
    assert main(["runs", "delete", "--failed", "--store", store]) == 0
    assert "2 runs deleted" in capsys.readouterr().out  # omega = 1.8 and 1.9
    assert main(["runs", "list", "--store", store]) == 0  # --store after the action
    assert "1 run in" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--store", store, "--executor", "serial", "--quiet", "--retry-failed"]) == 1
    assert "no failed runs of 's2' to run again" in capsys.readouterr().err
    assert main(["runs", "delete", "99", "--store", store]) == 2
    assert "there is no run 99" in capsys.readouterr().err
    assert main(["runs", "list", "--status", "bogus", "--store", store]) == 2
    assert "no status 'bogus'; statuses are running, converged" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--store", store, "--batch-size", "0"]) == 2
    assert "--batch-size is a number of runs per task, at least 1" in capsys.readouterr().err


def test_spec_mistakes_found_only_by_a_user_say_what_to_write():
    # keys that are not names, an address swept twice, distributions that cannot draw,
    # logspace ends read as values: each a sentence with an example, before anything runs
    cases = [
        ({"method": {"name": "sor", "params": {1: 2}}}, "the keys of `method.params` are names"),
        ({"grid": {"method.omega": [1.1]}, "zip": {"method.omega": [1.2]}}, "swept in both `grid` and `zip`"),
        ({"grid": {"seed": [1, 2]}, "seeds": [3]}, "swept as an axis and also set by"),
        ({"random": {"samples": 2, "params": {"method.omega": {"loguniform": [-1, 1]}}}},
         "between two positive numbers.*write e.g. {loguniform"),
        ({"random": {"samples": 2, "params": {"method.omega": {"randint": [5, 5]}}}}, "needs low < high"),
        ({"random": {"samples": 2, "params": {"method.omega": {"choice": []}}}}, "nothing to choose from"),
        ({"grid": {"method.omega": {"logspace": [1, 400, 3]}}}, "powers of ten: write \\[-6, -1, 6\\]"),
        ({"grid": {"method.omega": {"range": [0, 1e12]}}}, "a range with a decimal number takes start, stop and step"),
    ]
    for change, message in cases:
        with pytest.raises(MalformedInput, match=message):
            SweepSpec({**BASE, **change})


def test_seeds_from_any_axis_are_checked_and_a_stored_seeded_run_replays(tmp_path):
    import workbench as wb

    with pytest.raises(MalformedInput, match="swept seed are whole numbers from 0 to 2\\*\\*63 - 1.*got 18446744073709551616"):
        SweepSpec({**BASE, "grid": {"seed": [1, 2**64]}})
    with pytest.raises(MalformedInput, match="swept seed are whole numbers.*got -1"):
        SweepSpec({**BASE, "zip": {"seed": [-1, 2], "method.omega": [1.2, 1.5]}})
    assert SweepSpec({**BASE, "grid": {"seed": [2.0]}}).runs()[0]["seed"] == 2
    store = RunStore(tmp_path / "runs.sqlite")
    seeded = {**BASE, "problem": {"name": "poisson2d", "params": {"n": 12, "rhs": "random"}}, "seeds": [0, 1, 2]}
    run_sweep(seeded, store, progress=False)
    runs = store.query()
    assert len({r.iterations for r in runs} | {round(r.trace["residual"][0], 9) for r in runs}) > 2
    for r in runs:  # what the report offers: replay any run from its stored spec
        replay = wb.from_spec(r.spec).run()
        assert replay.iterations == r.iterations
        np.testing.assert_allclose(replay.trace["residual"], r.trace["residual"], rtol=1e-12)


def test_runs_of_a_sweep_list_and_export_that_sweeps_parameters(tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    store = str(tmp_path / "runs.sqlite")
    first = {**BASE, "name": "A", "grid": {"method.omega": [1.2, 1.5]}}
    second = {**BASE, "name": "B", "method": {"name": "sor", "params": {"kernel": "pyamg", "omega": 1.5}},
              "grid": {"problem.n": [8, 12]}}
    stops = {**BASE, "name": "Z", "zip": {"stop.rtol": [1e-6, 1e-8], "stop.max_steps": [2000, 20000]}}
    for spec in (first, second, stops):
        run_sweep(spec, store, progress=False)  # B's n = 8 run is A's omega = 1.5 run
    assert main(["runs", "list", "--sweep", "B", "--store", store]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "poisson2d" in line]
    assert [row.split()[-1] for row in rows] == ["problem.n=8", "problem.n=12"]
    assert main(["runs", "export", "--sweep", "B", "--store", store, "-o", str(tmp_path / "B.csv")]) == 0
    header, *lines = (tmp_path / "B.csv").read_text().splitlines()
    assert header.split(",")[7:-1] == ["problem.n"] and [line.split(",")[7] for line in lines] == ["8", "12"]
    assert main(["runs", "list", "--sweep", "Z", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "stop.rtol=1e-06 stop.max_steps=2000" in out and "stop.rtol=1e-08 stop.max_steps=20000" in out
    # the filters say what is wrong instead of listing nothing or everything
    assert main(["runs", "list", "--method", "sorr", "--store", store]) == 2
    assert "no method called 'sorr'. Did you mean sor" in capsys.readouterr().err
    assert main(["runs", "list", "--limit", "0", "--store", store]) == 2
    assert "--limit is how many runs to list, at least 1" in capsys.readouterr().err
    assert main(["runs", "show", "²", "--store", store]) == 2
    assert main(["runs", "delete", "²", "--store", store]) == 2
    assert "'²' is not a run id" in capsys.readouterr().err
    # a dry run with --retry-failed counts the failed runs it would run again
    refuse_omega(monkeypatch, 1.9)
    retried = tmp_path / "r.yaml"
    retried.write_text("name: r s\nmethod: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
                       "grid: {method.omega: [1.2, 1.9]}\n")
    assert main(["sweep", str(retried), "--store", store, "--executor", "serial", "--quiet"]) == 0
    assert "report: workbench report --sweep 'r s' --store" in capsys.readouterr().out  # quoted for the shell
    assert main(["sweep", str(retried), "--store", store, "--dry-run", "--retry-failed"]) == 0
    assert "2 runs, 2 stored, 1 to run (0 missing, 1 failed to run again;" in capsys.readouterr().out
    assert main(["sweep", str(tmp_path / "r"), "--store", store, "--dry-run"]) == 2
    assert f"the sweep spec '{tmp_path / 'r'}' does not exist. Did you mean {retried}?" in capsys.readouterr().err


def test_retrying_a_shared_failed_run_keeps_it_in_every_sweep(tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    refuse_omega(monkeypatch, 1.8)
    store = str(tmp_path / "runs.sqlite")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: a\nmethod: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.2, 1.8]}\n")
    b.write_text("name: b\nmethod: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.8]}\n")
    assert main(["sweep", str(a), "--store", store, "--executor", "serial", "--quiet"]) == 0
    assert main(["sweep", str(b), "--store", store, "--executor", "serial", "--quiet"]) == 0  # (stored by a)
    counts = {s["name"]: s["runs"] for s in RunStore(store).sweeps()}
    assert counts == {"a": 2, "b": 1}
    monkeypatch.undo()  # omega 1.8 runs now
    assert main(["sweep", str(b), "--store", store, "--executor", "serial", "--quiet", "--retry-failed"]) == 0
    st = RunStore(store)
    # (the retry used to drop the run from sweep a as well: a went from 2 runs to 1)
    assert {s["name"]: s["runs"] for s in st.sweeps()} == {"a": 2, "b": 1}
    assert sorted(r.status.label for r in st.query(sweep="a")) == ["converged", "converged"]


def test_yaml_that_would_silently_lose_or_change_a_value_is_refused():
    head = "method: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
    with pytest.raises(MalformedInput, match="the key 'grid' appears twice in one mapping of the sweep spec "
                                             r"\(lines 3 and 4\)"):
        load_spec(head + "grid: {method.omega: [1.2, 1.5]}\ngrid: {problem.n: [6, 8]}\n")
    with pytest.raises(MalformedInput, match="the key 'method.omega' appears twice"):
        load_spec(head + "grid:\n  method.omega: [1.2, 1.5]\n  method.omega: [1.9]\n")
    with pytest.raises(MalformedInput, match=r"seed holds datetime.date\(2024, 1, 1\), a date"):
        load_spec(head + "seed: 2024-01-01\n")
    with pytest.raises(MalformedInput, match="stop.max_steps is a number; got the text '7'"):
        load_spec(head + "stop: {max_steps: '7'}\n")
    with pytest.raises(MalformedInput, match="stop.metric is the name of a metric"):
        load_spec(head + "stop: {metric: 3}\n")
    assert load_spec(head + "stop: {rtol: .5e-3}\n").runs()[0]["stop"] == {"rtol": 0.0005}


def test_a_decimal_range_excludes_its_stop():
    # np.arange reached the stop: [1.2, 1.8, 0.2] ran 1.8 too, and [1.4, 2.0, 0.2] was refused for 2.0
    for args, expected in (([1.2, 1.8, 0.2], [1.2, 1.4, 1.6]), ([0.1, 0.4, 0.1], [0.1, 0.2, 0.3]),
                           ([1.4, 2.0, 0.2], [1.4, 1.6, 1.8]), ([1.0, 1.9, 0.3], [1.0, 1.3, 1.6])):
        runs = SweepSpec({**BASE, "grid": {"method.omega": {"range": args}}}).runs()
        assert [r["method"]["params"]["omega"] for r in runs] == expected, args


def test_python_specs_take_ranges_arrays_and_numpy_numbers_and_draws_are_whole_numbers():
    spec = SweepSpec({**BASE, "grid": {"problem.n": range(6, 9), "method.omega": np.array([1.2, 1.5])},
                      "seeds": [np.int64(0)]})
    assert len(spec.runs()) == 6
    with pytest.raises(MalformedInput, match="holds .*a set; a spec holds numbers, text, lists and mappings"):
        SweepSpec({**BASE, "grid": {"method.omega": {1.2, 1.5}}})
    # a drawn 8.0 for the integer n is the run n = 8 (it was a second run key for the same run)
    drawn = SweepSpec({**BASE, "random": {"samples": 1, "params": {"problem.n": {"choice": [8.0]}}}}).runs()
    gridded = SweepSpec({**BASE, "grid": {"problem.n": [8]}}).runs()
    assert drawn[0]["problem"]["params"]["n"] == 8 and run_key(drawn[0]) == run_key(gridded[0])


@pytest.mark.parametrize("text, match", [
    ("", "the sweep spec is empty"),
    ("method: sor\nproblem: poisson2d\nrandom: {samples: 2, params: {problem.n: {randint: [6.5, 9.5]}}}\n",
     "randint's ends are whole numbers, got \\[6.5, 9.5\\]"),
    ("method: sor\nproblem: poisson2d\nseeds: [null, 1]\n", "a null among them would be a run without a seed"),
])
def test_small_spec_mistakes_are_sentences(text, match):
    with pytest.raises(MalformedInput, match=match):
        load_spec(text)


def test_a_fixed_stop_metric_the_method_does_not_report_is_refused_before_anything_runs():
    head = "method: sor\nproblem: {name: poisson2d, params: {n: 6}}\ngrid: {method.omega: [1.2, 1.5]}\n"
    with pytest.raises(wb.InvalidParameter, match="stop.metric = 'nope', and sor reports matvecs, "
                                                  "relative_residual, residual; choose one of them"):
        load_spec(head + "stop: {metric: nope}\n")
    assert len(load_spec(head + "stop: {metric: relative_residual, rtol: 1.0e-6}\n").runs()) == 2


def test_a_json_spec_may_be_indented_with_tabs_and_a_bad_one_names_line_and_column(tmp_path):
    text = ('{\n\t"method": {\n\t\t"name": "sor",\n\t\t"params": {"omega": 1.5}\n\t},\n'
            '\t"problem": {"name": "poisson2d", "params": {"n": 6}},\n\t"stop": {"rtol": 1e-3},\n'
            '\t"grid": {"problem.n": [6, 8]}\n}\n')
    for source in (tmp_path / "tabs.json", tmp_path / "tabs.yaml", text):  # a .json file, `{` first, text
        if not isinstance(source, str):
            source.write_text(text)
        spec = load_spec(source)
        assert spec.method["params"] == {"omega": 1.5} and spec.stop == {"rtol": 0.001}
        assert len(spec.runs()) == 2
    assert load_spec(tmp_path / "tabs.json").name == "tabs"
    assert load_spec(text.replace('\t"stop"', '\t"name": 1e5,\n\t"stop"')).name == "1e5"  # as written
    # a YAML flow mapping also starts with `{` and is still YAML
    assert load_spec("{method: sor, problem: {name: poisson2d, params: {n: 010}}}").problem["params"] == {"n": 10}
    missing_comma = text.replace('{"rtol": 1e-3},', '{"rtol": 1e-3}')
    with pytest.raises(MalformedInput, match=r"not valid JSON: line 8, column 2 \(`\"grid\".*\): Expecting ',' "
                                             "delimiter"):
        load_spec(missing_comma)
    # (YAML would take this trailing comma; a .json file is JSON)
    (tmp_path / "bad.json").write_text('{"method": "sor",\n "problem": "poisson2d",}\n')
    with pytest.raises(MalformedInput, match="not valid JSON: line 2, column 25"):
        load_spec(tmp_path / "bad.json")
    with pytest.raises(MalformedInput, match="the key 'method' appears twice in one object"):
        load_spec('{"method": "sor", "problem": "poisson2d", "method": "sor"}')


def test_yaml_is_read_as_yaml_1_2_core_schema():
    head = "method: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
    # 010 is ten (YAML 1.1 read it as octal 8); 0o10 and 0x10 are octal and hex
    spec = load_spec(head + "grid: {problem.n: [010, 0o10, 0x10, +12]}\n")
    assert spec.grid["problem.n"] == [10, 8, 16, 12]
    assert load_spec(head.replace("n: 6", "n: 010")).problem["params"] == {"n": 10}
    # exponents without a dot are floats (YAML 1.1 left 1e-3 as text)
    spec = load_spec(head + "stop: {rtol: 1e-3, atol: 1E3, max_seconds: .inf}\n")
    assert spec.stop == {"rtol": 0.001, "atol": 1000.0, "max_seconds": math.inf}
    assert isinstance(spec.stop["rtol"], float) and isinstance(spec.stop["atol"], float)
    # only true/false are booleans; yes/no/on/off and base-60 times stay text
    import yaml

    from workbench.sweep.spec import _spec_loader

    read = yaml.load("[yes, no, on, off, 'yes', true, True, TRUE, false, False, FALSE, 1:30, 1_000, 0b11, "
                     "~, null, Null, NULL, .NaN, -.Inf]", Loader=_spec_loader())
    assert read[:16] == ["yes", "no", "on", "off", "yes", True, True, True, False, False, False, "1:30", "1_000",
                         "0b11", None, None] and read[16:18] == [None, None]
    assert math.isnan(read[18]) and read[19] == -math.inf
    assert all(type(v) is bool for v in read[5:11])


def test_yaml_1_1_booleans_and_numbers_used_as_such_are_refused_with_the_reason():
    from workbench.core import InvalidParameter

    adam = "method: {name: adam, params: {amsgrad: %s}}\nproblem: rosenbrock\n"
    assert load_spec(adam % "true").method["params"] == {"amsgrad": True}
    assert load_spec(adam % "False").method["params"] == {"amsgrad": False}
    with pytest.raises(InvalidParameter, match="must be True or False, not 'yes'.*a fixed value of the sweep "
                                               "spec's method.*YAML 1.2, where yes is the text 'yes', not a "
                                               "boolean: write true or false"):
        load_spec(adam % "yes")
    with pytest.raises(InvalidParameter, match="the value 'on' of the swept method.amsgrad is refused.*Sweep specs "
                                               "follow YAML 1.2, where on is the text 'on'.*write true or false"):
        load_spec("method: adam\nproblem: rosenbrock\ngrid: {method.amsgrad: [on, false]}\n")
    head = "method: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
    with pytest.raises(MalformedInput, match="stop.max_steps is a number; got the text '1_000' .*not a number "
                                             "with _ separators"):
        load_spec(head + "stop: {max_steps: 1_000}\n")
    with pytest.raises(InvalidParameter, match="SOR.omega.*where 1:30 is text, not a time in base 60"):
        load_spec(head.replace("method: sor", "method: {name: sor, params: {omega: 1:30}}"))
    with pytest.raises(InvalidParameter, match="the value '0b110' of the swept problem.n.*not a binary number"):
        load_spec(head + "grid: {problem.n: [0b110]}\n")
    # text in quotes keeps its own message
    with pytest.raises(MalformedInput, match="got the text '7'. Write it without quotes"):
        load_spec(head + "stop: {max_steps: '7'}\n")
    # yes stays a word where a word belongs
    assert load_spec("name: yes\n" + head).name == "yes"
