"""Workbench: watch iterative solvers and optimizers converge, and turn their knobs while they run.

>>> import workbench as wb
>>> result = wb.run(wb.linear.SOR(omega=1.8), wb.problems.poisson2d(32), rtol=1e-8)
>>> result.status.label
'converged'

Subpackages load on first use (``wb.linear``, ``wb.optim``, ...), so importing
the package stays fast; torch, numba, dask and panel are imported only by the
parts that need them.
"""
from __future__ import annotations

import importlib

from .core import (
    IncompatibleProblem,
    InvalidParameter,
    InvalidProblem,
    MalformedInput,
    Result,
    Runner,
    Status,
    TooLarge,
    Trace,
    UnknownName,
    WorkbenchError,
    from_spec,
    get_method,
    get_problem,
    methods,
    problems_list,
    run,
)

__version__ = "0.1.0"

_SUBPACKAGES = {
    "core", "problems", "linear", "sketching", "tuning", "optim", "schedules", "sparse", "dfo", "fixedpoint", "bilevel",
    "sweep", "store", "report", "ui", "cli",
}


def __getattr__(name):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


__all__ = [
    "WorkbenchError", "InvalidParameter", "InvalidProblem", "IncompatibleProblem", "TooLarge",
    "MalformedInput", "UnknownName", "Result", "Runner", "Status", "Trace", "from_spec",
    "get_method", "get_problem", "methods", "problems_list", "run", "__version__",
]
