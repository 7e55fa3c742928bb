r"""Sparse regression problems: recover a sparse ``x`` from ``y = A x (+ noise)``.

A :class:`SparseRegressionProblem` (kind ``"sparse_regression"``) holds the
design ``A`` (m x n), the observations ``y`` and, when known, the sparse truth.
The L1 methods of :mod:`workbench.sparse` minimise the LASSO objective

.. math:: F(x) = \tfrac12\|A x - y\|_2^2 + \lambda \|x\|_1,

with :math:`\lambda` set by the method's ``l1_weight`` as a fraction of
:math:`\lambda_{max} = \|A^T y\|_\infty` (above which the solution is 0);
iterative hard thresholding constrains :math:`\|x\|_0 \le k` instead.

Examples
--------
>>> import workbench as wb
>>> prob = wb.problems.compressed_sensing(n=200, k=5, seed=0)
>>> prob.A.shape, int((prob.x_true != 0).sum())
((74, 200), 5)
"""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import InvalidParameter, InvalidProblem, Problem, ProblemFactory, TooLarge, get_problem
from ..core import register_problem
from .linear_problem import _complex

__all__ = [
    "SparseRegressionProblem", "regression_problem", "compressed_sensing", "lasso_diabetes",
    "ill_conditioned_regression", "measurements_for", "check_design_size", "MAX_DESIGN_ENTRIES",
]

#: Largest design accepted (entries): 50M float64 entries are 0.37 GiB, and building or
#: solving with a design takes a few copies of it.
MAX_DESIGN_ENTRIES = 50_000_000


def check_design_size(rows: int, cols: int, what: str, row_name: str = "n", col_name: str = "d") -> None:
    """Raise :class:`TooLarge` if a ``rows x cols`` dense matrix exceeds :data:`MAX_DESIGN_ENTRIES`.

    Call it *before* allocating: a factory asked for a huge size should refuse with a
    sentence naming the largest size allowed, not die of a MemoryError. ``row_name`` and
    ``col_name`` are the parameters that set the two dimensions (named in the sentence).
    """
    rows, cols = int(rows), int(cols)
    entries = rows * cols  # Python integers: no overflow
    if entries <= MAX_DESIGN_ENTRIES:
        return
    hints = []
    if MAX_DESIGN_ENTRIES // cols >= 1:
        hints.append(f"{row_name} <= {MAX_DESIGN_ENTRIES // cols:,} at {col_name} = {cols}")
    if MAX_DESIGN_ENTRIES // rows >= 1:
        hints.append(f"{col_name} <= {MAX_DESIGN_ENTRIES // rows:,} at {row_name} = {rows}")
    advice = "use " + ", or ".join(hints) if hints else f"lower both {row_name} and {col_name}"
    raise TooLarge(f"{what} would store a {rows:,} x {cols:,} matrix ({entries:,} entries, "
                   f"{8 * entries / 2**30:.1f} GiB), over the limit of {MAX_DESIGN_ENTRIES:,} entries; "
                   f"{advice}.")


def measurements_for(n: int, k: int) -> int:
    """``m = ceil(4 k log(n / k))`` Gaussian measurements, enough to recover a k-sparse x."""
    return max(1, math.ceil(4 * k * math.log(n / k)))


