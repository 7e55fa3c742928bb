"""The SQLite run store: round trips, queries, deduplication, concurrent writers, damaged files."""
from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench.cli import main
from workbench.core import WorkbenchError
from workbench.store import RunStore, StoreError, decode_trace, encode_trace, record_from_result, run_key


def sor_result(omega=1.6, n=8, seed=0):
    return wb.run(wb.get_method("sor", omega=omega), wb.get_problem("poisson2d", n=n, seed=seed), rtol=1e-8)


def execute_sql(path, statement):
    """Change a database file behind the store's back (one statement, committed)."""
    con = sqlite3.connect(path)
    con.execute(statement)
    con.commit()
    con.close()


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def test_created_on_first_use_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "runs.sqlite"
    RunStore(path).close()
    assert path.exists()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(con.execute("SELECT key, value FROM meta"))["app"] == "workbench-run-store"


def test_round_trip_keeps_spec_status_versions_and_full_trace(store):
    result = sor_result()
    run_id = store.save(result, seed=3)
    loaded = store.load(run_id)
    assert loaded.status is result.status and loaded.iterations == result.iterations
    assert loaded.message == result.message and loaded.wall_time == pytest.approx(result.wall_time)
    assert loaded.spec["method"] == {"name": "sor", "params": {"kernel": "pyamg", "omega": 1.6}}
    assert loaded.spec["problem"]["params"]["n"] == 8 and loaded.seed == 3
    assert {"python", "numpy", "scipy", "workbench"} <= set(loaded.versions)
    assert loaded.trace.columns == result.trace.columns
    for col in result.trace.columns:  # every iteration, bit for bit
        np.testing.assert_array_equal(loaded.trace[col], result.trace[col])
    # a stored run replays through the core to the same iteration count
    replay = wb.from_spec(loaded.to_result().spec()).run()
    assert replay.iterations == result.iterations


