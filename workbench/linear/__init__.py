"""Linear solvers: stationary (Jacobi, Gauss-Seidel, SOR, SSOR) and Krylov (CG, PCG,
Chebyshev), with PyAMG and numba fast paths, and the convergence theory for overlays."""
from . import theory
from .base import LinearMethod, LinearState
from .cg import CG, PCG
from .chebyshev import Chebyshev
from .jacobi import Jacobi
from .sor import SOR, SSOR, GaussSeidel

__all__ = ["LinearMethod", "LinearState", "Jacobi", "GaussSeidel", "SOR", "SSOR", "CG", "PCG",
           "Chebyshev", "theory"]
