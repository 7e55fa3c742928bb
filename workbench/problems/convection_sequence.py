r"""A sequence of convection-diffusion problems whose wind turns: related non-symmetric systems.

Each system discretises :math:`-\Delta u + w_t \cdot \nabla u = f_t` on the unit square
with first-order upwinding, the wind :math:`w_t = |w| (\cos\theta_t, \sin\theta_t)` at a
random angle. The matrices are non-symmetric M-matrices; their slow eigenvectors turn
with the wind, so a Krylov space recycled from one solve suits systems with a nearby
angle best (Wang et al., 2024, for GCRO-DR).
"""
from __future__ import annotations

import math

import numpy as np
import param
import scipy.sparse as sp

from ..core import ProblemFactory, TooLarge, register_problem
from .linear_problem import LinearProblem
from .sequences import MAX_RIGHT_HAND_SIDES, LinearSequence, check_instance

__all__ = ["ConvectionDiffusionInstances", "ConvectionDiffusionSequence", "convection_diffusion_sequence",
           "upwind_convection_diffusion"]


def upwind_convection_diffusion(m: int, peclet: float, angle: float) -> sp.csr_matrix:
    r"""The ``m^2 x m^2`` upwind matrix of :math:`-\Delta u + w\cdot\nabla u`, mesh Peclet ``peclet``.

    Along each axis the 1-D operator is the diffusion stencil :math:`[-1, 2, -1]` plus
    :math:`2 p_a` times the one-sided difference taken against the wind component
    :math:`p_a` (``peclet`` times the cosine or sine of ``angle``), which keeps the matrix an
    M-matrix for any wind.
    """
    def axis(p):
        main = np.full(m, 2.0 + 2.0 * abs(p))
        lower = np.full(m - 1, -1.0 - (2.0 * p if p > 0 else 0.0))
        upper = np.full(m - 1, -1.0 + (2.0 * p if p < 0 else 0.0))
        return sp.diags([lower, main, upper], [-1, 0, 1], format="csr")

    eye = sp.identity(m, format="csr")
    A = sp.kron(eye, axis(peclet * math.cos(angle))) + sp.kron(axis(peclet * math.sin(angle)), eye)
    return A.tocsr()


class ConvectionDiffusionInstances(LinearSequence):
    """``A_t`` of the turning wind; ``contexts[t]`` is the wind angle in ``[0, 2 pi)``."""

    periodic = True  # (the wind angle: 0 and 2 pi are the same wind)

    def __init__(self, m: int, peclet: float, angles: np.ndarray, rhs: np.ndarray, **kw):
        super().__init__(len(angles), angles, (0.0, 2.0 * math.pi), **kw)
        self.m, self.peclet, self.rhs = m, peclet, rhs

    def matrix(self, t: int) -> sp.csr_matrix:
        check_instance(t, self.length)
        return upwind_convection_diffusion(self.m, self.peclet, float(self.contexts[t]))

    def instance(self, t: int) -> LinearProblem:
        """Instance ``t`` (0-based), non-symmetric, its wind angle in the metadata."""
        meta = {"grid": (self.m, self.m), "dim": 2, "context": float(self.contexts[t]), "peclet": self.peclet}
        return LinearProblem(self.matrix(t), self.rhs[t], name=f"{self.name}[{t}]",
                             properties={"m_matrix"}, metadata=meta)


@register_problem("convection_diffusion_sequence")
class ConvectionDiffusionSequence(ProblemFactory):
    r"""Upwind convection-diffusion on an ``m x m`` grid, the wind at a random angle per system.

    The angles are uniform on :math:`[0, 2\pi)` in the order drawn, the mesh Peclet number
    ``peclet`` is shared and the right-hand sides are seeded standard normals. At small
    ``peclet`` diffusion dominates and every system has nearly the Laplacian's slow modes;
    as it grows the slow modes follow the wind, and the order of the solves starts to matter.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.convection_diffusion_sequence(m=8, instances=4)
    >>> len(seq), seq.instance(0).n, "symmetric" in seq.instance(0).properties
    (4, 64, False)
    """

    problem_kind = "sequence"
    m = param.Integer(default=32, bounds=(2, 1000), doc="Interior grid points per side (n = m^2 unknowns).")
    peclet = param.Number(default=0.25, bounds=(0.0, 100.0), doc="Mesh Peclet number |w| h / 2 of the wind.")
    instances = param.Integer(default=40, bounds=(1, 100_000), doc="Number of systems T.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the angles and right-hand sides.")

    def build(self) -> ConvectionDiffusionInstances:
        n = self.m * self.m
        if self.instances * n > MAX_RIGHT_HAND_SIDES:
            raise TooLarge(f"{self.instances} right-hand sides of {n} unknowns are too many to keep in memory; "
                           "use fewer instances or a smaller grid.")
        rng = np.random.default_rng(self.seed)
        angles = rng.uniform(0.0, 2.0 * math.pi, size=self.instances)
        rhs = rng.standard_normal((self.instances, n))
        return ConvectionDiffusionInstances(self.m, self.peclet, angles, rhs,
                                            name=f"convection_diffusion_sequence(m={self.m}, Pe={self.peclet:g})",
                                            properties={"m_matrix"}, metadata={"peclet": self.peclet})


def convection_diffusion_sequence(m: int = 32, instances: int = 40, **kw):
    """The turning-wind convection-diffusion sequence (:class:`ConvectionDiffusionSequence`), built by name."""
    from ..core.registry import get_problem

    return get_problem("convection_diffusion_sequence", m=m, instances=instances, **kw)
