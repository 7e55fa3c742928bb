"""The error hierarchy: every error raised on bad input is a :class:`WorkbenchError`.

Each subclass names what was wrong; the message is a sentence that says what to
do about it. The server, sweeps and notebooks catch ``WorkbenchError`` and show
the message instead of crashing.
"""
from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "InvalidParameter",
    "InvalidProblem",
    "IncompatibleProblem",
    "TooLarge",
    "MalformedInput",
    "UnknownName",
    "OutOfRange",
    "error_sentence",
]


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on bad input."""


class InvalidParameter(WorkbenchError, ValueError):
    """A hyperparameter or option has a value outside what the method accepts."""


class InvalidProblem(WorkbenchError, ValueError):
    """A problem's data is unusable (not square, not finite, wrong sizes, ...)."""


class IncompatibleProblem(WorkbenchError, ValueError):
    """The method cannot solve this kind of problem (e.g. CG on a non-symmetric matrix)."""


class TooLarge(WorkbenchError, ValueError):
    """The request would need more memory or time than the workbench allows."""


class MalformedInput(WorkbenchError, ValueError):
    """A file or spec could not be parsed."""


class UnknownName(WorkbenchError, KeyError):
    """A method, problem or option name is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; a sentence reads better.
        return str(self.args[0]) if self.args else ""


class OutOfRange(WorkbenchError, IndexError):
    """An index lies outside what exists (e.g. instance 5000 of a 5000-instance sequence)."""


def error_sentence(exc: BaseException) -> str:
    """What a page or notebook shows for ``exc``: a WorkbenchError's own sentence (it says what
    to do), or the class and message of anything else (an unexpected error, whose class helps
    a bug report)."""
    return str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
