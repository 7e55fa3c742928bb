r"""A PDE-driven sequence: Crank-Nicolson steps of a 2-D heat equation with a time-varying diffusivity.

.. math:: u_t = a(t)\,\Delta u + f(t, x) \quad \text{on } (0,1)^2, \qquad u = 0 \text{ on the boundary},

discretised by the 5-point Laplacian :math:`L` (mesh width :math:`h = 1/(m+1)`)
and Crank-Nicolson with step :math:`\Delta t`. Step t solves

.. math::
    \Bigl(I - \tfrac{\Delta t}{2} a_{t+1/2} L\Bigr) u_{t+1}
    = \Bigl(I + \tfrac{\Delta t}{2} a_{t+1/2} L\Bigr) u_t + \Delta t\, f(t_{1/2}, x),

so the matrix changes with the diffusivity :math:`a(t) = \max(0.1\sin 2\pi t, -10\sin 2\pi t)`
(slow, weak diffusion for half a period, then a strong pulse) and the
right-hand side with the state and a forcing bump circling the centre, as in
the reference code's ``h2d.m`` / ``Heat2D.m``. The context of instance t is
:math:`a_{t+1/2}`, the diffusivity that defines :math:`A_t`; the initial guess
of instance t is the previous state :math:`u_t` (a warm start, as there).

The trajectory :math:`u_0, u_1, \dots` is computed once, exactly, with the
discrete sine transform (which diagonalises :math:`L`), so every instance is
available in any order and every policy sees the same systems.

References
----------
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax*, ICLR 2024,
section 5 and reference code ``scripts/h2d.m``, ``utils/Heat2D.m``.
"""
from __future__ import annotations

import math

import numpy as np
import param
import pyamg.gallery
import scipy.sparse as sp

from ..core import InvalidParameter, ProblemFactory, TooLarge, register_problem
from .linear_problem import LinearProblem
from .sequences import LinearSequence, check_instance

__all__ = ["HeatEquationInstances", "HeatEquationSequence", "heat_sequence"]

#: Largest trajectory kept in memory (instances x unknowns, float64: 400 MB).
MAX_TRAJECTORY = 50_000_000


def diffusivity(t):
    """The reference's diffusion coefficient ``max(0.1 sin(2 pi t), -10 sin(2 pi t))`` (>= 0)."""
    s = np.sin(2.0 * np.pi * np.asarray(t, dtype=float))
    return np.maximum(0.1 * s, -10.0 * s)


def bump(points: np.ndarray, centre, radius: float) -> np.ndarray:
    """Smooth bump ``exp(1 - 1 / (1 - min(1, |x - c|^2 / r^2)))`` (1 at the centre, 0 outside)."""
    r2 = np.minimum(1.0, np.sum((points - np.asarray(centre)) ** 2, axis=1) / radius**2)
    with np.errstate(divide="ignore"):
        return np.exp(1.0 - 1.0 / (1.0 - r2))


def forcing(t: float, points: np.ndarray) -> np.ndarray:
    """32 times a bump of radius 1/8 circling the centre eight times per time unit."""
    centre = (0.5 + math.cos(16.0 * math.pi * t) / 4.0, 0.5 + math.sin(16.0 * math.pi * t) / 4.0)
    return 32.0 * bump(points, centre, 0.125)


