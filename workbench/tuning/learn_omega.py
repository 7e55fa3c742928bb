r"""A sequence run as a method: one step = one linear system solved with the omega a policy chose."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import param

from ..core import InvalidParameter, InvalidProblem, SequenceMethod, register_method
from .costs import (CostTable, cached_instance, check_solver_fits, cost_row, cost_table, default_omegas,
                    sequence_fingerprint, system_arrays)
from .kernels import solve_csr, solve_csr_status
from .policies import POLICIES, Policy

__all__ = ["LearningToRelax", "SequenceState"]


def _spec_difference(table_spec: str | None, spec: str | None) -> str:
    """The settings in which two sequence specs (JSON, or None for one built by hand) differ, in words."""
    if table_spec is None or spec is None:
        return "the table's is " + ("one built by hand" if table_spec is None else "a registered one") + \
            ", the run's " + ("one built by hand" if spec is None else "a registered one")
    a, b = json.loads(table_spec), json.loads(spec)
    if a.get("name") != b.get("name"):
        return f"table: {a.get('name')}, run: {b.get('name')}"
    pa, pb = a.get("params", {}), b.get("params", {})
    return ", ".join(f"{k} {pb.get(k)!r} (table: {pa.get(k)!r})" for k in sorted(set(pa) | set(pb))
                     if pa.get(k) != pb.get(k)) or "its spec differs"


@dataclasses.dataclass
class SequenceState:
    """Where a sequence run stands: the policy and the per-instance records so far.

    ``omega[t]``, ``iterations[t]``, ``arm[t]`` (-1 off the grid) and
    ``probabilities[t]`` (the distribution the policy sampled from) describe
    instance t; ``t`` instances are done. ``capped`` counts the instances whose
    solve did not meet the tolerance (their cost is the cap, not a converged count; a
    solve that converges exactly at ``max_iterations`` is not capped).
    ``checked_costs`` is the cost table last checked against the sequence: a table
    assigned mid-run is checked at the next step.
    """

    t: int
    policy: Policy
    omegas: np.ndarray
    contexts: np.ndarray
    omega: np.ndarray
    iterations: np.ndarray
    arm: np.ndarray
    probabilities: np.ndarray
    cumulative: int = 0
    capped: int = 0
    key: tuple = ()
    comparators: dict = dataclasses.field(default_factory=dict)
    checked_costs: Any = None


@register_method("learning_to_relax", family="tuning")
class LearningToRelax(SequenceMethod):
    r"""Solve a sequence of systems :math:`A_t x = b_t`, choosing SOR's omega by a policy.

    Each step is one instance: the policy sees the context :math:`c_t` (e.g. the
    diagonal shift), picks :math:`\omega_t` (a bandit samples an arm of the grid
    ``linspace(omega_min, omega_max, arms)``), the solver runs to
    :math:`\|b_t - A_t x\| \le \mathrm{rtol}\,\|b_t\|` (at most
    ``max_iterations``), and the iteration count :math:`k_t(\omega_t)` is the
    policy's only feedback. The run ends (status ``converged``) when every
    instance is solved, and only then: the per-instance tolerance is this method's
    ``rtol``, not the run's. ``wb.run(..., rtol=...)`` does not change when the run ends
    (any value, ``rtol=0`` included, means "every instance"), and an ``atol`` that would end
    it with instances left is refused.

    Metrics per instance: ``instance``, ``remaining``, ``context``, ``omega``,
    ``iterations``, ``cumulative_iterations``, ``arm`` and the arm
    probabilities ``p_0 ... p_{d-1}``; with ``comparators=True`` also the
    cumulative cost of Gauss-Seidel, of the best fixed grid omega in hindsight
    (over the instances so far) and of the instance-optimal omega*. Switched on
    mid-run, the comparators are backfilled over the instances already solved; after
    a change of the grid the best fixed omega and the per-instance best are recomputed
    on the new grid over all instances so far, and the ``arm`` records of the instances
    played on the old grid become -1 (their ``omega`` records stay).

    ``kernel="numba"`` solves with the compiled kernels of
    :mod:`workbench.tuning.kernels`; ``"reference"`` runs the protocol itself,
    ``wb.run(wb.linear.SOR(omega=omega), instance, rtol=rtol)`` (a test checks
    that both give the same iteration counts). A :class:`~workbench.tuning.CostTable`
    given as ``costs`` is read instead of solving whenever the chosen omega is on its grid.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=30, seed=0)
    >>> res = wb.run(wb.get_method("learning_to_relax", policy="tsallis_inf"), seq)
    >>> res.status.label, res.iterations
    ('converged', 30)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    # (problem_kind, stop_metric "remaining", stop_scale and confirm_convergence: SequenceMethod)

    policy = param.Selector(default="tsallis_inf", objects=list(POLICIES),
                            doc="How omega is chosen: a bandit (tsallis_inf, chebcb, binned_tsallis_inf) or a comparator.")
    omega = param.Number(default=1.8, bounds=(0.0, 2.0), inclusive_bounds=(False, False), step=0.01,
                         doc="omega of the 'fixed' policy.")
    omega_min = param.Number(default=1.0, bounds=(0.01, 1.99), doc="Smallest omega of the arm grid.")
    omega_max = param.Number(default=1.95, bounds=(0.01, 1.99), doc="Largest omega of the arm grid.")
    arms = param.Integer(default=20, bounds=(1, 200), doc="Number of grid omegas (arms).")
    degree = param.Integer(default=5, bounds=(0, 30), doc="ChebCB: highest Chebyshev degree.")
    bins = param.Integer(default=5, bounds=(1, 1000), doc="Binned Tsallis-INF: number of context bins.")
    normaliser = param.Selector(default="exact", objects=["exact", "reference"],
                                doc="Tsallis-INF Newton start: exact root, or the reference code's 20 steps from -1.")
    context_low = param.Number(default=None, allow_None=True,
                               doc="Lower end of the context interval (default: the sequence's range).")
    context_high = param.Number(default=None, allow_None=True,
                                doc="Upper end of the context interval (default: the sequence's range).")
    solver = param.Selector(default="sor", objects=["sor", "ssor_pcg"],
                            doc="Solver of each instance: SOR, or CG preconditioned by SSOR(omega).")
    rtol = param.Number(default=1e-8, bounds=(1e-15, 0.5), doc="Per-instance tolerance on ||b - A x|| / ||b||.")
    max_iterations = param.Integer(default=10_000, bounds=(1, 10_000_000), doc="Iteration cap per instance.")
    kernel = param.Selector(default="numba", objects=["numba", "reference"],
                            doc="Compiled solve-until-tolerance kernel, or the protocol's own wb.run (slow).")
    comparators = param.Boolean(default=False,
                                doc="Also track Gauss-Seidel, best fixed omega so far and instance-optimal (20+ extra solves per instance).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the policy's random choices.")
    costs = param.ClassSelector(class_=CostTable, default=None, allow_None=True, precedence=-1,
                                doc="Optional CostTable of the sequence (wb.tuning.cost_table), read instead "
                                    "of solving on grid omegas.")

    # -- configuration ---------------------------------------------------------
    def grid(self) -> np.ndarray:
        """The arms: ``linspace(omega_min, omega_max, arms)``."""
        if self.omega_min > self.omega_max:
            raise InvalidParameter(f"omega_min = {self.omega_min} exceeds omega_max = {self.omega_max}; swap them.")
        return default_omegas(self.omega_min, self.omega_max, self.arms)

    def context_range(self, sequence) -> tuple[float, float]:
        """The context interval the contextual policies work on: the sequence's unless set.

        Only contextual policies need a non-empty interval (a one-instance
        sequence has a single context, which Tsallis-INF does not mind).
        """
        lo, hi = getattr(sequence, "context_range", (0.0, 1.0))
        lo = lo if self.context_low is None else self.context_low
        hi = hi if self.context_high is None else self.context_high
        if not hi > lo and POLICIES[self.policy].contextual:
            raise InvalidParameter(f"the context interval ({lo:g}, {hi:g}) is empty; set context_low < context_high.")
        return float(lo), float(hi)

    #: The settings each policy reads (besides the grid); moving any other leaves its learner alone.
    POLICY_SETTINGS = {
        "tsallis_inf": ("normaliser", "seed"),
        "chebcb": ("degree", "context_low", "context_high", "seed"),
        "binned_tsallis_inf": ("bins", "normaliser", "context_low", "context_high", "seed"),
        "fixed": ("omega",),
    }
    may_be_inert = frozenset(name for names in POLICY_SETTINGS.values() for name in names)

    def inert_params(self) -> frozenset[str]:
        """The policy settings the current policy does not read (ChebCB's degree on a
        Tsallis-INF lane): the page disables their controls."""
        return self.may_be_inert - set(self.POLICY_SETTINGS.get(self.policy, ()))

    def _key(self, sequence) -> tuple:
        # A fresh policy only when a setting it reads moved: changing ChebCB's degree on a
        # Tsallis-INF lane must not wipe what that lane has learned.
        own = tuple(getattr(self, name) for name in self.POLICY_SETTINGS.get(self.policy, ()))
        return (self.policy, self.omega_min, self.omega_max, self.arms, *own)

    def make_policy(self, sequence, start: int = 0) -> Policy:
        """A fresh policy as configured, starting at instance ``start`` of ``sequence``."""
        cls = POLICIES[self.policy]
        # The settings the policy reads that are its own parameters (seed and the context
        # interval go to reset); the same table decides when a change needs a fresh policy.
        kwargs: dict[str, Any] = {name: getattr(self, name) for name in self.POLICY_SETTINGS.get(self.policy, ())
                                  if name in cls.param}
        pol = cls(**kwargs)
        table = None
        if cls.needs_costs:
            table = self.costs if self.costs is not None else cost_table(
                sequence, self.grid(), self.solver, self.rtol, self.max_iterations, instance_optimal=False)
        pol.reset(self.grid(), self.context_range(sequence), sequence, self.seed, costs=table, start=start)
        return pol

    def check_costs(self, sequence) -> None:
        """Refuse a cost table made with other solver settings or for another sequence.

        The table must carry the sequence's :func:`~workbench.tuning.costs.sequence_fingerprint`
        (its spec, length, system size and instance 0's data; the contexts alone do not
        identify a sequence) and cover all its instances. A hand-made table without a
        fingerprint is checked on its contexts and its length.
        """
        table = self.costs
        if table is None:
            return
        mismatched = [f"{name} {ours!r} (table: {theirs!r})" for name, ours, theirs in (
            ("solver", self.solver, table.solver), ("rtol", float(self.rtol), float(table.rtol)),
            ("max_iterations", int(self.max_iterations), int(table.max_iterations))) if ours != theirs]
        T = min(len(table), len(sequence))
        contexts = np.asarray(getattr(sequence, "contexts", table.contexts))[:T]
        if not np.array_equal(np.asarray(table.contexts)[:T], contexts):
            mismatched.append("the sequence (its contexts differ)")
        elif table.fingerprint is not None:
            spec, length, n, digest = sequence_fingerprint(sequence)
            t_spec, t_length, t_n, t_digest = table.fingerprint
            if t_spec != spec:
                mismatched.append(f"the sequence ({_spec_difference(t_spec, spec)})")
            elif (t_length, t_n, t_digest) != (length, n, digest):
                mismatched.append(f"the sequence (table: {t_length} instances of size {t_n}; run: {length} of "
                                  f"size {n}{', other data' if (t_length, t_n) == (length, n) else ''})")
        if mismatched:
            raise InvalidParameter("the cost table was computed with other settings: " + ", ".join(mismatched)
                                   + "; compute it with cost_table(sequence, solver=..., rtol=..., "
                                   "max_iterations=...) for this run, or leave costs unset.")
        if len(table) < len(sequence):
            raise InvalidParameter(f"the cost table covers {len(table)} of the sequence's {len(sequence)} "
                                   "instances; compute it for all of them (cost_table(sequence) without "
                                   "instances=...), or leave costs unset.")

    # -- the protocol ------------------------------------------------------------
    def init(self, problem) -> SequenceState:
        """Check the sequence (and ``costs``, if given), make a fresh policy and empty per-instance records."""
        self.check_problem(problem)
        T = len(problem)
        if T < 1:
            raise InvalidProblem("the sequence has no instances; give it instances >= 1.")
        # (the reference path's wb.linear.PCG refuses a non-symmetric instance; the compiled
        # kernel would run CG to the cap on each and record the cap as the cost)
        check_solver_fits(problem, self.solver)
        self.check_costs(problem)
        omegas = self.grid()
        d = len(omegas)
        return SequenceState(
            t=0, policy=self.make_policy(problem), omegas=omegas,
            contexts=np.asarray(problem.contexts, dtype=float), omega=np.full(T, np.nan),
            iterations=np.zeros(T, dtype=np.int64), arm=np.full(T, -1, dtype=np.int64),
            probabilities=np.full((T, d), np.nan), key=self._key(problem),
            comparators=self._fresh_comparators(d) if self.comparators else {}, checked_costs=self.costs,
        )

    @staticmethod
    def _fresh_comparators(d: int) -> dict:
        return {"gauss_seidel": 0, "best_fixed": 0, "best_fixed_omega": np.nan, "instance_optimal": 0,
                "oracle": 0, "column_totals": np.zeros(d, dtype=np.int64)}

    def step(self, problem, state: SequenceState) -> SequenceState:
        r"""Solve instance ``state.t`` with the omega the policy picks, and record its cost.

        The policy picks :math:`\omega_t` for the context :math:`c_t` and observes
        :math:`k_t(\omega_t)`; the records (and comparators, if tracked) are updated.
        A control changed since the previous step starts a fresh policy from
        this instance on (on a new grid, the probability records are reset and the
        old-grid arm records become -1). A cost table assigned since the last step is
        checked as :meth:`init` checks one; comparators switched on are backfilled.
        """
        t = state.t
        if t >= len(problem):
            raise InvalidProblem(f"all {len(problem)} instances are solved; reset to start again.")
        if self.costs is not state.checked_costs:
            # A table assigned mid-run: checked as init checks one (raises before any record changes).
            if self.costs is not None:
                self.check_costs(problem)
            state.checked_costs = self.costs
        if self.solver != "sor":
            check_solver_fits(problem, self.solver)
        if self._key(problem) != state.key:
            # A control moved mid-run: a fresh policy from the next instance on.
            state.policy = self.make_policy(problem, t)
            state.key = self._key(problem)
            if not np.array_equal(self.grid(), state.omegas):
                state.omegas = self.grid()
                state.probabilities = np.full((len(problem), len(state.omegas)), np.nan)
                # The arm records index the old grid: -1 ("off the grid") from now on; omega[:t] stays.
                state.arm[:t] = -1
                if state.comparators:
                    self._regrid_comparators(problem, state, t)
        if self.comparators and not state.comparators:
            # Switched on mid-run (or at the first step): backfill over the instances solved so far.
            state.comparators = self._fresh_comparators(len(state.omegas))
            for s in range(t):
                self._track(problem, state, s)
        elif not self.comparators and state.comparators:
            # Switched off: no more extra solves, and no frozen totals reported as current.
            state.comparators = {}
        context = float(state.contexts[t])
        policy = state.policy
        omega = policy.choose(context)
        k, converged = self._solve(problem, t, omega, policy.last_arm)
        policy.observe(k)
        state.omega[t] = omega
        state.iterations[t] = k
        state.arm[t] = -1 if policy.last_arm is None else policy.last_arm
        if policy.last_probs is not None and len(policy.last_probs) == state.probabilities.shape[1]:
            state.probabilities[t] = policy.last_probs
        state.cumulative += int(k)
        if not converged:
            state.capped += 1
        if state.comparators:
            self._track(problem, state, t)
        state.t = t + 1
        return state

    def solve(self, problem, t: int, omega: float, arm: int | None = None) -> int:
        """Iterations of the solver with ``omega`` on instance ``t``.

        Read from ``costs`` when a grid arm was played, the table matches the
        solver settings and ``omega`` is on its grid; otherwise solved with the
        compiled kernel or, for ``kernel="reference"``, with ``wb.run``.
        """
        return self._solve(problem, t, omega, arm)[0]

    def _solve(self, problem, t: int, omega: float, arm: int | None = None) -> tuple[int, bool]:
        """:meth:`solve`'s count and whether the solve met the tolerance (a solve that
        converges exactly at ``max_iterations`` did; one stopped there did not)."""
        table = self._usable_table()
        if table is not None and arm is not None and t < len(table):
            j = table.index_of(omega)
            if j is not None:
                k = int(table.iterations[t, j])
                ok = bool(table.converged[t, j]) if table.converged is not None else k < self.max_iterations
                return k, ok
        if self.kernel == "reference":
            import workbench as wb

            instance = cached_instance(problem, t)
            if self.solver == "sor":
                method = wb.linear.SOR(omega=omega)
            else:
                method = wb.linear.PCG(preconditioner="ssor", ssor_omega=omega)
            res = wb.run(method, instance, rtol=self.rtol, max_steps=self.max_iterations)
            if res.status.label == "converged":
                return int(res.iterations), True
            # Did not converge (the cap, divergence, a breakdown): the cost is the cap, as the
            # compiled kernels count it (they run to the cap on a diverging iteration).
            return int(self.max_iterations), False
        a = system_arrays(problem, t)
        return solve_csr_status(self.solver, a.indptr, a.indices, a.data, a.diag, a.b, a.x0, omega, self.rtol,
                                self.max_iterations)

    def _usable_table(self):
        # The table holds costs for one (solver, rtol, cap); after a mid-run change of
        # any of them the run solves instead of reading it.
        table = self.costs
        if table is None or (table.solver, float(table.rtol), int(table.max_iterations)) != (
                self.solver, float(self.rtol), int(self.max_iterations)):
            return None
        return table

    def _grid_row(self, problem, t: int, omegas) -> np.ndarray:
        """Every grid omega's cost on instance ``t``: from the table when it matches, else solved (cached)."""
        table = self._usable_table()
        if table is not None and np.array_equal(table.omegas, omegas) and t < len(table):
            return table.iterations[t]
        return cost_row(problem, t, omegas, self.solver, self.rtol, self.max_iterations)

    def _regrid_comparators(self, problem, state: SequenceState, t: int) -> None:
        # The best fixed omega and the per-instance best are over the grid: on a new grid both
        # are recomputed over instances 0 .. t-1 (cost_row caches the rows on the sequence).
        # Gauss-Seidel and omega* do not depend on the grid and keep their totals.
        comp = state.comparators
        totals = np.zeros(len(state.omegas), dtype=np.int64)
        oracle = 0
        for s in range(t):
            row = self._grid_row(problem, s, state.omegas)
            totals = totals + row
            oracle += int(row.min())
        comp["column_totals"] = totals
        comp["oracle"] = oracle
        if t:
            j = int(np.argmin(totals))
            comp["best_fixed"], comp["best_fixed_omega"] = int(totals[j]), float(state.omegas[j])
        else:
            comp["best_fixed"], comp["best_fixed_omega"] = 0, np.nan

    def _track(self, problem, state: SequenceState, t: int) -> None:
        comp = state.comparators
        table = self._usable_table()
        row = self._grid_row(problem, t, state.omegas)
        comp["column_totals"] = comp["column_totals"] + row
        j = int(np.argmin(comp["column_totals"]))
        comp["best_fixed"] = int(comp["column_totals"][j])
        comp["best_fixed_omega"] = float(state.omegas[j])
        comp["oracle"] += int(row.min())
        gs = np.flatnonzero(np.isclose(state.omegas, 1.0))
        comp["gauss_seidel"] += int(row[gs[0]]) if gs.size else self.solve(problem, t, 1.0)
        if hasattr(problem, "rho_jacobi"):
            from ..linear.theory import optimal_omega

            if table is not None and table.optimal_iterations is not None and t < len(table):
                comp["instance_optimal"] += int(table.optimal_iterations[t])
            else:
                comp["instance_optimal"] += self.solve(problem, t, optimal_omega(problem.rho_jacobi(t)))

    def metrics(self, problem, state: SequenceState) -> dict[str, float]:
        """The record of the last instance solved (NaN before the first), counts and arm probabilities."""
        t = state.t
        out = {"instance": float(t), "remaining": float(len(problem) - t),
               "cumulative_iterations": float(state.cumulative), "capped": float(state.capped)}
        if t == 0:
            out.update(context=np.nan, omega=np.nan, iterations=np.nan, arm=np.nan)
            probs = np.full(len(state.omegas), np.nan)
        else:
            out.update(context=float(state.contexts[t - 1]), omega=float(state.omega[t - 1]),
                       iterations=float(state.iterations[t - 1]), arm=float(state.arm[t - 1]))
            probs = state.probabilities[t - 1]
        for i, p in enumerate(probs):
            out[f"p_{i}"] = float(p)
        if state.comparators:
            comp = state.comparators
            out.update(gauss_seidel_cumulative=float(comp["gauss_seidel"]),
                       best_fixed_cumulative=float(comp["best_fixed"]),
                       best_fixed_omega=float(comp["best_fixed_omega"]),
                       instance_optimal_cumulative=float(comp["instance_optimal"]),
                       oracle_cumulative=float(comp["oracle"]))
        return out
