"""Registry of methods and problems by name, and the plain-dict spec round trip.

Families register themselves on import; the registry imports the family
packages listed in :data:`PROVIDERS` the first time a name is looked up, so
``import workbench`` stays fast and optional families (torch, ...) load lazily.
"""
from __future__ import annotations

import importlib
from typing import Any

from .errors import MalformedInput, UnknownName
from .protocol import Method, ProblemFactory

__all__ = [
    "register_method",
    "register_problem",
    "methods",
    "problems_list",
    "get_method",
    "get_method_class",
    "get_problem",
    "get_problem_factory",
    "from_spec",
    "PROVIDERS",
]

_METHODS: dict[str, type[Method]] = {}
_PROBLEMS: dict[str, type[ProblemFactory]] = {}

#: Packages whose import registers methods/problems. A package missing from the
#: install (an optional family) is skipped; an error inside one is raised.
PROVIDERS = [
    "workbench.problems",
    "workbench.linear",
    "workbench.sketching",
    "workbench.tuning",
    "workbench.optim",
    "workbench.sparse",
    "workbench.dfo",
    "workbench.fixedpoint",
    "workbench.bilevel",
]
_loaded = False


def _load_providers() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in PROVIDERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name is None or not mod.startswith(exc.name):
                raise


def _key(name: str) -> str:
    if not isinstance(name, str):
        from .errors import UnknownName

        raise UnknownName(f"a method or problem is named by a string such as 'sor' or 'poisson2d', got "
                          f"{name!r}; `workbench list` shows the names.")
    return name.strip().lower().replace("-", "_")


def register_method(name: str, family: str = ""):
    """Class decorator: register a :class:`Method` subclass under ``name``."""

    def deco(cls):
        cls.registry_name = _key(name)
        cls.family = family or cls.family
        _METHODS[_key(name)] = cls
        return cls

    return deco


def register_problem(name: str):
    """Class decorator: register a :class:`ProblemFactory` subclass under ``name``."""

    def deco(cls):
        cls.registry_name = _key(name)
        _PROBLEMS[_key(name)] = cls
        return cls

    return deco


def methods(family: str | None = None, problem_kind: str | None = None) -> list[str]:
    """Names of the registered methods, optionally filtered by family or problem kind."""
    _load_providers()
    return sorted(
        n
        for n, c in _METHODS.items()
        if (family is None or c.family == family)
        and (problem_kind is None or c.problem_kind == problem_kind)
    )


def problems_list(kind: str | None = None) -> list[str]:
    """Names of the registered problems, optionally only those of one kind."""
    _load_providers()
    return sorted(n for n, c in _PROBLEMS.items() if kind is None or c.problem_kind == kind)


def _lookup(table: dict, name: str, what: str):
    _load_providers()
    try:
        return table[_key(name)]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(_key(name), list(table), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownName(
            f"there is no {what} called {name!r}.{hint} Run `workbench list` to see them all."
        ) from None


def get_method_class(name: str) -> type[Method]:
    return _lookup(_METHODS, name, "method")


def get_problem_factory(name: str) -> type[ProblemFactory]:
    return _lookup(_PROBLEMS, name, "problem")


def _construct(cls, params: dict, what: str):
    from .errors import InvalidParameter

    unknown = set(params) - set(cls.param) | ({"name"} & set(params))  # param's object name is no setting
    if unknown:
        raise InvalidParameter(
            f"{what} {cls.registry_name!r} has no parameter {', '.join(sorted(map(str, unknown)))}; "
            f"its parameters are {', '.join(p for p in cls.param if p != 'name')}."
        )
    try:
        return cls(**params)
    except InvalidParameter:  # the class's own sentence
        raise
    except (ValueError, TypeError) as exc:  # param's bound / type checks (a list of the wrong items)
        raise InvalidParameter(f"bad value for {what} {cls.registry_name!r}: {exc}") from None


def get_method(name: str, /, **params) -> Method:
    """A configured method, e.g. ``get_method("sor", omega=1.5)``."""
    return _construct(get_method_class(name), params, "method")


def get_problem(name: str, /, **params):
    """A built problem, e.g. ``get_problem("poisson2d", n=32)``."""
    return _construct(get_problem_factory(name), params, "problem").make()


def from_spec(spec: dict[str, Any]):
    """Rebuild a method, a problem or a (not yet advanced) :class:`Runner` from its spec."""
    if not isinstance(spec, dict):
        raise MalformedInput(f"a spec is a dict, got {type(spec).__name__}.")
    kind = spec.get("kind") or ("run" if "method" in spec and "problem" in spec else None)
    if kind == "method":
        return get_method(_need(spec, "name"), **_mapping(spec, "params"))
    if kind == "problem":
        return get_problem(_need(spec, "name"), **_mapping(spec, "params"))
    if kind == "run":
        from .runner import Runner, check_stop_keywords

        spec = with_run_seed(spec)
        method = from_spec({"kind": "method", **_mapping(spec, "method", required=True)})
        problem = from_spec({"kind": "problem", **_mapping(spec, "problem", required=True)})
        stop = _mapping(spec, "stop")
        check_stop_keywords(stop, "a run spec's 'stop'")
        return Runner(method, problem, **stop)
    raise MalformedInput(
        f"spec kind {kind!r} is not one of 'method', 'problem', 'run'; add a 'kind' key."
    )


def with_run_seed(spec: dict[str, Any]) -> dict[str, Any]:
    """A run spec with its run ``seed`` given to the method's and the problem's ``seed``
    parameter where they have one and the spec leaves it unset (an explicit value wins).

    A sweep stores each run's spec with the run seed beside the method and the problem; this
    is how the run used it, so that ``from_spec(stored_spec)`` replays the same run.
    """
    seed = spec.get("seed")
    if seed is None:
        return spec
    out = dict(spec)
    for part, lookup in (("method", get_method_class), ("problem", get_problem_factory)):
        part_spec = dict(_mapping(spec, part, required=True))
        params = dict(_mapping(part_spec, "params"))
        if "seed" in lookup(_need(part_spec, "name")).param and "seed" not in params:
            params["seed"] = seed
        out[part] = {**part_spec, "params": params}
    return out


def _mapping(spec: dict, key: str, required: bool = False) -> dict:
    value = _need(spec, key) if required else spec.get(key) or {}
    if not isinstance(value, dict):
        raise MalformedInput(f"the spec's {key!r} is a dict of names to values, got {type(value).__name__} "
                             f"{value!r}.")
    odd = [k for k in value if not isinstance(k, str)]
    if odd:
        raise MalformedInput(f"the spec's {key!r} is a dict of names to values; {odd[0]!r} is not a name.")
    return value


def _need(spec: dict, key: str):
    if key not in spec:
        hint = ""
        if key == "name" and spec.get("kind") in ("problem", "run"):
            # from_matrix / from_functions problems are built by hand: their spec cannot name them
            hint = (" A problem built by hand (from_matrix, from_functions) has no registered name: "
                    "rebuild it in Python, or save its matrix as .mtx and use the matrix_market problem.")
        raise MalformedInput(f"the spec has no {key!r} key; it has {sorted(map(str, spec))}.{hint}")
    return spec[key]