class HeatEquationInstances(LinearSequence):
    r"""The systems ``A_t u = b_t`` of a Crank-Nicolson heat simulation (see the module docstring).

    With :math:`P` the unscaled 5-point Laplacian (diagonal 4, :math:`L = -P/h^2`)
    and :math:`s_t = a_{t+1/2}\,\Delta t / (2h^2)`, step t is

    .. math::
        A_t = I + s_t P, \qquad b_t = (I - s_t P)\, u_t + \Delta t\, f(t_{1/2}, x),

    with initial guess :math:`u_t` and solution :math:`u_{t+1}`. Built by
    :class:`HeatEquationSequence`. The exact trajectory ``u`` (shape
    ``(T + 1, m^2)``) is computed once at construction, by the sine transform;
    ``contexts[t]`` is :math:`a_{t+1/2}`, ``s[t]`` is :math:`s_t`.

    Parameters
    ----------
    m : int
        Interior grid points per side (:math:`h = 1/(m+1)`, n = m^2 unknowns).
    steps : int
        Number of time steps T (instances).
    dt : float
        Time step :math:`\Delta t`.
    **kw
        Passed to :class:`~workbench.problems.LinearSequence` (``name``, ``properties``, ``metadata``).

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.heat_sequence(m=8, instances=20)
    >>> p = seq.instance(3)
    >>> bool(np.allclose(p.A @ seq.u[4], p.b)), bool(np.array_equal(p.x0, seq.u[3]))
    (True, True)
    >>> round(float(seq.contexts[3]), 4), bool(p.metadata["context"] == seq.contexts[3])
    (7.0711, True)
    >>> J = np.eye(p.n) - p.A.toarray() / p.A.diagonal()[:, None]   # Jacobi iteration matrix
    >>> bool(np.isclose(np.abs(np.linalg.eigvals(J)).max(), seq.rho_jacobi(3)))
    True

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024,
    section 5 and reference code ``scripts/h2d.m``, ``utils/Heat2D.m``.
    """

    def __init__(self, m: int, steps: int, dt: float, **kw):
        h = 1.0 / (m + 1)
        times = dt * (np.arange(steps) + 0.5)
        contexts = diffusivity(times)
        super().__init__(steps, contexts, (float(contexts.min()), float(contexts.max())), **kw)
        self.m, self.dt, self.h = m, dt, h
        # Unscaled 5-point Laplacian P (diagonal 4): L = -P / h^2, so A_t = I + s_t P.
        self.P = pyamg.gallery.poisson((m, m), format="csr").astype(float)
        self.P.sort_indices()
        self.s = contexts * dt / (2.0 * h * h)
        rows = np.repeat(np.arange(m * m), np.diff(self.P.indptr))
        self._diag_pos = np.flatnonzero(self.P.indices == rows)
        grid = (np.arange(m) + 1) * h
        X, Y = np.meshgrid(grid, grid, indexing="ij")
        self.points = np.column_stack([X.ravel(), Y.ravel()])
        k = np.arange(1, m + 1)
        lam1 = 2.0 - 2.0 * np.cos(np.pi * k * h)
        self.eigenvalues = lam1[:, None] + lam1[None, :]  # eigenvalues of P on the sine modes
        self.u = self._trajectory()

    def matrix(self, t: int) -> sp.csr_matrix:
        """``A_t = I + s_t P`` on the fixed 5-point pattern (explicit zeros kept when a = 0)."""
        data = self.s[t] * self.P.data
        data[self._diag_pos] += 1.0
        return sp.csr_matrix((data, self.P.indices.copy(), self.P.indptr.copy()), shape=self.P.shape)

    def rhs(self, t: int, u: np.ndarray | None = None) -> np.ndarray:
        """``b_t = (I - s_t P) u + dt f(t_{1/2}, x)``, with ``u`` the state ``u_t`` unless given."""
        u = self.u[t] if u is None else u
        return u - self.s[t] * (self.P @ u) + self.dt * forcing(self.dt * (t + 0.5), self.points)

    def solve_exact(self, t: int, b: np.ndarray) -> np.ndarray:
        """``A_t^{-1} b`` by the orthonormal DST-I, which diagonalises P."""
        from scipy.fft import dstn, idstn

        m = self.m
        B = dstn(b.reshape(m, m), type=1, norm="ortho")
        return idstn(B / (1.0 + self.s[t] * self.eigenvalues), type=1, norm="ortho").ravel()

    def _trajectory(self) -> np.ndarray:
        n, T = self.m * self.m, self.length
        if (T + 1) * n > MAX_TRAJECTORY:
            raise TooLarge(f"{T} steps of {n} unknowns are too many to keep in memory; "
                           "use fewer instances or a smaller grid.")
        u = np.empty((T + 1, n))
        u[0] = bump(self.points, (0.5, 0.5), 0.25)
        for t in range(T):
            u[t + 1] = self.solve_exact(t, self.rhs(t, u[t]))
        return u

    def rho_jacobi(self, t: int) -> float:
        r"""Jacobi spectral radius of :math:`A_t`: :math:`4 s_t \cos(\pi h) / (1 + 4 s_t)` (0 when a = 0)."""
        # Jacobi on I + s P: the off-diagonal part is s times the Laplacian's, over 1 + 4 s.
        s = self.s[t]
        return 4.0 * s * math.cos(math.pi * self.h) / (1.0 + 4.0 * s)

    def instance(self, t: int) -> LinearProblem:
        """Step ``t`` (0-based): the Crank-Nicolson system, started from the state after step t - 1."""
        check_instance(t, self.length)
        meta = {"grid": (self.m, self.m), "dim": 2, "context": float(self.contexts[t]),
                "rho_jacobi": self.rho_jacobi(t), "time": self.dt * t, "stencil": "heat2d_crank_nicolson",
                "x_exact": None}
        props = {"symmetric", "spd", "m_matrix", "diagonally_dominant", "consistently_ordered"}
        return LinearProblem(self.matrix(t), self.rhs(t), x0=self.u[t], name=f"{self.name}[{t}]",
                             properties=props, metadata=meta, x_true=self.u[t + 1])


@register_problem("heat_sequence")
class HeatEquationSequence(ProblemFactory):
    r"""Crank-Nicolson steps of a 2-D heat equation whose diffusivity pulses in time.

    ``instances`` steps of size ``stop_time / instances`` on an ``m x m``
    interior grid; the defaults (m = 24, 5000 steps to t = 5) are the smallest
    setting of the reference's heat experiment. Context: the diffusivity of the step.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.heat_sequence(m=8, instances=50)
    >>> len(seq), seq.instance(3).n
    (50, 64)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024,
    section 5 and reference code ``scripts/h2d.m``, ``utils/Heat2D.m``.
    """

    problem_kind = "sequence"
    m = param.Integer(default=24, bounds=(2, 1000), doc="Interior grid points per side (n = m^2 unknowns).")
    instances = param.Integer(default=5000, bounds=(1, 1_000_000), doc="Number of time steps T.")
    stop_time = param.Number(default=5.0, bounds=(1e-6, 1e6), doc="Simulated time; dt = stop_time / instances.")

    def build(self) -> HeatEquationInstances:
        """Make the sequence (this computes the whole trajectory)."""
        if self.instances < 1:
            raise InvalidParameter("instances must be at least 1.")
        dt = self.stop_time / self.instances
        return HeatEquationInstances(self.m, self.instances, dt,
                                     name=f"heat2d(m={self.m}, T={self.instances})", properties={"spd"},
                                     metadata={"dt": dt, "stop_time": self.stop_time})


def heat_sequence(m: int = 24, instances: int = 5000, **kw):
    """The heat-equation sequence (:class:`HeatEquationSequence`), built by name with its spec.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.heat_sequence(m=8, instances=20)
    >>> seq.instance(0).x0.shape
    (64,)
    """
    from ..core.registry import get_problem

    return get_problem("heat_sequence", m=m, instances=instances, **kw)
