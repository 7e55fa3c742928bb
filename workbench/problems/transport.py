"""Discrete optimal transport problems: two histograms and a cost matrix.

A :class:`TransportProblem` (kind ``"transport"``) asks for the plan ``P >= 0``
with row sums ``a`` and column sums ``b`` that minimises ``<P, C>``; the
entropic methods of :mod:`workbench.sparse` solve its regularised version.
Every gallery problem normalises both histograms to total mass 1 and the
cost to maximum 1, so one regularisation value means the same thing on all of
them.

Examples
--------
>>> import workbench as wb
>>> prob = wb.problems.point_clouds(n=50, seed=1)
>>> prob.a.shape, prob.C.shape, round(float(prob.C.max()), 6)
((50,), (50, 50), 1.0)
"""
from __future__ import annotations

import numpy as np
import param

from ..core import InvalidProblem, Problem, ProblemFactory, TooLarge, get_problem, register_problem
from .linear_problem import _complex

__all__ = [
    "TransportProblem", "transport_problem", "point_clouds", "histograms_1d", "histograms_2d",
    "MAX_TRANSPORT_ENTRIES",
]

#: Largest cost matrix accepted (entries); a dense 5000 x 5000 plan is 200 MB.
MAX_TRANSPORT_ENTRIES = 25_000_000


class TransportProblem(Problem):
    r"""Optimal transport between histograms ``a`` (n) and ``b`` (m) with cost ``C`` (n x m).

    .. math:: \min_{P \ge 0,\ P 1 = a,\ P^T 1 = b} \langle P, C\rangle

    Attributes
    ----------
    a, b : numpy.ndarray
        Source and target histograms, non-negative, equal total mass.
    C : numpy.ndarray
        Dense cost matrix, finite.
    x_support, y_support : numpy.ndarray or None
        Locations of the atoms (for plots), shape (n, d) and (m, d).
    """

    kind = "transport"

    def __init__(self, a, b, C, *, x_support=None, y_support=None, name="custom",
                 properties=(), metadata=None, spec=None):
        a, b, C = _validate(a, b, C)
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        self.a, self.b, self.C = a, b, C
        self.x_support = x_support
        self.y_support = y_support

    @property
    def shape(self) -> tuple[int, int]:
        return self.C.shape

    @property
    def n(self) -> int:
        return self.C.shape[0]

    def cost(self, P) -> float:
        """Transport cost ``<P, C>`` of a plan."""
        return float(np.sum(np.asarray(P) * self.C))

    def marginal_error(self, P) -> float:
        """``||P 1 - a||_1 + ||P^T 1 - b||_1``."""
        P = np.asarray(P)
        return float(np.abs(P.sum(1) - self.a).sum() + np.abs(P.sum(0) - self.b).sum())

    def describe(self) -> str:
        n, m = self.shape
        return f"{self.name}: {n} x {m} plan"


def _marginal(label, v):
    """The histogram ``v`` as a vector: a list, a 1-D array, or a single row or column."""
    if v is None:
        raise InvalidProblem(f"{label} must be a vector of nonnegative weights (a histogram), got None.")
    _refuse_complex(label, v)
    try:
        v = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise InvalidProblem(f"{label} must be a vector of nonnegative weights (a histogram) of numbers.") from None
    if v.ndim > 1 and sum(d > 1 for d in v.shape) > 1:
        raise InvalidProblem(f"{label} must be a vector of nonnegative weights, got an array of shape "
                             f"{v.shape}; give one weight per atom (a 1-D array, or one row or column).")
    return v.reshape(-1)


def _refuse_complex(label, value):
    # np.asarray(..., dtype=float) keeps only the real part of a complex array (with a
    # ComplexWarning at most), so a complex input would be solved as a different problem.
    if _complex(value):
        raise InvalidProblem(f"{label} is complex; transport masses and costs are real numbers, so give "
                             "the real data (for a complex cost, e.g. its modulus np.abs(C)).")


