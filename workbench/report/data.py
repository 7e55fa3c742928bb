"""Report inputs: runs (core results or stored runs) reduced to what the figures need.

No plotting here: these are the numbers the report shows, so they can be
tested on their own (work per digit, which parameters vary, ...).
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Iterable

import numpy as np

from ..core import InvalidParameter, Result, Trace
from ..store.records import flatten_params, short_names

__all__ = ["ReportRun", "collect_runs", "varying_parameters", "parameter", "short_names", "work_column", "ranking"]

#: Trace columns that count machine-independent work, best first (a sequence run's is its running
#: total: its per-system columns describe one solve, not the run).
WORK_COLUMNS = ("matvecs", "grad_evals", "function_evals", "evaluations", "cumulative_matvecs",
                "cumulative_iterations")


@dataclasses.dataclass
class ReportRun:
    """One run as the report sees it."""

    label: str
    method: str
    problem: str
    params: dict[str, Any]       # flat: method.omega, problem.n, seed, stop.rtol, ...
    status: str
    message: str
    iterations: int
    wall_time: float
    metric: str
    trace: Trace
    run_id: int | None = None
    spec: dict | None = None

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    @property
    def failed(self) -> bool:
        """The run raised (bad parameters, an error in a step): it has no cost to show."""
        return self.status == "failed"

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Iterations and the stop metric (``nan`` where absent)."""
        if self.metric not in self.trace or not len(self.trace):
            return np.zeros(0), np.zeros(0)
        return self.trace["iteration"], self.trace[self.metric]

    def work(self) -> tuple[str, float]:
        """(unit, amount) of work the run did: matvecs or gradient evaluations if traced, else iterations."""
        col = work_column(self.trace)
        if col is None:
            return "iterations", float(self.iterations)
        values = self.trace[col]
        finite = values[np.isfinite(values)]
        return col, float(finite[-1]) if finite.size else float(self.iterations)

    def digits(self) -> float:
        """Digits of accuracy gained: ``log10(metric_0 / metric_final)`` (inf if it reached 0)."""
        _, y = self.curve()
        y = y[np.isfinite(y)]
        if y.size < 1 or y[0] <= 0:
            return float("nan")
        final = float(y[-1])
        if final <= 0:
            return 16.0  # exactly zero: as many digits as double precision holds
        return float(math.log10(y[0] / final))


def work_column(trace: Trace) -> str | None:
    return next((c for c in WORK_COLUMNS if c in trace), None)


def _from_result(result: Result, index: int) -> ReportRun:
    spec = result.spec()
    method = (result.method_spec or {}).get("name", "method")
    problem = (result.problem_spec or {}).get("name", "problem")
    return ReportRun(
        label=f"{method} {index + 1}", method=method, problem=problem, params=flatten_params(spec),
        status=result.status.label, message=result.message, iterations=int(result.iterations),
        wall_time=float(result.wall_time), metric=(result.stop or {}).get("metric") or "residual",
        trace=result.trace, spec=spec,
    )


def _from_stored(stored) -> ReportRun:
    from ..core import MalformedInput, Trace

    spec = stored.spec
    message = stored.message
    try:
        trace = stored.trace
    except MalformedInput as exc:  # one damaged trace: report the run without its curve
        trace, message = Trace(), f"{message} (trace not shown: {exc})"
    return ReportRun(
        label=f"#{stored.id} {stored.method}", method=stored.method, problem=stored.problem,
        params=flatten_params(spec), status=stored.status.label, message=message,
        iterations=stored.iterations, wall_time=stored.wall_time,
        metric=(spec.get("stop") or {}).get("metric") or _default_metric(stored.method),
        trace=trace, run_id=stored.id, spec=spec,
    )


def _default_metric(method_name: str) -> str:
    from ..core import get_method_class

    try:
        return get_method_class(method_name).stop_metric
    except Exception:
        return "residual"


