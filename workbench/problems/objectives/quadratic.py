"""Quadratics with a chosen dimension and condition number."""
from __future__ import annotations

import numpy as np
import param

from ...core import InvalidParameter, ProblemFactory, register_problem
from .base import Objective

__all__ = ["Quadratic", "QuadraticObjective", "SpectrumQuadratic", "quadratic", "spectrum_quadratic"]

#: Above this dimension the Hessian is kept diagonal (no dense rotation).
MAX_DENSE_DIM = 2000


class QuadraticObjective(Objective):
    r""":math:`f(x) = \tfrac12 (x - x_\star)^T H (x - x_\star)` with ``H`` symmetric PSD.

    ``H`` is a dense array or a 1-D array of its diagonal.
    """

    def __init__(self, H, x_star, x0, **kw):
        H = np.asarray(H, dtype=float)
        self.H = H
        self._diagonal = H.ndim == 1
        super().__init__(x0, x_star=x_star, f_star=0.0, **kw)

    def _apply(self, v):
        return self.H * v if self._diagonal else self.H @ v

    def value_and_grad(self, x):
        g = self._apply(x - self.x_star)
        return 0.5 * float((x - self.x_star) @ g), g

    def value(self, x):
        d = x - self.x_star
        return 0.5 * float(d @ self._apply(d))

    def grad(self, x):
        return self._apply(x - self.x_star)

    def hvp(self, x, v):
        return self._apply(np.asarray(v, dtype=float))

    def hessian(self, x):
        return np.diag(self.H) if self._diagonal else self.H.copy()


@register_problem("quadratic")
class Quadratic(ProblemFactory):
    r"""Quadratic (x - x*)^T H (x - x*) / 2 with a chosen dimension and condition number.

    :math:`f(x) = \tfrac12 (x - x_\star)^T H (x - x_\star)`.

    The eigenvalues of ``H`` are spaced geometrically from
    ``lambda_max / condition`` to ``lambda_max`` (one variable: its eigenvalue is
    ``lambda_max`` and the metadata report condition 1); with ``rotate`` the
    eigenvectors are a random orthogonal basis (dense ``H``, up to
    2000 variables), otherwise ``H`` is diagonal. The minimiser is ``x_star = 0``
    and ``x0`` is a random point at distance ``distance`` from it, so
    ``D = ||x0 - x_star||`` is known exactly. GD with step ``eta`` is stable iff
    ``eta < 2 / lambda_max`` (metadata ``lambda_max``).

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.quadratic(dim=10, condition=100.0)
    >>> prob.metadata["lambda_max"], round(prob.metadata["lambda_min"], 6)
    (1.0, 0.01)
    """

    problem_kind = "objective"
    dim = param.Integer(default=10, bounds=(1, 1_000_000), doc="Number of variables.")
    condition = param.Number(default=10.0, bounds=(1.0, 1e12), doc="lambda_max / lambda_min of H.")
    lambda_max = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                              doc="Largest eigenvalue of H (the smoothness constant L).")
    distance = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                            doc="||x0 - x_star||.")
    rotate = param.Boolean(default=True, doc="Random eigenvectors (dense H); off: diagonal H.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed (rotation and x0).")

    def build(self) -> QuadraticObjective:
        d = self.dim
        if self.rotate and d > MAX_DENSE_DIM:
            raise InvalidParameter(
                f"a rotated quadratic stores a dense {d} x {d} Hessian; use rotate=False above "
                f"{MAX_DENSE_DIM} variables."
            )
        rng = np.random.default_rng(self.seed)
        lmax = self.lambda_max
        lmin = lmax / self.condition
        eig = np.geomspace(lmin, lmax, d) if d > 1 else np.array([lmax])
        if d == 1:  # the one eigenvalue is lambda_max: the metadata say so (condition 1)
            lmin = lmax
        if self.rotate and d > 1:
            Q, R = np.linalg.qr(rng.standard_normal((d, d)))
            Q *= np.sign(np.diag(R))  # Haar-distributed rotation
            H = (Q * eig) @ Q.T
            H = 0.5 * (H + H.T)
        else:
            H = eig
        u = rng.standard_normal(d)
        x0 = self.distance * u / np.linalg.norm(u)
        props = {"smooth", "convex", "quadratic"}
        if lmin > 0:
            props.add("strongly_convex")
        meta = {"lambda_max": float(lmax), "lambda_min": float(lmin),
                "condition": float(self.condition) if d > 1 else 1.0,
                "L": float(lmax), "mu": float(lmin), "distance": float(self.distance)}
        return QuadraticObjective(H, np.zeros(d), x0, name=f"quadratic(d={d}, kappa={self.condition:g})",
                                  properties=props, metadata=meta)


