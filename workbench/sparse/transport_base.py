r"""Shared pieces of the entropic optimal-transport solvers.

Both solvers work on the dual potentials ``f`` (n) and ``g`` (m) of the
entropic problem with regularisation :math:`\varepsilon`; the plan they stand for is

.. math:: P_{ij} = \exp\big((f_i + g_j - C_{ij}) / \varepsilon\big),

and they maximise the concave dual objective

.. math:: F(f, g) = \langle a, f\rangle + \langle b, g\rangle - \varepsilon \sum_{ij} P_{ij},

whose gradient is the marginal defect ``(a - P 1, b - P^T 1)``. Everything is
computed in the log domain (a log-sum-exp with the maximum subtracted), so a
small :math:`\varepsilon` never overflows or underflows to an all-zero kernel.

Cost accounting: ``work`` counts passes over the ``n x m`` plan (one
exponential per entry, or one selection pass), the machine-independent unit
in which the solvers' per-iteration costs are compared.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import param

from ..core import InvalidParameter
from .knob_checks import KnobCheckedMethod

__all__ = ["TransportState", "TransportMethod", "row_logsumexp", "col_logsumexp", "log_plan"]


def row_logsumexp(Z: np.ndarray) -> np.ndarray:
    """``log(sum_j exp(Z_ij))`` for every row, stably; overwrites ``Z``."""
    mx = Z.max(axis=1)
    mx[~np.isfinite(mx)] = 0.0
    Z -= mx[:, None]
    np.exp(Z, out=Z)
    return np.log(Z.sum(axis=1)) + mx


def col_logsumexp(Z: np.ndarray) -> np.ndarray:
    """``log(sum_i exp(Z_ij))`` for every column, stably; overwrites ``Z``."""
    mx = Z.max(axis=0)
    mx[~np.isfinite(mx)] = 0.0
    Z -= mx[None, :]
    np.exp(Z, out=Z)
    return np.log(Z.sum(axis=0)) + mx


def log_plan(f: np.ndarray, g: np.ndarray, C_over_eps: np.ndarray, eps: float) -> np.ndarray:
    """``(f_i + g_j) / eps - C_ij / eps``, the logarithm of the plan (a new array)."""
    Z = np.subtract(g[None, :] / eps, C_over_eps)
    Z += (f / eps)[:, None]
    return Z


@dataclasses.dataclass
class TransportState:
    """Dual potentials and what the solver knows about the plan they define.

    ``row_lse`` is ``LSE_j((g_j - C_ij)/eps)`` for the current ``g`` (Sinkhorn
    reuses it for the next ``f`` update and for the exact row marginals), ``P``
    the dense plan when the solver has it, ``eps`` the regularisation these
    caches belong to.
    """

    f: np.ndarray
    g: np.ndarray
    eps: float
    row_lse: np.ndarray | None = None
    P: np.ndarray | None = None
    marginal_error: float = math.inf
    dual_objective: float = -math.inf
    work: float = 0.0
    iteration: int = 0
    extra: dict = dataclasses.field(default_factory=dict)


class TransportMethod(KnobCheckedMethod):
    """Base of the entropic OT solvers: the ``reg`` knob, caches, metrics, the plan."""

    problem_kind = "transport"
    stop_metric = "marginal_error"
    default_rtol = 1e-8
    divergence_factor = None
    converges_on = (frozenset(),)

    reg = param.Number(default=0.001, softbounds=(0.0005, 0.05), step=0.0005,
                       doc="Entropic regularisation epsilon, in the units of the cost (the gallery scales costs to max 1); smaller "
                           "is closer to exact transport and slower for Sinkhorn.")

    def check_params(self) -> None:
        super().check_params()
        reg = self._proposed("reg")
        if reg is None or not math.isfinite(reg) or reg <= 0:
            raise InvalidParameter(
                f"the regularisation must be a positive number, got {reg!r}; try 0.01 (smaller "
                "is sharper but needs more iterations)."
            )

    def stop_scale(self, problem, metrics0) -> float:
        # The marginal error is already relative to the total mass (1 for the gallery),
        # so rtol acts on the absolute L1 defect: rtol = 1e-8 means ||P1-a||+||P'1-b|| <= 1e-8.
        return float(problem.a.sum())

    # -- caches ---------------------------------------------------------------
    def _scaled_cost(self, problem, eps: float) -> np.ndarray:
        cache = getattr(problem, "_wb_scaled_cost", None)
        if cache is None or cache[0] != eps:
            cache = (eps, problem.C / eps)
            problem._wb_scaled_cost = cache
        return cache[1]

    def _log_marginals(self, problem):
        cache = getattr(problem, "_wb_log_marginals", None)
        if cache is None:
            cache = (np.log(problem.a), np.log(problem.b))
            problem._wb_log_marginals = cache
        return cache

    # -- Sinkhorn's half steps, shared with the warm-up of Sinkhorn-Newton-Sparse --
    def _row_lse(self, problem, g, eps) -> np.ndarray:
        Z = np.subtract(g[None, :] / eps, self._scaled_cost(problem, eps))
        return row_logsumexp(Z)

    def sinkhorn_step(self, problem, state: TransportState) -> TransportState:
        r"""One Sinkhorn iteration in the log domain (2 passes over the plan).

        .. math::
            f_i \leftarrow \varepsilon\log a_i - \varepsilon\,\mathrm{LSE}_j\big((g_j - C_{ij})/\varepsilon\big),\quad
            g_j \leftarrow \varepsilon\log b_j - \varepsilon\,\mathrm{LSE}_i\big((f_i - C_{ij})/\varepsilon\big)

        After the ``g`` update the column marginals are exact; the row LSE for
        the new ``g`` gives the row marginals exactly and is kept for the next
        ``f`` update, so the error is known every iteration at no extra pass.
        """
        eps = float(self.reg)
        row_lse = state.row_lse if state.eps == eps else None
        f, g, work = self.sinkhorn_potentials(problem, state.g, row_lse, state.work)
        return self.sinkhorn_state(problem, f, g, work, state.iteration + 1)

    def sinkhorn_potentials(self, problem, g, row_lse, work):
        """The potentials ``(f, g)`` one Sinkhorn iteration gives from ``g``, and the work count.

        ``row_lse`` is the row LSE for ``g`` if known (``None``: computed, one more pass); the
        ``g`` update is one pass. Its dual objective is ``<a, f> + <b, g> - eps b.sum()``
        exactly (the column marginals are ``b``), with no further pass.
        """
        eps = float(self.reg)
        loga, logb = self._log_marginals(problem)
        if row_lse is None:
            row_lse = self._row_lse(problem, g, eps)
            work += 1
        f = eps * (loga - row_lse)
        Z = np.subtract(f[:, None] / eps, self._scaled_cost(problem, eps))
        g = eps * (logb - col_logsumexp(Z))
        return f, g, work + 1

    def sinkhorn_state(self, problem, f, g, work, iteration) -> TransportState:
        """The state at potentials from :meth:`sinkhorn_potentials`: its row LSE, exact error (1 pass)."""
        eps = float(self.reg)
        row_lse = self._row_lse(problem, g, eps)
        row_mass = np.exp(f / eps + row_lse)
        err = float(np.abs(row_mass - problem.a).sum())
        dual = float(problem.a @ f + problem.b @ g - eps * problem.b.sum())
        return TransportState(f=f, g=g, eps=eps, row_lse=row_lse, P=None, marginal_error=err,
                              dual_objective=dual, work=work + 1, iteration=iteration,
                              extra={"phase": 0.0})

    def init(self, problem) -> TransportState:
        self.check_problem(problem)
        self.check_params()
        eps = float(self.reg)
        n, m = problem.shape
        # Start from g = min C (a constant), not 0: the initial log plan (g - C)/eps is then
        # <= 0 everywhere, so exp(-C/eps) cannot overflow when costs are negative (C - 1 at
        # eps = 1e-3 is exp(1000)), and its largest entry is 1 whatever constant was added to C.
        # A constant in g is absorbed by the first f update (f shifts by it), so every later
        # iterate, and the plan, are those of the cost as given; for a cost with minimum 0 (the
        # gallery's) this is the old start g = 0. Costs, duals and potentials are never shifted:
        # they are those of the user's C.
        f, g = np.zeros(n), np.full(m, float(problem.C.min()))
        P = np.exp(log_plan(f, g, self._scaled_cost(problem, eps), eps))
        return TransportState(f=f, g=g, eps=eps, P=P, marginal_error=problem.marginal_error(P),
                              dual_objective=float(problem.b @ g - eps * P.sum()), work=1.0)

    def metrics(self, problem, state: TransportState) -> dict[str, float]:
        out = {"marginal_error": state.marginal_error, "dual_objective": state.dual_objective,
               "work": state.work}
        # (keys with a leading underscore are the method's bookkeeping, not metrics)
        out.update({k: float(v) for k, v in state.extra.items() if np.isscalar(v) and not k.startswith("_")})
        return out

    # -- results --------------------------------------------------------------
    def plan(self, problem, state: TransportState) -> np.ndarray:
        """The dense transport plan of ``state`` (computed if the state does not hold it)."""
        if state.P is not None:
            return state.P
        eps = state.eps
        return np.exp(log_plan(state.f, state.g, self._scaled_cost(problem, eps), eps))
