"""Sweep specs: a method, a problem, and axes over any of their parameters.

A sweep spec is plain data (YAML 1.2, JSON or a dict)::

    name: sor-omega-n                  # runs are grouped under this name in the store
    method: {name: sor, params: {kernel: pyamg}}
    problem: {name: poisson2d, params: {rhs: random}}
    stop: {rtol: 1.0e-8, max_steps: 5000}
    seeds: [0, 1]                      # optional: a seed axis (or `seed: 0`)
    grid:                              # Cartesian product of these values
      method.omega: {linspace: [1.0, 1.95, 20]}
      problem.n: [16, 32]
    zip:                               # these lists advance together (equal lengths)
      method.omega: [1.2, 1.5]
      problem.n: [8, 16]
    random:                            # `samples` draws, seeded
      samples: 10
      seed: 0
      params:
        method.omega: {uniform: [1.0, 1.95]}
        problem.n: {choice: [16, 32]}

``grid``, ``zip``, ``random`` and ``seeds`` are each optional and combine as a
Cartesian product. A parameter is addressed as ``method.<param>``,
``problem.<param>`` or ``stop.<option>`` (``rtol``, ``atol``, ``max_steps``,
``max_seconds``, ``metric``); ``seed`` addresses the run seed.

The run seed is handed to the problem's and the method's ``seed`` parameter
when they have one and the spec does not set it, and seeds NumPy's global
generator before the run, so a sweep over seeds varies every random choice.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import param

from ..core import InvalidParameter, MalformedInput, TooLarge, WorkbenchError, get_method_class, get_problem_factory
from ..core.protocol import jsonable
from ..store.records import canonical_json, flatten_params, run_key

__all__ = ["SweepSpec", "load_spec", "expand"]

_TOP_KEYS = {"name", "description", "method", "problem", "stop", "seed", "seeds", "grid", "zip", "random"}
_STOP_KEYS = {"rtol", "atol", "max_steps", "max_seconds", "metric", "divergence"}
#: Runs one sweep may expand to (a million specs take gigabytes before anything runs);
#: split a larger study into several sweeps.
MAX_RUNS = 200_000


def _mapping(value: Any, what: str, example: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedInput(f"`{what}` should be a mapping, e.g. {example}; got {value!r}.")
    odd = [k for k in value if not isinstance(k, str)]
    if odd:  # YAML makes `1: 2` an int key
        raise MalformedInput(f"the keys of `{what}` are names, e.g. {example}; got the key {odd[0]!r}.")
    return dict(value)


def _count(value: Any, what: str, example: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value) or value < 1):
        raise MalformedInput(f"{what} should be a whole number of at least 1, e.g. {example}; got {value!r}.")
    if value > MAX_RUNS:
        raise TooLarge(f"{what} = {value} is more than a sweep may hold ({MAX_RUNS} runs); split it into "
                       "several sweeps.")
    return int(value)


def _clean(value: float) -> float:
    # linspace steps are not exact in binary; 12 digits keep 1.15 reading as 1.15.
    return float(f"{value:.12g}")


def _values(address: str, spec: Any) -> list:
    """Expand one axis' values: a list, or ``{linspace|logspace|range|geomspace: [...]}``."""
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise MalformedInput(f"the axis {address!r} has no values; give at least one.")
        return [jsonable(v) for v in spec]
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, args), = spec.items()
        try:
            if kind in ("linspace", "logspace", "geomspace"):
                a, b, n = args
                n = _count(n, f"the number of values of {address!r}", f"{{{kind}: [1.0, 1.9, 10]}}")
                space = {"linspace": np.linspace, "logspace": np.logspace, "geomspace": np.geomspace}[kind]
                with np.errstate(over="ignore", invalid="ignore"):
                    values = space(float(a), float(b), n)
                if not np.all(np.isfinite(values)):
                    # logspace's ends are exponents: {logspace: [1, 400, 3]} reaches 1e400
                    raise MalformedInput(f"{{{kind}: {list(args)}}} of axis {address!r} gives values that are not "
                                         "finite numbers" + (" (its ends are powers of ten: write [-6, -1, 6] for "
                                                             "1e-6 .. 1e-1)" if kind == "logspace" else
                                                             "; give finite ends of the same sign") + ".")
                return [_clean(v) for v in values]
            if kind == "range":
                integers = all(isinstance(v, int) and not isinstance(v, bool) for v in args)
                if integers and 1 <= len(args) <= 3:
                    a, b, step = {1: (0, *args, 1), 2: (*args, 1), 3: tuple(args)}[len(args)]
                elif integers:
                    raise ValueError(f"a range takes 1 to 3 numbers, got {len(args)}")
                else:
                    if not isinstance(args, (list, tuple)) or len(args) != 3:
                        raise ValueError("a range with a decimal number takes start, stop and step")
                    a, b, step = (float(v) for v in args)
                    if not all(math.isfinite(v) for v in (a, b, step)):
                        raise MalformedInput(f"the range {list(args)} of axis {address!r} needs finite start, "
                                             "stop and step; write e.g. {range: [0.0, 1.0, 0.25]}.")
                # Counted before anything is made: a range of 1e20 values (or of a step of 1e-300)
                # is refused with a sentence, not an OverflowError from range() or len().
                if step == 0:
                    raise MalformedInput(f"the range {list(args)} of axis {address!r} has a step of 0; write e.g. "
                                         "{range: [0, 10, 2]} (start, stop excluded, step).")
                quotient = (b - a) / step if not integers else -(-(b - a) // step)
                if quotient != quotient or quotient <= 0:
                    raise MalformedInput(f"the range {list(args)} of axis {address!r} has no values; write e.g. "
                                         "{range: [0, 10, 2]} (start, stop excluded, step).")
                if quotient > MAX_RUNS:
                    raise TooLarge(f"the range {list(args)} of axis {address!r} has more values than a sweep "
                                   f"may hold ({MAX_RUNS} runs); split it into several sweeps.")
                if integers:
                    return list(range(a, b, step))
                # (np.arange with a decimal step can reach the stop: [1.2, 1.8, 0.2] gave 1.8 too)
                values = [_clean(a + i * step) for i in range(int(math.ceil(quotient - 1e-9)))]
                return [v for v in values if (v < b if step > 0 else v > b)]
        except WorkbenchError:  # already a sentence (TooLarge is also a ValueError)
            raise
        except (TypeError, ValueError) as exc:
            example = "[0, 10, 2] (start, stop excluded, step)" if kind == "range" else "[1.0, 1.9, 10]"
            raise MalformedInput(f"cannot expand {kind} for axis {address!r}: {exc}; "
                                 f"write e.g. {{{kind}: {example}}}.") from None
    if not isinstance(spec, (dict, list)):
        return [jsonable(spec)]
    raise MalformedInput(
        f"the axis {address!r} should be a list of values or one of "
        f"{{linspace|logspace|geomspace|range: [start, stop, n]}}, got {spec!r}."
    )


def _check_seed(value: Any, what: str) -> None:
    # (the store keeps a seed in an SQLite INTEGER, 64 bits)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**63:
        raise MalformedInput(f"{what} whole numbers from 0 to 2**63 - 1, e.g. seeds: [0, 1, 2]; got {value!r}.")


def _draw(address: str, dist: Any, rng: np.random.Generator) -> Any:
    """One random draw: ``{uniform|loguniform: [a, b]}``, ``{randint: [a, b]}`` (b exclusive),
    ``{choice: [...]}``, or a list (choice)."""
    if isinstance(dist, (list, tuple)):
        dist = {"choice": list(dist)}
    if not (isinstance(dist, dict) and len(dist) == 1):
        raise MalformedInput(f"the random axis {address!r} should be {{uniform|loguniform|randint|choice: ...}}, "
                             f"got {dist!r}.")
    (kind, args), = dist.items()
    examples = {"uniform": "[1.0, 1.95]", "loguniform": "[1.0e-4, 1.0e-1]", "randint": "[8, 33]",
                "choice": "[cosine, linear]"}
    try:
        if kind in ("uniform", "loguniform"):
            a, b = (float(v) for v in args)
            if not (math.isfinite(a) and math.isfinite(b) and a <= b):
                raise ValueError(f"the ends must be finite numbers with low <= high, got [{a:g}, {b:g}]")
            if kind == "uniform":
                return _clean(rng.uniform(a, b))
            if not a > 0:
                raise ValueError(f"loguniform draws between two positive numbers, got [{a:g}, {b:g}]")
            return _clean(math.exp(rng.uniform(math.log(a), math.log(b))))
        if kind == "randint":
            if any(isinstance(v, bool) or not float(v).is_integer() for v in args):
                raise ValueError(f"randint's ends are whole numbers, got {list(args)}")
            a, b = (int(v) for v in args)
            if not a < b:
                raise ValueError(f"randint draws from low to high - 1, so it needs low < high, got [{a}, {b}]")
            return int(rng.integers(a, b))
        if kind == "choice":
            options = list(args)
            if not options:
                raise ValueError("there is nothing to choose from")
            return jsonable(options[int(rng.integers(len(options)))])
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedInput(f"cannot draw {kind} for {address!r}: {exc}; write e.g. "
                             f"{{{kind}: {examples[kind]}}}.") from None
    raise MalformedInput(f"unknown distribution {kind!r} for {address!r}; use uniform, loguniform, "
                         "randint or choice.")


def _reachable_ends(dist) -> list:
    """The extreme values a random axis can draw (every option of a choice), so that a
    distribution reaching past a parameter's bounds is refused whatever the seed draws."""
    if isinstance(dist, (list, tuple)):
        return list(dist)
    (kind, args), = dist.items()
    if kind in ("uniform", "loguniform"):
        a, b = (float(v) for v in args)
        return [a, float(np.nextafter(b, a)) if b > a else b]  # (b itself is never drawn)
    if kind == "randint":
        a, b = (int(v) for v in args)
        return [a, b - 1]
    return list(args)  # choice


def _plain(value):
    """A spec written in Python as plain data: a range, tuple or NumPy array is the list of its
    values, a NumPy number the Python number (both hash and store as JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, range)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_plain_data(value, where: str = "the sweep spec") -> None:
    """Refuse what a spec cannot store: a date (YAML reads ``2024-01-01`` as one), bytes, a set.
    (A spec is hashed and stored as JSON; such a value was a bare TypeError from there.)"""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain_data(v, f"{where}.{k}" if where != "the sweep spec" else str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_plain_data(v, where)
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise MalformedInput(f"{where} holds {value!r}, a {type(value).__name__}; a spec holds numbers, text, "
                             "lists and mappings (quote a date to keep it as text).")


class SweepSpec:
    """A parsed, validated sweep spec; :meth:`runs` lists its run specs.

    Parameters
    ----------
    spec : dict
        See the module docstring for the format.

    Examples
    --------
    >>> s = SweepSpec({"name": "demo", "method": {"name": "sor"}, "problem": {"name": "poisson2d"},
    ...                "grid": {"method.omega": [1.2, 1.5], "problem.n": [8, 16]}})
    >>> len(s.runs()), s.runs()[0]["method"]
    (4, {'name': 'sor', 'params': {'omega': 1.2}})
    """

    def __init__(self, spec: dict):
        if not isinstance(spec, dict):
            raise MalformedInput(f"a sweep spec is a mapping with keys method, problem, grid, ...; got "
                                 f"{type(spec).__name__}.")
        unknown = set(spec) - _TOP_KEYS
        if unknown:
            raise MalformedInput(f"the sweep spec has unknown keys {', '.join(sorted(map(str, unknown)))}; allowed keys are "
                                 f"{', '.join(sorted(_TOP_KEYS))}.")
        spec = _plain(spec)
        self.raw = jsonable(spec)
        _check_plain_data(self.raw)
        self.method = self._part(spec, "method")
        self.problem = self._part(spec, "problem")
        self.stop = _mapping(spec.get("stop"), "stop", "{rtol: 1.0e-8, max_steps: 5000}")
        bad_stop = set(self.stop) - _STOP_KEYS
        if bad_stop:
            raise MalformedInput(f"unknown stop options {', '.join(sorted(bad_stop))}; use "
                                 f"{', '.join(sorted(_STOP_KEYS))}.")
        for key, value in self.stop.items():
            # (text that reads as a number would run, but as a second run key for the same run)
            if isinstance(value, str) and key not in ("metric", "divergence"):
                note = _yaml11_note(value)
                raise MalformedInput(f"stop.{key} is a number; got the text {value!r}" + (
                    f"{note}." if note else ". Write it without quotes."))
            if key == "metric" and value is not None and not isinstance(value, str):
                raise MalformedInput(f"stop.metric is the name of a metric the method reports (e.g. residual); "
                                     f"got {value!r}.")
        digest = hashlib.sha256(canonical_json(self.raw).encode()).hexdigest()[:8]
        self.name = str(spec.get("name") or f"{self.method['name']}-{self.problem['name']}-{digest}")
        if "seed" in spec and "seeds" in spec:
            raise MalformedInput("give either `seed` (one seed) or `seeds` (a seed axis), not both.")
        self.seeds = _values("seeds", spec["seeds"]) if "seeds" in spec else [spec.get("seed")]
        # (a seed written 3.0, or a linspace of seeds, is the whole number it spells)
        self.seeds = [int(v) if isinstance(v, float) and v.is_integer() else v for v in self.seeds]
        if "seeds" in spec and any(seed is None for seed in self.seeds):
            raise MalformedInput("`seeds` lists whole numbers (e.g. seeds: [0, 1, 2]); a null among them would be a "
                                 "run without a seed. Leave `seeds` out for one unseeded run.")
        for seed in self.seeds:
            if seed is not None:
                _check_seed(seed, "seeds are")
        grid = _mapping(spec.get("grid"), "grid", "{method.omega: [1.2, 1.5]}")
        zipped = _mapping(spec.get("zip"), "zip", "{method.omega: [1.2, 1.5], problem.n: [8, 16]}")
        # Each axis expands to at most MAX_RUNS values (_count), so expanding them all is cheap;
        # the product is checked as it grows, before any run spec is made.
        self.grid = {}
        for address, values in grid.items():
            self.grid[address] = _values(address, values)
            self._check_size()
        self.zip = {a: _values(a, v) for a, v in zipped.items()}
        if len({len(v) for v in self.zip.values()}) > 1:
            lengths = ", ".join(f"{a}: {len(v)}" for a, v in self.zip.items())
            raise MalformedInput(f"the zip axes must have equal lengths, got {lengths}.")
        self.random = _mapping(spec.get("random"), "random", "{samples: 10, seed: 0, params: {...}}")
        if self.random:
            extra = set(self.random) - {"samples", "seed", "params"}
            if extra or "samples" not in self.random or "params" not in self.random:
                raise MalformedInput("`random` needs `samples` (a count) and `params` (address -> distribution), "
                                     "and optionally `seed`.")
            self.random["samples"] = _count(self.random["samples"], "random.samples", "samples: 10")
            self.random["params"] = _mapping(self.random["params"], "random.params",
                                             "{method.omega: {uniform: [1.0, 1.95]}}")
            seed = self.random.get("seed", 0)
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
                raise MalformedInput(f"random.seed is a whole number from 0 to 2**63 - 1; got {seed!r}.")
            trial = np.random.default_rng(0)
            for address, dist in self.random["params"].items():
                _draw(address, dist, trial)  # a distribution that cannot draw is a spec error, now
        self._check_size()
        axes = {"grid": set(self.grid), "zip": set(self.zip), "random": set(self.random.get("params") or {})}
        for a, b in (("grid", "zip"), ("grid", "random"), ("zip", "random")):
            both = sorted(axes[a] & axes[b])
            if both:
                raise MalformedInput(f"{both[0]!r} is swept in both `{a}` and `{b}`; sweep each address in one "
                                     "place (the later one would silently win).")
        if "seed" in set().union(*axes.values()) and ("seeds" in spec or spec.get("seed") is not None):
            raise MalformedInput("the seed is swept as an axis and also set by `seed`/`seeds`; use one of them.")
        self.validate_names()
        for address in [*self.grid, *self.zip, *(self.random.get("params") or {})]:
            self._check_address(address)
        self._whole_numbers()
        self.validate_fixed()
        for address, dist in (self.random.get("params") or {}).items():
            try:
                self.validate_swept(address, [self._whole(address, v) for v in _reachable_ends(dist)])
            except WorkbenchError as exc:
                raise type(exc)(f"the random axis {address!r} draws from {dist}, which reaches values its parameter "
                                f"refuses, whatever the seed: {exc}") from None
        for axes in (self.grid, self.zip):
            for address, values in axes.items():
                self.validate_swept(address, values)

    def _size(self) -> int:
        """Runs in the sweep so far expanded (grid x zip x random samples x seeds)."""
        total = math.prod(len(v) for v in getattr(self, "grid", {}).values())
        total *= max((len(v) for v in getattr(self, "zip", {}).values()), default=1)
        random = getattr(self, "random", None) or {}
        total *= random.get("samples", 1) if isinstance(random.get("samples"), int) else 1
        return total * max(len(self.seeds), 1)

    def _check_size(self) -> None:
        total = self._size()
        if total > MAX_RUNS:
            raise TooLarge(f"this sweep would hold {total:,} runs, more than {MAX_RUNS:,}; split it into several "
                           "sweeps or use fewer values per axis.")

    @staticmethod
    def _part(spec: dict, part: str) -> dict:
        value = spec.get(part)
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict) or "name" not in value:
            raise MalformedInput(f"the sweep spec needs `{part}: {{name: ..., params: {{...}}}}`.")
        extra = set(value) - {"name", "params"}
        if extra:
            raise MalformedInput(f"`{part}` has unknown keys {', '.join(sorted(map(str, extra)))}; use name and params.")
        params = _mapping(value.get("params"), f"{part}.params", "{omega: 1.8}")
        return {"name": str(value["name"]), "params": params}

    def _check_address(self, address: str) -> None:
        if address == "seed":
            return
        part, _, key = address.partition(".")
        if part == "stop":
            if key not in _STOP_KEYS:
                raise MalformedInput(f"unknown stop option in axis {address!r}; use {', '.join(sorted(_STOP_KEYS))}.")
            return
        if part not in ("method", "problem") or not key:
            raise MalformedInput(f"axis {address!r} should be method.<param>, problem.<param>, stop.<option> "
                                 "or seed.")
        cls = (get_method_class if part == "method" else get_problem_factory)(self.method["name"] if part == "method"
                                                                             else self.problem["name"])
        if key not in cls.param or key == "name":
            names = ", ".join(p for p in cls.param if p != "name")
            raise MalformedInput(f"{part} {cls.registry_name!r} has no parameter {key!r} (axis {address!r}); "
                                 f"its parameters are {names}.")

    def _whole(self, address: str, value):
        """``value`` as the whole number it spells where ``address`` is a whole-number setting."""
        if isinstance(value, float) and value.is_integer() and self._is_whole(address):
            return int(value)
        return value

    def _is_whole(self, address: str) -> bool:
        part, _, key = address.partition(".")
        if part == "stop":
            return key == "max_steps"
        if part == "seed":
            return True
        if part not in ("method", "problem"):
            return False
        cls = (get_method_class(self.method["name"]) if part == "method"
               else get_problem_factory(self.problem["name"]))
        return key in cls.param and isinstance(cls.param[key], param.Integer)

    def _is_real(self, address: str) -> bool:
        """Whether ``address`` is a real-number setting (``method.omega``, ``stop.rtol``)."""
        part, _, key = address.partition(".")
        if part == "stop":
            return key in ("rtol", "atol", "max_seconds", "divergence")
        if part not in ("method", "problem"):
            return False
        cls = (get_method_class(self.method["name"]) if part == "method"
               else get_problem_factory(self.problem["name"]))
        return (key in cls.param and isinstance(cls.param[key], param.Number)
                and not isinstance(cls.param[key], param.Integer))

    def _whole_numbers(self) -> None:
        """Write each number as its setting's type: integral floats of whole-number settings as
        ints (``n: 1e1``, ``max_steps: 1e3`` in YAML) and ints of real settings as floats
        (``omega: 1``), so that each builds the run and has the run key that ``n: 10`` and
        ``omega: 1.0`` have (``[1, 1.5]`` and ``{linspace: [1, 1.5, 2]}`` share the omega 1 run)."""
        def fix(address: str, value):
            if isinstance(value, float) and value.is_integer() and self._is_whole(address):
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool) and self._is_real(address):
                return float(value)
            return value

        for part in ("method", "problem"):
            params = getattr(self, part)["params"]
            for key in params:
                params[key] = fix(f"{part}.{key}", params[key])
        for key in list(self.stop):
            self.stop[key] = fix(f"stop.{key}", self.stop[key])
        for axes in (self.grid, self.zip):
            for address, values in axes.items():
                axes[address] = [fix(address, v) for v in values]

    def validate_names(self) -> None:
        """Raise :class:`~workbench.core.UnknownName` / :class:`MalformedInput` for unknown names."""
        method_cls = get_method_class(self.method["name"])
        problem_cls = get_problem_factory(self.problem["name"])
        for part, cls in (("method", method_cls), ("problem", problem_cls)):
            unknown = set(getattr(self, part)["params"]) - set(cls.param) - {"name"}
            if unknown:
                names = ", ".join(p for p in cls.param if p != "name")
                raise MalformedInput(f"{part} {cls.registry_name!r} has no parameter "
                                     f"{', '.join(sorted(unknown))}; its parameters are {names}.")

    def validate_fixed(self) -> None:
        """Check the values the sweep does not vary (a method's ``kernel: numpy``, ``stop:
        {rtol: -1}``) once, before anything runs: a mistake there would fail every run."""
        from ..core.registry import _construct
        from ..core.runner import check_stop_values

        swept = set(self.grid) | set(self.zip) | set(self.random.get("params") or {})
        for part, lookup in (("method", get_method_class), ("problem", get_problem_factory)):
            fixed = {k: v for k, v in getattr(self, part)["params"].items() if f"{part}.{k}" not in swept}
            try:
                _construct(lookup(getattr(self, part)["name"]), fixed, part)
            except WorkbenchError as exc:
                note = _yaml11_notes(str(exc), fixed)
                raise type(exc)(f"{exc} (a fixed value of the sweep spec's {part}){note}") from None
            except Exception as exc:  # a value of a type the class cannot take at all
                raise InvalidParameter(f"bad fixed value for {part} {getattr(self, part)['name']!r}: "
                                       f"{type(exc).__name__}: {exc}") from None
        check_stop_values({k: v for k, v in self.stop.items() if f"stop.{k}" not in swept})
        if self.stop.get("metric") is not None and "stop.metric" not in swept:
            self._check_fixed_metric()

    def _check_fixed_metric(self) -> None:
        """A fixed ``stop.metric`` the method does not report would fail every run: build the
        first run's method and problem once and look (only when a metric is named; a problem
        that cannot be built here is left to the runs, which report it)."""
        from ..core.registry import get_method, get_problem

        try:
            points = self.points()
            if not points:
                return
            first = self.run_spec(points[0])
            method = get_method(first["method"]["name"], **first["method"]["params"])
            problem = get_problem(first["problem"]["name"], **first["problem"]["params"])
            reported = method.metrics(problem, method.init(problem))
        except Exception:
            return
        metric = self.stop["metric"]
        if metric not in reported:
            raise InvalidParameter(f"stop.metric = {metric!r}, and {first['method']['name']} reports "
                                   f"{', '.join(sorted(reported))}; choose one of them.")

    def validate_swept(self, address: str, values) -> None:
        """Check each value of the axis ``address`` the way its parameter checks an assignment
        (bounds, type, NaN), before anything runs, so that an omega of 2.5 in a grid is refused
        with the axis named instead of becoming a failed run. Combinations are not checked here:
        a value that only fails with another swept value still gives a failed run."""
        from ..core.registry import _construct
        from ..core.runner import check_stop_values

        part, _, key = address.partition(".")
        if address == "seed":
            for value in values:
                _check_seed(value, "the values of the swept seed are")
            return
        if part == "stop":
            check = lambda value: check_stop_values({key: value})  # noqa: E731
        else:
            lookup = get_method_class if part == "method" else get_problem_factory
            swept = set(self.grid) | set(self.zip) | set(self.random.get("params") or {})
            fixed = {k: v for k, v in getattr(self, part)["params"].items() if f"{part}.{k}" not in swept}
            probe = _construct(lookup(getattr(self, part)["name"]), fixed, part)
            if not hasattr(probe, "check_value"):
                return
            check = lambda value: probe.check_value(key, value, with_others=False)  # noqa: E731
        seen = set()
        for value in values:
            marker = repr(value)
            if marker in seen:
                continue
            seen.add(marker)
            try:
                check(value)
            except WorkbenchError as exc:
                note = _yaml11_note(value)
                raise type(exc)(f"the value {value!r} of the swept {address} is refused: {exc} " + (
                    f"{note[2].upper()}{note[3:-1]}." if note else
                    "Remove it from the axis (or narrow its range).")) from None

    # -- expansion -----------------------------------------------------------
    def points(self) -> list[dict[str, Any]]:
        """Every combination of axis values as ``{address: value}`` (seed included)."""
        blocks: list[list[dict]] = []
        if self.grid:
            addrs = list(self.grid)
            blocks.append([dict(zip(addrs, combo)) for combo in itertools.product(*self.grid.values())])
        if self.zip:
            addrs = list(self.zip)
            blocks.append([dict(zip(addrs, combo)) for combo in zip(*self.zip.values())])
        if self.random:
            rng = np.random.default_rng(self.random.get("seed", 0))
            params = self.random["params"]
            # (a drawn 8.0 for an integer n is the run n = 8, as in a grid)
            drawn = [{a: self._whole(a, _draw(a, d, rng)) for a, d in params.items()}
                     for _ in range(int(self.random["samples"]))]
            for address in params:
                self.validate_swept(address, [sample[address] for sample in drawn])
            blocks.append(drawn)
        if self.seeds != [None]:
            blocks.append([{"seed": s} for s in self.seeds])
        out = []
        for combo in itertools.product(*blocks):
            point: dict[str, Any] = {}
            for part in combo:
                point.update(part)
            out.append(point)
        return out

    def run_spec(self, point: dict[str, Any]) -> dict:
        """The full run spec of one point: method, problem, stop and seed."""
        method = {"name": self.method["name"], "params": dict(self.method["params"])}
        problem = {"name": self.problem["name"], "params": dict(self.problem["params"])}
        stop = dict(self.stop)
        seed = point.get("seed", self.seeds[0] if len(self.seeds) == 1 else None)
        for address, value in point.items():
            if address == "seed":
                continue
            part, _, key = address.partition(".")
            {"method": method["params"], "problem": problem["params"], "stop": stop}[part][key] = value
        spec = {"kind": "run", "method": method, "problem": problem, "stop": stop}
        if seed is not None:
            spec["seed"] = jsonable(seed)
        return jsonable(spec)

    def runs(self) -> list[dict]:
        """Every run spec of the sweep, in a deterministic order; duplicates removed."""
        seen, out = set(), []
        for point in self.points():
            spec = self.run_spec(point)
            key = run_key(spec)
            if key not in seen:
                seen.add(key)
                out.append(spec)
        return out

    def swept(self) -> list[str]:
        """The addresses that vary across the sweep (for reports)."""
        return [*self.grid, *self.zip, *(self.random.get("params") or {})] + (
            ["seed"] if len(self.seeds) > 1 else [])

    def to_dict(self) -> dict:
        return {"name": self.name, **{k: v for k, v in self.raw.items() if k != "name"}}

    def __len__(self) -> int:
        return len(self.runs())

    def __repr__(self) -> str:
        return f"SweepSpec({self.name!r}, {len(self)} runs)"


#: Plain words and numbers that YAML 1.1 (PyYAML's default) reads as something other than
#: what YAML 1.2, which sweep specs follow, reads them as: a boolean, or a number written with
#: ``_`` separators, in binary, in base 60 (``1:30`` was 90) or as signed hex (``-0x1f``).
_YAML11_BOOL = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_YAML11_NUMBER = re.compile(r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*)$""", re.X)
_CORE_NUMBER = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
                          r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$")


