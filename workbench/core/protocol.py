"""The iteration protocol every method and problem follows.

A :class:`Method` is a ``param.Parameterized`` whose hyperparameters are params
(bounds, docs); it implements

* ``init(problem) -> state``: allocate and validate, once;
* ``step(problem, state) -> state``: exactly one iteration, no loop inside;
* ``metrics(problem, state) -> dict[str, float]``: cheap diagnostics.

``step`` reads the params at call time, so a slider moved mid-run acts on the
next step. The only loop is :func:`workbench.core.run` / :class:`Runner`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import param

from .errors import IncompatibleProblem, InvalidParameter

__all__ = ["Method", "SequenceMethod", "Problem", "ProblemFactory", "jsonable"]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples to plain JSON-friendly Python."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def _param_values(obj: param.Parameterized) -> dict:
    out = {}
    for key, value in obj.param.values().items():
        if key == "name" or obj.param[key].precedence is not None and obj.param[key].precedence < 0:
            continue
        out[key] = jsonable(value)
    return out


class Problem:
    """Base of every problem: carries its kind, properties and the spec that rebuilds it.

    Attributes
    ----------
    kind : str
        ``"linear"``, ``"objective"``, ``"sequence"``, ``"transport"``, ...; a
        method declares the kind it solves.
    properties : frozenset[str]
        Facts methods may require, e.g. ``{"symmetric", "spd", "m_matrix"}``.
    metadata : dict
        Free-form facts for display and theory (grid shape, stencil, ...).
    unguarded_metrics : tuple of str
        Metrics that may grow by any factor on the way to a solution, so the runner does
        not call their growth divergence (the separable logistic loss, which scales with
        ``|w|``). Default: none.
    """

    kind: ClassVar[str] = "generic"
    unguarded_metrics: tuple = ()

    def __init__(self, *, name: str = "custom", properties=(), metadata=None, spec=None):
        self.name = name
        self.properties = frozenset(properties)
        self.metadata = dict(metadata or {})
        self._spec = spec

    def spec(self) -> dict:
        """Plain-dict spec that rebuilds this problem through the registry."""
        if self._spec is None:
            from .errors import MalformedInput

            raise MalformedInput(
                f"problem {self.name!r} was built by hand and has no spec; build it with "
                "a registered problem (see `workbench list`) to save or replay it."
            )
        return dict(self._spec)

    def describe(self) -> str:
        return self.name

    def check_built(self) -> None:
        """Refuse (a :class:`WorkbenchError`) a problem that built but cannot be solved from where
        it starts; :meth:`ProblemFactory.make` calls it after ``build`` (an objective checks that
        it is finite at its start). Nothing by default."""


#: param's "no mapping given" placeholder for ``update`` (param >= 2.1; 2.0 passes nothing).
_UNDEFINED = getattr(param.parameterized, "Undefined", object())


class _CheckedParameters(param.parameterized.Parameters):
    """``obj.param`` of a :class:`CheckedParams`: ``obj.param.update(a=..., b=...)`` checks
    every value against the state the whole update leaves, before it assigns any.

    param assigns an update's values one at a time, so a check of one value against the
    others (WSD's warm-up + decay <= 1, a schedule that needs a horizon) would see a
    half-updated object: ``update(warmup=0.6, decay=0.3)`` from (0.3, 0.6) would be refused
    at its first value although it ends valid, and a refusal part-way would leave the first
    values assigned.
    """

    def _update(self_, *args, **kwargs):
        obj = self_.self
        if obj is None or not obj._checked_params_ready:  # the class's defaults, or a constructor
            return super()._update(*args, **kwargs)
        values = dict(args[0]) if args and args[0] is not _UNDEFINED else {}
        values.update(kwargs)
        unknown = [n for n in values if n not in type(obj).param]
        if unknown:
            obj.check_value(unknown[0], values[unknown[0]])  # the sentence that names the params
        values = {n: obj.check_value(n, v, with_others=False) for n, v in values.items()}
        saved = obj._proposed_values
        obj._proposed_values = {**saved, **values}
        try:
            for n, v in values.items():
                obj._check_setting(n, v)
            return super()._update(values)  # each assignment checks against the same end state
        finally:
            obj._proposed_values = saved


class _CheckedNamespace:
    """The ``param`` attribute of :class:`CheckedParams`: an instance's is a :class:`_CheckedParameters`."""

    def __get__(self, obj, objtype=None):
        if obj is None:  # the class's own namespace, as param makes it
            return param.Parameterized.__dict__["param"].__get__(None, objtype)
        return _CheckedParameters(objtype or type(obj), self=obj)


class CheckedParams(param.Parameterized):
    """Params whose bad values are an :class:`InvalidParameter` with a sentence, from the
    constructor (an unknown name, a value out of bounds) and from an assignment mid-run
    (``sor.omega = 2.5``), instead of param's bare ``ValueError`` / ``TypeError``.

    ``obj.param.update(...)`` checks its values together, against the state they leave
    (:class:`_CheckedParameters`); a subclass's :meth:`_check_setting` reads the other
    settings through :meth:`_proposed`.
    """

    param = _CheckedNamespace()

    def __copy__(self):
        # param's shallow copy shares the parameter storage and the watchers with the original:
        # a knob set on the copy moved the original too (copy.copy(iht).k = 2 changed iht.k). A
        # copy is a new object with the same settings, each value shared as a shallow copy shares it.
        values = {n: v for n, v in self.param.values().items() if n != "name"}
        return type(self)(name=self.name, **values)

    #: The values of an assignment or update being checked (see :meth:`_proposed`).
    _proposed_values: ClassVar[dict] = {}

    def __init__(self, **params):
        unknown = set(params) - set(type(self).param)
        if unknown:
            raise InvalidParameter(
                f"{_label(self)} has no parameter {', '.join(sorted(unknown))}; its parameters are "
                f"{', '.join(p for p in type(self).param if p != 'name')}."
            )
        try:
            super().__init__(**params)
        except InvalidParameter:
            raise
        except (ValueError, TypeError) as exc:  # param's bound and type checks
            raise _bad_value(self, exc) from None
        self._checked_params_ready = True

    def __setattr__(self, name, value):
        if name in type(self).param:
            # Validate first and assign outside the checks: the assignment runs the watchers, and
            # a bug in one of them must surface as itself, not as "bad value" of a stored value.
            value = self.check_value(name, value)
        super().__setattr__(name, value)

    def check_value(self, name: str, value, *, with_others: bool = True):
        """The value ``self.<name> = value`` would store, or :class:`InvalidParameter` with the
        sentence the assignment would raise; nothing is assigned.

        A whole-number float for an integer parameter is that integer; True for a number, NaN,
        infinity (unless it is the default), a value out of bounds, what a subclass's
        :meth:`_check_alone` refuses and, with ``with_others``, what its :meth:`_check_setting`
        refuses against the other current settings.
        Controls call it to refuse a typed value on the page; a sweep calls it with
        ``with_others=False`` for each value of an axis before anything runs.
        """
        if name not in type(self).param:
            raise InvalidParameter(
                f"{_label(self)} has no parameter {name}; its parameters are "
                f"{', '.join(p for p in type(self).param if p != 'name')}.")
        p = type(self).param[name]
        if (isinstance(value, (float, np.floating)) and isinstance(p, param.Integer)
                and float(value).is_integer()):
            # 10.0 is the whole number it spells (JSON from a browser, YAML's 1e1, a NumPy float)
            value = int(value)
        if isinstance(value, bool) and isinstance(p, param.Number):
            # param takes True as 1; for a number that is a mistake (a YAML "yes", a checkbox wired wrong)
            raise InvalidParameter(f"{_label(self)}.{name} is a number, not {value}; give a number.")
        if isinstance(value, (float, np.floating)) and not math.isfinite(value):
            # NaN is never a setting; infinity only where it is the default ("no limit", as
            # D-Adaptation's growth_rate). param's bounds let both through.
            if isinstance(p, param.Number) and (math.isnan(value) or not (
                    isinstance(p.default, float) and math.isinf(p.default))):
                raise InvalidParameter(f"{_label(self)}.{name} = {value} is not a finite number; give it a finite value.")
        try:
            self.param[name]._validate(value)
        except InvalidParameter:
            raise
        except (ValueError, TypeError) as exc:  # TypeError: a List param given items of the wrong type
            raise _bad_value(self, exc) from None
        saved = self._proposed_values
        self._proposed_values = {**saved, name: value}
        try:
            self._check_alone(name, value)
            if with_others and self._checked_params_ready:
                self._check_setting(name, value)
        finally:
            self._proposed_values = saved
        return value

    def _proposed(self, name: str):
        """The value ``name`` will have once the assignment or update being checked is done:
        the proposed one, else the current one. :meth:`_check_setting` reads the other settings
        through it."""
        values = self._proposed_values
        return values[name] if name in values else getattr(self, name)

    #: The command that lists these objects with their ranges, named in a refusal's hint.
    listed_by: ClassVar[str] = ""

    #: False while the constructor runs: :meth:`_check_setting` sees only whole objects.
    _checked_params_ready: ClassVar[bool] = False

    def _check_alone(self, name: str, value) -> None:
        """Refuse ``value`` for ``name`` whatever the other settings are (raise :class:`InvalidParameter`).

        For what param's own validation cannot see, such as an unknown schedule name; a sweep
        finds it before anything runs. ``self._proposed(name)`` is ``value`` here."""

    def _check_setting(self, name: str, value) -> None:
        """Refuse ``value`` for ``name`` given the other settings (raise :class:`InvalidParameter`).

        Called for assignments after the constructor (a knob moved mid-run); a subclass checks
        there what would otherwise fail only at the next step, such as an optimizer's schedule.
        Read the other settings with ``self._proposed(other)``: in ``param.update`` they are
        the values the update leaves."""


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _label(obj) -> str:
    return getattr(obj, "registry_name", "") or type(obj).__name__


def _bad_value(obj, exc: Exception) -> InvalidParameter:
    where = getattr(obj, "listed_by", "")
    shown = f" (`{where}` shows them)" if where else ""
    return InvalidParameter(f"bad value for {_label(obj)}: {exc} Choose a value in the range its "
                            f"parameter allows{shown}.")


class ProblemFactory(CheckedParams):
    """A registered problem: its parameters are params, ``build()`` makes the problem.

    Subclasses set ``registry_name`` through :func:`workbench.core.register_problem`.
    """

    registry_name: ClassVar[str] = ""
    problem_kind: ClassVar[str] = "generic"
    listed_by: ClassVar[str] = "workbench list problems"

    def build(self) -> Problem:  # pragma: no cover - abstract
        raise NotImplementedError

    def make(self) -> Problem:
        """Build the problem and attach its spec."""
        problem = self.build()
        problem.check_built()
        problem._spec = self.spec()
        return problem

    def spec(self) -> dict:
        return {"kind": "problem", "name": self.registry_name, "params": _param_values(self)}

    #: The params :meth:`inert_params` can ever name; controls touch only their widgets.
    may_be_inert: ClassVar[frozenset] = frozenset()

    def inert_params(self) -> frozenset[str]:
        """Params that, with the current values of the others, do not change the problem
        built (Beta's ``alpha`` unless the setting is ``"custom"``). Controls disable them and
        a change to one of them rebuilds nothing."""
        return frozenset()


class Method(CheckedParams):
    """Base of every method (linear solver, optimizer, sequence policy runner ...).

    Class attributes
    ----------------
    problem_kind : the :attr:`Problem.kind` this method solves.
    requires : properties the problem must have (e.g. ``{"spd"}`` for CG).
    stop_metric : the metric that ``rtol``/``atol`` test.
    default_rtol : tolerance used when ``run`` is given none (``None``: no tolerance test).
    divergence_factor : the run is "diverged" once the stop metric exceeds this
        multiple of its initial value (``None`` disables the test).
    guard_metrics : other metrics that must stay finite and must not rise by more than
        the divergence factor times max(|initial value|, 1) (tested after convergence;
        a problem's ``unguarded_metrics`` are spared the growth test); an optimizer
        guards its loss.
    step_noun : what one step is, in the Runner's messages ("iterations"; a
        sequence run's steps are "instances").
    """

    registry_name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    problem_kind: ClassVar[str] = "linear"
    listed_by: ClassVar[str] = "workbench list methods"
    requires: ClassVar[frozenset] = frozenset()
    stop_metric: ClassVar[str] = "residual"
    default_rtol: ClassVar[float | None] = 1e-8
    divergence_factor: ClassVar[float | None] = 1e8
    guard_metrics: ClassVar[tuple] = ()
    step_noun: ClassVar[str] = "iterations"
    #: Property sets on which the method is *claimed* to converge (any one suffices);
    #: the solver x problem test matrix runs exactly these pairs.
    converges_on: ClassVar[tuple] = ()

    # -- the protocol ---------------------------------------------------------
    def init(self, problem: Problem):  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, problem: Problem, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def metrics(self, problem: Problem, state) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    # -- helpers shared by all methods ---------------------------------------
    def check_problem(self, problem: Problem) -> None:
        """Raise :class:`IncompatibleProblem` unless this method can solve ``problem``."""
        label = self.registry_name or type(self).__name__
        kind = getattr(problem, "kind", None)
        if kind != self.problem_kind:
            raise IncompatibleProblem(
                f"{label} solves {self.problem_kind} problems but was given a {kind} problem; "
                f"pick {_article(self.problem_kind)} {self.problem_kind} problem (see `workbench list`)."
            )
        missing = set(self.requires) - set(getattr(problem, "properties", ()))
        if missing:
            raise IncompatibleProblem(
                f"{label} needs a problem that is {', '.join(sorted(missing))}, and "
                f"{getattr(problem, 'name', 'this problem')} is not; choose another method "
                "or problem."
            )

    def end_note(self, problem: Problem, state) -> str:
        """A sentence the run's message ends with when it ends without an error (converged, at a
        limit, stopped), about what the status alone hides: an optimizer whose schedule held the
        step size at 0 past its horizon, a sequence run with systems left unsolved. Empty by default."""
        return ""

    def confirm_convergence(self, problem: Problem, state, tolerance: float):
        """Called by the Runner when the stop metric meets ``tolerance``, before it says so.

        A method whose stop metric is an estimate that can drift from what it names (a Krylov
        method's residual, updated by a recurrence, drifts from ``b - A x`` in rounding)
        returns a new state with it recomputed; the Runner then judges that one, and the run
        goes on if it misses the tolerance. ``None`` (the default) accepts the metric as it is.
        It is asked only when the run stops on the method's own ``stop_metric`` (``tolerance``
        is in its units). A WorkbenchError raised here (or by ``step``) that carries a ``state``
        attribute ends the run at that state, whose row the trace keeps.
        """
        return None

    #: Whether :meth:`confirm_convergence` is asked when the start already meets the tolerance
    #: (False where ``init`` computes the stop metric exactly, as a linear solver's ``b - A x0``).
    confirm_at_start: ClassVar[bool] = True
    #: Whether a stop metric of exactly 0 ends the run even without a tolerance (``rtol=0``):
    #: a count of what is left to do, as a sequence run's ``remaining``.
    done_at_zero: ClassVar[bool] = False

    def convergence_detail(self, problem: Problem, state) -> str | None:
        """The sentence after "Converged:" in the run's message, or ``None`` (the default) for the
        Runner's ``metric = value <= threshold after k iterations``."""
        return None

    def stop_scale(self, problem: Problem, metrics0: dict) -> float:
        """Denominator for ``rtol``: by default the stop metric's initial value."""
        return abs(float(metrics0.get(self.stop_metric, 1.0)))

    def spec(self) -> dict:
        return {"kind": "method", "name": self.registry_name, "params": _param_values(self)}

    def hyperparameters(self) -> dict:
        return _param_values(self)

    #: The params :meth:`inert_params` can ever name; controls touch only their widgets.
    may_be_inert: ClassVar[frozenset] = frozenset()

    def inert_params(self) -> frozenset[str]:
        """Params that, with the current values of the others, the run does not read (a
        ChebCB degree while the policy is Tsallis-INF). Controls disable them and a change
        to one of them is not marked as an event of the run."""
        return frozenset()

    @classmethod
    def claims(cls, problem: Problem) -> bool:
        """True when the method is claimed to converge on ``problem`` (see ``converges_on``)."""
        props = set(getattr(problem, "properties", ()))
        return cls.supports(problem) and any(set(req) <= props for req in cls.converges_on)

    @classmethod
    def supports(cls, problem: Problem) -> bool:
        """True when :meth:`check_problem` would accept ``problem``."""
        if getattr(problem, "kind", None) != cls.problem_kind:
            return False
        return set(cls.requires) <= set(getattr(problem, "properties", ()))


class SequenceMethod(Method):
    """A method whose one step solves one system of a sequence (``problem_kind = "sequence"``).

    Its stop metric, ``remaining``, counts the systems left, and the run converges exactly
    when every system is solved: the run's ``rtol`` does not bound it (:meth:`stop_scale`
    is 0, so any rtol means "every system", ``rtol=0`` included), and an ``atol`` that would
    end the run with systems left fails it with a sentence (:meth:`confirm_convergence`), at
    the start too. The tolerance of each solve is the method's
    own ``rtol`` parameter. The state has ``t``, the systems solved so far.
    """

    problem_kind = "sequence"
    step_noun = "instances"
    stop_metric = "remaining"
    done_at_zero = True  # the run ends when ``remaining`` reaches 0, even with rtol=0
    # A positive default only makes the Runner test ``remaining`` against max(atol, rtol * 0) = 0.
    default_rtol = 0.5
    divergence_factor = None
    converges_on = (frozenset(),)

    def stop_scale(self, problem, metrics0) -> float:
        """0: the run's ``rtol`` does not bound ``remaining``; the run converges exactly when it is 0.

        With a scale of 1, ``wb.run(method, seq, rtol=5)`` stopped with 5 systems unsolved and
        called that converged, while ``rtol=1e-3`` changed nothing.
        """
        return 0.0

    def convergence_detail(self, problem, state) -> str | None:
        # (not "remaining = 0.000e+00 <= 0.000e+00 after 120 instances")
        if state.t < len(problem):
            return None
        return f"All {len(problem)} systems of the sequence are solved."

    def confirm_convergence(self, problem, state, tolerance: float):
        """Refuse a run's ``atol`` that would end the sequence with systems left unsolved."""
        from .errors import InvalidParameter

        left = len(problem) - state.t
        if left > 0:
            error = InvalidParameter(
                f"a sequence run ends when every system is solved, and this run's atol = {tolerance:g} "
                f"would end it with {left} of {len(problem)} left; leave wb.run's rtol/atol unset (stop early "
                f"with max_steps), and set the tolerance of each solve with the method's rtol parameter, e.g. "
                f"get_method({self.registry_name!r}, rtol=1e-6).")
            error.state = state  # the step just taken is kept, with its trace row
            raise error
        return None


def replace(state, **changes):
    """``dataclasses.replace`` for states (a tiny alias so methods read naturally)."""
    return dataclasses.replace(state, **changes)
