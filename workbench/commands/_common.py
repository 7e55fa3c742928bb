"""Helpers shared by subcommands: ``key=value`` parsing, output paths and parameter tables."""
from __future__ import annotations

import json
import os
from pathlib import Path

import param

from ..core import InvalidParameter, MalformedInput


def check_output_path(path: str | os.PathLike, option: str = "--out", example: str = "results.json") -> Path:
    """Refuse, before any long work, an output file that cannot be written: a folder that
    does not exist or is not writable, or a path that is a folder (``example`` names a file
    the message suggests in it)."""
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise InvalidParameter(f"{option} {out} is a folder; give a file name, e.g. {option} {out / example}.")
    if not folder.is_dir():
        raise InvalidParameter(f"cannot write {option} {out}: the folder {folder} does not exist; create it "
                               "or choose another path.")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InvalidParameter(f"cannot write {option} {out}: permission denied; choose another path.")
    return out


def finite_or_none(value):
    """``value`` with every NaN or infinity replaced by ``None`` (strict JSON has neither)."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    return value


def write_json(path: str | os.PathLike, payload, option: str = "--out", **dump) -> None:
    """Write ``payload`` as JSON; an OS error (disk full, permissions) is a one-line error."""
    try:
        with open(path, "w") as fh:
            json.dump(payload, fh, **dump)
    except OSError as exc:
        raise InvalidParameter(f"could not write {option} {path}: {exc.strerror or exc}; free some space "
                               "or choose another path.") from None


def parse_assignments(items: list[str] | None) -> dict:
    """``["omega=1.8", "kernel=pyamg"]`` -> ``{"omega": 1.8, "kernel": "pyamg"}`` (JSON values when they parse)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise MalformedInput(f"--set expects key=value, got {item!r}; e.g. --set omega=1.8")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise MalformedInput(f"--set {item!r} has an empty key.")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = value
    return out


def describe_params(cls) -> list[tuple[str, str, str, str]]:
    """(name, default, bounds/choices, doc) for each public param of a Parameterized class."""
    rows = []
    for name, p in cls.param.objects("existing").items():
        if name == "name" or (p.precedence is not None and p.precedence < 0):
            continue
        if getattr(p, "objects", None):
            allowed = "{" + ", ".join(map(str, p.objects)) + "}"
        elif isinstance(p, param.List):
            allowed = "(a list)"  # a List's bounds are on its length, not on its items
        elif getattr(p, "bounds", None):
            lo, hi = p.bounds
            # interval notation: ( ) where param's inclusive_bounds exclude the end (omega in (0, 2))
            left, right = getattr(p, "inclusive_bounds", (True, True))
            allowed = (f"{'[' if left and lo is not None else '('}{'-inf' if lo is None else lo}, "
                       f"{'inf' if hi is None else hi}{']' if right and hi is not None else ')'}")
        else:
            allowed = ""
        rows.append((name, repr(p.default), allowed, (p.doc or "").strip().split("\n")[0]))
    return rows
