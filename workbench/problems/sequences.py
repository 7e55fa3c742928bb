"""Sequences of related linear systems ``A_t x = b_t`` (the Learning-to-Relax setting).

A sequence is a problem of kind ``"sequence"``: ``instance(t)`` returns the
t-th :class:`LinearProblem` and its scalar context. Instances are generated
lazily from a seeded stream, so ``T = 5000`` costs nothing until solved.
"""
from __future__ import annotations

import math

import numpy as np
import param
import pyamg.gallery
import scipy.sparse as sp

from ..core import InvalidParameter, Problem, ProblemFactory, register_problem
from .linear_problem import LinearProblem

__all__ = ["LinearSequence", "ShiftedLaplacianSequence"]

#: Beta(a, b) parameters of the shift distributions in the reference setup.
SETTINGS = {"high": (0.5, 1.5), "low": (2.0, 6.0)}


class LinearSequence(Problem):
    """A lazily generated sequence of linear systems with one context value each.

    Subclasses set ``contexts`` (array of length ``length``) and implement
    :meth:`instance`.
    """

    kind = "sequence"

    def __init__(self, length: int, contexts: np.ndarray, context_range: tuple[float, float], **kw):
        super().__init__(**kw)
        self.length = int(length)
        self.contexts = np.asarray(contexts, dtype=float)
        self.context_range = context_range

    def __len__(self) -> int:
        return self.length

    def instance(self, t: int) -> LinearProblem:  # pragma: no cover - abstract
        raise NotImplementedError


class ShiftedLaplacianInstances(LinearSequence):
    """``A_t = A + c_t I`` with ``A`` the 5-point Laplacian (diagonal 4) on an m x m grid."""

    def __init__(self, m: int, shifts: np.ndarray, rhs: np.ndarray, **kw):
        super().__init__(len(shifts), shifts, (-0.15, 0.45), **kw)
        self.m = m
        self.base = pyamg.gallery.poisson((m, m), format="csr").astype(float)
        self.identity = sp.identity(m * m, format="csr")
        self.rhs = rhs
        # Jacobi's spectral radius of A + c I is 4 cos(pi h) / (4 + c) (same eigenvectors).
        self.base_rho_numerator = 4 * math.cos(math.pi / (m + 1))

    def rho_jacobi(self, t: int) -> float:
        return self.base_rho_numerator / (4.0 + self.contexts[t])

    def instance(self, t: int) -> LinearProblem:
        if not 0 <= t < self.length:
            raise IndexError(f"instance {t} is outside 0..{self.length - 1}")
        c = float(self.contexts[t])
        A = (self.base + c * self.identity).tocsr()
        meta = {"grid": (self.m, self.m), "dim": 2, "context": c, "rho_jacobi": self.rho_jacobi(t),
                "stencil": "poisson2d_shifted"}
        props = {"symmetric", "spd", "consistently_ordered"}
        if c >= 0:
            props |= {"m_matrix", "diagonally_dominant"}
        return LinearProblem(A, self.rhs[t], name=f"{self.name}[{t}]", properties=props, metadata=meta)


@register_problem("shifted_laplacian_sequence")
class ShiftedLaplacianSequence(ProblemFactory):
    r"""The Learning-to-Relax sequence: ``A_t = A + c_t I``, ``c_t = -0.15 + 0.6 Beta(a, b)``.

    ``A`` is the 5-point Laplacian on an ``m x m`` grid (``m = 10`` gives the
    reference ``n = 100``). ``setting="high"`` uses Beta(0.5, 1.5), ``"low"``
    Beta(2, 6), ``"custom"`` the given ``alpha``, ``beta``. Right-hand sides
    are radially truncated standard Gaussians, as in the reference code's
    ``truncated_normal``: a whole vector is redrawn until ``||b_t|| <= sqrt(n)``.
    The context of instance t is ``c_t``.

    References
    ----------
    Khodak, Chow, Balcan, Talwalkar. *Learning to Relax: Setting Solver
    Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    problem_kind = "sequence"
    m = param.Integer(default=10, bounds=(2, 1000), doc="Grid points per side (n = m^2 unknowns).")
    setting = param.Selector(default="high", objects=["high", "low", "custom"], doc="Shift distribution.")
    alpha = param.Number(default=0.5, bounds=(1e-3, 100.0), doc="Beta's first parameter (setting='custom').")
    beta = param.Number(default=1.5, bounds=(1e-3, 100.0), doc="Beta's second parameter (setting='custom').")
    instances = param.Integer(default=5000, bounds=(1, 1_000_000), doc="Number of systems T.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of shifts and right-hand sides.")

    def build(self) -> ShiftedLaplacianInstances:
        a, b = SETTINGS.get(self.setting, (self.alpha, self.beta))
        if a <= 0 or b <= 0:
            raise InvalidParameter("Beta parameters must be positive.")
        rng = np.random.default_rng(self.seed)
        shifts = -0.15 + 0.6 * rng.beta(a, b, size=self.instances)
        n = self.m * self.m
        rhs = rng.standard_normal((self.instances, n))
        # Radial truncation by rejection (reference utils/truncated_normal.m): redraw
        # every vector whose norm exceeds sqrt(n); about half are accepted per round.
        bad = np.flatnonzero(np.linalg.norm(rhs, axis=1) > math.sqrt(n))
        while bad.size:
            rhs[bad] = rng.standard_normal((bad.size, n))
            bad = bad[np.linalg.norm(rhs[bad], axis=1) > math.sqrt(n)]
        return ShiftedLaplacianInstances(self.m, shifts, rhs,
                                         name=f"shifted_laplacian({self.setting}, m={self.m})",
                                         properties={"spd"}, metadata={"setting": self.setting, "beta": (a, b)})
