r"""A sequence of rotated anisotropic diffusion problems: related systems whose eigenvectors move.

The shifted-Laplacian and heat sequences change only the eigenvalues of their
matrices (every :math:`A + c I` has the Laplacian's eigenvectors); here the
direction of strong diffusion turns with the angle :math:`\theta_t`, so the
slow eigenvectors of one system are only close to those of systems with a
nearby angle. That is the setting where recycling a Krylov subspace from one
solve to the next pays, and where solving the systems in order of their
angle pays more (Wang et al., 2024).
"""
from __future__ import annotations

import math

import numpy as np
import param
import pyamg
import scipy.sparse as sp

from ..core import InvalidParameter, ProblemFactory, TooLarge, register_problem
from .linear_problem import LinearProblem
from .sequences import MAX_RIGHT_HAND_SIDES, LinearSequence, check_instance

__all__ = ["RotatedAnisotropicInstances", "RotatedAnisotropicSequence", "rotated_anisotropic_sequence"]


class RotatedAnisotropicInstances(LinearSequence):
    r"""``A_t``: PyAMG's finite-difference stencil of :math:`-\nabla\cdot(Q_{\theta_t} D Q_{\theta_t}^T \nabla u)`.

    :math:`D = \mathrm{diag}(1, \varepsilon)` and :math:`Q_\theta` the rotation by
    :math:`\theta`; ``contexts[t]`` is :math:`\theta_t`, ``rhs[t]`` the right-hand side.
    Built by :class:`RotatedAnisotropicSequence`.
    """

    periodic = True  # (Q_{theta + pi} D Q_{theta + pi}^T = Q_theta D Q_theta^T: the angle's period is pi)

    def __init__(self, m: int, epsilon: float, angles: np.ndarray, rhs: np.ndarray, **kw):
        super().__init__(len(angles), angles, (0.0, math.pi), **kw)
        self.m, self.epsilon, self.rhs = m, epsilon, rhs

    def matrix(self, t: int) -> sp.csr_matrix:
        """The matrix of instance ``t``."""
        check_instance(t, self.length)
        stencil = pyamg.gallery.diffusion_stencil_2d(epsilon=self.epsilon, theta=float(self.contexts[t]), type="FD")
        A = pyamg.gallery.stencil_grid(stencil, (self.m, self.m), format="csr").astype(float)
        A.eliminate_zeros()
        return A

    def instance(self, t: int) -> LinearProblem:
        """Instance ``t`` (0-based) as an SPD :class:`LinearProblem`, its angle in the metadata."""
        meta = {"grid": (self.m, self.m), "dim": 2, "context": float(self.contexts[t]), "epsilon": self.epsilon}
        return LinearProblem(self.matrix(t), self.rhs[t], name=f"{self.name}[{t}]",
                             properties={"symmetric", "spd"}, metadata=meta)


@register_problem("rotated_anisotropic_sequence")
class RotatedAnisotropicSequence(ProblemFactory):
    r"""Anisotropic diffusion on an ``m x m`` grid, rotated by a random angle per system.

    The angles :math:`\theta_t` are uniform on :math:`[0, \pi)` in the order drawn
    (a data-generation run visits parameters at random); the anisotropy ratio
    ``epsilon`` is shared, and the right-hand sides are seeded standard normals
    (they excite every mode). The context of instance t is :math:`\theta_t`.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.rotated_anisotropic_sequence(m=8, instances=5)
    >>> len(seq), seq.instance(0).n, seq.context_range == (0.0, 3.141592653589793)
    (5, 64, True)

    References
    ----------
    H. Wang, Z. Hao, J. Wang, Z. Geng, Z. Wang, B. Li, F. Wu. *Accelerating Data
    Generation for Neural Operators via Krylov Subspace Recycling*. ICLR 2024.
    """

    problem_kind = "sequence"
    m = param.Integer(default=32, bounds=(2, 1000), doc="Interior grid points per side (n = m^2 unknowns).")
    epsilon = param.Number(default=0.01, bounds=(1e-6, 1.0), doc="Anisotropy ratio (small: strongly one-directional).")
    instances = param.Integer(default=60, bounds=(1, 100_000), doc="Number of systems T.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the angles and right-hand sides.")

    def build(self) -> RotatedAnisotropicInstances:
        """Draw the angles and right-hand sides from ``seed`` and make the sequence."""
        n = self.m * self.m
        if self.instances * n > MAX_RIGHT_HAND_SIDES:
            raise TooLarge(f"{self.instances} right-hand sides of {n} unknowns ({8 * self.instances * n / 2**30:.1f} "
                           "GiB) are too many to keep in memory; use fewer instances or a smaller grid.")
        if not 0 < self.epsilon <= 1:
            raise InvalidParameter(f"epsilon = {self.epsilon} must be in (0, 1].")
        rng = np.random.default_rng(self.seed)
        angles = rng.uniform(0.0, math.pi, size=self.instances)
        rhs = rng.standard_normal((self.instances, n))
        return RotatedAnisotropicInstances(self.m, self.epsilon, angles, rhs,
                                           name=f"rotated_anisotropic(m={self.m}, eps={self.epsilon:g})",
                                           properties={"spd"}, metadata={"epsilon": self.epsilon})


def rotated_anisotropic_sequence(m: int = 32, instances: int = 60, **kw):
    """The rotated anisotropic diffusion sequence (:class:`RotatedAnisotropicSequence`), built by name.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.rotated_anisotropic_sequence(m=6, instances=3, seed=1)
    >>> bool(0 <= seq.contexts.min() and seq.contexts.max() < 3.1416)
    True
    """
    from ..core.registry import get_problem

    return get_problem("rotated_anisotropic_sequence", m=m, instances=instances, **kw)
