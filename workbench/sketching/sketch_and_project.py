r"""Sketch-and-project: project onto the solutions of a random block of combined equations."""
from __future__ import annotations

import numpy as np
import param
import scipy.linalg as la
import scipy.sparse as sp

from ..core import InvalidParameter, register_method
from ..linear.base import LinearMethod, LinearState

__all__ = ["SketchAndProject", "draw_sketch", "project_onto_sketch"]


def draw_sketch(rng, n: int, q: int, kind: str = "gaussian", sparsity: int = 3):
    """An ``n x q`` sketch: Gaussian (dense), ``rows`` of the identity, or ``sparse`` +-1 columns."""
    if kind == "gaussian":
        return rng.standard_normal((n, q))
    if kind == "rows":
        rows = rng.choice(n, size=q, replace=False)
        return sp.csr_matrix((np.ones(q), (rows, np.arange(q))), shape=(n, q))
    rows = np.concatenate([rng.choice(n, size=sparsity, replace=False) for _ in range(q)])
    signs = rng.choice([-1.0, 1.0], size=q * sparsity)
    return sp.csr_matrix((signs, (rows, np.repeat(np.arange(q), sparsity))), shape=(n, q))


def project_onto_sketch(ATS, Str) -> np.ndarray:
    r"""The step :math:`A^T S (S^T A A^T S)^\dagger S^T r` from ``ATS`` :math:`= A^T S` and ``Str``.

    The minimum-norm solution of :math:`(S^T A)\, dx = S^T r`; ``lstsq`` on :math:`S^T A` (an SVD)
    gets it without forming :math:`S^T A A^T S`, whose condition number is the square of
    A's (on cond(A) = 1e5 the Gram form left 2e-3 of the sketched residual, this leaves 1e-12).
    """
    ATS = ATS.toarray() if sp.issparse(ATS) else np.asarray(ATS)
    dx, *_ = la.lstsq(ATS.T, np.asarray(Str).ravel())
    return dx


