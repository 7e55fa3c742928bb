"""The computing core: protocol, the run loop, traces, statuses, errors, registry."""
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .protocol import Method, Problem, ProblemFactory, SequenceMethod, jsonable, replace
from .registry import (
    from_spec,
    get_method,
    get_method_class,
    get_problem,
    get_problem_factory,
    methods,
    problems_list,
    register_method,
    register_problem,
)
from .runner import Result, Runner, run
from .status import Status
from .trace import Trace

__all__ = [
    *_errors_all,
    "Method",
    "Problem",
    "ProblemFactory",
    "SequenceMethod",
    "jsonable",
    "replace",
    "from_spec",
    "get_method",
    "get_method_class",
    "get_problem",
    "get_problem_factory",
    "methods",
    "problems_list",
    "register_method",
    "register_problem",
    "Result",
    "Runner",
    "run",
    "Status",
    "Trace",
]