def _validate(a, b, C):
    a, b = _marginal("a", a), _marginal("b", b)
    _refuse_complex("C", C)
    try:
        C = np.asarray(C, dtype=float)
    except (TypeError, ValueError):
        raise InvalidProblem("a, b and C must be numeric arrays.") from None
    if C.ndim != 2:
        raise InvalidProblem(f"the cost C must be a matrix, got {C.ndim} dimension(s).")
    if C.shape != (a.size, b.size):
        raise InvalidProblem(
            f"the cost C has shape {C.shape} but the histograms have {a.size} and {b.size} "
            "entries; C must be len(a) x len(b)."
        )
    if a.size == 0 or b.size == 0:
        raise InvalidProblem("the histograms are empty; give at least one atom on each side.")
    if C.size > MAX_TRANSPORT_ENTRIES:
        raise TooLarge(
            f"a {C.shape[0]} x {C.shape[1]} plan has more than {MAX_TRANSPORT_ENTRIES} entries; "
            "use fewer atoms."
        )
    for label, v in (("a", a), ("b", b), ("C", C)):
        if not np.all(np.isfinite(v)):
            raise InvalidProblem(f"{label} contains NaN or infinite values; clean the data first.")
    if np.any(a < 0) or np.any(b < 0):
        raise InvalidProblem("histograms must be non-negative; a mass cannot be negative.")
    ma, mb = a.sum(), b.sum()
    if ma <= 0 or mb <= 0:
        raise InvalidProblem("each histogram needs positive total mass.")
    if abs(ma - mb) > 1e-9 * max(ma, mb):
        raise InvalidProblem(
            f"the histograms have different total masses ({ma:.6g} and {mb:.6g}); balanced "
            "transport needs equal masses, so normalise both to sum to 1."
        )
    if np.any(a == 0) or np.any(b == 0):
        raise InvalidProblem(
            "a histogram has empty bins; drop the atoms with zero mass (the log-domain "
            "potentials of empty bins are minus infinity)."
        )
    return a, b, C


def transport_problem(a, b, C, *, name: str = "custom") -> TransportProblem:
    """Wrap your own histograms and cost as a :class:`TransportProblem` (validated).

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> prob = wb.problems.transport_problem([0.5, 0.5], [0.25, 0.75], np.eye(2))
    >>> prob.shape
    (2, 2)
    >>> wb.problems.transport_problem([0.5, 0.5], [0.5, 0.6], np.eye(2))
    Traceback (most recent call last):
    ...
    workbench.core.errors.InvalidProblem: the histograms have different total masses (1 and 1.1); balanced transport needs equal masses, so normalise both to sum to 1.
    """
    return TransportProblem(a, b, C, name=name)


def _cost(X, Y, power: int) -> np.ndarray:
    # |x - y|^p between all pairs, p = 1 (W1) or 2 (W2), normalised to max 1.
    d2 = np.maximum((X * X).sum(1)[:, None] + (Y * Y).sum(1)[None, :] - 2 * X @ Y.T, 0.0)
    C = np.sqrt(d2) if power == 1 else d2
    return C / C.max()


class _TransportFactory(ProblemFactory):
    problem_kind = "transport"
    cost = param.Selector(default="W2", objects=["W2", "W1"],
                          doc="Ground cost: squared distance (W2) or distance (W1), scaled to max 1.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")


