"""The computing packages never import the UI stack, and ``import workbench`` stays light.

Each check imports in a fresh interpreter and inspects ``sys.modules``, so what
an earlier test imported cannot hide a violation. An import inside a function
runs only when it is called, so the source is also read: no ``import`` statement
at any depth, nor ``import_module("...")`` call, in a computing package names
the UI stack or ``workbench.ui``.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
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


UI_MODULES = [*UI_STACK, "jupyter_bokeh", "workbench.ui"]
PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "workbench"


def _imported_names(source: str, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source`` at any depth, ``module`` being
    the dotted name of the file (``workbench.linear.sor``) that relative imports start from."""
    package = module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            # ``from .. import ui`` imports the submodule workbench.ui
            found += [(node.lineno, name)] + [(node.lineno, f"{name}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def _ui_imports(source: str, module: str) -> list[str]:
    return [f"{module}:{line} imports {name}" for line, name in _imported_names(source, module)
            if any(name == ui or name.startswith(ui + ".") for ui in UI_MODULES)]


@pytest.mark.parametrize("package", COMPUTING)
def test_computing_package_source_names_no_ui_import(package):
    files = sorted((PACKAGE_ROOT / package).rglob("*.py"))
    assert files, f"no source found for workbench.{package}"
    bad = []
    for path in files:
        parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        # (an __init__ is its package: its relative imports start from the package itself)
        module = module + ".__init__" if parts[-1] == "__init__" else module
        bad += _ui_imports(path.read_text(encoding="utf-8"), module)
    assert bad == []


def test_the_source_check_can_fail():
    inside = "def plot():\n    import panel as pn\n    from ..ui.plots import x\n"
    assert _ui_imports(inside, "workbench.linear.sor") == [
        "workbench.linear.sor:2 imports panel", "workbench.linear.sor:3 imports workbench.ui.plots",
        "workbench.linear.sor:3 imports workbench.ui.plots.x"]
    assert _ui_imports("from .. import ui", "workbench.optim.__init__") == [
        "workbench.optim.__init__:1 imports workbench.ui"]
    assert _ui_imports("importlib.import_module('holoviews')", "workbench.core.x") == [
        "workbench.core.x:1 imports holoviews"]
    assert _ui_imports("import panelling; from .uix import y", "workbench.core.x") == []


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