def collect_runs(results: Iterable, store=None) -> list[ReportRun]:
    """:class:`ReportRun` objects from core results, stored runs, or stored run ids.

    Ids are looked up in ``store`` (a :class:`~workbench.store.RunStore` or a
    path; the default store when ``None``).
    """
    from ..store import StoredRun, open_store

    if isinstance(results, (str, bytes, int, Result)) or not hasattr(results, "__iter__"):
        # (a bare "12" would be read as the runs 1 and 2)
        raise InvalidParameter(f"pass a list of runs (results, stored runs or run ids), e.g. [3, 4]; "
                               f"got {results!r}.")
    items = list(results)
    if not items:
        raise InvalidParameter("a report needs at least one run; pass results or stored run ids.")
    runs: list[ReportRun] = []
    opened = None
    for i, item in enumerate(items):
        if isinstance(item, Result):
            runs.append(_from_result(item, i))
        elif isinstance(item, StoredRun):
            runs.append(_from_stored(item))
        elif isinstance(item, ReportRun):
            runs.append(item)
        elif isinstance(item, (int, np.integer, str)):
            if opened is None:
                opened = open_store(store)
            runs.append(_from_stored(opened.load(item)))
        else:
            raise InvalidParameter(f"cannot report on a {type(item).__name__}; pass workbench Result "
                                   "objects, stored runs or stored run ids.")
    _label(runs)
    return runs


def _label(runs: list[ReportRun]) -> None:
    """Give each run a unique label built from what tells it apart from the runs like it.

    The method's name when there are several methods, then the method parameters that
    vary among the runs of *that* method (``sor omega=1.5``, ``sor omega=1.9``, ``cg``),
    the problem's name when one method ran on several, the problem parameters (and seed,
    stop rules) that vary among the runs of that method and problem. Values are written
    with as many digits as it takes to tell them apart. Runs that still share a label
    (the same spec run twice) are told apart by their stored ``#id``, else by their
    position in the list.
    """
    several_methods = len({r.method for r in runs}) > 1
    problems_of: dict[str, set[str]] = {}
    for run in runs:
        problems_of.setdefault(run.method, set()).add(run.problem)
    shown = _label_addresses(runs)
    texts = {a: distinct_format(runs[i].params.get(a) for i in members) for a, members in shown.items()}
    names = short_names(shown)
    labels = []
    for i, run in enumerate(runs):
        bits = {"method.": [run.method] if several_methods else [],
                "problem.": [run.problem] if len(problems_of[run.method]) > 1 else [], "": []}
        for a in run.params:
            if i in shown.get(a, ()):
                group = next(g for g in ("method.", "problem.", "") if a.startswith(g))
                bits[group].append(f"{names[a]}={texts[a][value_key(run.params.get(a))]}")
        words = bits["method."] + bits["problem."] + bits[""]
        labels.append(" ".join(words) if words else run.method)
    labels = [label if run.run_id is None else f"#{run.run_id} {label}" for run, label in zip(runs, labels)]
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    for i, (run, label) in enumerate(zip(runs, labels)):
        run.label = label if counts[label] == 1 else f"{label} ({i + 1})"


def _label_scope(address: str, run: ReportRun) -> tuple:
    """The runs among which a value of ``address`` is compared: those of the same method
    for ``method.*``, of the same method and problem for the rest."""
    return (run.method,) if address.startswith("method.") else (run.method, run.problem)


def _label_addresses(runs: list[ReportRun]) -> dict[str, set[int]]:
    """Address -> indices of the runs whose label shows it (it varies among the runs like them)."""
    addresses: list[str] = []
    for run in runs:
        addresses += [a for a in run.params if a not in addresses]
    out: dict[str, set[int]] = {}
    for a in addresses:
        scopes: dict[tuple, list[int]] = {}
        for i, run in enumerate(runs):
            scopes.setdefault(_label_scope(a, run), []).append(i)
        for members in scopes.values():
            if len({value_key(runs[i].params.get(a)) for i in members}) > 1:
                out.setdefault(a, set()).update(members)
    return out


