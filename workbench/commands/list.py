"""``workbench list``: registered methods, problems and schedules with their parameters."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("list", help="List methods, problems and step-size schedules with their parameters, "
                                    "bounds and docs.")
    p.add_argument("what", nargs="?", choices=["methods", "problems", "schedules", "all"], default="all")
    p.add_argument("--brief", action="store_true", help="Names only.")
    p.set_defaults(func=main)


def _first_line(cls) -> str:
    doc = (cls.__doc__ or "").strip()
    return _plain(doc.split("\n")[0]) if doc else ""


_TEX = {"tfrac12": "1/2", "le": "<=", "leq": "<=", "ge": ">=", "geq": ">=", "|": "||", ",": "", "cdot": "*",
        "left": "", "right": ""}


def _plain(text: str) -> str:
    """A docstring's line as a terminal reads it: ``code`` and :math:`x` without their markup,
    TeX commands as their names (:math:`\\omega \\le 1` is "omega <= 1")."""
    import re

    def math(match):
        inner = re.sub(r"\\([A-Za-z]+\d*|[|,])", lambda m: _TEX.get(m.group(1), m.group(1)), match.group(1))
        return inner.replace("{", "").replace("}", "")

    return re.sub(r":math:`([^`]*)`", math, text).replace("``", "")


def main(args) -> int:
    from .. import schedules
    from ..core import registry
    from ._common import describe_params

    sections = []
    if args.what in ("methods", "all"):
        sections.append(("Methods", [(n, registry.get_method_class(n)) for n in registry.methods()]))
    if args.what in ("problems", "all"):
        sections.append(("Problems", [(n, registry.get_problem_factory(n)) for n in registry.problems_list()]))
    if args.what in ("schedules", "all"):
        sections.append(("Schedules", [(n, schedules.get_schedule_class(n)) for n in schedules.schedules()]))
    for title, entries in sections:
        print(f"{title} ({len(entries)})")
        for name, cls in entries:
            extra = ""
            kind = getattr(cls, "problem_kind", "")
            if title == "Methods":
                extra = f"  [{cls.family or '-'}; solves {kind} problems]"
            elif title == "Problems":
                extra = f"  [{kind}]"
            print(f"  {name}{extra}  {_first_line(cls)}")
            if args.brief:
                continue
            for pname, default, allowed, doc in describe_params(cls):
                print(f"      {pname} = {default} {allowed}  {doc}")
        print()
    return 0
