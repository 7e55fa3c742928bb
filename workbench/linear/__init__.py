"""Linear solvers: stationary (Jacobi, Gauss-Seidel, SOR, SSOR) and Krylov (CG, PCG,
Chebyshev, deflated CG, Krylov recycling across a sequence (CG for SPD, GCRO-DR for general systems), learned conjugate directions), with PyAMG and numba fast
paths, and the convergence theory for overlays."""
from . import theory
from .base import LinearMethod, LinearState
from .cg import CG, PCG
from .chebyshev import Chebyshev
from .deep_conjugate_directions import DeepConjugateDirections
from .deflated_cg import DeflatedCG
from .gcro_dr import GCRODR
from .jacobi import Jacobi
from .krylov_recycling import KrylovRecycling
from .sor import SOR, SSOR, GaussSeidel

__all__ = ["LinearMethod", "LinearState", "Jacobi", "GaussSeidel", "SOR", "SSOR", "CG", "PCG",
           "Chebyshev", "DeflatedCG", "KrylovRecycling", "GCRODR", "DeepConjugateDirections", "theory"]