def _yaml11_note(value) -> str:
    """A sentence for text that an older reading of the spec (YAML 1.1) took for a boolean
    or a number, added to the message that refuses it where a number or a boolean belongs."""
    if not isinstance(value, str):
        return ""
    if _YAML11_BOOL.match(value):
        return (f" (sweep specs follow YAML 1.2, where {value} is the text {value!r}, not a boolean: "
                "write true or false)")
    if _YAML11_NUMBER.match(value) and not _CORE_NUMBER.match(value):
        what = ("a time in base 60" if ":" in value else "a binary number" if "0b" in value
                else "a number with _ separators" if "_" in value else "a signed hex number")
        return (f" (sweep specs follow YAML 1.2, where {value} is text, not {what}: write the number in "
                "decimal, e.g. 1000 or 90, or as 0x1f / 0o17 without a sign)")
    return ""


def _yaml11_notes(message: str, params: dict) -> str:
    """The notes of those of ``params`` that the error ``message`` quotes (by value or by name)."""
    return "".join(dict.fromkeys(_yaml11_note(v) for k, v in params.items()
                                 if isinstance(v, str) and (repr(v) in message or f".{k}'" in message)))


def _spec_loader():
    """PyYAML's safe loader with the YAML 1.2 core schema's plain scalars: ``010`` is 10 (not
    octal 8), ``1e-3`` is a float (not text), only true/false are booleans (``yes``, ``on``
    stay text), ``1:30`` and ``1_000`` are text (not 90 and 1000). Dates are still read as
    dates (and refused by the spec, which asks for quotes), and a key written twice is refused."""
    import yaml

    class SpecLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            # PyYAML keeps the last of two equal keys: a second `grid:` silently dropped the first
            seen = {}
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in seen:
                    raise MalformedInput(f"the key {key!r} appears twice in one mapping of the sweep spec (lines "
                                         f"{seen[key] + 1} and {key_node.start_mark.line + 1}); YAML would keep "
                                         "only the second. Merge them into one.")
                if key is not None:
                    seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):
            text = self.construct_scalar(node)
            try:
                if re.fullmatch(r"[-+]?[0-9]+", text):
                    return int(text, 10)  # (a leading zero is decimal: 010 is 10)
                if re.fullmatch(r"0o[0-7]+", text):
                    return int(text[2:], 8)
                if re.fullmatch(r"0x[0-9a-fA-F]+", text):
                    return int(text[2:], 16)
            except ValueError:
                pass
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is not a YAML 1.2 integer (write e.g. 10, 0o17 or 0x1f)", node.start_mark)

    # The implicit resolvers of PyYAML's loader are YAML 1.1's; these are the 1.2 core schema's.
    SpecLoader.yaml_implicit_resolvers = {}
    SpecLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    SpecLoader.add_implicit_resolver(  # (before float: 10 is an int)
        "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
    SpecLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                   r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
        list("-+.0123456789"))
    SpecLoader.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
    SpecLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
    SpecLoader.add_implicit_resolver(  # (kept so that an unquoted date is refused, not taken as text)
        "tag:yaml.org,2002:timestamp",
        re.compile(r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X),
        list("0123456789"))
    SpecLoader.add_constructor("tag:yaml.org,2002:int", SpecLoader.construct_yaml_int)
    return SpecLoader


