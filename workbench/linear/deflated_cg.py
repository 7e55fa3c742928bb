r"""Deflated conjugate gradients: CG with a subspace :math:`\mathrm{span}(W)` projected out."""
from __future__ import annotations

import numpy as np
import param
import scipy.linalg as la

from ..core import InvalidParameter, register_method
from .base import LinearMethod, LinearState

__all__ = ["DeflatedCG"]


class Deflation:
    """The basis ``W`` (unit columns), ``AW``, the Cholesky factor of ``G = W^T A W`` and what a
    step reuses: ``[W, AW]^T`` stacked, and ``G^-1 (AW)^T A W``."""

    def __init__(self, W, AW, factor):
        self.W, self.AW, self.factor = W, AW, factor
        self.k = W.shape[1]
        self.stacked_T = np.ascontiguousarray(np.hstack([W, AW]).T)
        self.G_inv_H = la.cho_solve(factor, AW.T @ AW)


@register_method("deflated_cg", family="krylov")
class DeflatedCG(LinearMethod):
    r"""Conjugate gradients deflated by a basis W of k vectors, shape (n, k) (Saad et al., 2000).

    The start is corrected on :math:`\mathrm{span}(W)` and every search direction is kept
    A-orthogonal to it, so CG works only on the rest of the spectrum:

    .. math::
        x_0 \leftarrow x_0 + W (W^T A W)^{-1} W^T r_0,\qquad
        p_0 = r_0 - W \mu_0,\qquad
        \alpha_j = \frac{r_j^T r_j}{p_j^T A p_j},\quad x_{j+1} = x_j + \alpha_j p_j,\quad
        r_{j+1} = r_j - \alpha_j A p_j,

    .. math::
        p_{j+1} = r_{j+1} + \frac{r_{j+1}^T r_{j+1}}{r_j^T r_j}\, p_j - W \mu_{j+1},\qquad
        (W^T A W)\, \mu_{j+1} = (A W)^T r_{j+1}.

    The residuals stay orthogonal to :math:`W`, and when :math:`W` spans eigenvectors of
    :math:`A` the iteration is CG on the remaining eigenvalues: its rate follows
    :math:`\kappa_{\mathrm{eff}} = \lambda_{\max} / \lambda_{k+1}` instead of
    :math:`\lambda_{\max}/\lambda_{\min}`. ``basis=None`` (or zero columns) is plain CG, step
    for step, with CG's breakdown rule (only :math:`p^T A p = 0` stops it, so it runs on a
    symmetric indefinite or negative definite matrix as :class:`~workbench.linear.CG` does); with a
    basis, :math:`p^T A p \le 0` ends the run (A is not positive definite).
    Forming :math:`AW` costs :math:`k` matrix-vector products, counted in ``matvecs``.

    Setting ``basis`` mid-run rebuilds the deflation from the current iterate (``k`` matvecs
    for :math:`AW`, counted), corrects :math:`x` on the new :math:`\mathrm{span}(W)` and restarts
    the search direction, so the run goes on as one started there with the new basis would.
    (Assign a new array; a change made in place to the array in use is not seen.)

    ``keep_directions`` keeps the first that many search directions :math:`p_j` and
    :math:`A p_j` in the state (``state.extra["P"]``, ``["AP"]``), from which
    :class:`~workbench.linear.KrylovRecycling` extracts the basis of the next system.

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> prob = wb.problems.poisson2d(24)
    >>> lam, V = np.linalg.eigh(prob.A.toarray())
    >>> plain = wb.run(wb.linear.CG(), prob, rtol=1e-8)
    >>> deflated = wb.run(wb.linear.DeflatedCG(basis=V[:, :8]), prob, rtol=1e-8)
    >>> deflated.converged, deflated.iterations < 0.7 * plain.iterations
    (True, True)

    References
    ----------
    Y. Saad, M. Yeung, J. Erhel, F. Guyomarc'h. *A deflated version of the conjugate
    gradient algorithm*. SIAM J. Sci. Comput. 21(5), 2000.
    """

    requires = frozenset({"symmetric"})
    converges_on = (frozenset({"spd"}),)

    basis = param.Array(default=None, allow_None=True, precedence=-1,
                        doc="Deflation basis W, shape (n, k) (None: plain CG).")
    keep_directions = param.Integer(default=0, bounds=(0, 10_000),
                                    doc="Keep the first this many search directions (for recycling).")

    def check_value(self, name, value, *, with_others=True):
        """As for every param, after reading a nested list (a spec's) as the ``basis`` array."""
        if name == "basis" and value is not None and not isinstance(value, np.ndarray):
            try:
                value = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise InvalidParameter("the deflation basis is an array of numbers of shape (n, k), one "
                                       "column per basis vector.") from None
        return super().check_value(name, value, with_others=with_others)

    def spec(self) -> dict:
        """The spec, with the basis (as nested lists) so that the run replays deflated."""
        spec = super().spec()
        if self.basis is not None:
            spec["params"]["basis"] = np.asarray(self.basis, dtype=float).tolist()
        return spec

    def _deflation(self, problem):
        """The :class:`Deflation` of the basis (unit columns, ``AW``, Cholesky of ``W^T A W``), or
        ``None`` without one."""
        W = self.basis
        if W is None:
            return None
        W = np.asarray(W, dtype=float)
        if W.ndim == 1:
            W = W[:, None]
        if W.ndim != 2 or W.shape[0] != problem.n:
            raise InvalidParameter(f"the deflation basis has shape {W.shape}; it needs one row per unknown, "
                                   f"shape ({problem.n}, k).")
        if W.shape[1] == 0:
            return None
        if W.shape[1] >= problem.n:
            raise InvalidParameter(f"a deflation basis of {W.shape[1]} columns leaves nothing for CG to do on "
                                   f"{problem.n} unknowns; give fewer columns than unknowns.")
        if not np.all(np.isfinite(W)):
            raise InvalidParameter("the deflation basis has non-finite entries; give a finite basis.")
        norms = np.linalg.norm(W, axis=0)
        if np.any(norms == 0):
            raise InvalidParameter(f"column {int(np.argmin(norms))} of the deflation basis is zero; drop it.")
        # Unit columns span the same space; without them the dependence test below would read a
        # small column (1e-8 x the others) as a dependent one.
        W = W / norms
        AW = np.asarray(problem.A @ W)
        G = W.T @ AW
        G = 0.5 * (G + G.T)  # (symmetric in exact arithmetic; rounding would break cho_factor's use)
        try:
            scale = np.sqrt(np.abs(np.diag(G)))
            if np.any(scale == 0):
                raise la.LinAlgError
            # A Cholesky that succeeds on a nearly singular W^T A W still amplifies rounding by
            # its condition number; on the unit-diagonal scaling its pivots measure how nearly
            # dependent the columns are, whatever the scale of A.
            d = np.abs(np.diag(la.cho_factor(G / np.outer(scale, scale))[0]))
            if not np.all(np.isfinite(d)) or d.min() <= 1e-7:
                raise la.LinAlgError
            factor = la.cho_factor(G)
        except la.LinAlgError:
            raise InvalidParameter(
                "W^T A W of the deflation basis is singular or not positive definite: its columns are "
                "(nearly) dependent, or A is not definite on them; orthonormalise the basis "
                "(scipy.linalg.orth) and drop dependent columns.") from None
        return Deflation(W, AW, factor)

    def init(self, problem) -> LinearState:
        state = super().init(problem)
        extra = {"P": [], "AP": []}
        return self._deflated_start(problem, state.x, state.r, state.matvecs, extra)

    def _deflated_start(self, problem, x, r, matvecs, extra) -> LinearState:
        """The state that starts deflated CG on the current ``basis`` from ``x`` (residual ``r``):
        the deflation built (``k`` matvecs), ``x`` corrected on span(W), the direction anew."""
        deflation = self._deflation(problem)
        extra = {**extra, "deflation": deflation, "basis_ref": self.basis,
                 "basis_used": None if self.basis is None else np.array(self.basis, dtype=float)}
        if deflation is not None:
            # Galerkin correction on span(W): afterwards W^T r = 0, and no matvec is needed
            # for the new residual since A W is at hand.
            y = la.cho_solve(deflation.factor, deflation.W.T @ r)
            x = x + deflation.W @ y
            r = r - deflation.AW @ y
            matvecs += deflation.k
        extra["p"] = self._project(r, deflation)
        extra["rr"] = float(r @ r)
        return LinearState(x, r, float(np.linalg.norm(r)), matvecs, extra)

    def _basis_moved(self, extra) -> bool:
        """Whether ``basis`` was set to other values since the deflation was built."""
        if self.basis is extra["basis_ref"]:
            return False
        used, now = extra["basis_used"], self.basis
        if used is None or now is None:
            return (used is None) != (now is None)
        now = np.asarray(now, dtype=float)
        if now.shape == used.shape and np.array_equal(now, used):
            extra["basis_ref"] = self.basis  # (the same values again: nothing to rebuild)
            return False
        return True

    @staticmethod
    def _project(v, deflation):
        """:math:`v - W (W^T A W)^{-1} (AW)^T v`: the part of ``v`` A-orthogonal to span(W)."""
        if deflation is None:
            return v.copy()
        return v - deflation.W @ la.cho_solve(deflation.factor, deflation.AW.T @ v)

    recurred_residual = True

    def restart_from(self, problem, extra, r):
        extra["p"], extra["rr"] = self._project(r, extra["deflation"]), float(r @ r)
        return extra

    def step(self, problem, state: LinearState) -> LinearState:
        extra = dict(state.extra)
        if state.residual_norm == 0:
            return state
        if self._basis_moved(extra):
            # The basis was changed mid-run: deflate by the new one from here, as a run started
            # at the current x with it would (k matvecs for A W, a Galerkin correction of x on
            # the new span(W), the direction restarted), instead of going on with the old one.
            state = self._deflated_start(problem, state.x, state.r, state.matvecs, extra)
            extra = dict(state.extra)
            self.forget_checks(extra)
            if state.residual_norm == 0:
                return state
        p, rr = extra["p"], extra["rr"]
        Ap = problem.A @ p
        pAp = float(p @ Ap)
        # Without a basis this is CG, with CG's rule: a negative p^T A p (A indefinite or negative
        # definite) leaves the recurrence well defined, and only an exact zero breaks it down.
        # A deflated run needs A definite on span(W) and beyond (W^T A W is factored by Cholesky).
        if pAp == 0 or (pAp < 0 and extra["deflation"] is not None):
            from ..core import IncompatibleProblem

            raise IncompatibleProblem(
                f"DeflatedCG met p^T A p = {pAp:.3g} <= 0 at a nonzero residual: A is not positive definite. "
                "Deflated CG needs an SPD system; use a method without that need (e.g. "
                "scipy.sparse.linalg.minres).")
        if len(extra["P"]) < self.keep_directions:
            extra["P"] = [*extra["P"], p]
            extra["AP"] = [*extra["AP"], Ap]
        alpha = rr / pAp
        x = state.x + alpha * p
        r = state.r - alpha * Ap
        deflation = extra["deflation"]
        if deflation is None:
            rr_new = float(r @ r)
            extra["p"] = r + (rr_new / rr) * p
        else:
            # In exact arithmetic W^T r stays 0 (W^T A p = 0), so nothing would ever remove its
            # rounding drift: near the attainable accuracy it grew, and the residual with it
            # (a run to rtol 1e-16 climbed to 482). So each step corrects on span(W),
            #   y = G^-1 W^T r,  x += W y,  r -= A W y,
            # and projects the direction, mu = G^-1 (AW)^T r (of the corrected r, which is
            # (AW)^T r - H y with H = (AW)^T A W): one pass over [W, AW] and one 2-column solve.
            c = deflation.stacked_T @ r
            k = deflation.k
            both = la.cho_solve(deflation.factor, c.reshape(2, k).T, check_finite=False)
            y = both[:, 0]
            mu = both[:, 1] - deflation.G_inv_H @ y
            x = x + deflation.W @ y
            r = r - deflation.AW @ y
            rr_new = float(r @ r)
            extra["p"] = r - deflation.W @ mu + (rr_new / rr) * p
        extra["rr"] = rr_new
        return LinearState(x, r, float(np.sqrt(rr_new)), state.matvecs + 1, extra)
