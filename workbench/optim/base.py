"""The shared machinery of the optimizers: state, step size, schedule, metrics.

Every optimizer here works on a flat float64 numpy vector ``x``. Each step
evaluates the objective once at the new iterate (``Objective.evaluate``) and
caches loss, gradient and the objective's extra metrics in the state, so
``metrics`` costs nothing and the next step reuses the gradient. The torch MLP
objective takes and returns numpy vectors as well (it flattens the network's
parameters), so every optimizer runs on it unchanged.

Subclasses implement :meth:`Optimizer.init_buffers` and :meth:`Optimizer.update`.
``update`` must assign a *new* array to ``state.x`` (never modify the old one
in place: observers and dashboards may keep earlier iterates, e.g. to draw a
2-D trajectory); its own buffers (moments, ...) are updated in place.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
import param

from ..core import InvalidParameter, InvalidProblem, Method
from ..core.protocol import jsonable

__all__ = ["Optimizer", "OptimizerState", "resolve_schedule"]

#: Upper bounds of the knobs that only damp a step. Finite, far above any sane use, so that an
#: extreme-but-allowed value cannot silently freeze x (eps = 1e308 in a denominator,
#: weight_decay = 1e308 scaling x by 1 - lr wd) or overflow a solve (MFAC's damping = 1e308).
#: ``eps`` (added to a denominator of the gradient's scale, Shampoo's initial diagonal):
#: at most 1; MFAC's ``damping``: at most 1e12 (both param bounds); ``weight_decay`` (every
#: optimizer's): at most 1e3, refused by :meth:`Optimizer._check_alone` with its sentence.
EPS_MAX = 1.0
WEIGHT_DECAY_MAX = 1e3
DAMPING_MAX = 1e12


@dataclasses.dataclass
class OptimizerState:
    """Iterate of an optimizer and what the objective said about it.

    Attributes
    ----------
    x : current iterate (a fresh array each step)
    loss, grad, grad_norm : objective value, gradient and its 2-norm at ``x``
    extras : the objective's extra metrics at ``x`` (e.g. ``misclassified``)
    t : steps taken
    lr : step size used by the last step (the first step's before any)
    grad_evals : objective evaluations so far (the machine-independent cost)
    buffers : the method's own arrays and scalars (moments, D estimate, ...)
    """

    x: np.ndarray
    loss: float
    grad: np.ndarray
    grad_norm: float
    extras: dict
    t: int = 0
    lr: float = math.nan
    grad_evals: int = 1
    buffers: dict = dataclasses.field(default_factory=dict)


def resolve_schedule(schedule: Any):
    """``schedule`` as a callable ``(t, horizon) -> multiplier``, or ``None`` for constant.

    Uses :func:`workbench.schedules.make_schedule`; when that package is not
    installed every schedule is treated as constant.
    """
    if schedule is None:
        return None
    try:
        from ..schedules import make_schedule
    except ImportError:  # the schedules family is optional
        return None
    sched = make_schedule(schedule)
    if getattr(sched, "registry_name", "") == "constant" and not sched.param.values().get("value", None):
        return None  # fast path: the constant schedule multiplies by 1
    return sched


class Optimizer(Method):
    r"""Base of every optimizer: step size ``lr * schedule(t, horizon)``.

    Metrics (every optimizer): ``loss``, ``grad_norm``, ``lr`` (the step size
    used), ``grad_evals``, ``cost`` (gradient-equivalents: ``grad_evals`` plus line-search
    trial points and Hessian-vector products, plus ``dim`` per dense Hessian; every evaluation
    counts, including one made only to report the iterate: the schedule-free methods take their
    step's gradient at :math:`y_t` and evaluate again at the averaged :math:`x_t` for ``loss``
    and ``grad_norm``, so their cost is :math:`2t` after :math:`t \ge 1` steps (GD's:
    :math:`t + 1`): :math:`t` gradients at :math:`y_0 .. y_{t-1}` (:math:`y_0 = x_0`) that the
    update uses, and :math:`t` evaluations at :math:`x_1 .. x_t` that only report and stop
    the run); ``distance`` :math:`\|x - x_\star\|` and
    ``suboptimality`` :math:`f(x) - f_\star` when the objective knows them;
    the objective's extra metrics; the method's own (``d_estimate`` ...).

    Stopping: the runner tests ``grad_norm`` only when given ``rtol``/``atol``
    (there is no default tolerance); it reports ``diverged`` once the gradient
    norm exceeds ``1e8`` times its initial value, or the loss has risen by more
    than ``1e8 * max(|f(x_0)|, 1)`` (the loss has exploded), and ``nonfinite``
    when either stops being finite. The convergence test comes first; a problem
    may exempt its loss (``unguarded_metrics``, e.g. ``logistic_separable``).
    """

    problem_kind: ClassVar[str] = "objective"
    stop_metric: ClassVar[str] = "grad_norm"
    default_rtol: ClassVar[float | None] = None
    divergence_factor: ClassVar[float | None] = 1e8
    #: Besides the gradient norm, the loss must stay finite and within the divergence factor.
    guard_metrics: ClassVar[tuple] = ("loss",)
    converges_on: ClassVar[tuple] = (frozenset({"smooth", "convex"}),)

    lr = param.Number(default=0.01, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Base step size (learning rate).")
    schedule = param.Parameter(default=None, doc=(
        "Step-size schedule: None (constant), a name such as 'cosine', a spec dict, or a Schedule."))
    horizon = param.Integer(default=1000, bounds=(1, None), allow_None=True,
                            doc="Planned number of steps T (used by schedules and theory step sizes).")

    def __init__(self, **params):
        super().__init__(**params)
        # Reading a param through its descriptor costs about a microsecond; the
        # update rules read several per step, so they read this plain-dict
        # mirror instead. A watcher keeps it current, so a slider moved
        # mid-run still acts on the next step.
        names = [n for n in self.param if n != "name"]
        self._hp = {n: getattr(self, n) for n in names}
        self.param.watch(self._sync_hyperparameters, names)
        self._schedule_source = object()
        self._schedule = None
        self._refresh_schedule()

    def _check_alone(self, name, value):
        if name == "schedule":  # an unknown name or a bad schedule setting, whatever the horizon
            resolve_schedule(value)
        elif name == "weight_decay" and value is not None and value > WEIGHT_DECAY_MAX:
            # Checked here, not as a param bound: a finite upper bound would turn the box of a
            # weight_decay of 0 into a slider over [0, 1e3] in steps of 5 (ui.slider_grid).
            raise InvalidParameter(
                f"{getattr(self, 'registry_name', '') or type(self).__name__}.weight_decay = {value} is above "
                f"{WEIGHT_DECAY_MAX:g}: a decay that large drowns the gradient's step (1e308 froze x); "
                f"choose a value in [0, {WEIGHT_DECAY_MAX:g}].")

    def _check_setting(self, name, value):
        # A schedule or horizon moved mid-run is checked now, as init checks them, so that the
        # assignment is refused with its sentence instead of failing the run at its next step.
        if name not in ("schedule", "horizon"):
            return
        schedule = resolve_schedule(self._proposed("schedule"))
        horizon = self._proposed("horizon")
        if schedule is not None and hasattr(schedule, "validate"):
            schedule.validate(horizon)
            if horizon is not None or not schedule.requires_horizon():
                schedule(0, horizon)  # the checks a schedule makes when first evaluated

    def _sync_hyperparameters(self, *events):
        for event in events:
            self._hp[event.name] = event.new

    # -- step size -----------------------------------------------------------
    def _refresh_schedule(self):
        sched = self._hp["schedule"]
        if isinstance(sched, dict):
            # A spec dict is compared by value with a copy taken when it was resolved: one
            # changed in place and assigned again fires no param event (it equals itself), so
            # an identity test kept the old schedule while spec() showed the new one.
            changed = not (isinstance(self._schedule_source, dict) and sched == self._schedule_source)
        else:
            changed = sched is not self._schedule_source
        if changed:
            source = copy.deepcopy(sched) if isinstance(sched, dict) else sched
            self._schedule = resolve_schedule(source)
            self._schedule_source = source

    def multiplier(self, t: int) -> float:
        """The schedule's multiplier at step ``t`` (1 for the constant schedule)."""
        self._refresh_schedule()  # the user may have switched schedules mid-run
        if self._schedule is None:
            return 1.0
        return float(self._schedule(t, self._hp["horizon"]))

    def step_size(self, t: int) -> float:
        """``lr * schedule(t, horizon)``: the base step size at step ``t``."""
        return self._hp["lr"] * self.multiplier(t)

    # -- protocol --------------------------------------------------------------
    def init(self, problem) -> OptimizerState:
        self.check_problem(problem)
        self._refresh_schedule()
        if self._schedule is not None and hasattr(self._schedule, "validate"):
            self._schedule.validate(self.horizon)
        x = np.array(problem.x0, dtype=float, copy=True)
        f, g, extras = problem.evaluate(x)
        g = np.asarray(g, dtype=float)
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            raise InvalidProblem(
                f"the objective is not finite at the starting point of {problem.name}; "
                "choose another start.")
        state = OptimizerState(x=x, loss=float(f), grad=g, grad_norm=float(np.sqrt(g @ g)),
                               extras=dict(extras))
        state.buffers = self.init_buffers(problem, state)
        state.lr = self.initial_lr(state)
        return state

    def initial_lr(self, state) -> float:
        """The step size shown before the first step (the first step's base step size)."""
        return self.step_size(0)

    def step(self, problem, state: OptimizerState) -> OptimizerState:
        lr = self.step_size(state.t)
        used = self.update(problem, state, lr)
        f, g, extras = problem.evaluate(state.x)
        state.loss = float(f)
        state.grad = g
        state.grad_norm = float(np.sqrt(g @ g))
        state.extras = extras
        state.grad_evals += 1
        state.t += 1
        state.lr = lr if used is None else float(used)
        return state

    def metrics(self, problem, state: OptimizerState) -> dict[str, float]:
        out = {"loss": state.loss, "grad_norm": state.grad_norm, "lr": state.lr,
               "grad_evals": float(state.grad_evals)}
        if problem.x_star is not None:
            d = state.x - problem.x_star
            out["distance"] = float(np.sqrt(d @ d))
        if problem.f_star is not None:
            out["suboptimality"] = state.loss - problem.f_star
        if state.extras:
            out.update(state.extras)
        extra = self.method_metrics(problem, state)
        if extra:
            out.update(extra)
        # Work in gradient-equivalents: a trial point or a Hessian-vector product costs about one
        # gradient, a dense Hessian about dim of them (one product per column).
        out["cost"] = (out["grad_evals"] + out.get("function_evals", 0.0) + out.get("hvp_evals", 0.0)
                       + problem.dim * out.get("hessian_evals", 0.0))
        return out

    def end_note(self, problem, state) -> str:
        """What the status hides: a schedule that held lr = 0 past its horizon (the run idled),
        and, on a non-convex problem with a known optimum, a stop at a stationary point that is
        not the minimum (a local minimum: "converged" there is on the gradient, not on f)."""
        notes = []
        horizon = self._hp["horizon"]
        if self._schedule is not None and horizon is not None and state.t > horizon and self.multiplier(horizon) == 0:
            idle = state.t - horizon
            notes.append(f"The schedule reached lr = 0 at its horizon T = {horizon} and held it, so the last {idle} "
                         f"step{'s' if idle != 1 else ''} did not move x; set horizon to the run's length to spread "
                         "the schedule over it.")
        f_star = getattr(problem, "f_star", None)
        properties = getattr(problem, "properties", frozenset())
        if f_star is not None and "convex" not in properties and math.isfinite(state.loss):
            gap = state.loss - f_star
            # (a gradient 1000 times smaller than the gap is left is a stationary point, not slow progress)
            if gap > 1e-2 * max(1.0, abs(f_star)) and state.grad_norm < 1e-3 * max(1.0, gap):
                notes.append(f"x is at a stationary point (grad_norm = {state.grad_norm:.2g}) where f - f* = {gap:.4g}: "
                             "a local minimum or a saddle of this non-convex problem, not its minimum.")
        return " ".join(notes)

    # -- what subclasses implement ---------------------------------------------
    def init_buffers(self, problem, state: OptimizerState) -> dict:
        return {}

    def update(self, problem, state: OptimizerState, lr: float) -> float | None:  # pragma: no cover
        """Move ``state.x`` (assign a new array); return the step size used if not ``lr``."""
        raise NotImplementedError

    def method_metrics(self, problem, state: OptimizerState) -> dict[str, float]:
        return {}

    # -- specs -------------------------------------------------------------------
    def spec(self) -> dict:
        spec = super().spec()
        sched = self.schedule
        if sched is not None and hasattr(sched, "spec"):
            spec["params"]["schedule"] = jsonable(sched.spec())
        return spec

    def hyperparameters(self) -> dict:
        return self.spec()["params"]



def check_beta(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise InvalidParameter(f"{name} must lie in [0, 1), got {value}.")
