"""What the second-order methods share: checking that a problem has curvature, and reading it.

The methods (:class:`~workbench.optim.newton.DampedNewton`,
:class:`~workbench.optim.lazy_newton.LazyNewton`, :class:`~workbench.optim.fosi.FOSI`)
count their Hessian work in the metrics ``hessian_evals`` (dense Hessians) and
``hvp_evals`` (Hessian-vector products), next to ``grad_evals``, so a plot of
loss against cost can charge a Hessian what it costs: about ``dim`` gradients.
"""
from __future__ import annotations

import numpy as np

from ..core import IncompatibleProblem, InvalidProblem, TooLarge

__all__ = ["MAX_DENSE_HESSIAN_DIM", "require_curvature", "dense_hessian"]

#: A dense Hessian above this many variables is 200 MB and an O(d^3) factorisation per refresh.
MAX_DENSE_HESSIAN_DIM = 5000


def require_curvature(method, problem, *, dense: bool) -> None:
    """Refuse, with what to do instead, a problem whose Hessian the method cannot use."""
    name = type(method).__name__
    if not problem.has_hvp:
        raise IncompatibleProblem(
            f"{name} needs second derivatives, and {problem.name} has no Hessian-vector product; "
            "give one (from_functions(..., hvp=...)) or use a first-order method such as gd or adam.")
    if dense and problem.dim > MAX_DENSE_HESSIAN_DIM:
        raise TooLarge(
            f"{name} factorises a dense {problem.dim} x {problem.dim} Hessian; that is above the "
            f"{MAX_DENSE_HESSIAN_DIM}-variable limit. Use fosi (Hessian-vector products only) or mfac.")


def dense_hessian(problem, x) -> np.ndarray:
    """The problem's Hessian at ``x`` as a symmetric float64 array, checked to be finite."""
    H = np.asarray(problem.hessian(x), dtype=float)
    if H.shape != (problem.dim, problem.dim):
        raise InvalidProblem(f"the Hessian of {problem.name} has shape {H.shape}; expected "
                             f"({problem.dim}, {problem.dim}).")
    if not np.all(np.isfinite(H)):
        raise InvalidProblem(f"the Hessian of {problem.name} is not finite at this iterate.")
    return H
