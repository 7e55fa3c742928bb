"""The benchmark scripts still run and print their ratios (at small sizes; the timings are not checked).

Speed is measured by ``benchmarks/``, not by timed unit tests, so a script that no longer runs
(an optimizer table that met a method needing a Hessian) would go unnoticed until someone
wanted the figure. The browser benchmark (``ui.py``) is left to the UI tests.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ROOT = BENCHMARKS.parent

CASES = {
    "learned.py": (["--sizes", "16"], "its ratio"),
    "linear.py": (["--n", "32", "--sweeps", "2"], "speed ratio"),
    "optim.py": (["--sizes", "200", "--steps", "10"], "ratio = workbench time"),
    "polynomial_preconditioning.py": (["--n", "40"], "scipy cg (reference)"),
    "recycling.py": (["--m", "8", "--instances", "6"], "GCRO-DR, recycled"),
    "relax.py": (["--instances", "40"], "cost table row"),
    "second_order.py": ([], "LazyNewton"),
    "sparse.py": (["--side", "6"], "sklearn Lasso"),
    "sweep.py": (["--n", "6", "--points", "3", "--rounds", "1", "--workers", "1"], "target: ratio"),
}


def test_every_benchmark_script_has_a_case():
    scripts = {p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_")}
    assert scripts - {"ui.py"} == set(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_and_prints_its_ratios(script):
    args, expected = CASES[script]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, script, *args], cwd=BENCHMARKS, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert expected in out.stdout, out.stdout[-3000:]
    assert "Traceback" not in out.stderr
