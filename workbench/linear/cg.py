"""Conjugate gradients, plain and preconditioned."""
from __future__ import annotations

import numpy as np
import param

from ..core import IncompatibleProblem, register_method
from .base import LinearMethod, LinearState
from .preconditioners import make_preconditioner

__all__ = ["CG", "PCG"]


class _ConjugateGradient(LinearMethod):
    requires = frozenset({"symmetric"})
    converges_on = (frozenset({"spd"}),)

    def _preconditioner(self, problem):
        return None

    def init_extra(self, problem, x, r):
        M = self._preconditioner(problem)
        z = r if M is None else M(r)
        return {"p": z.copy(), "rz": float(r @ z), "M": M, "M_key": self._preconditioner_key(),
                "M_matvecs": _products(M)}

    def init(self, problem):
        state = super().init(problem)
        state.matvecs += state.extra["M_matvecs"]  # (z_0 = M^-1 r_0)
        return state

    def _preconditioner_key(self):
        return None

    recurred_residual = True

    def restart_from(self, problem, extra, r):
        # (a direction built from recurred residuals is not conjugate to the true one: start anew)
        z = r if extra["M"] is None else extra["M"](r)
        extra["p"], extra["rz"] = z.copy(), float(r @ z)
        extra["restart_matvecs"] = extra["M_matvecs"]
        return extra

    def step(self, problem, state: LinearState) -> LinearState:
        extra = dict(state.extra)
        switched = 0  # (products with A of the restart below: z = M(r) of a polynomial M)
        if extra["M_key"] != self._preconditioner_key():
            # The user switched the preconditioner mid-run: rebuild it and restart
            # the direction from the current residual (no reset of x).
            extra["M"] = self._preconditioner(problem)
            extra["M_key"] = self._preconditioner_key()
            self.forget_checks(extra)
            extra["M_matvecs"] = switched = _products(extra["M"])
            z = state.r if extra["M"] is None else extra["M"](state.r)
            extra["p"], extra["rz"] = z.copy(), float(state.r @ z)
        p, rz, M = extra["p"], extra["rz"], extra["M"]
        if state.residual_norm == 0:
            return state  # (solved exactly, with no tolerance to stop on: nothing more to do)
        Ap = problem.A @ p
        pAp = float(p @ Ap)
        # A negative p^T A p (A negative definite or indefinite) leaves the recurrence well
        # defined, as in SciPy: CG on -A converges like CG on A. Only a zero one, or a zero
        # r^T z from a preconditioner that is not definite, stops it for good.
        if pAp == 0 or rz == 0:
            which = "p^T A p" if pAp == 0 else "r^T M^-1 r"
            raise IncompatibleProblem(
                f"{type(self).__name__} broke down at a nonzero residual: {which} = 0, which happens only "
                "when A (or the preconditioner) is not definite. CG needs a symmetric definite system; "
                "for an indefinite one use a method without that need (e.g. scipy.sparse.linalg.minres)."
            )
        alpha = rz / pAp
        x = state.x + alpha * p
        r = state.r - alpha * Ap
        z = r if M is None else M(r)
        rz_new = float(r @ z)
        extra["p"] = z + (rz_new / rz) * p
        extra["rz"] = rz_new
        extra["alpha"] = alpha
        return LinearState(x, r, float(np.linalg.norm(r)), state.matvecs + switched + 1 + extra["M_matvecs"],
                           extra)


def _products(M) -> int:
    """Products with A one application of the preconditioner makes (a polynomial one says)."""
    return int(getattr(M, "matvecs", 0)) if M is not None else 0


@register_method("cg", family="krylov")
class CG(_ConjugateGradient):
    r"""Conjugate gradients (Hestenes-Stiefel) for SPD systems.

    .. math::
        \alpha_k = \frac{r_k^T r_k}{p_k^T A p_k},\quad x_{k+1} = x_k + \alpha_k p_k,\quad
        r_{k+1} = r_k - \alpha_k A p_k,\quad p_{k+1} = r_{k+1} + \frac{r_{k+1}^T r_{k+1}}{r_k^T r_k} p_k

    The A-norm error obeys :math:`\|e_k\|_A \le 2 \left(\frac{\sqrt\kappa-1}{\sqrt\kappa+1}\right)^k \|e_0\|_A`.
    The residual is updated recursively (as SciPy does), so counts match ``scipy.sparse.linalg.cg``.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.linear.CG(), wb.problems.poisson2d(32), rtol=1e-8)
    >>> res.status.label, res.iterations < 120
    ('converged', True)

    References
    ----------
    M. R. Hestenes, E. Stiefel, *Methods of conjugate gradients for solving linear systems*, 1952.
    """


@register_method("pcg", family="krylov")
class PCG(_ConjugateGradient):
    r"""Preconditioned conjugate gradients with :math:`z = M^{-1} r`.

    .. math::
        \alpha_k = \frac{r_k^T z_k}{p_k^T A p_k},\quad
        p_{k+1} = z_{k+1} + \frac{r_{k+1}^T z_{k+1}}{r_k^T z_k} p_k

    Preconditioners: ``jacobi`` (diagonal), ``ssor`` (symmetric SOR with
    ``ssor_omega``), ``amg`` (one V-cycle of PyAMG smoothed aggregation), ``chebyshev``
    (the polynomial :math:`p(A)` of ``poly_degree`` Chebyshev steps on
    :math:`[\lambda_{max}/\text{poly_ratio}, \lambda_{max}]`, Gershgorin's
    :math:`\lambda_{max}`: no spectrum needed, and its ``poly_degree`` products with A per
    application are counted in ``matvecs``).
    Switching the preconditioner mid-run rebuilds it and restarts the
    search direction from the current residual.

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.linear.PCG(preconditioner="amg"), wb.problems.poisson2d(32))
    >>> res.iterations < 15
    True
    """

    preconditioner = param.Selector(default="ssor", objects=["jacobi", "ssor", "amg", "chebyshev", "none"],
                                    doc="Preconditioner M.")
    ssor_omega = param.Number(default=1.5, bounds=(0.0, 2.0), inclusive_bounds=(False, False),
                              doc="omega of the SSOR preconditioner.")
    poly_degree = param.Integer(default=4, bounds=(1, 100),
                                doc="Degree of the Chebyshev polynomial preconditioner (its products with A).")
    poly_ratio = param.Number(default=30.0, bounds=(1.0, 1e12), inclusive_bounds=(False, True),
                              doc="The polynomial is small on [lambda_max / poly_ratio, lambda_max].")

    may_be_inert = frozenset({"ssor_omega", "poly_degree", "poly_ratio"})

    def inert_params(self) -> frozenset[str]:
        """The knobs of the preconditioners not in use."""
        used = {"ssor": {"ssor_omega"}, "chebyshev": {"poly_degree", "poly_ratio"}}.get(self.preconditioner, set())
        return self.may_be_inert - used

    def _preconditioner_key(self):
        return (self.preconditioner, self.ssor_omega if self.preconditioner == "ssor" else None,
                (self.poly_degree, self.poly_ratio) if self.preconditioner == "chebyshev" else None)

    def _preconditioner(self, problem):
        if self.preconditioner == "none":
            return None
        return make_preconditioner(self.preconditioner, problem.A, self.ssor_omega, self.poly_degree,
                                   self.poly_ratio)
