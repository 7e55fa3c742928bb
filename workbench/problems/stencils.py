"""Finite-difference model problems: Poisson 1D/2D/3D, anisotropic diffusion,
convection-diffusion. Grids are ``n`` interior points per side; the matrices
are unscaled (diagonal 2d for Poisson), as in PyAMG's gallery."""
from __future__ import annotations

import math

import numpy as np
import param
import pyamg.gallery
import scipy.sparse as sp

from ..core import ProblemFactory, register_problem
from .linear_problem import LinearProblem, analyse_matrix

__all__ = ["Poisson1D", "Poisson2D", "Poisson3D", "AnisotropicDiffusion2D", "ConvectionDiffusion2D"]


def make_rhs(n: int, rhs: str, seed: int) -> np.ndarray:
    if rhs == "ones":
        return np.ones(n)
    return np.random.default_rng(seed).standard_normal(n)


class _GridProblem(ProblemFactory):
    problem_kind = "linear"
    rhs = param.Selector(default="random", objects=["random", "ones"],
                         doc="Right-hand side: seeded standard normal (excites every mode) or all ones.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the random right-hand side.")


class _Poisson(_GridProblem):
    dim = 2

    def build(self) -> LinearProblem:
        n, d = self.n, self.dim
        A = pyamg.gallery.poisson((n,) * d, format="csr").astype(float)
        h = 1.0 / (n + 1)
        meta = {
            "grid": (n,) * d,
            "dim": d,
            "stencil": f"poisson{d}d",
            # Eigenvalues of the unscaled Laplacian: 2d - 2 sum cos(k pi h); Jacobi's
            # iteration matrix therefore has spectral radius cos(pi h) exactly.
            "rho_jacobi": math.cos(math.pi * h),
            "lambda_min": 2 * d * (1 - math.cos(math.pi * h)),
            "lambda_max": 2 * d * (1 + math.cos(math.pi * h)),
        }
        props = {"symmetric", "spd", "m_matrix", "diagonally_dominant", "consistently_ordered", "stencil"}
        return LinearProblem(A, make_rhs(A.shape[0], self.rhs, self.seed), name=f"poisson{d}d(n={n})",
                             properties=props, metadata=meta)


@register_problem("poisson1d")
class Poisson1D(_Poisson):
    """1-D Poisson equation, 3-point stencil [-1, 2, -1] on ``n`` interior points."""

    dim = 1
    n = param.Integer(default=64, bounds=(2, 10_000_000), doc="Interior grid points.")


@register_problem("poisson2d")
class Poisson2D(_Poisson):
    """2-D Poisson equation, 5-point stencil on an ``n x n`` interior grid (natural ordering)."""

    dim = 2
    n = param.Integer(default=32, bounds=(2, 4000), doc="Interior grid points per side.")


@register_problem("poisson3d")
class Poisson3D(_Poisson):
    """3-D Poisson equation, 7-point stencil on an ``n x n x n`` interior grid."""

    dim = 3
    n = param.Integer(default=16, bounds=(2, 250), doc="Interior grid points per side.")


@register_problem("anisotropic2d")
class AnisotropicDiffusion2D(_GridProblem):
    """Anisotropic diffusion ``-(eps u_xx + u_yy)`` rotated by ``theta`` (PyAMG's FD stencil).

    Small ``epsilon`` makes the problem hard for point relaxation (strong
    coupling in one direction only); ``theta`` not a multiple of pi/2 loses the
    M-matrix property.
    """

    problem_kind = "linear"
    n = param.Integer(default=32, bounds=(2, 4000), doc="Interior grid points per side.")
    epsilon = param.Number(default=0.1, bounds=(1e-6, 1.0), doc="Anisotropy ratio.")
    theta = param.Number(default=0.0, bounds=(0.0, math.pi), doc="Rotation angle of the anisotropy (radians).")

    def build(self) -> LinearProblem:
        stencil = pyamg.gallery.diffusion_stencil_2d(epsilon=self.epsilon, theta=self.theta, type="FD")
        A = pyamg.gallery.stencil_grid(stencil, (self.n, self.n), format="csr").astype(float)
        A.eliminate_zeros()
        props = set(analyse_matrix(A, spd=True)) | {"stencil"}
        if abs(math.sin(2 * self.theta)) < 1e-12:
            # Without rotation (theta a multiple of pi/2) the mixed term vanishes and the stencil
            # is 5-point: in natural order the matrix is consistently ordered, so Young applies.
            props.add("consistently_ordered")
        return LinearProblem(A, make_rhs(A.shape[0], self.rhs, self.seed),
                             name=f"anisotropic2d(n={self.n}, eps={self.epsilon:g})", properties=props,
                             metadata={"grid": (self.n, self.n), "dim": 2})


@register_problem("convection_diffusion2d")
class ConvectionDiffusion2D(_GridProblem):
    """Convection-diffusion ``-Lap u + w . grad u`` with first-order upwinding (non-symmetric).

    Upwinding keeps the matrix an M-matrix, so Jacobi, Gauss-Seidel and SOR
    with small omega converge; CG does not apply (the matrix is not symmetric).
    ``peclet`` is the mesh Peclet number ``|w| h / 2`` along each axis.
    """

    problem_kind = "linear"
    n = param.Integer(default=32, bounds=(2, 4000), doc="Interior grid points per side.")
    peclet = param.Number(default=0.5, bounds=(0.0, 100.0), doc="Mesh Peclet number of the wind (1, 1).")

    def build(self) -> LinearProblem:
        n, p = self.n, self.peclet
        # 1-D upwind operator for wind > 0: diffusion [-1, 2, -1] plus 2p [-1, 1, 0].
        main = np.full(n, 2.0 + 2 * p)
        lower = np.full(n - 1, -1.0 - 2 * p)
        upper = np.full(n - 1, -1.0)
        T = sp.diags([lower, main, upper], [-1, 0, 1], format="csr")
        I = sp.identity(n, format="csr")
        A = (sp.kron(I, T) + sp.kron(T, I)).tocsr()
        # The 5-point stencil in natural order is consistently ordered, and T is similar to a
        # symmetric matrix (scale by sqrt(1 + 2p)^k), so the Jacobi eigenvalues are real:
        # -sqrt(1 + 2p) (cos(j pi h) + cos(k pi h)) / (2 + 2p). Their largest modulus is exact
        # here; numerically, the matrix is so non-normal at large p that dense eigvals and
        # ARPACK both get it wrong (0.44 and 0.34 for 0.14 at n = 32, p = 100).
        h = 1.0 / (n + 1)
        rho = math.sqrt(1 + 2 * p) * math.cos(math.pi * h) / (1 + p)
        props = set(analyse_matrix(A)) | {"consistently_ordered", "stencil"}
        return LinearProblem(A, make_rhs(A.shape[0], self.rhs, self.seed),
                             name=f"convection_diffusion2d(n={n}, Pe={p:g})", properties=props,
                             metadata={"grid": (n, n), "dim": 2, "rho_jacobi": rho})