def value_key(value: Any) -> str:
    """A hashable key that tells parameter values apart (``1`` from ``"1"``, lists by content)."""
    return json.dumps(value, sort_keys=True, default=str)


def distinct_format(values: Iterable[Any]) -> dict[str, str]:
    """``value_key(v) -> text`` for each distinct value, texts unique among themselves.

    Floats get 4 significant digits, or as many more as it takes for different
    values to read differently (1.9, 1.9005, 1.901, ...); other values their ``str``,
    or their JSON where two would read the same (``1`` and ``"1"``).
    """
    distinct = {value_key(v): v for v in values}
    for digits in range(4, 18):
        texts = {k: _fmt(v, digits) for k, v in distinct.items()}
        if len(set(texts.values())) == len(texts):
            return texts
    texts = {k: _fmt(v, 17) for k, v in distinct.items()}
    clashing = {t for t in texts.values() if list(texts.values()).count(t) > 1}
    return {k: (k if t in clashing else t) for k, t in texts.items()}


def _fmt(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def varying_parameters(runs: list[ReportRun]) -> list[str]:
    """What differs between the runs: ``"method"`` and ``"problem"`` (their names) when the runs
    are of several, then the addresses whose value differs among runs that share them.

    A ``method.*`` address is compared among the runs of one method (``method.omega`` varies
    when SOR ran at two omegas, even beside a Jacobi run that has no omega), a ``problem.*``
    address among the runs of one problem, the rest (``seed``, ``stop.*``) among all runs.
    Read a run's value of an entry with :func:`parameter`.
    """
    if len(runs) < 2:
        return []
    out = [a for a in GROUP_ADDRESSES if len({parameter(r, a) for r in runs}) > 1]
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.params if k not in keys]
    for k in keys:
        scopes: dict[str, set[str]] = {}
        for run in runs:
            scope = run.method if k.startswith("method.") else run.problem if k.startswith("problem.") else ""
            if k.startswith(("method.", "problem.")) and k not in run.params:
                continue  # another method's (problem's) parameter: nothing to compare here
            scopes.setdefault(scope, set()).add(value_key(run.params.get(k)))
        if any(len(values) > 1 for values in scopes.values()):
            out.append(k)
    return out


#: Entries of :func:`varying_parameters` that are not parameter addresses: the run's method and
#: problem names.
GROUP_ADDRESSES = ("method", "problem")


def parameter(run: ReportRun, address: str) -> Any:
    """``run``'s value of a :func:`varying_parameters` entry (``None`` where the run has none)."""
    if address == "method":
        return run.method
    if address == "problem":
        return run.problem
    return run.params.get(address)


def numeric(values: Iterable[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def ranking(runs: list[ReportRun]) -> list[dict]:
    """Runs ranked by work per digit of accuracy (lower is better); runs that gained none come last.

    A failed run has no cost to rank (whatever it did before it failed): its digits
    and work per digit are ``nan`` and it ranks after every run that did not fail.
    """
    rows = []
    for run in runs:
        unit, work = run.work()
        digits = float("nan") if run.failed else run.digits()
        gained = digits > 0 and math.isfinite(digits)
        none = float("nan") if run.failed else float("inf")
        rows.append({
            "label": run.label, "status": run.status, "iterations": run.iterations, "work_unit": unit,
            "work": work, "digits": digits, "work_per_digit": work / digits if gained else none,
            "wall_time": run.wall_time, "time_per_digit": run.wall_time / digits if gained else none,
            "run_id": run.run_id,
        })
    rows.sort(key=lambda r: (r["status"] == "failed", _inf_if_nan(r["work_per_digit"]),
                             _inf_if_nan(r["time_per_digit"])))
    for i, row in enumerate(rows):
        row["rank"] = i + 1
    return rows


def _inf_if_nan(value: float) -> float:
    return float("inf") if math.isnan(value) else value
