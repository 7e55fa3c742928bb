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

from ..core import InvalidParameter, OutOfRange, Problem, ProblemFactory, TooLarge, register_problem
from .linear_problem import LinearProblem

__all__ = ["LinearSequence", "ShiftedLaplacianSequence", "ShiftedLaplacianInstances", "shift_scale",
           "check_instance"]

#: Beta(a, b) parameters of the shift distributions in the reference setup.
SETTINGS = {"high": (0.5, 1.5), "low": (2.0, 6.0)}
#: The reference shifts c = -0.15 + 0.6 Beta(a, b) lie in this interval (at m = 10).
REFERENCE_SHIFTS = (-0.15, 0.45)


def check_instance(t: int, length: int) -> int:
    """``t`` if it indexes one of ``length`` instances, else :class:`~workbench.core.OutOfRange`."""
    if not 0 <= t < length:
        raise OutOfRange(f"instance {t} is outside 0..{length - 1}; ask for one of the sequence's {length} instances.")
    return t


def laplacian_min_eigenvalue(m: int) -> float:
    r"""Smallest eigenvalue :math:`8 \sin^2(\pi / (2(m + 1)))` of the 5-point Laplacian (diagonal 4), m x m grid.

    Examples
    --------
    >>> round(laplacian_min_eigenvalue(10), 4)
    0.162
    """
    return 8.0 * math.sin(math.pi / (2 * (m + 1))) ** 2


def shift_scale(m: int) -> float:
    r"""Factor :math:`s_m = \lambda_{\min}(L_m) / \lambda_{\min}(L_{10})` applied to the reference shifts.

    The reference shifts were chosen for the 10 x 10 grid, whose Laplacian has
    :math:`\lambda_{\min} = 0.162`: at :math:`c = -0.15` the systems are nearly
    singular but still positive definite. On a finer grid :math:`\lambda_{\min}`
    is smaller (0.136 at m = 11) and the same shifts would make some
    :math:`A_t` indefinite, where SOR diverges. Measuring the shift in units of
    the grid's :math:`\lambda_{\min}` keeps the reference's spread of
    conditioning, :math:`\lambda_{\min}(A_t)/\lambda_{\min}(L_m) \in [0.074, 3.78]`,
    on every grid size; :math:`s_{10} = 1` exactly.

    Examples
    --------
    >>> shift_scale(10), round(shift_scale(20), 4)
    (1.0, 0.2757)
    """
    return laplacian_min_eigenvalue(m) / laplacian_min_eigenvalue(10)


class LinearSequence(Problem):
    """A lazily generated sequence of linear systems with one context value each.

    Subclasses set ``contexts`` (array of length ``length``) and implement
    :meth:`instance`.

    Parameters
    ----------
    length : int
        Number of instances :math:`T` (``len(sequence)``).
    contexts : array_like
        The context :math:`c_t` of each instance, shape ``(T,)``.
    context_range : tuple of float
        The interval the contexts come from (contextual policies work on it).
    **kw
        Passed to :class:`~workbench.core.Problem` (``name``, ``properties``, ``metadata``).

    Examples
    --------
    >>> class Scaled(LinearSequence):
    ...     def instance(self, t):
    ...         return LinearProblem(sp.identity(4, format="csr") * (1 + self.contexts[t]), np.ones(4))
    >>> seq = Scaled(3, [0.0, 0.5, 1.0], (0.0, 1.0), name="scaled")
    >>> len(seq), seq.kind, seq.instance(2).A.diagonal()
    (3, 'sequence', array([2., 2., 2., 2.]))

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    kind = "sequence"
    #: True when the two ends of ``context_range`` are the same system (an angle): methods that
    #: order the systems by context then order them around the circle, not along the line.
    periodic = False

    def __init__(self, length: int, contexts: np.ndarray, context_range: tuple[float, float], **kw):
        super().__init__(**kw)
        self.length = int(length)
        self.contexts = np.asarray(contexts, dtype=float)
        self.context_range = context_range

    def __len__(self) -> int:
        return self.length

    def instance(self, t: int) -> LinearProblem:  # pragma: no cover - abstract
        """Instance ``t`` (0-based) as a :class:`LinearProblem` (subclasses)."""
        raise NotImplementedError


class ShiftedLaplacianInstances(LinearSequence):
    """``A_t = A + c_t I`` with ``A`` the 5-point Laplacian (diagonal 4) on an m x m grid.

    Built by :class:`ShiftedLaplacianSequence`; ``contexts[t]`` is the shift
    :math:`c_t`, ``rhs[t]`` the right-hand side and :meth:`rho_jacobi` the
    Jacobi spectral radius of instance t (in closed form).

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=5, seed=0)
    >>> A = seq.instance(2).A
    >>> bool(np.allclose((A - seq.base).diagonal(), seq.contexts[2]))
    True
    >>> J = np.eye(A.shape[0]) - A.toarray() / A.diagonal()[:, None]   # Jacobi iteration matrix
    >>> bool(np.isclose(np.abs(np.linalg.eigvals(J)).max(), seq.rho_jacobi(2)))
    True

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    def __init__(self, m: int, shifts: np.ndarray, rhs: np.ndarray, **kw):
        scale = shift_scale(m)
        super().__init__(len(shifts), shifts, (REFERENCE_SHIFTS[0] * scale, REFERENCE_SHIFTS[1] * scale), **kw)
        self.m = m
        self.base = pyamg.gallery.poisson((m, m), format="csr").astype(float)
        self.identity = sp.identity(m * m, format="csr")
        self.rhs = rhs
        # Jacobi's spectral radius of A + c I is 4 cos(pi h) / (4 + c) (same eigenvectors).
        self.base_rho_numerator = 4 * math.cos(math.pi / (m + 1))

    def rho_jacobi(self, t: int) -> float:
        r"""Jacobi spectral radius of :math:`A_t`: :math:`4 \cos(\pi/(m+1)) / (4 + c_t)`."""
        return self.base_rho_numerator / (4.0 + self.contexts[t])

    def instance(self, t: int) -> LinearProblem:
        """Instance ``t`` (0-based) as a :class:`LinearProblem` with its context in the metadata."""
        check_instance(t, self.length)
        c = float(self.contexts[t])
        A = (self.base + c * self.identity).tocsr()
        meta = {"grid": (self.m, self.m), "dim": 2, "context": c, "rho_jacobi": self.rho_jacobi(t),
                "stencil": "poisson2d_shifted"}
        props = {"symmetric", "spd", "consistently_ordered"}
        if c >= 0:
            props |= {"m_matrix", "diagonally_dominant"}
        return LinearProblem(A, self.rhs[t], name=f"{self.name}[{t}]", properties=props, metadata=meta)