def _name_as_written(text: str, value):
    """The sweep's ``name`` as the file spells it (``name: 1e5`` is the name "1e5", not 100000.0)."""
    import yaml

    node = yaml.compose(text, Loader=_spec_loader())
    for key, item in getattr(node, "value", ()):
        if getattr(key, "value", None) == "name" and isinstance(item, yaml.ScalarNode):
            return item.value
    return value


def _json_object(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    twice = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
    if twice is not None:
        raise MalformedInput(f"the key {twice!r} appears twice in one object of the sweep spec; JSON readers keep "
                             "only the second. Merge them into one.")
    return dict(pairs)


def _json_error(text: str, exc) -> str:
    line = text.splitlines()[exc.lineno - 1].strip() if exc.lineno <= len(text.splitlines()) else ""
    shown = f" (`{line[:60]}`)" if line else ""
    return f"line {exc.lineno}, column {exc.colno}{shown}: {exc.msg}"


def _json_name_as_written(text: str, value):
    """``"name": 1e5`` in JSON names the sweep "1e5", as in YAML."""
    import json

    if isinstance(value, bool):
        return json.dumps(value)
    try:
        written = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except ValueError:
        return value
    return written.get("name", value) if isinstance(written, dict) else value


def load_spec(source: str | Path | dict) -> SweepSpec:
    """A :class:`SweepSpec` from a YAML or JSON file path, YAML or JSON text, or a dict.

    A ``.json`` file, or a file or text whose first character (after white space) is ``{``, is
    read as JSON (which may be indented with tabs; YAML may not); a ``{...}`` that is no JSON but
    is YAML (a flow mapping such as ``{method: sor, problem: poisson2d}``) is read as YAML. Any
    other spec is YAML 1.2 (see :func:`_spec_loader`)."""
    if isinstance(source, SweepSpec):
        return source
    if isinstance(source, dict):
        return SweepSpec(source)
    import json

    import yaml

    text = str(source)
    if not text.strip():
        raise MalformedInput("the sweep spec is empty; give a YAML or JSON file, YAML or JSON text, or a dict with "
                             "method, problem and grid.")
    path = Path(text)
    json_file = False
    if "\n" not in text and (path.suffix in (".yaml", ".yml", ".json") or path.exists()):
        if not path.exists():
            raise MalformedInput(f"the sweep spec {text!r} does not exist; check the path.")
        if path.is_dir():
            raise MalformedInput(f"{text!r} is a folder; give the sweep spec's YAML (or JSON) file, e.g. "
                                 "examples/sweeps/sor_omega_n.yaml.")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise MalformedInput(f"cannot read the sweep spec {text!r}: {exc}.") from None
        default_name = path.stem
        json_file = path.suffix.lower() == ".json"
    else:
        default_name = None
    if text.startswith("\ufeff"):  # (a byte order mark, which json refuses)
        text = text[1:]
    data, from_json = None, False
    if json_file or text.lstrip().startswith("{"):
        try:
            data, from_json = json.loads(text, object_pairs_hook=_json_object), True
        except json.JSONDecodeError as exc:
            if json_file or "\t" in text:  # (YAML cannot be indented with tabs, so it was meant as JSON)
                raise MalformedInput(f"the sweep spec is not valid JSON: {_json_error(text, exc)}.") from None
            try:  # YAML's flow style also starts with `{`
                data = yaml.load(text, Loader=_spec_loader())
            except yaml.YAMLError as yaml_exc:
                raise MalformedInput(f"the sweep spec is neither valid JSON ({_json_error(text, exc)}) nor valid "
                                     f"YAML ({yaml_exc})") from None
    else:
        try:
            data = yaml.load(text, Loader=_spec_loader())
        except yaml.YAMLError as exc:
            raise MalformedInput(f"the sweep spec is not valid YAML: {exc}") from None
    if isinstance(data, str) and default_name is None and "\n" not in text.strip():
        # One word, not a mapping: a path that does not exist (sor_omega_n without .yaml)
        near = [c for c in (path.with_suffix(".yaml"), path.with_suffix(".yml")) if c.is_file()]
        hint = f" Did you mean {near[0]}?" if near else " Check the path."
        raise MalformedInput(f"the sweep spec {text.strip()!r} does not exist.{hint}")
    if isinstance(data, dict) and data.get("name") is not None and not isinstance(data["name"], str):
        data["name"] = (_json_name_as_written if from_json else _name_as_written)(text, data["name"])
    if isinstance(data, dict) and default_name and "name" not in data:
        data["name"] = default_name
    return SweepSpec(data)


def expand(source) -> list[dict]:
    """Run specs of a sweep spec (path, YAML text, dict or :class:`SweepSpec`)."""
    return load_spec(source).runs()


def swept_addresses(raw: dict) -> list[str]:
    """The addresses a stored sweep spec (:meth:`SweepSpec.to_dict`) varies, read without
    checking its values again, so that a spec stored by an older version still lists."""
    random = raw.get("random") if isinstance(raw.get("random"), dict) else {}
    seeds = raw.get("seeds")
    try:
        several_seeds = seeds is not None and len(_values("seeds", seeds)) > 1
    except WorkbenchError:
        several_seeds = False
    return [*(raw.get("grid") or {}), *(raw.get("zip") or {}), *(random.get("params") or {})] + (
        ["seed"] if several_seeds else [])


def params_of(run_spec: dict, swept: list[str] | None = None) -> dict:
    """The parameters to show for a run: the swept addresses if given, else all."""
    flat = flatten_params(run_spec)
    if swept is None:
        return flat
    return {a: flat.get(a) for a in swept}
