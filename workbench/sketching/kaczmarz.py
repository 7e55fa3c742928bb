r"""Randomized Kaczmarz: project onto one equation at a time, rows drawn by their norms."""
from __future__ import annotations

import numpy as np
import param

from ..core import InvalidParameter, InvalidProblem, register_method
from ..linear.base import LinearMethod, LinearState

__all__ = ["RandomizedKaczmarz"]


@register_method("randomized_kaczmarz", family="sketching")
class RandomizedKaczmarz(LinearMethod):
    r"""Randomized Kaczmarz (Strohmer & Vershynin, 2009): one row projection per step.

    Row :math:`i` is drawn with probability :math:`\|a_i\|^2 / \|A\|_F^2` (or uniformly) and
    the iterate is projected onto the hyperplane of equation :math:`i`:

    .. math::
        x_{k+1} = x_k + \frac{b_i - a_i^T x_k}{\|a_i\|^2}\, a_i .

    For a consistent system with norm-proportional sampling the expected squared error obeys
    :math:`\mathbb{E}\,\|x_k - x^*\|^2 \le (1 - \sigma_{\min}^2(A)/\|A\|_F^2)^k \|x_0 - x^*\|^2`
    (:meth:`rate_bound`). A step touches one row and the columns it meets (the residual is
    updated, not recomputed); ``matvecs`` counts the entries of A it reads over nnz(A): on
    a sparse matrix a small fraction of a matvec per step, on a dense one about one.

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> A = np.eye(20) + 0.1 * np.random.default_rng(0).standard_normal((20, 20))
    >>> res = wb.run(wb.sketching.RandomizedKaczmarz(), wb.problems.from_matrix(A, np.ones(20)),
    ...              rtol=1e-8, max_steps=20_000)
    >>> res.converged
    True

    References
    ----------
    T. Strohmer, R. Vershynin. *A randomized Kaczmarz algorithm with exponential
    convergence*. J. Fourier Anal. Appl. 15, 2009.
    """

    converges_on = ()  # (in expectation, at a rate the conditioning sets; no gallery claim)
    divergence_factor = None

    sampling = param.Selector(default="row_norms", objects=["row_norms", "uniform"],
                              doc="Row probabilities: proportional to ||a_i||^2, or uniform.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the row draws (read at the start).")

    def init_extra(self, problem, x, r):
        A = problem.A.tocsr()
        row_norms2 = np.asarray(A.multiply(A).sum(axis=1)).ravel()
        if np.any(row_norms2 == 0):
            i = int(np.flatnonzero(row_norms2 == 0)[0])
            raise InvalidProblem(f"row {i} of A is zero: no projection onto it exists; drop the equation "
                                 "(if b[i] is 0 too) or the system has no solution.")
        AT = A.T.tocsr()
        return {"A": A, "AT": AT, "Acsc": A.tocsc(), "column_nnz": np.diff(AT.indptr), "nnz": max(A.nnz, 1),
                "row_norms2": row_norms2, "rng": np.random.default_rng(self.seed), "products": 0.0}

    def rate_bound(self, problem) -> float:
        r""":math:`1 - \sigma_{\min}^2(A) / \|A\|_F^2`, the bound on the expected error's contraction
        per step (dense SVD: for small systems)."""
        if self.sampling != "row_norms":
            raise InvalidParameter("the Strohmer-Vershynin bound is proven for rows drawn by their norms; set "
                                   "sampling='row_norms' (uniform sampling has the bound of the row-scaled A).")
        if problem.n > 4000:
            from ..core import TooLarge

            raise TooLarge(f"rate_bound takes a dense SVD, too dear for {problem.n} unknowns; use it on a system "
                           "of at most 4000.")
        A = problem.A.toarray()
        sigma_min = np.linalg.svd(A, compute_uv=False)[-1]
        return float(1.0 - sigma_min ** 2 / np.sum(A * A))

    def _row(self, extra, n):
        if self.sampling == "uniform":
            return int(extra["rng"].integers(n))
        w = extra["row_norms2"]
        return int(np.searchsorted(extra.setdefault("cdf", np.cumsum(w) / w.sum()), extra["rng"].random(),
                                   side="right").clip(0, n - 1))

    def step(self, problem, state: LinearState) -> LinearState:
        extra = dict(state.extra)
        A, AT = extra["A"], extra["AT"]
        n = problem.n
        i = self._row(extra, n)
        start, end = A.indptr[i], A.indptr[i + 1]
        cols, vals = A.indices[start:end], A.data[start:end]
        t = state.r[i] / extra["row_norms2"][i]  # (r_i = b_i - a_i^T x)
        x = state.x.copy()
        x[cols] += t * vals
        # r -= t A a_i: only the rows that meet the columns of row i change
        r = state.r.copy()
        if cols.size <= 16:
            for j, v in zip(cols, vals):
                s, e = AT.indptr[j], AT.indptr[j + 1]
                r[AT.indices[s:e]] -= (t * v) * AT.data[s:e]
        else:  # (a long row: one sliced product beats a Python loop over its columns)
            r -= t * (extra["Acsc"][:, cols] @ vals)
        # Work in matvec equivalents: the entries of A this step read (row i and the columns it
        # meets) over nnz(A). On a dense A that is about one matvec per step, not 1/n.
        extra["products"] += (cols.size + extra["column_nnz"][cols].sum()) / extra["nnz"]
        return LinearState(x, r, float(np.linalg.norm(r)), 1 + extra["products"], extra)
