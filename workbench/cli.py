"""The ``workbench`` command line: ``serve | run | list | relax | sweep | runs | report``.

Each subcommand lives in its own module under :mod:`workbench.commands` with a
``register(subparsers)`` function; modules import their heavy dependencies
inside the command, so ``workbench --help`` stays fast. Bad input exits with
status 2 and a one-line reason; a failed run exits with status 1.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .core import WorkbenchError

COMMAND_MODULES = [
    "workbench.commands.serve",
    "workbench.commands.run",
    "workbench.commands.list",
    "workbench.commands.relax",
    "workbench.commands.sweep",
    "workbench.commands.runs",
    "workbench.commands.report",
]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Watch iterative solvers and optimizers converge, and turn their knobs while they run.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not part of this install yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except WorkbenchError as exc:
        print(f"workbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `workbench list | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
