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
