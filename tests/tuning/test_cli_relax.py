"""``workbench relax``: summary table, JSON records, clear errors."""
import json

import numpy as np
import pytest

import workbench as wb
from workbench.cli import main


def test_relax_command_writes_records_and_a_summary(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["relax", "--setting", "low", "--instances", "40", "--policies", "tsallis,chebcb,fixed:1.8,best,gs",
                 "--quiet", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "best fixed omega in hindsight" in text and "vs best fixed" in text
    data = json.loads(out.read_text())
    assert set(data["policies"]) == {"tsallis", "chebcb", "fixed:1.8", "best", "gs"}
    best = data["policies"]["best"]["total_iterations"]
    assert best == data["comparators"]["best_fixed_total"]
    assert data["policies"]["gs"]["total_iterations"] == data["comparators"]["gauss_seidel_total"]
    for rec in data["policies"].values():
        assert rec["status"] == "converged" and len(rec["per_instance"]["iterations"]) == 40
        assert rec["total_iterations"] >= best
    # the last quarter (instances 31-40) against the best fixed omega on those instances
    assert "last quarter: instances 31-40" in text
    seq = wb.problems.shifted_laplacian_sequence("low", instances=40, seed=0)
    late_best = wb.tuning.cost_table(seq).best_fixed(start=30)[2]
    for name in ("fixed:1.8", "tsallis", "best"):
        rec = data["policies"][name]
        expected = sum(rec["per_instance"]["iterations"][30:]) / late_best
        assert rec["last_quarter_vs_best_fixed"] == pytest.approx(expected)
        assert f"{expected:.3f}x" in text


def test_relax_command_rejects_bad_input(capsys):
    assert main(["relax", "--instances", "10", "--policies", "ucb", "--quiet"]) == 2
    assert "no policy called 'ucb'" in capsys.readouterr().err
    assert main(["relax", "--instances", "10", "--policies", "fixed:2.5", "--quiet"]) == 2
    assert "(0, 2)" in capsys.readouterr().err
    assert main(["relax", "--instances", "10", "--omega-min", "1.9", "--omega-max", "1.2", "--quiet"]) == 2
    capsys.readouterr()
    # a bare `fixed` is fixed at the default omega 1.8: listing both runs one policy twice
    assert main(["relax", "--instances", "10", "--policies", "fixed,fixed:1.80", "--quiet"]) == 2
    assert "'fixed:1.80' names the same policy as 'fixed'" in capsys.readouterr().err
    assert main(["relax", "--instances", "5", "--policies", "fixed,fixed:1.7", "--quiet"]) == 0


def test_last_quarter_ratio_is_the_late_cost_against_the_best_fixed_omega_there():
    costs = np.array([[10, 20]] * 6 + [[40, 20]] * 2)   # omega 0 is best overall, omega 1 on the last quarter
    assert wb.tuning.last_quarter_ratio([10] * 6 + [40, 40], costs) == 2.0
    assert wb.tuning.last_quarter_ratio([10] * 6 + [20, 20], costs) == 1.0
    with pytest.raises(wb.WorkbenchError, match="cost rows of all 8"):
        wb.tuning.last_quarter_ratio([10] * 8, costs[:5])


def test_relax_without_the_cost_table_says_how_to_get_the_ratio_columns(capsys):
    assert main(["relax", "--instances", "12", "--policies", "tsallis,fixed:1.8", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "best fixed omega in hindsight" not in text
    assert "need the cost table: add best to --policies, or pass --table" in text
    assert main(["relax", "--instances", "12", "--policies", "tsallis,fixed:1.8", "--quiet", "--table"]) == 0
    assert "add best to --policies" not in capsys.readouterr().out


def _interrupt_on_call(monkeypatch, call: int, steps_first: int):
    """Make the ``call``-th ``Runner.advance`` take ``steps_first`` steps and then raise
    KeyboardInterrupt, as Ctrl-C in the terminal would in the middle of a run."""
    from workbench.core import Runner

    original, calls = Runner.advance, []

    def advance(self, max_steps=None, max_seconds=None):
        calls.append(1)
        if len(calls) == call:
            original(self, max_steps=steps_first)
            raise KeyboardInterrupt
        return original(self, max_steps=max_steps, max_seconds=max_seconds)

    monkeypatch.setattr(Runner, "advance", advance)


def test_ctrl_c_during_relax_keeps_the_finished_policies_and_writes_out(tmp_path, capsys, monkeypatch):
    out = tmp_path / "partial.json"
    # gs finishes its 30 instances in its first advance; the second (fixed:1.5) is cut after 12
    _interrupt_on_call(monkeypatch, call=2, steps_first=12)
    code = main(["relax", "--setting", "low", "--instances", "30", "--policies", "gs,fixed:1.5,tsallis",
                 "--quiet", "--out", str(out)])
    assert code == 130
    captured = capsys.readouterr()
    assert "fixed:1.5" in captured.out and "interrupted after 12 of 30 instances" in captured.out
    assert "not run: tsallis" in captured.out and "workbench: interrupted" in captured.err
    data = json.loads(out.read_text())
    assert data["interrupted"] is True and data["not_run"] == ["tsallis"]
    gs, cut = data["policies"]["gs"], data["policies"]["fixed:1.5"]
    assert gs["status"] == "converged" and gs["instances_done"] == 30
    assert cut["status"] == "stopped" and cut["instances_done"] == 12
    kept = cut["per_instance"]["iterations"]
    assert len(kept) == 30 and all(k > 0 for k in kept[:12]) and kept[12:] == [0] * 18
    assert cut["per_instance"]["omega"][12:] == [None] * 18 and None not in cut["per_instance"]["omega"][:12]
    assert cut["total_iterations"] == sum(kept)
    # the kept instances are the ones an uninterrupted run solves
    monkeypatch.undo()
    full = tmp_path / "full.json"
    assert main(["relax", "--setting", "low", "--instances", "30", "--policies", "fixed:1.5", "--quiet",
                 "--out", str(full)]) == 0
    assert json.loads(full.read_text())["policies"]["fixed:1.5"]["per_instance"]["iterations"][:12] \
        == kept[:12]


@pytest.mark.slow
def test_sigint_to_a_relax_process_writes_what_it_finished(tmp_path):
    import os
    import re
    import select
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "sigint.json"
    # 100000 instances take half a minute: the signal comes while the policy runs
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "relax", "--instances", "100000",
                             "--policies", "fixed:1.5", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, deadline = b"", time.time() + 120
    # wait for the progress bar to count some instances (numba compiles first)
    while not re.search(rb"\| *[1-9]\d*/100000", seen) and time.time() < deadline:
        if select.select([proc.stderr], [], [], 1.0)[0]:
            seen += os.read(proc.stderr.fileno(), 65536)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    stdout, stderr = stdout.decode(), (seen + stderr).decode()
    assert proc.returncode == 130, stderr
    assert "interrupted after" in stdout and "Traceback" not in stderr
    rec = json.loads(out.read_text())["policies"]["fixed:1.5"]
    assert rec["status"] == "stopped" and 0 < rec["instances_done"] < 100000
