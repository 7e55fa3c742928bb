"""Helpers shared by subcommands: ``key=value`` parsing and parameter tables."""
from __future__ import annotations

import json

from ..core import MalformedInput


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
        elif getattr(p, "bounds", None):
            lo, hi = p.bounds
            allowed = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
        else:
            allowed = ""
        rows.append((name, repr(p.default), allowed, (p.doc or "").strip().split("\n")[0]))
    return rows
