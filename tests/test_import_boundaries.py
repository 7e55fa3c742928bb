"""The computing packages never import the UI stack, and ``import workbench`` stays light.

Each check imports in a fresh interpreter and inspects ``sys.modules``, so what
an earlier test imported cannot hide a violation.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

COMPUTING = ["core", "problems", "linear", "sketching", "optim", "schedules", "sparse", "dfo", "fixedpoint", "bilevel", "tuning", "sweep",
             "store"]
UI_STACK = ["panel", "holoviews", "bokeh", "ipywidgets"]
HEAVY = ["torch", "numba", "dask", "panel"]


def _loaded_after(code: str, watch: list[str]) -> list[str]:
    probe = (
        "import importlib, json, sys\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({watch!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", COMPUTING)
def test_computing_package_does_not_import_ui(package):
    import importlib.util

    if importlib.util.find_spec(f"workbench.{package}") is None:
        pytest.skip(f"workbench.{package} is not part of this install")
    # Import the package and every submodule in it, not just __init__.
    code = (
        "import pkgutil, workbench\n"
        f"pkg = importlib.import_module('workbench.{package}')\n"
        "for info in pkgutil.walk_packages(getattr(pkg, '__path__', []), pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
    )
    assert _loaded_after(code, UI_STACK) == []


def test_registry_lookup_does_not_import_ui():
    # Listing methods imports every provider package (problems, linear, tuning, optim, sparse).
    assert _loaded_after("import workbench as wb; wb.methods(); wb.problems_list()", UI_STACK) == []


def test_import_workbench_is_light():
    assert _loaded_after("import workbench", HEAVY) == []


def test_ipywidgets_adapter_does_not_need_panel():
    loaded = _loaded_after("from workbench.ui import ipywidgets_controls, NotebookRun", ["panel"])
    assert loaded == []


def test_the_check_can_fail():
    # The probe does see a UI import when there is one.
    assert set(_loaded_after("import workbench.ui.live", UI_STACK)) >= {"bokeh", "panel"}
