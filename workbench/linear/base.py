"""Shared pieces of the linear solvers: the state, residual metrics, input checks."""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from ..core import IncompatibleProblem, InvalidProblem, Method


class AttainableAccuracy(IncompatibleProblem):
    """The tolerance is below what the method's residual can reach on this system in rounding."""

__all__ = ["LinearState", "LinearMethod", "AttainableAccuracy"]


@dataclasses.dataclass
class LinearState:
    """Iterate and residual of a linear solver, plus method-specific arrays in ``extra``."""

    x: np.ndarray
    r: np.ndarray
    residual_norm: float
    matvecs: int = 0
    extra: dict = dataclasses.field(default_factory=dict)


class LinearMethod(Method):
    """Base of the solvers of ``A x = b``: stop on ``||b - A x|| <= rtol ||b||``.

    ``metrics`` reports ``residual`` (2-norm of ``b - A x``), ``relative_residual`` (over the
    stop rule's scale: ``||b||``, or the initial residual when ``b = 0``) and ``matvecs``
    (matrix-vector products so far, the machine-independent cost; a relaxation sweep counts as
    one, being one pass over the nonzeros of A). When the problem knows its solution
    (``x_true``), also ``error`` (:math:`\|x - x_{true}\|`) and, for a nonzero ``x_true``,
    ``relative_error`` (``error / ||x_true||``).
    """

    problem_kind: ClassVar[str] = "linear"
    stop_metric: ClassVar[str] = "residual"
    needs_diagonal: ClassVar[bool] = False
    #: True for methods that update ``r`` by a recurrence (the Krylov methods) rather than as
    #: ``b - A x``: in rounding the two drift apart (on a system of condition 1e10, CG's
    #: recurred residual read 1.7e-13 where the true one was 1.9e-6), so before the run is
    #: called converged the residual is recomputed (one matvec) and judged again.
    recurred_residual: ClassVar[bool] = False

    def init(self, problem) -> LinearState:
        self.check_problem(problem)
        if self.needs_diagonal and np.any(problem.diagonal == 0):
            i = int(np.flatnonzero(problem.diagonal == 0)[0])
            raise InvalidProblem(
                f"{self.registry_name} divides by the diagonal, and A[{i}, {i}] is zero; "
                "reorder the system or use a Krylov method."
            )
        x = problem.x0.copy()
        r = problem.b - problem.A @ x
        return LinearState(x=x, r=r, residual_norm=float(np.linalg.norm(r)), matvecs=1,
                           extra=self.init_extra(problem, x, r))

    def init_extra(self, problem, x, r) -> dict[str, Any]:
        return {}

    def metrics(self, problem, state: LinearState) -> dict[str, float]:
        res = state.residual_norm
        out = {"residual": res, "relative_residual": res / self._residual_scale(problem, state),
               "matvecs": float(state.matvecs)}
        x_true = getattr(problem, "x_true", None)
        if x_true is not None:
            error = float(np.linalg.norm(state.x - x_true))
            out["error"] = error
            norm = float(np.linalg.norm(x_true))
            if norm > 0:  # (an all-zero solution has no relative error)
                out["relative_error"] = error / norm
        return out

    @staticmethod
    def _residual_scale(problem, state: LinearState) -> float:
        """What ``relative_residual`` divides by: the scale the stop rule uses (:meth:`stop_scale`),
        ``||b||``, or when ``b = 0`` the residual the run started from (the first state metrics
        sees, the initial one; kept in ``state.extra["residual_scale"]``)."""
        if problem.b_norm:
            return problem.b_norm
        scale = state.extra.get("residual_scale")
        if scale is None:
            scale = state.extra["residual_scale"] = state.residual_norm
        return scale or 1.0

    #: ``init`` computes ``b - A x0`` itself: a start that meets the tolerance needs no second matvec.
    confirm_at_start = False

    def confirm_convergence(self, problem, state: LinearState, tolerance: float):
        """The state with ``r = b - A x`` recomputed (one matvec), for a recurred residual.

        If the true residual misses ``tolerance`` the method restarts from it
        (:meth:`restart_from`: a fresh recurrence from the current x, whose residual is exact
        again), and the run goes on. When a check misses and has not halved the miss before
        it, a few times over (or once, when the miss is more than twice the tolerance), the
        system is beyond the method's attainable accuracy in double precision: the run ends
        (:class:`AttainableAccuracy`) at the best iterate it checked, with a sentence naming
        the residual reached.
        """
        if not self.recurred_residual:
            return None
        r = problem.b - problem.A @ state.x
        true = float(np.linalg.norm(r))
        extra = dict(state.extra)
        matvecs = state.matvecs + 1
        if true > tolerance:
            before = extra.get("missed_residual")
            best = extra.get("best_checked")
            if best is None or true < best[0]:
                best = extra["best_checked"] = (true, state.x.copy())
            extra["misses"] = extra.get("misses", 0) + 1
            stalled = before is not None and true > 0.5 * before
            if stalled and (true > 2 * tolerance or extra["misses"] >= 5):
                scale = self._residual_scale(problem, state)
                level, x = best
                recompute = level != true  # (an earlier check was better: its residual again, one matvec)
                r_best = problem.b - problem.A @ x if recompute else r
                error = AttainableAccuracy(
                    f"{type(self).__name__} cannot reach this tolerance on this system: its recurred residual "
                    f"met it, but the true residual ||b - A x|| reached {true / scale:.2e} of the scale after "
                    f"restarting (best {level / scale:.2e}, the iterate kept), the accuracy rounding allows here. "
                    f"Loosen rtol to about {2 * level / scale:.0e}, or precondition the system.")
                error.state = LinearState(x, r_best, float(np.linalg.norm(r_best)), matvecs + int(recompute), extra)
                raise error
            extra["missed_residual"] = true
            extra = self.restart_from(problem, extra, r)
        return LinearState(state.x, r, true, matvecs + int(extra.pop("restart_matvecs", 0)), extra)

    @staticmethod
    def forget_checks(extra: dict) -> dict:
        """Drop the record of missed checks: after a knob change they were reached under other
        settings, and must not count towards the attainable-accuracy verdict."""
        for key in ("missed_residual", "misses", "best_checked"):
            extra.pop(key, None)
        return extra

    def restart_from(self, problem, extra: dict, r) -> dict:
        """``extra`` for a fresh recurrence from the true residual ``r`` (a restart), with the
        products it took under ``"restart_matvecs"``."""
        return extra

    def stop_scale(self, problem, metrics0) -> float:
        # Relative to ||b||, like scipy.sparse.linalg and PyAMG, so counts compare.
        return problem.b_norm or metrics0["residual"]
