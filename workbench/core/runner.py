"""The only run loop: :func:`run` and the sliceable :class:`Runner`."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Iterable

import numpy as np

from .errors import InvalidParameter, WorkbenchError
from .protocol import Method, Problem, jsonable
from .status import Status
from .trace import Trace

__all__ = ["Runner", "Result", "run"]

Observer = Callable[["Runner"], None]


@dataclasses.dataclass
class Result:
    """The outcome of a run: status, final iterate, full trace and the spec that replays it."""

    status: Status
    message: str
    iterations: int
    state: Any
    trace: Trace
    wall_time: float
    method_spec: dict
    problem_spec: dict | None
    stop: dict

    @property
    def x(self):
        """The final iterate (``state.x``), or ``None`` if the state has none."""
        return getattr(self.state, "x", None)

    @property
    def converged(self) -> bool:
        return self.status is Status.CONVERGED

    @property
    def final(self) -> dict[str, float]:
        """Last row of the trace."""
        return self.trace.last()

    def spec(self) -> dict:
        """Plain-dict spec of this run; ``workbench.from_spec(spec).run()`` replays it."""
        return {
            "kind": "run",
            "method": {k: v for k, v in self.method_spec.items() if k != "kind"},
            "problem": {k: v for k, v in (self.problem_spec or {}).items() if k != "kind"},
            "stop": dict(self.stop),
        }

    def summary(self) -> dict:
        last = self.trace.last()
        return {
            "status": self.status.label,
            "message": self.message,
            "iterations": self.iterations,
            "wall_time": self.wall_time,
            "final": jsonable(last),
        }

    def __repr__(self) -> str:
        return (
            f"Result(status={self.status.label}, iterations={self.iterations}, "
            f"wall_time={self.wall_time:.3g}s)"
        )


class Runner:
    """Runs a method on a problem in slices; the same loop as :func:`run`.

    Parameters
    ----------
    method, problem
        Any registered method and a problem of the kind it solves.
    rtol, atol : float
        Stop when ``metric <= max(atol, rtol * scale)``; ``scale`` comes from
        ``method.stop_scale`` (``||b||`` for linear solvers, the initial value
        otherwise). ``rtol=None`` uses the method's default.
    max_steps : int
        Step limit (status ``max_steps``).
    max_seconds : float or None
        Wall-time budget for the whole run (status ``max_time``).
    metric : str or None
        The metric tested; defaults to ``method.stop_metric``.
    divergence : float or None
        Factor over the initial metric value beyond which the run is
        ``diverged``; defaults to ``method.divergence_factor``; ``None`` disables.
    observers : iterable of callables
        Each is called as ``observer(runner)`` after every step.

    Examples
    --------
    >>> import workbench as wb
    >>> r = wb.Runner(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(8))
    >>> r.advance(max_steps=5)
    5
    >>> r.iteration
    5
    """

    def __init__(
        self,
        method: Method,
        problem: Problem,
        *,
        rtol: float | None = None,
        atol: float = 0.0,
        max_steps: int = 10_000,
        max_seconds: float | None = None,
        metric: str | None = None,
        divergence: float | None | str = "default",
        observers: Iterable[Observer] = (),
    ):
        if not isinstance(method, Method):
            raise InvalidParameter(
                f"expected a workbench method, got {type(method).__name__}; build one with "
                "workbench.get_method(name, ...)."
            )
        if isinstance(problem, str) or not hasattr(problem, "kind"):
            raise InvalidParameter(
                f"expected a workbench problem, got {problem!r}; build one with "
                "workbench.get_problem(name, ...) or a constructor such as wb.problems.poisson2d(32)."
            )
        self.method = method
        self.problem = problem
        self.rtol = method.default_rtol if rtol is None else _number("rtol", rtol)
        self.atol = _number("atol", atol)
        if (self.rtol is not None and (not math.isfinite(self.rtol) or self.rtol < 0)) or (
            not math.isfinite(self.atol) or self.atol < 0
        ):
            raise InvalidParameter("rtol and atol must be finite and non-negative.")
        self.max_steps = _count("max_steps", max_steps)
        if max_seconds is not None:
            max_seconds = _number("max_seconds", max_seconds)  # YAML reads 1e-3 as text
            if not max_seconds > 0:
                raise InvalidParameter("max_seconds must be positive (or None for no budget).")
        self.max_seconds = max_seconds
        self.metric = metric or method.stop_metric
        if divergence == "default":
            divergence = method.divergence_factor
        elif divergence is not None:
            divergence = _number("divergence", divergence)
            if not divergence >= 1:  # a factor below 1 would call the first step "diverged"
                raise InvalidParameter(f"divergence is a growth factor of at least 1 (e.g. 1e8), or None to "
                                       f"switch the test off; got {divergence}.")
        self.divergence = divergence
        if callable(observers) or isinstance(observers, (str, bytes)) or not hasattr(observers, "__iter__"):
            raise InvalidParameter(f"observers is a list of functions, each called as f(runner) after every "
                                   f"step, e.g. observers=[print_residual]; got {observers!r}.")
        self.observers = list(observers)
        odd = [o for o in self.observers if not callable(o)]
        if odd:
            raise InvalidParameter(f"each observer is a function called as f(runner) after every step; "
                                   f"{odd[0]!r} is not callable.")
        self.reset()

    # -- lifecycle ------------------------------------------------------------
    def reset(self) -> None:
        """Start again from ``method.init(problem)`` with the current hyperparameters."""
        self.trace = Trace()
        self.iteration = 0
        self.elapsed = 0.0
        self.status = Status.RUNNING
        self.detail = ""
        self.failed_in_observer = False  # (the message then names the observer, not the method)
        self.error = None  # the exception that ended the run as failed, for callers that tell kinds apart
        self._final_method_spec = None  # the settings the run ended with (see result())
        t0 = time.perf_counter()
        self.state = self.method.init(self.problem)
        metrics0 = self.method.metrics(self.problem, self.state)
        self.init_time = time.perf_counter() - t0
        if self.metric not in metrics0:
            raise InvalidParameter(
                f"cannot stop on {self.metric!r}: {self.method.registry_name or 'the method'} "
                f"reports {sorted(metrics0)}."
            )
        self.reference = float(metrics0[self.metric])
        if math.isnan(self.reference):
            # A per-step record (a step size, a coordinate) has no value before the first step:
            # the run would stop at once as non-finite.
            raise InvalidParameter(
                f"cannot stop on {self.metric!r}: it has no value at the start (it records what each step "
                f"did); stop on {self.method.stop_metric!r} or another metric the start reports.")
        # Metrics besides the stop metric that must stay finite and must not grow by the
        # divergence factor (an optimizer's loss: Adam with a huge step blows the loss up
        # while its gradient norm, the stop metric, grows far slower).
        # A problem may exempt a metric that grows by design (the separable logistic loss,
        # proportional to |w|, rises a billionfold on GD's first step of size 1e9).
        # Such a metric must still stay finite.
        self.growth_exempt = frozenset(getattr(self.problem, "unguarded_metrics", ()))
        self.guards = {name: float(metrics0[name]) for name in getattr(self.method, "guard_metrics", ())
                       if name in metrics0 and name != self.metric}
        # rtol is relative to the method's scale for its own stop metric (||b|| for a residual), and
        # to the initial value for any other: a linear solver stopped on relative_residual used
        # ||b|| as its scale, and "converged" at 3e-3 with b of norm 3e5.
        if self.metric == self.method.stop_metric:
            scale = self.method.stop_scale(self.problem, metrics0)
        else:
            scale = abs(self.reference)
        self.threshold = max(self.atol, (self.rtol or 0.0) * scale)
        if self.metric == self.method.stop_metric and self.method.confirm_at_start and self._meets_tolerance(metrics0):
            # A start that already meets the tolerance is confirmed as a later step would be (a
            # sequence run refuses an atol that would end it before any system is solved).
            try:
                checked = self.method.confirm_convergence(self.problem, self.state, self.threshold)
            except Exception as exc:
                self.trace.append({"iteration": 0, "time": 0.0, "step_time": 0.0, **metrics0})
                self.status, self.detail, self.error = Status.FAILED, f"{type(exc).__name__}: {exc}", exc
                self._final_method_spec = self.method.spec()
                return
            if checked is not None:
                self.state, metrics0 = checked, self.method.metrics(self.problem, checked)
        self.trace.append({"iteration": 0, "time": 0.0, "step_time": 0.0, **metrics0})
        self._check(metrics0)
        if self.status.finished:  # converged (or broke down) at the start
            self._final_method_spec = self.method.spec()

    def stop(self, reason: str = "") -> None:
        """Mark the run as stopped by the user (no further steps)."""
        if not self.status.finished:
            self.status = Status.STOPPED
            self.detail = reason
            self._final_method_spec = self.method.spec()

    @property
    def done(self) -> bool:
        return self.status.finished

    @property
    def message(self) -> str:
        sentence = self.status.sentence
        if self.status is Status.FAILED and self.failed_in_observer:
            sentence = "Failed: an observer raised an error."
        if self.status in (Status.MAX_STEPS, Status.MAX_TIME) and not self._zero_ends:
            # (an optimizer has no default tolerance: "before reaching the tolerance" would name
            # one the run never had)
            limit = "step limit" if self.status is Status.MAX_STEPS else "wall-time budget"
            sentence = f"Stopped at the {limit}; no tolerance was set, so the run went to its limit."
        message = sentence + (f" {self.detail}" if self.detail else "")
        if self.status in (Status.CONVERGED, Status.MAX_STEPS, Status.MAX_TIME, Status.STOPPED) \
                and self.state is not None:
            note = self.method.end_note(self.problem, self.state)
            if note:
                message += f" {note}"
        return message

    @property
    def x(self):
        return getattr(self.state, "x", None)

    # -- the loop -------------------------------------------------------------
    def _meets_tolerance(self, metrics: dict) -> bool:
        """Whether the stop metric in ``metrics`` is at or below the tolerance (what _check calls converged)."""
        try:
            value = float(metrics.get(self.metric, math.nan))
        except (TypeError, ValueError):
            return False
        return math.isfinite(value) and self._within(value)

    def _within(self, value: float) -> bool:
        """Whether a finite stop-metric value ends the run as converged."""
        return value <= self.threshold and (self.threshold > 0 or (value == 0 and self._zero_ends))

    def _check(self, metrics: dict) -> None:
        value = metrics.get(self.metric, math.nan)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        nonfinite, grown = self._guard(metrics)
        if not math.isfinite(value):
            self.status = Status.NONFINITE
            self.detail = f"{self.metric} = {value} at iteration {self.iteration}."
        elif nonfinite is not None:
            self.status, self.detail = Status.NONFINITE, nonfinite
        elif self._within(value):
            # (a run that starts at a solution, stop metric exactly 0, has converged at once)
            self.status = Status.CONVERGED
            detail = self.method.convergence_detail(self.problem, self.state) if self.metric == self.method.stop_metric else None
            self.detail = detail or (f"{self.metric} = {value:.3e} <= {self.threshold:.3e} after {self.iteration} "
                                     f"{getattr(self.method, 'step_noun', 'iterations')}.")
        elif grown is not None:
            # (after the convergence test: a run whose stop metric has converged is done,
            # whatever its loss did on the way)
            self.status, self.detail = Status.DIVERGED, grown
        elif (
            # From an initial value of exactly 0 (an optimizer started at a stationary point)
            # every move is "infinitely" larger: no growth factor means anything there, and
            # the guard metrics (the loss, with its floor of 1) still watch for divergence.
            self.divergence is not None
            and self.reference != 0
            and abs(value) > self.divergence * abs(self.reference)
        ):
            self.status = Status.DIVERGED
            self.detail = (
                f"{self.metric} = {value:.3e} exceeds {self.divergence:g} x its initial "
                f"value at iteration {self.iteration}."
            )
        elif self.iteration >= self.max_steps:
            self.status = Status.MAX_STEPS
            self.detail = f"{self.max_steps} steps; {self.metric} = {value:.3e}."
        elif self.max_seconds is not None and self.elapsed >= self.max_seconds:
            self.status = Status.MAX_TIME
            self.detail = f"{self.elapsed:.3g} s; {self.metric} = {value:.3e}."

    @property
    def _zero_ends(self) -> bool:
        """Whether a stop metric of exactly 0 ends the run: with a tolerance, or for a method whose
        own stop metric counts what is left to do (a sequence run's ``remaining``) whatever it is."""
        return self.tolerance_set or (self.metric == self.method.stop_metric and self.method.done_at_zero)

    @property
    def tolerance_set(self) -> bool:
        """True when the run stops on a tolerance: a positive ``rtol`` or ``atol`` (``rtol=0``
        runs to ``max_steps``)."""
        return bool(self.rtol) or self.atol > 0

    def _guard(self, metrics: dict) -> tuple[str | None, str | None]:
        """Check the guard metrics: (why one is not finite, why one grew too far), each None
        when all is well."""
        grown = None
        for name, reference in self.guards.items():
            try:
                value = float(metrics.get(name, math.nan))
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value):
                return f"{name} = {value} at iteration {self.iteration}.", None
            # Only growth counts (a loss that starts at -1e3 and falls to -1e12 is progress), and
            # the floor of 1 keeps a loss that starts near 0 from "diverging" on a small move.
            if (grown is None and self.divergence is not None and name not in self.growth_exempt
                    and value - reference > self.divergence * max(abs(reference), 1.0)):
                grown = (f"{name} = {value:.3e} exceeds its initial value by more than {self.divergence:g} x "
                         f"max(|its initial value|, 1) at iteration {self.iteration}.")
        return None, grown

    def advance(self, max_steps: int | None = None, max_seconds: float | None = None) -> int:
        """Take up to ``max_steps`` steps or until ``max_seconds`` pass; return steps taken.

        Stops early when the run finishes. Exceptions raised by the method or by an
        observer end the run with status ``failed`` and the error's message; they are
        not re-raised, so a dashboard or sweep keeps going.
        """
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)):
            max_steps = _count("max_steps", max_steps)
        if max_seconds is not None and not isinstance(max_seconds, (int, float)):
            max_seconds = _number("max_seconds", max_seconds)
        taken = 0
        deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        method, problem, trace = self.method, self.problem, self.trace
        while not self.status.finished:
            if max_steps is not None and taken >= max_steps:
                break
            t0 = time.perf_counter()
            try:
                state = method.step(problem, self.state)
                metrics = method.metrics(problem, state)
                if self.metric == method.stop_metric and self._meets_tolerance(metrics):
                    # (a recurred residual is an estimate: the method recomputes what it names
                    # before the run is called converged on it; the tolerance is in the units of
                    # the method's own stop metric, so only a run that stops on it asks)
                    checked = method.confirm_convergence(problem, state, self.threshold)
                    if checked is not None:
                        state, metrics = checked, method.metrics(problem, checked)
            except Exception as exc:  # the run fails, the caller lives on
                self.status = Status.FAILED
                self.detail = f"{type(exc).__name__}: {exc}"
                self.error = exc
                # An error may carry the state the run ends at (a Krylov method that cannot reach
                # the tolerance hands back its best iterate, its residual recomputed): kept, with its row.
                final = getattr(exc, "state", None) if isinstance(exc, WorkbenchError) else None
                if final is not None:
                    dt = time.perf_counter() - t0
                    self.state = final
                    self.iteration += 1
                    self.elapsed += dt
                    taken += 1
                    try:
                        trace.append({"iteration": self.iteration, "time": self.elapsed, "step_time": dt,
                                      **method.metrics(problem, final)})
                    except Exception:  # (the row is a courtesy: the error already says what happened)
                        pass
                break
            t1 = time.perf_counter()
            dt = t1 - t0
            self.state = state
            self.iteration += 1
            self.elapsed += dt
            taken += 1
            trace.append({"iteration": self.iteration, "time": self.elapsed, "step_time": dt, **metrics})
            try:
                for observer in self.observers:
                    observer(self)
            except Exception as exc:  # an observer's bug ends the run as a method's would, kept
                self.status, self.failed_in_observer = Status.FAILED, True
                self.detail = f"After iteration {self.iteration}: {type(exc).__name__}: {exc}"
                break
            self._check(metrics)
            if deadline is not None and t1 >= deadline:
                break
        if self.status.finished and self._final_method_spec is None:
            # A knob moved after the run ended (a slider on a finished lane) did not act on it:
            # the result keeps the settings the run ended with.
            self._final_method_spec = self.method.spec()
        return taken

    def method_spec(self) -> dict:
        """The method's spec as this run used it: once the run has finished, the settings it
        ended with (a knob moved on a finished lane acts on no iteration), else the current ones."""
        return self._final_method_spec or self.method.spec()

    def result(self) -> Result:
        try:
            problem_spec = self.problem.spec()
        except Exception:
            problem_spec = None
        return Result(
            status=self.status,
            message=self.message,
            iterations=self.iteration,
            state=self.state,
            trace=self.trace,
            wall_time=self.elapsed,
            method_spec=self.method_spec(),
            problem_spec=problem_spec,
            stop=self.stop_spec(),
        )

    def stop_spec(self) -> dict:
        return {
            "rtol": self.rtol,
            "atol": self.atol,
            "max_steps": self.max_steps,
            "max_seconds": self.max_seconds,
            "metric": self.metric,
        }

    def run(self) -> Result:
        """Advance until the run finishes and return its :class:`Result`."""
        self.advance()
        return self.result()


