import json
import subprocess
import sys

import pytest

from workbench.cli import main


def test_run_converges_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["run", "sor", "--set", "omega=1.8", "--set", "n=24", "--quiet", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("converged:") and "it/s" in text
    data = json.loads(out.read_text())
    assert data["summary"]["status"] == "converged"
    assert data["spec"]["method"] == {"name": "sor", "params": {"kernel": "pyamg", "omega": 1.8}}
    assert data["spec"]["problem"]["params"]["n"] == 24
    assert len(data["trace"]["residual"]) == data["summary"]["iterations"] + 1


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["run", "sor", "--set", "omega=3"], "must be less than 2.0"),
        (["run", "sorr"], "Did you mean sor"),
        (["run", "cg", "--problem", "convection_diffusion2d"], "needs a problem that is symmetric"),
        (["run", "sor", "--set", "omega"], "expects key=value"),
        (["run", "sor", "--set", "colour=red"], "neither method 'sor' nor problem 'poisson2d'"),
        (["run", "sor", "--problem", "matrix_market", "--problem-set", "path=/nonexistent.mtx"], "no Matrix Market file"),
        (["run", "gd", "--problem", "quadratic", "--out", "/nonexistent/x.json"], "the folder /nonexistent does not exist"),
        (["run", "sor", "--out", "/"], "is a folder; give a file name"),
        (["relax", "--instances", "5", "--out", "/nonexistent/r.json"], "the folder /nonexistent does not exist"),
        (["run", "gd", "--problem", "quadratic", "--set", "lr=0"], "greater than 0.0"),
    ],
)
def test_bad_input_exits_2_with_one_line_reason(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error:") and needle in err and "\n" not in err


def test_failed_run_exits_1_and_writes_strict_json(capsys, tmp_path, recwarn):
    import json

    # over-damped Jacobi: the eigenvalue 1 - 1.99 (1 + rho_J) of its iteration matrix is below -1
    code = main(["run", "jacobi", "--set", "omega=1.99", "--problem-set", "n=16", "--quiet"])
    assert code == 1
    assert capsys.readouterr().out.startswith("diverged:")
    out = tmp_path / "blown.json"
    assert main(["run", "gd", "--problem", "quadratic", "--set", "lr=1e200", "--quiet", "--out", str(out)]) == 1
    def no_constants(name):
        raise AssertionError(f"{name} in strict JSON")
    payload = json.loads(out.read_text(), parse_constant=no_constants)  # a diverged run's infinities are null
    assert payload["summary"]["status"] == "nonfinite" and payload["trace"]["grad_norm"][-1] is None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # no overflow warnings


def test_list_shows_params_bounds_and_docs(capsys):
    assert main(["list", "methods"]) == 0
    text = capsys.readouterr().out
    assert "sor" in text and "omega = 1.5 (0.0, 2.0)" in text and "Relaxation parameter" in text
    # docstrings' first lines without their reST and TeX markup
    assert "Gauss-Seidel: SOR with omega = 1." in text and ":math:" not in text and "``" not in text
    assert "Chebyshev iteration on the interval [lambda_min, lambda_max]." in text


def test_list_shows_the_schedules_a_refusal_points_to(capsys):
    from workbench.schedules import make_schedule

    from workbench.core import InvalidParameter

    with pytest.raises(InvalidParameter, match="`workbench list schedules` shows them"):
        make_schedule({"name": "cosine", "min_ratio": 2})
    assert main(["list", "schedules"]) == 0
    text = capsys.readouterr().out
    assert "Schedules (7)" in text and "min_ratio = 0.0 [0.0, 1.0]" in text
    assert "milestones = [0.5, 0.75] (a list)" in text  # not its length bounds read as a range


def test_console_script_is_installed():
    proc = subprocess.run([sys.executable, "-m", "workbench", "list", "problems", "--brief"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "poisson2d" in proc.stdout


def test_a_sequence_run_prints_its_running_totals(capsys):
    assert main(["run", "krylov_recycling", "--problem", "rotated_anisotropic_sequence", "--set", "m=8",
                 "--set", "instances=5", "--set", "order=sorted", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "All 5 systems of the sequence are solved" in out and "matvecs in total" in out


def test_ctrl_c_during_run_keeps_the_iterations_so_far(tmp_path, capsys, monkeypatch):
    from workbench.core import Runner

    original = Runner.advance

    def advance(self, max_steps=None, max_seconds=None):
        original(self, max_steps=7)  # seven iterations, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "advance", advance)
    out = tmp_path / "r.json"
    code = main(["run", "sor", "--set", "omega=1.5", "--set", "n=24", "--quiet", "--out", str(out)])
    assert code == 130
    captured = capsys.readouterr()
    assert captured.out.startswith("stopped: Stopped by the user. Interrupted (Ctrl-C).")
    assert "iterations 7" in captured.out and "workbench: interrupted" in captured.err
    data = json.loads(out.read_text())
    assert data["summary"]["status"] == "stopped" and data["summary"]["iterations"] == 7
    assert len(data["trace"]["residual"]) == 8 and data["trace"]["residual"][-1] < data["trace"]["residual"][0]


def test_serve_refuses_a_busy_port_a_foreign_address_and_a_bad_timeout_in_one_line(capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cases = [
            (["serve", "--port", str(port)], f"port {port} on 127.0.0.1 is already in use"),
            (["serve", "--port", "0", "--address", "no.such.host.invalid"], "is not a name or address of this machine"),
            (["serve", "--port", "0", "--address", "203.0.113.77"], "is not an address of this machine"),
            (["serve", "--session-timeout", "nan"], "at most a day (86400); got nan"),
            (["serve", "--session-timeout", "inf"], "got inf"),
        ]
        for argv, needle in cases:
            assert main(argv) == 2, argv  # at once: before the pages are built
            err = capsys.readouterr().err.strip()
            assert err.startswith("workbench: error:") and needle in err and "\n" not in err, (argv, err)