class SparseRegressionProblem(Problem):
    """Least squares with a sparsity prior: design ``A``, observations ``y``, optional truth.

    Attributes
    ----------
    A : numpy.ndarray
        Dense design matrix, m x n.
    y : numpy.ndarray
        Observations, length m.
    x_true : numpy.ndarray or None
        The sparse vector that generated ``y`` (compressed sensing), if known. With it the
        methods report ``distance``, ``relative_error`` (``distance / ||x_true||``),
        ``support_recovered`` and ``false_positives``; an all-zero ``x_true`` has no relative
        error, so ``relative_error`` is left out then (``distance`` is the absolute error).
    x0 : numpy.ndarray
        Starting point (zeros).
    """

    kind = "sparse_regression"

    def __init__(self, A, y, *, x_true=None, name="custom", properties=(), metadata=None, spec=None):
        # Converting a complex array to float keeps only the real part (with a mere warning):
        # a purely imaginary A would pass as "all zeros". Refuse complex data instead.
        for label, value in (("A", A), ("y", y), ("x_true", x_true)):
            if value is not None and _complex(value):
                raise InvalidProblem(f"{label} is complex; the workbench fits real regressions (for a real x, "
                                     "stack the real and imaginary parts: A = [Re A; Im A], y = [Re y; Im y]).")
        try:
            A = np.asarray(A, dtype=float)
            y = np.asarray(y, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidProblem("A and y must be numeric arrays.") from None
        if A.ndim != 2:
            raise InvalidProblem(f"A must be a matrix, got {A.ndim} dimension(s).")
        if A.shape[0] != y.size:
            raise InvalidProblem(f"A has {A.shape[0]} rows but y has {y.size} entries; they must match.")
        if A.size == 0:
            raise InvalidProblem("A is empty; give at least one measurement and one unknown.")
        check_design_size(A.shape[0], A.shape[1], "this design", "rows", "columns")
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(y))):
            raise InvalidProblem("A or y contains NaN or infinite values; clean the data first.")
        if not np.any(A):
            # Every gradient step would divide by ||A||^2 = 0, and y says nothing about x.
            raise InvalidProblem("A is all zeros, so the measurements y carry no information about x; "
                                 "give a design with at least one non-zero entry.")
        if x_true is not None:
            try:
                x_true = np.asarray(x_true, dtype=float).reshape(-1)
            except (TypeError, ValueError):
                raise InvalidProblem("x_true must be a numeric vector.") from None
            if x_true.size != A.shape[1]:
                raise InvalidProblem(f"x_true has {x_true.size} entries but A has {A.shape[1]} columns; they "
                                     "must match.")
            if not np.all(np.isfinite(x_true)):
                raise InvalidProblem("x_true contains NaN or infinite values; give the finite vector that "
                                     "generated y, or leave x_true out (None) if it is not known.")
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        self.A, self.y = A, y
        self.x_true = x_true
        self.x0 = np.zeros(A.shape[1])
        self.Aty = A.T @ y
        self.lambda_max = float(np.abs(self.Aty).max())
        self._lipschitz = None
        self._gram = None
        self._references: dict[float, tuple[np.ndarray, float]] = {}

    @property
    def n(self) -> int:
        return self.A.shape[1]

    @property
    def m(self) -> int:
        return self.A.shape[0]

    @property
    def lipschitz(self) -> float:
        """``||A||_2^2``, the Lipschitz constant of the least-squares gradient."""
        if self._lipschitz is None:
            self._lipschitz = float(np.linalg.norm(self.A, 2) ** 2)
        return self._lipschitz

    @property
    def gram(self) -> np.ndarray:
        """``A^T A`` (computed once; coordinate descent updates the gradient with its columns)."""
        if self._gram is None:
            if self.n > 6000:
                raise TooLarge(f"the Gram matrix of {self.n} unknowns is too large; use fewer columns.")
            self._gram = self.A.T @ self.A
        return self._gram

    def objective(self, x, lam: float) -> float:
        r = self.A @ x - self.y
        return float(0.5 * r @ r + lam * np.abs(x).sum())

    def lasso_reference(self, lam: float) -> tuple[np.ndarray | None, float | None]:
        """The exact LASSO minimiser and value for ``lam`` (cached); ``(None, None)`` if not found.

        An active-set method from ``x = 0`` solves the sign-fixed normal equations
        :math:`A_S^T A_S x_S = A_S^T y - \\lambda s` on a growing support (adding
        the worst optimality violator, dropping coordinates whose sign flips);
        if that does not reach the optimality conditions, the exact LARS-lasso
        path (``sklearn.linear_model.lars_path``) gives the start instead.
        """
        lam = float(lam)
        if lam in self._references:
            return self._references[lam]
        if lam >= self.lambda_max:
            x = np.zeros(self.n)
            self._references[lam] = (x, self.objective(x, lam))
            return self._references[lam]
        elif lam == 0.0:  # plain least squares (minimum-norm solution)
            x = np.linalg.lstsq(self.A, self.y, rcond=None)[0]
        else:
            # Active set from x = 0 (cheap when the solution is sparse) ...
            x = self._polish(np.zeros(self.n), lam, rounds=min(4 * self.n, 400))
            if self._kkt_violation(x, lam) > 1e-12 * max(self.lambda_max, 1.0):
                # ... else the exact LARS-lasso path, then the same refinement.
                from sklearn.linear_model import lars_path

                _, _, coefs = lars_path(self.A, self.y, alpha_min=lam / self.m, method="lasso",
                                        max_iter=4 * self.n)
                x = self._polish(coefs[:, -1].copy(), lam)
        value = self.objective(x, lam)
        # Trust the reference only if it satisfies the optimality conditions.
        if self._kkt_violation(x, lam) > 1e-9 * max(self.lambda_max, 1.0):
            x, value = None, None
        self._references[lam] = (x, value)
        return x, value

    def _kkt_violation(self, x, lam: float) -> float:
        """Largest violation of the LASSO optimality conditions at ``x``."""
        g = self.Aty - self.A.T @ (self.A @ x)
        on = x != 0
        return max(float(np.abs(g[on] - lam * np.sign(x[on])).max(initial=0.0)),
                   float((np.abs(g[~on]) - lam).max(initial=0.0)))

    def _polish(self, x, lam: float, rounds: int = 10) -> np.ndarray:
        """Active-set refinement of an approximate LASSO solution to round-off accuracy.

        Solve the sign-fixed normal equations on the support; add the worst KKT
        violator or drop coordinates whose sign flipped; keep a change only when
        it lowers the objective.
        """
        best, best_value = x, self.objective(x, lam)
        support = set(np.flatnonzero(x).tolist())
        signs = {j: float(np.sign(x[j])) for j in support}
        for _ in range(rounds):
            idx = np.array(sorted(support), dtype=int)
            cand = np.zeros(self.n)
            if idx.size:
                As = self.A[:, idx]
                s = np.array([signs[j] for j in idx])
                try:
                    cand[idx] = np.linalg.solve(As.T @ As, self.Aty[idx] - lam * s)
                except np.linalg.LinAlgError:
                    cand[idx] = np.linalg.lstsq(As.T @ As, self.Aty[idx] - lam * s, rcond=None)[0]
                flipped = idx[np.sign(cand[idx]) != s]
                if flipped.size:
                    for j in flipped:
                        support.discard(int(j))
                    continue
            value = self.objective(cand, lam)
            if value <= best_value:
                best, best_value = cand, value
            g = self.Aty - self.A.T @ (self.A @ cand)
            viol = np.abs(g) - lam * (1 + 1e-10)
            viol[idx] = -np.inf
            j = int(np.argmax(viol))
            if viol[j] <= 0:
                break
            support.add(j)
            signs[j] = float(np.sign(g[j]))
        return best

    def describe(self) -> str:
        return f"{self.name}: {self.m} measurements, {self.n} unknowns"