def quadratic(dim: int = 10, condition: float = 10.0, **kw) -> QuadraticObjective:
    """A quadratic with ``dim`` variables and condition number ``condition`` (see :class:`Quadratic`)."""
    from ...core import get_problem

    return get_problem("quadratic", dim=dim, condition=condition, **kw)


@register_problem("spectrum_quadratic")
class SpectrumQuadratic(ProblemFactory):
    r"""A rotated quadratic :math:`\tfrac12 (x - x_\star)^T B (x - x_\star)` with exactly the given eigenvalues.

    For spectra the geometric spacing of ``quadratic`` cannot make: a few outliers
    above a bulk (where polynomial preconditioning pays), clusters, zero eigenvalues
    (then only convex). The eigenvectors are a random orthogonal basis, ``x_star = 0``
    and ``x0`` a random point at ``distance``.

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.spectrum_quadratic([1e4, 3e3, 1e3] + [1.0] * 5)
    >>> prob.dim, prob.metadata["lambda_max"], prob.metadata["lambda_min"]
    (8, 10000.0, 1.0)
    """

    problem_kind = "objective"
    eigenvalues = param.List(default=[100.0, 10.0, 1.0, 1.0, 1.0], item_type=(int, float), bounds=(1, MAX_DENSE_DIM),
                             doc="The eigenvalues of B (finite, non-negative); their number is the dimension.")
    distance = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                            doc="||x0 - x_star||.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed (rotation and x0).")

    def build(self) -> QuadraticObjective:
        lam = np.asarray(self.eigenvalues, dtype=float).reshape(-1)
        if not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise InvalidParameter("eigenvalues must be finite and non-negative (B is positive semidefinite); "
                                   f"got {self.eigenvalues!r}.")
        if not np.any(lam > 0):
            raise InvalidParameter("at least one eigenvalue must be positive: B = 0 has no minimiser to find.")
        rng = np.random.default_rng(self.seed)
        n = lam.size
        Q, R = np.linalg.qr(rng.standard_normal((n, n)))
        Q *= np.sign(np.diag(R))  # Haar-distributed rotation
        H = (Q * lam) @ Q.T
        H = 0.5 * (H + H.T)  # (exactly symmetric: the product is only so up to rounding)
        u = rng.standard_normal(n)
        x0 = self.distance * u / np.linalg.norm(u)
        lmin, lmax = float(lam.min()), float(lam.max())
        props = {"smooth", "convex", "quadratic"} | ({"strongly_convex"} if lmin > 0 else set())
        meta = {"lambda_max": lmax, "lambda_min": lmin, "L": lmax, "mu": lmin,
                "condition": lmax / lmin if lmin > 0 else float("inf"), "distance": float(self.distance)}
        return QuadraticObjective(H, np.zeros(n), x0, name=f"spectrum_quadratic(d={n})", properties=props,
                                  metadata=meta)


def spectrum_quadratic(eigenvalues, **kw) -> QuadraticObjective:
    """A rotated quadratic with exactly these ``eigenvalues`` (see :class:`SpectrumQuadratic`)."""
    from ...core import get_problem

    return get_problem("spectrum_quadratic", eigenvalues=[float(v) for v in np.ravel(eigenvalues)], **kw)
