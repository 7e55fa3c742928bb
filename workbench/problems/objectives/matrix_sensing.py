"""Low-rank matrix sensing with a factorised (Burer-Monteiro) parametrisation."""
from __future__ import annotations

import numpy as np
import param

from ...core import InvalidParameter, ProblemFactory, TooLarge, get_problem, register_problem
from ..regression import MAX_DESIGN_ENTRIES
from .base import Objective

__all__ = ["MatrixSensing", "MatrixSensingObjective", "matrix_sensing"]


class MatrixSensingObjective(Objective):
    r"""Matrix sensing in factored form.

    Symmetric: :math:`f(U) = \frac{1}{2m}\sum_i (\langle A_i, U U^T\rangle - y_i)^2`.
    Asymmetric: :math:`f(U, V) = \frac{1}{2m}\sum_i (\langle A_i, U V^T\rangle - y_i)^2`.
    ``x`` stacks ``U`` (and ``V``) row-major. ``extra_metrics`` reports
    ``recovery_error`` :math:`\|X - X_\star\|_F / \|X_\star\|_F`.
    """

    def __init__(self, sensing, y, X_star, n, k, symmetric, x0, **kw):
        self.sensing = sensing              # (m, n*n), row i = vec(A_i)
        self.y = y
        self.X_star = X_star
        self.n, self.k, self.symmetric = n, k, symmetric
        self.m = sensing.shape[0]
        self._xs_norm = float(np.linalg.norm(X_star))
        blocks = [("U", (n, k))] if symmetric else [("U", (n, k)), ("V", (n, k))]
        super().__init__(x0, blocks=blocks, **kw)

    def _factors(self, x):
        nk = self.n * self.k
        U = x[:nk].reshape(self.n, self.k)
        V = U if self.symmetric else x[nk:].reshape(self.n, self.k)
        return U, V

    def product(self, x):
        U, V = self._factors(x)
        return U @ V.T

    def value_and_grad(self, x):
        U, V = self._factors(x)
        r = self.sensing @ (U @ V.T).reshape(-1) - self.y
        f = 0.5 * float(r @ r) / self.m
        M = (self.sensing.T @ r).reshape(self.n, self.n) / self.m
        if self.symmetric:
            g = ((M + M.T) @ U).reshape(-1)
        else:
            g = np.concatenate([(M @ V).reshape(-1), (M.T @ U).reshape(-1)])
        return f, g

    def hvp(self, x, v):
        # Directional derivative of the gradient: the residual changes by
        # A(dX) with dX = dU V^T + U dV^T, and M by A^T A(dX) / m.
        U, V = self._factors(x)
        dU, dV = self._factors(np.asarray(v, dtype=float))
        r = self.sensing @ (U @ V.T).reshape(-1) - self.y
        M = (self.sensing.T @ r).reshape(self.n, self.n) / self.m
        dX = dU @ V.T + U @ dV.T
        dM = (self.sensing.T @ (self.sensing @ dX.reshape(-1))).reshape(self.n, self.n) / self.m
        if self.symmetric:
            return ((dM + dM.T) @ U + (M + M.T) @ dU).reshape(-1)
        return np.concatenate([(dM @ V + M @ dV).reshape(-1), (dM.T @ U + M.T @ dU).reshape(-1)])

    def extra_metrics(self, x):
        return {"recovery_error": float(np.linalg.norm(self.product(x) - self.X_star)) / self._xs_norm}


@register_problem("matrix_sensing")
class MatrixSensing(ProblemFactory):
    r"""Matrix sensing: recover a low-rank n x n matrix from Gaussian linear measurements.

    The unknown is factored as :math:`X = U U^T` (``symmetric``) or :math:`X = U V^T`
    with ``k`` columns (``k > rank`` over-parametrises). Small ``init_scale``
    gives the "incremental learning" regime of GD; large gives the lazy regime.
    With ``k >= rank``, ``f_star = 0`` (attained by the true factors); ``x_star`` is
    not unique and is left ``None``. With ``k < rank`` (under-parametrised) the true
    matrix is out of reach and the best rank-``k`` fit of the measurements has no
    closed form, so ``f_star`` is ``None`` (unknown), not 0.

    The measurement operator is stored densely, ``measurements x n^2`` entries, at
    most 50 million (see ``workbench.problems.regression.MAX_DESIGN_ENTRIES``).
    """

    problem_kind = "objective"
    n = param.Integer(default=20, bounds=(2, 200), doc="Matrix size n (X is n x n).")
    rank = param.Integer(default=2, bounds=(1, None), doc="Rank of the true matrix.")
    k = param.Integer(default=None, allow_None=True, bounds=(1, None), doc="Factor width (default: rank).")
    measurements = param.Integer(default=None, allow_None=True, bounds=(1, None),
                                 doc="Number of measurements m (default 5 n rank).")
    symmetric = param.Boolean(default=True, doc="X = U U^T (PSD) or X = U V^T.")
    init_scale = param.Number(default=1e-2, bounds=(0.0, None), doc="Standard deviation of the initial factors.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def build(self):
        n, r = self.n, self.rank
        if r > n:
            raise InvalidParameter(f"rank {r} exceeds the matrix size {n}; choose rank <= n.")
        k = self.k or r
        m = self.measurements or 5 * n * r
        # Refuse before allocating the m x n^2 sensing operator (building it takes two copies).
        if m * n * n > MAX_DESIGN_ENTRIES:
            most_m = MAX_DESIGN_ENTRIES // (n * n)
            hint = ""
            if not self.measurements:
                most_rank = MAX_DESIGN_ENTRIES // (5 * n ** 3)
                hint = (f" (the default 5 n rank = {m} measurements allows rank <= {most_rank} at n = {n})"
                        if most_rank >= 1 else " (the default 5 n rank is over it even at rank 1)")
            raise TooLarge(f"matrix_sensing with n = {n} and {m:,} measurements would store a {m:,} x {n * n:,} "
                           f"sensing operator ({m * n * n:,} entries, {8 * m * n * n / 2**30:.1f} GiB), over the "
                           f"limit of {MAX_DESIGN_ENTRIES:,} entries; with n = {n} give measurements <= {most_m:,}"
                           f"{hint}, or use a smaller n.")
        rng = np.random.default_rng(self.seed)
        Us = rng.standard_normal((n, r)) / np.sqrt(n)
        X_star = Us @ Us.T if self.symmetric else Us @ (rng.standard_normal((n, r)) / np.sqrt(n)).T
        S = rng.standard_normal((m, n, n))
        if self.symmetric:
            S = 0.5 * (S + S.transpose(0, 2, 1))
        S = S.reshape(m, n * n)
        y = S @ X_star.reshape(-1)
        size = n * k * (1 if self.symmetric else 2)
        x0 = self.init_scale * rng.standard_normal(size)
        kind = "symmetric" if self.symmetric else "asymmetric"
        # f_star = 0 only when the factors can represent X_star (k >= rank); below that the
        # best rank-k fit is a nonconvex problem without a closed form, so it is left unknown.
        f_star = 0.0 if k >= r else None
        return MatrixSensingObjective(S, y, X_star, n, k, self.symmetric, x0, f_star=f_star,
                                      name=f"matrix_sensing({kind}, n={n}, rank={r}, k={k})",
                                      properties={"smooth", "nonconvex"},
                                      metadata={"rank": r, "k": k, "measurements": m, "n": n})


def matrix_sensing(n: int = 20, rank: int = 2, **kw):
    return get_problem("matrix_sensing", n=n, rank=rank, **kw)