def regression_problem(A, y, x_true=None, *, name: str = "custom") -> SparseRegressionProblem:
    """Wrap your own design and observations (validated)."""
    return SparseRegressionProblem(A, y, x_true=x_true, name=name)


class _RegressionFactory(ProblemFactory):
    problem_kind = "sparse_regression"
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")


@register_problem("compressed_sensing")
class CompressedSensing(_RegressionFactory):
    """A k-sparse signal seen through ``m`` Gaussian measurements, ``y = A x + noise``.

    ``A`` has N(0, 1/m) entries (columns of unit norm on average); the default
    ``m = ceil(4 k log(n / k))`` is the classic sufficient number of measurements.
    Non-zeros have random signs and magnitudes in [1, 2].
    """

    n = param.Integer(default=256, bounds=(2, 20_000), doc="Unknowns.")
    k = param.Integer(default=8, bounds=(1, None), doc="Non-zeros in the true signal.")
    m = param.Integer(default=None, allow_None=True, bounds=(1, 20_000),
                      doc="Measurements (default 4 k log(n / k)).")
    noise = param.Number(default=0.0, bounds=(0.0, None), doc="Standard deviation of the noise.")

    def build(self) -> SparseRegressionProblem:
        n, k = self.n, self.k
        if k > n:
            raise InvalidParameter(f"k = {k} non-zeros do not fit in n = {n} unknowns; choose k <= n.")
        m = self.m or measurements_for(n, k)
        if m * n > MAX_DESIGN_ENTRIES:  # refuse before allocating the m x n design
            default = "" if self.m else f" (the default for k = {k})"
            raise TooLarge(f"compressed_sensing with n = {n} and m = {m} measurements{default} would store a "
                           f"{m:,} x {n:,} design ({m * n:,} entries, {8 * m * n / 2**30:.1f} GiB), over the limit "
                           f"of {MAX_DESIGN_ENTRIES:,} entries; with n = {n} give m <= {MAX_DESIGN_ENTRIES // n:,}"
                           f"{' (or a smaller k)' if not self.m else ''}, or use fewer unknowns.")
        rng = np.random.default_rng(self.seed)
        A = rng.standard_normal((m, n)) / math.sqrt(m)
        x = np.zeros(n)
        support = np.sort(rng.choice(n, size=k, replace=False))
        x[support] = rng.choice([-1.0, 1.0], size=k) * (1 + rng.random(k))
        y = A @ x + self.noise * rng.standard_normal(m)
        return SparseRegressionProblem(A, y, x_true=x, name=f"compressed_sensing(n={n}, k={k}, m={m})",
                                       properties={"sparse_truth"},
                                       metadata={"k": k, "support": support.tolist(), "noise": self.noise})