def _number(name: str, value) -> float:
    if isinstance(value, bool):  # float(True) is 1.0: a YAML "yes" or a checkbox wired wrong
        raise InvalidParameter(f"{name} must be a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be a number, got {value!r}.") from None


def _count(name: str, value) -> int:
    number = math.nan if isinstance(value, bool) else _number(name, value)
    if not (math.isfinite(number) and number == int(number) and number >= 0):
        raise InvalidParameter(f"{name} must be a whole number, 0 or more, got {value!r}.")
    return int(number)


def check_stop_values(stop: dict) -> None:
    """The checks :class:`Runner` makes of its stopping rules, without a method or problem (a
    sweep checks its fixed ``stop`` values before anything runs)."""
    check_stop_keywords(stop, "a run's stop")
    for name in ("rtol", "atol"):
        if stop.get(name) is not None:
            value = _number(name, stop[name])
            if not (math.isfinite(value) and value >= 0):
                raise InvalidParameter("rtol and atol must be finite and non-negative.")
    if "max_steps" in stop:
        _count("max_steps", stop["max_steps"])
    if stop.get("max_seconds") is not None and not (_number("max_seconds", stop["max_seconds"]) > 0):
        raise InvalidParameter("max_seconds must be positive (or None for no budget).")
    if stop.get("divergence") not in (None, "default") and not (_number("divergence", stop["divergence"]) >= 1):
        raise InvalidParameter("divergence is a growth factor of at least 1 (e.g. 1e8), or None to switch the "
                               "test off.")


def check_stop_keywords(stop, what: str = "a run",
                        hint: str = "a problem's settings go to its constructor or get_problem") -> None:
    """Refuse keywords :class:`Runner` does not take, naming the ones it does (a typo such
    as ``tol=`` would otherwise be a bare TypeError, or fail every lane of a live race)."""
    import inspect

    accepted = [n for n, p in inspect.signature(Runner).parameters.items() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(stop) - set(accepted))
    if unknown:
        raise InvalidParameter(
            f"unknown keyword {', '.join(map(repr, unknown))}: {what} takes the stopping rules "
            f"{', '.join(accepted)}; {hint}."
        )


def run(method: Method, problem: Problem, **stop) -> Result:
    """Run ``method`` on ``problem`` until a stopping rule fires.

    Keyword arguments are those of :class:`Runner` (``rtol``, ``atol``,
    ``max_steps``, ``max_seconds``, ``metric``, ``divergence``, ``observers``).

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.linear.SOR(omega=1.7), wb.problems.poisson2d(16), rtol=1e-8)
    >>> res.status.label, res.iterations < 200
    ('converged', True)
    """
    check_stop_keywords(stop)
    return Runner(method, problem, **stop).run()