@register_problem("point_clouds")
class PointClouds(_TransportFactory):
    """Two random point clouds in the unit square with uniform weights.

    The source is a Gaussian blob, the target a mixture of two shifted blobs,
    so the optimal plan is a near-permutation that splits the source.
    """

    n = param.Integer(default=200, bounds=(2, 5000), doc="Points in the source cloud.")
    m = param.Integer(default=None, allow_None=True, bounds=(2, 5000),
                      doc="Points in the target cloud (default: n).")
    dim = param.Integer(default=2, bounds=(1, 10), doc="Dimension of the points.")

    def build(self) -> TransportProblem:
        rng = np.random.default_rng(self.seed)
        n, m, d = self.n, self.m or self.n, self.dim
        X = 0.35 + 0.12 * rng.standard_normal((n, d))
        half = m // 2
        Y = np.concatenate([0.7 + 0.08 * rng.standard_normal((half, d)),
                            0.25 + 0.08 * rng.standard_normal((m - half, d))])
        Y[:half, 0] -= 0.1
        a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
        return TransportProblem(a, b, _cost(X, Y, 2 if self.cost == "W2" else 1),
                                x_support=X, y_support=Y,
                                name=f"point_clouds(n={n}, m={m}, d={d}, {self.cost})",
                                metadata={"cost": self.cost, "layout": "clouds"})


def _mixture(grid: np.ndarray, centers, widths, weights) -> np.ndarray:
    h = np.zeros(grid.shape[0])
    for c, w, p in zip(centers, widths, weights):
        h += p * np.exp(-0.5 * np.sum((grid - c) ** 2, axis=1) / w**2)
    h += 1e-6 * h.max()  # no empty bins: log-domain potentials stay finite
    return h / h.sum()


@register_problem("histograms_1d")
class Histograms1D(_TransportFactory):
    """Two 1-D histograms on ``n`` bins of [0, 1]: a Gaussian mixture moved to another.

    In 1-D the W1 distance has a closed form (``scipy.stats.wasserstein_distance``),
    which the tests use as a reference.
    """

    n = param.Integer(default=200, bounds=(2, 5000), doc="Bins of each histogram.")

    def build(self) -> TransportProblem:
        rng = np.random.default_rng(self.seed)
        x = ((np.arange(self.n) + 0.5) / self.n)[:, None]
        a = _mixture(x, [[0.2 + 0.05 * rng.random()], [0.45]], [0.05, 0.08], [1.0, 0.6])
        b = _mixture(x, [[0.65 + 0.05 * rng.random()]], [0.1], [1.0])
        return TransportProblem(a, b, _cost(x, x, 2 if self.cost == "W2" else 1),
                                x_support=x, y_support=x,
                                name=f"histograms_1d(n={self.n}, {self.cost})",
                                metadata={"cost": self.cost, "layout": "1d", "bins": self.n})


@register_problem("histograms_2d")
class Histograms2D(_TransportFactory):
    """Two 2-D images on a ``side x side`` grid: one blob moved into a ring-like pair of blobs."""

    side = param.Integer(default=16, bounds=(2, 70), doc="Pixels per side (n = side^2 bins).")

    def build(self) -> TransportProblem:
        rng = np.random.default_rng(self.seed)
        s = self.side
        t = (np.arange(s) + 0.5) / s
        grid = np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, 2)
        a = _mixture(grid, [[0.3, 0.3 + 0.1 * rng.random()]], [0.12], [1.0])
        b = _mixture(grid, [[0.75, 0.3], [0.6, 0.75]], [0.08, 0.1], [0.5, 0.5])
        return TransportProblem(a, b, _cost(grid, grid, 2 if self.cost == "W2" else 1),
                                x_support=grid, y_support=grid,
                                name=f"histograms_2d(side={s}, {self.cost})",
                                metadata={"cost": self.cost, "layout": "2d", "side": s})


def point_clouds(n: int = 200, **kw) -> TransportProblem:
    """Two random point clouds (registered as ``point_clouds``)."""
    return get_problem("point_clouds", n=n, **kw)


def histograms_1d(n: int = 200, **kw) -> TransportProblem:
    """Two 1-D histograms (registered as ``histograms_1d``)."""
    return get_problem("histograms_1d", n=n, **kw)


def histograms_2d(side: int = 16, **kw) -> TransportProblem:
    """Two 2-D images (registered as ``histograms_2d``)."""
    return get_problem("histograms_2d", side=side, **kw)