@register_problem("lasso_diabetes")
class LassoDiabetes(_RegressionFactory):
    """scikit-learn's bundled diabetes data (442 patients, 10 features), standardised.

    Columns are centred and scaled to unit norm and the target is centred, so
    no intercept is needed.
    """

    def build(self) -> SparseRegressionProblem:
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        X = X - X.mean(axis=0)
        X = X / np.linalg.norm(X, axis=0)
        y = (y - y.mean()) / y.std()
        return SparseRegressionProblem(X, y, name="lasso_diabetes", metadata={"features": 10})


@register_problem("ill_conditioned_regression")
class IllConditionedRegression(_RegressionFactory):
    r"""A square regression whose spectrum makes the first-order rates visible.

    :math:`A = \mathrm{diag}(\sigma)\,V^T` with a random orthogonal ``V`` and
    :math:`\sigma_i^2` log-spaced in ``[1/condition, 1]`` (so ``L = 1``). The
    least-squares solution has coordinates :math:`\pm 1/\sqrt n` in the ``V``
    basis, so the initial gap is spread evenly over the spectrum,
    :math:`\tfrac12\sum_i \sigma_i^2 z_i^2 \approx \int_0^1 d\lambda`. On such a
    problem gradient descent's gap decays like 1/k (until k ~ condition) and
    an accelerated method's like 1/k^2 (until k ~ sqrt(condition)): the
    worst-case rates of ISTA and FISTA.
    """

    n = param.Integer(default=300, bounds=(2, 3000), doc="Unknowns (= measurements).")
    condition = param.Number(default=1e6, bounds=(1.0, 1e12), doc="Condition number of A^T A.")

    def build(self) -> SparseRegressionProblem:
        n = self.n
        rng = np.random.default_rng(self.seed)
        V, _ = np.linalg.qr(rng.standard_normal((n, n)))
        sigma = np.sqrt(np.logspace(-math.log10(self.condition), 0.0, n))
        A = sigma[:, None] * V.T
        z = rng.choice([-1.0, 1.0], size=n) / math.sqrt(n)
        y = A @ (V @ z)
        return SparseRegressionProblem(A, y, name=f"ill_conditioned_regression(n={n})",
                                       metadata={"condition": float(self.condition)})


def compressed_sensing(n: int = 256, k: int = 8, **kw) -> SparseRegressionProblem:
    """A compressed-sensing instance (registered as ``compressed_sensing``)."""
    return get_problem("compressed_sensing", n=n, k=k, **kw)


def lasso_diabetes(**kw) -> SparseRegressionProblem:
    """LASSO on scikit-learn's diabetes data (registered as ``lasso_diabetes``)."""
    return get_problem("lasso_diabetes", **kw)


def ill_conditioned_regression(n: int = 300, **kw) -> SparseRegressionProblem:
    """A regression with a uniform spectrum of condition n (``ill_conditioned_regression``)."""
    return get_problem("ill_conditioned_regression", n=n, **kw)
