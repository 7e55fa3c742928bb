r"""Preconditioners for PCG: Jacobi, SSOR and PyAMG smoothed aggregation.

Each is a callable ``z = apply(r)`` approximating :math:`A^{-1} r`, built once.
"""
from __future__ import annotations

import numpy as np

from ..core import InvalidParameter, InvalidProblem


def jacobi_preconditioner(A):
    inv_diag = 1.0 / A.diagonal()
    return lambda r: inv_diag * r


def ssor_preconditioner(A, omega: float):
    r"""SSOR preconditioner :math:`M^{-1} r` with
    :math:`M = \frac{\omega}{2-\omega} (D/\omega + L) D^{-1} (D/\omega + U)`.

    One symmetric SOR sweep (PyAMG's forward then backward kernel) from a zero initial guess computes exactly
    :math:`M^{-1} r`: the forward half gives :math:`z_1 = (D/\omega+L)^{-1} r`, and
    the backward half then solves :math:`(D/\omega+U) z = \frac{2-\omega}{\omega} D z_1`.
    """
    from .kernels.pyamg_sweeps import pyamg_sweep

    A.sort_indices()

    def apply(r):
        z = np.zeros_like(r)
        pyamg_sweep(A, z, r, omega, "symmetric")
        return z

    return apply


def amg_preconditioner(A):
    """One V-cycle of PyAMG's smoothed-aggregation solver (symmetric for SPD A)."""
    import pyamg

    try:
        ml = pyamg.smoothed_aggregation_solver(A)
        M = ml.aspreconditioner(cycle="V")
    except Exception as exc:  # (PyAMG's own errors name its internals, not what to do)
        raise InvalidProblem(
            f"PyAMG could not build a smoothed-aggregation hierarchy for this matrix "
            f"({type(exc).__name__}: {exc}); use the jacobi or ssor preconditioner instead."
        ) from exc
    return lambda r: M @ r


def make_preconditioner(name: str, A, omega: float = 1.0):
    if name == "none":
        return lambda r: r
    if name in ("jacobi", "ssor", "amg"):
        # All three divide by the diagonal (AMG in its Jacobi-smoothed prolongator): a zero one
        # gives infinities (jacobi, amg) or rows the sweep skips, stalling PCG (ssor).
        zero = np.flatnonzero(A.diagonal() == 0)
        if zero.size:
            i = int(zero[0])
            raise InvalidProblem(
                f"The {name} preconditioner divides by the diagonal, and A[{i}, {i}] is zero; "
                "use preconditioner='none' (plain CG) or reorder the system."
            )
    if name == "jacobi":
        return jacobi_preconditioner(A)
    if name == "ssor":
        return ssor_preconditioner(A, omega)
    if name == "amg":
        return amg_preconditioner(A)
    raise InvalidParameter(f"unknown preconditioner {name!r}; use none, jacobi, ssor or amg.")
