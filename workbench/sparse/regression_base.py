r"""Shared pieces of the sparse-regression methods: state, soft thresholding, metrics.

The L1 methods minimise :math:`F(x) = \tfrac12\|Ax - y\|^2 + \lambda\|x\|_1` with
:math:`\lambda = \text{l1\_weight}\cdot\|A^T y\|_\infty`. Their stop metric is
``optimality``, the norm of the proximal-gradient mapping
:math:`L\,\|x - S_{\lambda/L}(x - \nabla f(x)/L)\|_2`, zero exactly at a minimiser.
``work`` counts products with ``A`` or ``A^T`` (coordinate updates count 1/m each).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import param

from ..core import InvalidParameter
from .knob_checks import KnobCheckedMethod

__all__ = ["RegressionState", "RegressionMethod", "L1Method", "soft_threshold"]


def soft_threshold(v, tau):
    """:math:`S_\\tau(v) = \\mathrm{sign}(v)\\max(|v| - \\tau, 0)`, the prox of :math:`\\tau\\|\\cdot\\|_1`."""
    return np.sign(v) * np.maximum(np.abs(v) - tau, 0.0)


@dataclasses.dataclass
class RegressionState:
    """Iterate ``x`` and what a method carries between steps (momentum, gradient, rng ...)."""

    x: np.ndarray
    iteration: int = 0
    work: float = 0.0
    extra: dict = dataclasses.field(default_factory=dict)


class RegressionMethod(KnobCheckedMethod):
    """Base of the sparse-regression methods: support and truth diagnostics."""

    problem_kind = "sparse_regression"
    divergence_factor = 1e8
    converges_on = (frozenset(),)

    def truth_metrics(self, problem, x) -> dict[str, float]:
        """``nnz`` and, when the problem knows ``x_true``, ``distance``, ``relative_error``
        (left out for an all-zero ``x_true``), ``support_recovered`` and ``false_positives``."""
        out = {"nnz": float(np.count_nonzero(x))}
        if problem.x_true is not None:
            truth = problem.x_true != 0
            found = x != 0
            out["distance"] = float(np.linalg.norm(x - problem.x_true))
            norm = float(np.linalg.norm(problem.x_true))
            if norm > 0:  # an all-zero truth has no relative error (distance / 0): left out
                out["relative_error"] = out["distance"] / norm
            out["support_recovered"] = float(np.array_equal(truth, found))
            out["false_positives"] = float(np.count_nonzero(found & ~truth))
        return out


class L1Method(RegressionMethod):
    """Base of the LASSO solvers (ISTA, FISTA, coordinate descent): the ``l1_weight`` knob."""

    stop_metric = "optimality"
    default_rtol = 1e-8

    l1_weight = param.Number(default=0.05, softbounds=(0.0, 1.0),
                             doc="L1 weight lambda as a fraction of lambda_max = ||A^T y||_inf "
                                 "(1 or more gives x = 0).")

    def check_params(self) -> None:
        super().check_params()
        w = self._proposed("l1_weight")
        if w is None or not math.isfinite(w) or w < 0:
            raise InvalidParameter(
                f"the L1 weight (regularisation) must be 0 or positive, got {w!r}; try 0.05 "
                "(a fraction of lambda_max)."
            )

    def lam(self, problem) -> float:
        return float(self.l1_weight) * problem.lambda_max

    def prox_gradient(self, problem, z, grad=None) -> np.ndarray:
        r""":math:`S_{\lambda/L}(z - \nabla f(z)/L)`, the proximal-gradient step of ISTA and FISTA."""
        L = problem.lipschitz
        if grad is None:
            grad = problem.A.T @ (problem.A @ z - problem.y)
        return soft_threshold(z - grad / L, self.lam(problem) / L)

    def optimality(self, problem, x, grad=None) -> float:
        return float(problem.lipschitz * np.linalg.norm(x - self.prox_gradient(problem, x, grad)))

    def metrics(self, problem, state: RegressionState) -> dict[str, float]:
        lam = self.lam(problem)
        x = state.x
        F = problem.objective(x, lam)
        out = {"objective": F, "optimality": self.optimality(problem, x, state.extra.get("grad_at_x")),
               "work": state.work}
        if problem.n <= 3000:  # the exact reference costs one LARS path; skip it on huge designs
            _, F_star = problem.lasso_reference(lam)
            if F_star is not None:
                out["objective_gap"] = max(F - F_star, 0.0)
        out.update(self.truth_metrics(problem, x))
        return out

    def init(self, problem) -> RegressionState:
        self.check_problem(problem)
        self.check_params()
        return RegressionState(x=problem.x0.copy())