def test_trace_codec_is_compressed_npz_and_rejects_garbage():
    trace = sor_result(omega=1.0, n=16).trace
    blob = encode_trace(trace)
    assert blob[:2] == b"PK"  # a zip archive (np.savez_compressed)
    raw = sum(trace[c].nbytes for c in trace.columns)
    assert len(blob) < raw
    back = decode_trace(blob)
    np.testing.assert_array_equal(back["residual"], trace["residual"])
    with pytest.raises(WorkbenchError, match="damaged"):
        decode_trace(blob[: len(blob) // 2])


def test_run_ids_are_a_list_of_whole_numbers(store):
    a, b, c = (store.save(sor_result(w)) for w in (1.2, 1.5, 1.8))
    for bad, message in (("12", "a list of whole numbers.*got '12'"), (3, "got 3"), (["x"], "got 'x'")):
        with pytest.raises(WorkbenchError, match=message):  # "12" is not the runs 1 and 2
            store.delete(bad)
    assert store.count() == 3 and store.delete([a, b]) == 2 and [r.id for r in store.query()] == [c]


def test_same_spec_is_stored_once_and_query_filters(store):
    a = store.save(sor_result(1.2))
    assert store.save(sor_result(1.2)) == a  # same key: not stored twice
    store.save(sor_result(1.8))
    store.save(wb.run(wb.get_method("sor", omega=1.99), wb.get_problem("poisson2d", n=8), max_steps=5))
    assert store.count() == 3
    assert [r.status.label for r in store.query(status="max_steps")] == ["max_steps"]
    assert len(store.query(method="sor", problem="poisson2d")) == 3
    assert [r.id for r in store.query(ids=[a])] == [a]
    assert store.load(store.load(a).key).id == a  # by key too
    with pytest.raises(wb.UnknownName, match="runs list"):
        store.load(999)


def test_key_is_a_hash_of_the_full_spec():
    spec = {"method": {"name": "sor", "params": {"omega": 1.5}}, "problem": {"name": "poisson2d", "params": {"n": 8}},
            "stop": {"rtol": 1e-8}, "seed": 0}
    same = {"seed": 0, "stop": {"rtol": 1e-8}, "problem": {"params": {"n": 8}, "name": "poisson2d"},
            "method": {"params": {"omega": 1.5000000000000002}, "name": "sor"}}
    assert run_key(spec) == run_key(same)  # key order and float round-off do not matter
    for change in ({"seed": 1}, {"stop": {"rtol": 1e-6}}, {"method": {"name": "sor", "params": {"omega": 1.6}}}):
        assert run_key({**spec, **change}) != run_key(spec)


def _write_many(args):
    path, worker, count = args
    store = RunStore(path, timeout=120)
    for i in range(count):
        result = sor_result(omega=1.0 + 0.9 * i / count, n=6, seed=worker)
        rec = record_from_result(result, seed=worker)
        store.save(rec, sweep=f"w{worker}")
    store.close()
    return count


def test_concurrent_writers_do_not_corrupt_the_store(tmp_path):
    path = tmp_path / "shared.sqlite"
    RunStore(path).close()
    workers, each = 4, 25
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        assert sum(pool.map(_write_many, [(str(path), w, each) for w in range(workers)])) == workers * each
    store = RunStore(path)
    assert store.count() == workers * each
    assert all(store.count(sweep=f"w{w}") == each for w in range(workers))
    store.check()  # SQLite integrity check + every trace decodes
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_foreign_and_corrupted_files_give_a_clear_error(tmp_path):
    junk = tmp_path / "notes.sqlite"
    junk.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a workbench run store") as info:
        RunStore(junk)
    assert isinstance(info.value, WorkbenchError)

    foreign = tmp_path / "other.db"
    execute_sql(foreign, "CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StoreError, match="another application"):
        RunStore(foreign)

    with pytest.raises(StoreError, match="folder"):
        RunStore(tmp_path)

    # a real store whose pages were overwritten in the middle
    damaged = tmp_path / "damaged.sqlite"
    s = RunStore(damaged)
    for w in np.linspace(1.0, 1.9, 30):
        s.save(sor_result(omega=float(w), n=12))
    s._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    data = bytearray(damaged.read_bytes())
    assert len(data) > 8 * 4096
    data[2 * 4096:6 * 4096] = b"\xde\xad\xbe\xef" * 4096
    damaged.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged|not a workbench"):
        s2 = RunStore(damaged)
        s2.check()
        [s2.load(r.id).trace for r in s2.query()]


def test_store_from_a_newer_workbench_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    RunStore(path).close()
    execute_sql(path, "UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="newer workbench"):
        RunStore(path)


def tiny_sweep(tmp_path):
    """Three SOR runs swept into a fresh store through the CLI: (store path, spec path)."""
    path = tmp_path / "runs.sqlite"
    spec = tmp_path / "s.yaml"
    spec.write_text("name: tiny\nmethod: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
                    "grid: {method.omega: [1.1, 1.5, 1.9]}\n")
    assert main(["sweep", str(spec), "--store", str(path), "--executor", "serial", "--quiet"]) == 0
    return path, spec


def test_runs_cli_list_show_export(tmp_path, capsys):
    path, spec = tiny_sweep(tmp_path)
    assert "3 ran" in capsys.readouterr().out
    assert main(["runs", "--store", str(path), "list", "--sweep", "tiny"]) == 0
    out = capsys.readouterr().out
    assert out.count("converged") == 3 and "method.omega=1.5" in out and "3 runs in" in out
    assert main(["runs", "--store", str(path), "list", "--sweeps"]) == 0
    assert "tiny" in capsys.readouterr().out
    assert main(["runs", "--store", str(path), "show", "2", "--trace", "2"]) == 0
    out = capsys.readouterr().out
    assert '"omega": 1.5' in out and "relative_residual" in out and "versions" in out
    assert main(["runs", "--store", str(path), "export", "--sweep", "tiny", "-o", str(tmp_path / "x.csv")]) == 0
    lines = (tmp_path / "x.csv").read_text().splitlines()
    assert len(lines) == 4 and "method.omega" in lines[0]
    assert main(["runs", "--store", str(path), "export", "1", "-o", str(tmp_path / "x.json")]) == 0
    import json

    data = json.loads((tmp_path / "x.json").read_text())
    assert len(data) == 1 and len(data[0]["trace"]["residual"]) == data[0]["iterations"] + 1
    # An id outside the sweep asked for is missing from it (not an empty export).
    other = tmp_path / "o.yaml"
    other.write_text("name: other\nmethod: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
                     "grid: {method.omega: [1.3]}\n")
    assert main(["sweep", str(other), "--store", str(path), "--executor", "serial", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["runs", "--store", str(path), "export", "4", "--sweep", "tiny", "-o", str(tmp_path / "y.json")]) == 2
    assert "there is no run 4 in sweep 'tiny'" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["runs", "--store", str(tmp_path / "none.sqlite"), "list"]) == 2
    assert "no run store" in capsys.readouterr().err


def test_a_damaged_row_is_skipped_with_a_warning_and_can_be_deleted(tmp_path, capsys):
    path, spec = tiny_sweep(tmp_path)
    execute_sql(path, "UPDATE runs SET params = '{not json' WHERE id = 2")
    execute_sql(path, "UPDATE runs SET trace = x'00ff' WHERE id = 3")
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "2 runs in" in out and "skipped run 2" in err and "`workbench runs delete 2` removes it" in err
    # the report shows every readable run; the damaged trace is named, not fatal
    report = tmp_path / "r.html"
    assert main(["report", "--sweep", "tiny", "--store", str(path), "-o", str(report)]) == 0
    assert "trace not shown" in report.read_text() and "report of 2 runs" in capsys.readouterr().out
    # An export names a damaged run in a warning, and an id with no run as missing, separately.
    store = RunStore(path)
    store.query()
    assert len(store.damaged) == 1
    store.query(ids=[1])
    assert store.damaged == []  # the warnings are about the last query only
    capsys.readouterr()
    assert main(["runs", "export", "1", "2", "9", "--store", str(path), "-o", str(tmp_path / "e.json")]) == 2
    err = capsys.readouterr().err
    assert "there is no run 9 in" in err and "there is no run 2" not in err and "skipped run 2" in err
    assert main(["runs", "export", "1", "2", "--store", str(path), "-o", str(tmp_path / "e.json")]) == 0
    assert "skipped run 2" in capsys.readouterr().err
    assert main(["runs", "delete", "2", "3", "--store", str(path)]) == 0
    assert "2 runs deleted from" in capsys.readouterr().out
    assert main(["runs", "delete", "--failed", "--store", str(path)]) == 0
    assert "no failed runs to delete" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--store", str(path), "--executor", "serial", "--quiet"]) == 0
    assert "1 already stored, 2 ran" in capsys.readouterr().out
    RunStore(path).check()


def test_exports_are_strict_json_and_output_paths_are_checked_first(tmp_path, capsys):
    import json

    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    blown = wb.run(wb.optim.GD(lr=4.0), wb.get_problem("quadratic", dim=5, condition=10.0), max_steps=200)
    assert blown.status.label == "diverged"
    store.save(blown)
    out = tmp_path / "x.json"
    assert main(["runs", "export", "-o", str(out), "--store", str(path)]) == 0
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text and json.loads(text)[0]["status"] == "diverged"
    capsys.readouterr()
    for argv, needle in [
        (["runs", "export", "-o", str(tmp_path / "nodir" / "x.csv")], "does not exist"),
        (["runs", "export", "abc", "-o", str(tmp_path / "y.csv")], "'abc' is not a run id"),
        (["runs", "export", "7", "-o", str(tmp_path / "y.csv")], "there is no run 7"),
        (["runs", "show", "99999999999999999999999"], "there is no run"),
        (["report", "--runs", "1-100000000", "-o", str(tmp_path / "r.html")], "at most 20000 runs"),
        (["report", "--runs", "12345678901234567890", "-o", str(tmp_path / "r.html")], "cannot read run ids"),
        (["report", "--runs", "1,5-2", "-o", str(tmp_path / "r.html")], "runs backwards; write the smaller id "
                                                                        "first, e.g. 2-5"),
        (["report", "--runs", "1", "-o", str(tmp_path / "nodir" / "r.html")], "does not exist"),
        (["report", "--runs", "1", "--format", "png", "-o", str(out)], "with --format png, -o names a folder"),
    ]:
        assert main([*argv, "--store", str(path)]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert needle in err and "\n" not in err, (argv, err)


def test_a_full_store_says_so_and_keeps_what_was_stored(tmp_path):
    # SQLite rolls a transaction back by itself when the file cannot grow; the error that
    # reaches the user must still be the one that says the store is full.
    store = RunStore(tmp_path / "runs.sqlite")
    first = store.save(sor_result(1.2))
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(StoreError, match="is full .*free some disk space.*runs stored so far are kept"):
        for k in range(50):
            store.save(sor_result(1.0 + k / 100, n=24))
    assert not store._conn.in_transaction
    assert store.query()[0].id == first
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.save(sor_result(1.95)) > first  # the store still works once there is room


@contextlib.contextmanager
def read_only_mount(folder, mountpoint):
    """``folder`` bind-mounted read-only at ``mountpoint`` (needs root; the test skips otherwise)."""
    import subprocess

    mountpoint.mkdir()
    made = subprocess.run(["mount", "--bind", str(folder), str(mountpoint)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("bind mounts need root here: " + made.stderr.decode(errors="replace").strip())
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(mountpoint)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        yield mountpoint
    finally:
        # (lazy: a store still open on it would make a plain umount fail as busy)
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def test_a_store_on_read_only_storage_can_be_listed_and_reported_but_not_written(tmp_path, capsys):
    # Listing and reports only read; they used to fail with "unable to open database file"
    # because the store always opened for writing (a WAL index beside the file).
    (tmp_path / "data").mkdir()
    path, _ = tiny_sweep(tmp_path / "data")
    import gc

    gc.collect()  # (the CLI's store, from the sweep above, is closed when collected)
    writer = RunStore(path)
    stored = len(writer.query())
    writer.close()  # the last connection checkpoints the WAL and removes its files, as after a sweep
    with read_only_mount(path.parent, tmp_path / "ro") as ro:
        store = RunStore(ro / path.name)
        assert store.read_only and len(store.query()) == stored
        assert store.load(1).trace["residual"][-1] < 1e-6
        with pytest.raises(StoreError, match="is read-only .*give a store you can write with --store"):
            store.save(sor_result(1.3))
        capsys.readouterr()
        assert main(["runs", "list", "--store", str(ro / path.name)]) == 0
        assert f"{stored} runs in" in capsys.readouterr().out
        assert main(["report", "--runs", "1-2", "-o", str(tmp_path / "r.html"), "--store", str(ro / path.name)]) == 0
        assert (tmp_path / "r.html").stat().st_size > 10_000
        assert main(["runs", "delete", "1", "--store", str(ro / path.name)]) == 2
        assert "is read-only" in capsys.readouterr().err
        store.close()
    assert len(RunStore(path).query()) == stored


def test_report_export_and_list_survive_damage_and_odd_options(tmp_path, capsys):
    import json

    path, _ = tiny_sweep(tmp_path)
    execute_sql(path, "UPDATE runs SET trace = x'00ff' WHERE id = 3")
    execute_sql(path, "UPDATE runs SET params = '{not json' WHERE id = 2")
    capsys.readouterr()
    # the JSON export writes a damaged trace as null with its sentence, and the other runs whole
    out = tmp_path / "all.json"
    assert main(["runs", "export", "--store", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "exported run 3 without its trace" in err and "skipped run 2" in err
    data = {r["id"]: r for r in json.loads(out.read_text())}
    assert set(data) == {1, 3} and data[3]["trace"] is None and "runs delete 3" in data[3]["trace_damaged"]
    assert len(data[1]["trace"]["residual"]) == data[1]["iterations"] + 1
    # --runs skips a damaged row with a warning, as --sweep does; an id with no run is an error
    report = tmp_path / "r.html"
    assert main(["report", "--runs", "1-3", "--store", str(path), "-o", str(report)]) == 0
    captured = capsys.readouterr()
    assert "report of 2 runs" in captured.out and "skipped run 2" in captured.err
    html = report.read_text()  # the replay it offers is one that works (`workbench run` takes no spec)
    assert "replay any run in Python with <code>wb.from_spec(spec).run()</code>" in html
    assert "<code>workbench run</code>" not in html
    assert main(["report", "--runs", "1,7", "--store", str(path), "-o", str(report)]) == 2
    assert "there is no run 7 in" in capsys.readouterr().err
    assert main(["report", "--runs", "2", "--store", str(path), "-o", str(report)]) == 2
    assert "every run of --runs 2 is damaged" in capsys.readouterr().err
    # a PNG folder that cannot be made is a sentence, before any browser starts
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["report", "--runs", "1", "--store", str(path), "--format", "png",
                 "-o", str(blocker / "figures")]) == 2
    err = capsys.readouterr().err
    assert "cannot make the folder" in err and "Traceback" not in err
    # a limit past SQLite's integers lists every run (it used to call the store damaged)
    assert main(["runs", "list", "--store", str(path), "--limit", "9" * 23]) == 0
    assert "2 runs in" in capsys.readouterr().out


def test_a_store_with_a_damaged_meta_page_is_called_damaged_not_foreign(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.save(sor_result())
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    con = sqlite3.connect(path)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'meta'").fetchone()[0]
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    data[root * page - 200:root * page] = bytes(200)  # the meta rows' cells read back as NULLs
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="is a damaged run store .SQLite's integrity check: .*restore a backup"):
        RunStore(path)
    # a file that is intact but names another application is still called foreign
    other = tmp_path / "other.sqlite"
    RunStore(other).close()
    execute_sql(other, "UPDATE meta SET value = 'something-else' WHERE key = 'app'")
    with pytest.raises(StoreError, match="has a run store's tables, but its meta record names 'something-else'"):
        RunStore(other)


# -- rows whose values are of the wrong type --------------------------------------------------
# SQLite keeps whatever is written into a column (text in a REAL column stays text), so a row
# edited or damaged behind the store's back must be skipped with a sentence, never crash a reader.

ROW_DAMAGE = {
    "wall_time_text": ("UPDATE runs SET wall_time = 'abc' WHERE id = 2", "wall_time is 'abc', not a number"),
    "iterations_text": ("UPDATE runs SET iterations = 'abc' WHERE id = 2", "iterations is 'abc', not a whole number"),
    "spec_list": ("UPDATE runs SET spec = '[1, 2]' WHERE id = 2", "spec is a JSON list ([1, 2]), not an object"),
    "spec_method_text": ("UPDATE runs SET spec = json_set(spec, '$.method', 'sor') WHERE id = 2",
                         "spec.method is 'sor', not an object"),
    "spec_stop_text": ("UPDATE runs SET spec = json_set(spec, '$.stop', '[1]') WHERE id = 2",
                       "spec.stop is '[1]', not an object"),
    "params_list": ("UPDATE runs SET params = '[1]' WHERE id = 2", "params is a JSON list ([1]), not an object"),
    "params_null": ("UPDATE runs SET params = 'null' WHERE id = 2", "params is a JSON NoneType (None), not an object"),
    "versions_list": ("UPDATE runs SET versions = '[\"numpy\"]' WHERE id = 2",
                      "versions is a JSON list (['numpy']), not an object"),
    "finished_text": ("UPDATE runs SET finished = 'abc' WHERE id = 2", "finished is 'abc', not a number"),
    "finished_huge": ("UPDATE runs SET finished = 1e300 WHERE id = 2", "finished is 1e+300, not a time a date"),
    "status_unknown": ("UPDATE runs SET status = 'exploded' WHERE id = 2", "status is 'exploded', not one of"),
    "seed_text": ("UPDATE runs SET seed = 'abc' WHERE id = 2", "seed is 'abc', not a whole number"),
}


@pytest.mark.parametrize("kind", sorted(ROW_DAMAGE))
def test_a_row_of_the_wrong_type_is_skipped_and_named(kind, tmp_path, capsys):
    statement, why = ROW_DAMAGE[kind]
    path, _ = tiny_sweep(tmp_path)
    execute_sql(path, statement)
    store = RunStore(path)
    # the store: the healthy runs are listed, the damaged one is named with what to do
    runs = store.query()
    assert [r.id for r in runs] == [1, 3] and store.damaged_ids == [2]
    (sentence,) = store.damaged
    assert sentence.startswith(f"run 2 in {str(path)!r} is damaged (") and why in sentence
    assert sentence.endswith("`workbench runs delete 2` removes it, and its sweep reruns it.")
    assert [r.id for r in store.query(sweep="tiny")] == [1, 3]
    with pytest.raises(StoreError, match="run 2 .* is damaged .*`workbench runs delete 2`"):
        store.load(2)
    for run in runs:  # what the commands read from the healthy runs still works
        assert isinstance(run.wall_time, float) and isinstance(run.iterations, int)
        assert run.to_result().method_spec["name"] == "sor" and run.summary()["id"] == run.id
    store.close()
    # the commands: the other runs are listed and reported, the damaged one is a warning
    capsys.readouterr()
    for argv in (["runs", "list"], ["runs", "list", "--sweep", "tiny"]):
        assert main([*argv, "--store", str(path)]) == 0, argv
        out, err = capsys.readouterr()
        assert "2 runs in" in out and f"skipped run 2 in {str(path)!r} is damaged" in err and why in err
    assert main(["runs", "show", "2", "--store", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error: run 2") and "`workbench runs delete 2`" in err and "\n" not in err
    assert main(["runs", "show", "3", "--store", str(path)]) == 0
    assert "run 3" in capsys.readouterr().out
    assert main(["runs", "export", "--store", str(path), "-o", str(tmp_path / "e.csv")]) == 0
    assert "2 runs written" in capsys.readouterr().out
    assert len((tmp_path / "e.csv").read_text().splitlines()) == 3
    for which in (["--sweep", "tiny"], ["--runs", "1-3"]):
        report = tmp_path / "r.html"
        assert main(["report", *which, "--store", str(path), "-o", str(report)]) == 0, which
        out, err = capsys.readouterr()
        assert "report of 2 runs" in out and "skipped run 2" in err and report.stat().st_size > 0
    # and the damaged run can be deleted, after which the listing is clean
    assert main(["runs", "delete", "2", "--store", str(path)]) == 0
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "2 runs in" in out and err == ""


@pytest.mark.parametrize("statement,why", [
    ("UPDATE sweeps SET spec = '{bad' WHERE name = 'tiny'", "spec is not JSON"),
    ("UPDATE sweeps SET spec = '[1, 2]' WHERE name = 'tiny'", "spec is a JSON list ([1, 2]), not an object"),
    ("UPDATE sweeps SET updated = 'abc' WHERE name = 'tiny'", "updated is 'abc', not a number"),
])
def test_a_damaged_sweep_row_is_left_out_and_named(statement, why, tmp_path, capsys):
    path, spec = tiny_sweep(tmp_path)
    other = tmp_path / "o.yaml"
    other.write_text("name: other\nmethod: sor\nproblem: {name: poisson2d, params: {n: 6}}\n"
                     "grid: {method.omega: [1.3]}\n")
    assert main(["sweep", str(other), "--store", str(path), "--executor", "serial", "--quiet"]) == 0
    execute_sql(path, statement)
    store = RunStore(path)
    assert [s["name"] for s in store.sweeps()] == ["other"] and store.damaged_sweeps == ["tiny"]
    (sentence,) = store.damaged
    assert sentence.startswith(f"the sweep 'tiny' in {str(path)!r} is damaged (") and why in sentence
    assert "run `workbench sweep` again with its YAML file" in sentence
    assert store.sweep_spec("other")["name"] == "other"
    with pytest.raises(StoreError, match="the sweep 'tiny' .* is damaged .*run `workbench sweep` again") \
            if "spec" in why else contextlib.nullcontext():
        store.sweep_spec("tiny")
    with pytest.raises(WorkbenchError, match="there is no sweep 'nosuch'.*stored sweeps: other, tiny"):
        store.sweep_spec("nosuch")
    assert [r.id for r in store.query()] == [1, 2, 3, 4] and store.damaged == []  # the runs are unharmed
    store.close()
    capsys.readouterr()
    assert main(["runs", "list", "--sweeps", "--store", str(path)]) == 0
    listed = capsys.readouterr()
    assert "other" in listed.out and "tiny" not in listed.out
    assert "warning: skipped the sweep 'tiny'" in listed.err  # left out, but not silently
    assert main(["runs", "list", "--store", str(path)]) == 0
    assert "4 runs in" in capsys.readouterr().out
    if "spec" in why:  # the commands that need the sweep's spec say why they cannot read it
        for argv in (["runs", "list", "--sweep", "tiny"], ["report", "--sweep", "tiny", "-o", str(tmp_path / "r.html")]):
            assert main([*argv, "--store", str(path)]) == 2, argv
            err = capsys.readouterr().err.strip()
            assert err.startswith("workbench: error: the sweep 'tiny'") and why in err and "\n" not in err
    assert main(["report", "--runs", "1-3", "--store", str(path), "-o", str(tmp_path / "r.html")]) == 0
    assert "report of 3 runs" in capsys.readouterr().out
    # running the sweep again stores its spec anew; its runs were kept, so none reruns
    assert main(["sweep", str(spec), "--store", str(path), "--executor", "serial", "--quiet"]) == 0
    assert "3 already stored, 0 ran" in capsys.readouterr().out
    store = RunStore(path)
    assert store.sweep_spec("tiny")["name"] == "tiny" and store.damaged == []
    assert [s["name"] for s in store.sweeps()] == ["tiny", "other"]


@pytest.mark.parametrize("schema", ["abc", "1.5", "-1", ""])
def test_a_store_whose_schema_version_is_not_a_number_is_called_damaged(schema, tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.save(sor_result())
    store.close()
    execute_sql(path, f"UPDATE meta SET value = '{schema}' WHERE key = 'schema'")
    with pytest.raises(StoreError, match=f"is a damaged run store .*schema version as '{schema}', not a whole "
                                         "number.* or not a workbench run store; restore a backup"):
        RunStore(path)
    for argv in (["runs", "list"], ["runs", "list", "--sweeps"], ["runs", "show", "1"],
                 ["report", "--runs", "1", "-o", str(tmp_path / "r.html")]):
        assert main([*argv, "--store", str(path)]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("workbench: error:") and "damaged run store" in err and "\n" not in err
    execute_sql(path, "UPDATE meta SET value = '1' WHERE key = 'schema'")
    assert [r.id for r in RunStore(path).query()] == [1]  # the same file with its version back reads


def test_damaged_rows_never_give_a_traceback_from_the_console_script(tmp_path):
    import subprocess
    import sys

    path, _ = tiny_sweep(tmp_path)
    execute_sql(path, "UPDATE runs SET wall_time = 'abc' WHERE id = 1")
    execute_sql(path, "UPDATE runs SET spec = '[1]' WHERE id = 2")
    execute_sql(path, "UPDATE runs SET finished = 1e300 WHERE id = 3")
    damaged_meta = tmp_path / "meta.sqlite"
    RunStore(damaged_meta).close()
    execute_sql(damaged_meta, "UPDATE meta SET value = 'abc' WHERE key = 'schema'")
    cases = [
        (path, ["runs", "list"], 0, "skipped run 3"),
        (path, ["runs", "list", "--sweeps"], 0, ""),
        (path, ["report", "--sweep", "tiny", "-o", str(tmp_path / "r.html")], 2, "skipped run 1"),
        (damaged_meta, ["runs", "list"], 2, "damaged run store"),
        (damaged_meta, ["report", "--runs", "1", "-o", str(tmp_path / "r.html")], 2, "damaged run store"),
    ]
    for store_path, argv, code, needle in cases:
        proc = subprocess.run([sys.executable, "-m", "workbench", *argv, "--store", str(store_path)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == code and "Traceback" not in proc.stderr, (argv, proc.stderr)
        assert needle in proc.stderr, (argv, proc.stderr)
    assert "0 runs in" in subprocess.run([sys.executable, "-m", "workbench", "runs", "list", "--store", str(path)],
                                         capture_output=True, text=True, timeout=120).stdout


def test_a_report_on_a_sweep_whose_every_run_is_damaged_says_so(tmp_path, capsys):
    path, _ = tiny_sweep(tmp_path)
    execute_sql(path, "UPDATE runs SET wall_time = 'abc'")
    capsys.readouterr()
    assert main(["report", "--sweep", "tiny", "--store", str(path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "skipped run 1" in err and "every stored run of the sweep 'tiny' is damaged" in err
    assert "`workbench runs delete` removes them" in err and "has no stored runs yet" not in err


@pytest.mark.parametrize("merged", [False, True])
def test_a_read_only_store_with_a_write_ahead_log_lists_every_committed_run(tmp_path, merged):
    # A writer killed before its write-ahead log was merged leaves committed runs in runs.sqlite-wal
    # (merged: checkpointed, but the log file keeps its size). Read without its -shm index (a
    # folder copied or synced without it) SQLite's immutable mode would ignore the log and list
    # 1 run of 4, silently; the store reads a temporary copy of file and log instead.
    import os
    import subprocess
    import sys

    data = tmp_path / "data"
    data.mkdir()
    writer = (
        "import os, workbench as wb\n"
        "from workbench.store import RunStore\n"
        f"s = RunStore({str(data / 'runs.sqlite')!r})\n"
        "s.save(wb.run(wb.linear.SOR(omega=1.1), wb.problems.poisson2d(6)))\n"
        "s._conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')\n"
        "s._conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "for w in (1.2, 1.5, 1.8):\n"
        "    s.save(wb.run(wb.linear.SOR(omega=w), wb.problems.poisson2d(6)))\n"
        + ("s._conn.execute('PRAGMA wal_checkpoint(FULL)')\n" if merged else "")
        + "os._exit(0)\n")
    root = str(Path(__file__).resolve().parents[2])
    subprocess.run([sys.executable, "-c", writer], check=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))})
    (data / "runs.sqlite-shm").unlink()
    assert (data / "runs.sqlite-wal").stat().st_size > 0
    with read_only_mount(data, tmp_path / "ro") as ro:
        store = RunStore(ro / "runs.sqlite")
        assert store.read_only and len(store.query()) == 4
        with pytest.raises(StoreError, match="is read-only"):
            store.save(sor_result(1.3))
        store.close()
    assert len(RunStore(data / "runs.sqlite").query()) == 4