@register_method("sketch_and_project", family="sketching")
class SketchAndProject(LinearMethod):
    r"""Sketch-and-project (Gower & Richtárik, 2015) with Gaussian or sparse sketches.

    Each step draws a sketch :math:`S \in \mathbb{R}^{n \times q}` and projects the iterate
    onto the solutions of :math:`S^T A x = S^T b` (in the Euclidean norm):

    .. math::
        x_{k+1} = x_k + A^T S \left(S^T A A^T S\right)^{\dagger} S^T (b - A x_k).

    ``sketch="gaussian"``: i.i.d. normal entries; ``"sparse"``: ``sparsity`` nonzero
    :math:`\pm 1` entries per column at random rows (a cheap sketch with the same expected
    rate when ``sparsity`` is large enough); ``"rows"``: ``q`` distinct rows of the identity,
    block Kaczmarz. A larger ``sketch_size`` q means fewer, dearer steps: the error contracts
    in expectation by :math:`1 - \lambda_{\min}^{+}(\mathbb{E}[Z])` per step, with
    :math:`Z = A^T S (S^T A A^T S)^\dagger S^T A` the projection the step applies.
    ``matvecs`` counts the work in products with A: ``q`` per step for forming :math:`A^T S`
    with a Gaussian sketch (``q s / n`` for a sparse one), plus one.

    ``sketch_size=None`` (the default) is :math:`q = \min(10, n)`, so the default runs on any
    system; a number larger than the ``n`` equations is refused, at :meth:`init` and, mid-run,
    at the assignment (the run goes on with the old value), as is ``sparsity > n`` with the
    sparse sketch.

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> A = np.eye(40) + 0.05 * np.random.default_rng(0).standard_normal((40, 40))
    >>> one = wb.run(wb.sketching.SketchAndProject(sketch_size=1), wb.problems.from_matrix(A, np.ones(40)),
    ...              rtol=1e-8, max_steps=5000)
    >>> eight = wb.run(wb.sketching.SketchAndProject(sketch_size=8), wb.problems.from_matrix(A, np.ones(40)),
    ...                rtol=1e-8, max_steps=5000)
    >>> eight.converged, eight.iterations < one.iterations / 5
    (True, True)

    References
    ----------
    R. M. Gower, P. Richtárik. *Randomized iterative methods for linear systems*. SIAM J.
    Matrix Anal. Appl. 36(4), 2015.
    """

    converges_on = ()  # (in expectation, at a rate the conditioning and q set; no gallery claim)
    divergence_factor = None

    sketch = param.Selector(default="gaussian", objects=["gaussian", "sparse", "rows"],
                            doc="Sketch distribution: Gaussian, sparse +-1, or rows of the identity (block Kaczmarz).")
    sketch_size = param.Integer(default=None, bounds=(1, 100_000), allow_None=True,
                                doc="Columns q of the sketch S; None: 10, or the number of equations if fewer.")
    sparsity = param.Integer(default=3, bounds=(1, 100_000), doc="Nonzeros per sketch column (sketch='sparse').")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the sketches (read at the start).")

    may_be_inert = frozenset({"sparsity"})

    #: The number of equations of the problem of the last :meth:`init` (None before one): a
    #: ``sketch_size``, ``sparsity`` or ``sketch`` moved mid-run is checked against it.
    _problem_n = None

    def sketch_columns(self, n: int) -> int:
        """The q a step on ``n`` equations uses: ``sketch_size``, or ``min(10, n)`` when it is None."""
        q = self._proposed("sketch_size")
        return min(10, n) if q is None else int(q)

    def inert_params(self) -> frozenset[str]:
        """``sparsity`` counts only for the sparse sketch."""
        return frozenset() if self.sketch == "sparse" else self.may_be_inert

    def init_extra(self, problem, x, r):
        self._check_size(problem.n)
        self._problem_n = problem.n
        return {"AT": problem.A.T.tocsr(), "rng": np.random.default_rng(self.seed), "products": 0.0}

    def _check_setting(self, name, value):
        # A sketch moved mid-run past the system's size is refused now, as init refuses it, so the
        # run goes on with the old setting instead of failing at its next step.
        super()._check_setting(name, value)
        if name in ("sketch_size", "sparsity", "sketch") and self._problem_n is not None:
            self._check_size(self._problem_n)

    def _check_size(self, n: int) -> None:
        # (through _proposed: in an assignment being checked, the value it proposes)
        q, sparsity = self._proposed("sketch_size"), self._proposed("sparsity")
        if q is not None and q > n:
            raise InvalidParameter(f"sketch_size = {q} exceeds the {n} equations; give at most {n} "
                                   "(or None: min(10, n)).")
        if self._proposed("sketch") == "sparse" and sparsity > n:
            raise InvalidParameter(f"sparsity = {sparsity} exceeds the {n} rows a sketch column has; give at "
                                   f"most {n}.")

    def _sketch(self, rng, n: int, q: int):
        return draw_sketch(rng, n, q, self.sketch, self.sparsity)

    def step(self, problem, state: LinearState) -> LinearState:
        n = problem.n
        self._check_size(n)  # (assignments are checked against the last init's n; this guards the rest)
        q = self.sketch_columns(n)
        extra = dict(state.extra)
        S = self._sketch(extra["rng"], n, q)
        dx = project_onto_sketch(extra["AT"] @ S, S.T @ state.r)
        x = state.x + dx
        r = state.r - problem.A @ dx
        # Work in matvec equivalents: A^T S is q products for a dense S; for a sparse one each of
        # its nonzeros reads one row of A, 1/n of a product. Then A dx, one product.
        nonzeros = q * (self.sparsity if self.sketch == "sparse" else 1)
        extra["products"] += (q if self.sketch == "gaussian" else nonzeros / n) + 1
        return LinearState(x, r, float(np.linalg.norm(r)), 1 + extra["products"], extra)