#: Entries of the right-hand sides a sequence may hold (8 bytes each: 1 GiB).
MAX_RIGHT_HAND_SIDES = 2**27


@register_problem("shifted_laplacian_sequence")
class ShiftedLaplacianSequence(ProblemFactory):
    r"""The Learning-to-Relax sequence: :math:`A_t = A + c_t I`, :math:`c_t = s_m(-0.15 + 0.6\,\mathrm{Beta}(a, b))`.

    ``A`` is the 5-point Laplacian on an ``m x m`` grid (``m = 10`` gives the
    reference ``n = 100``). ``setting="high"`` uses Beta(0.5, 1.5), ``"low"``
    Beta(2, 6), ``"custom"`` the given ``alpha``, ``beta``. Right-hand sides
    are radially truncated standard Gaussians, as in the reference code's
    ``truncated_normal``: a whole vector is redrawn until ``||b_t|| <= sqrt(n)``.
    The context of instance t is ``c_t``.

    The factor :math:`s_m` (:func:`shift_scale`) is 1 on the reference grid
    m = 10; on other grids it scales the shifts with the Laplacian's smallest
    eigenvalue, so every :math:`A_t` stays positive definite (unscaled, the
    reference shifts make some systems indefinite from m = 11 on).

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", m=10, instances=100, seed=0)
    >>> len(seq), seq.instance(0).n, seq.context_range
    (100, 100, (-0.15, 0.45))

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

    may_be_inert = frozenset({"alpha", "beta"})

    def inert_params(self) -> frozenset[str]:
        """``alpha`` and ``beta`` count only for ``setting="custom"``."""
        return frozenset() if self.setting == "custom" else self.may_be_inert

    def build(self) -> ShiftedLaplacianInstances:
        """Draw the shifts and right-hand sides from ``seed`` and make the sequence."""
        a, b = SETTINGS.get(self.setting, (self.alpha, self.beta))
        if a <= 0 or b <= 0:
            raise InvalidParameter("Beta parameters must be positive.")
        rng = np.random.default_rng(self.seed)
        low, high = REFERENCE_SHIFTS
        n = self.m * self.m
        if self.instances * n > MAX_RIGHT_HAND_SIDES:
            # every right-hand side is drawn up front (the reference's order of draws)
            raise TooLarge(f"{self.instances} right-hand sides of {n} unknowns ({8 * self.instances * n / 2**30:.1f} "
                           "GiB) are too many to keep in memory; use fewer instances or a smaller grid.")
        shifts = shift_scale(self.m) * (low + (high - low) * rng.beta(a, b, size=self.instances))
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
