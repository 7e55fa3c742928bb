"""Linear least squares with a chosen condition number."""
from __future__ import annotations

import numpy as np
import param

from ...core import ProblemFactory, get_problem, register_problem
from ..regression import check_design_size
from .base import Objective

__all__ = ["LeastSquares", "LeastSquaresObjective", "least_squares"]


class LeastSquaresObjective(Objective):
    r""":math:`f(x) = \frac{1}{2n} \|A x - b\|^2`."""

    def __init__(self, A, b, x0=None, **kw):
        self.A = np.ascontiguousarray(A, dtype=float)
        self.b = np.asarray(b, dtype=float).reshape(-1)
        self.n_rows = self.A.shape[0]
        super().__init__(np.zeros(self.A.shape[1]) if x0 is None else x0, **kw)

    def value_and_grad(self, x):
        r = self.A @ x - self.b
        return 0.5 * float(r @ r) / self.n_rows, (self.A.T @ r) / self.n_rows

    def value(self, x):
        r = self.A @ x - self.b
        return 0.5 * float(r @ r) / self.n_rows

    def hvp(self, x, v):
        return self.A.T @ (self.A @ v) / self.n_rows


@register_problem("least_squares")
class LeastSquares(ProblemFactory):
    r"""Least squares ||Ax - b||^2 / (2n) with a chosen condition number.

    :math:`f(x) = \frac{1}{2n}\|Ax - b\|^2` with ``A = U diag(s) V^T``.

    Singular values are spaced geometrically so that the Hessian
    :math:`A^TA/n` has condition number ``condition`` and largest eigenvalue 1
    (with a single row or column there is one non-zero eigenvalue, 1, so the
    condition number is 1 whatever ``condition`` says; ``metadata`` reports the
    true spectrum); ``b = A x_true + noise``. ``x_star`` and ``f_star`` come from ``numpy.linalg.lstsq``.
    """

    problem_kind = "objective"
    n = param.Integer(default=200, bounds=(1, 1_000_000), doc="Rows (observations).")
    d = param.Integer(default=50, bounds=(1, 10_000), doc="Columns (unknowns).")
    condition = param.Number(default=100.0, bounds=(1.0, 1e12), doc="Condition number of A^T A (when n >= d).")
    noise = param.Number(default=0.1, bounds=(0.0, None), doc="Standard deviation of the noise in b.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def build(self):
        n, d = self.n, self.d
        # Refuse before allocating: A, its factors and lstsq's copy are each up to n x d.
        check_design_size(n, d, f"least_squares with n = {n} and d = {d}")
        rng = np.random.default_rng(self.seed)
        k = min(n, d)
        U, _ = np.linalg.qr(rng.standard_normal((n, k)))
        V, _ = np.linalg.qr(rng.standard_normal((d, k)))
        # Hessian eigenvalues s^2 / n from 1/condition to 1. A single one is 1 (the largest):
        # np.geomspace(1/condition, 1, 1) would return [1/condition], not [1].
        eig = np.geomspace(1.0 / self.condition, 1.0, k) if k > 1 else np.ones(1)
        s = np.sqrt(n * eig)[::-1]
        A = (U * s) @ V.T
        x_true = rng.standard_normal(d)
        b = A @ x_true + self.noise * rng.standard_normal(n)
        x_star = np.linalg.lstsq(A, b, rcond=None)[0]
        obj = LeastSquaresObjective(A, b, x_star=x_star, name=f"least_squares(n={n}, d={d})",
                                    properties={"smooth", "convex"} | ({"strongly_convex"} if n >= d else set()),
                                    metadata={"lambda_max": 1.0, "lambda_min": float(eig[0]) if n >= d else 0.0,
                                              "condition": float(self.condition) if k > 1 else 1.0})
        obj.f_star = obj.value(x_star)
        return obj


def least_squares(n: int = 200, d: int = 50, **kw):
    return get_problem("least_squares", n=n, d=d, **kw)
