r"""Readable reference SOR sweeps (natural ordering) as triangular solves.

Forward SOR is :math:`x \leftarrow x + M^{-1}(b - A x)` with
:math:`M = D/\omega + L`; the backward sweep uses :math:`D/\omega + U`. These
are the definitions; PyAMG's compiled sweeps must agree with them.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve_triangular


def sor_sweep_reference(A, x, b, omega: float, sweep: str = "forward") -> np.ndarray:
    """One SOR sweep; returns the new iterate (``x`` unchanged). ``sweep`` in forward/backward/symmetric."""
    A = sp.csr_matrix(A)
    D = sp.diags(A.diagonal())
    if sweep == "symmetric":
        return sor_sweep_reference(A, sor_sweep_reference(A, x, b, omega, "forward"), b, omega, "backward")
    if sweep == "forward":
        M = (D / omega + sp.tril(A, k=-1)).tocsr()
        lower = True
    elif sweep == "backward":
        M = (D / omega + sp.triu(A, k=1)).tocsr()
        lower = False
    else:
        raise ValueError(f"unknown sweep {sweep!r}")
    r = b - A @ x
    return x + spsolve_triangular(M, r, lower=lower)


def jacobi_sweep_reference(A, x, b, omega: float) -> np.ndarray:
    """Damped Jacobi: :math:`x + \\omega D^{-1}(b - A x)`."""
    return x + omega * (b - A @ x) / A.diagonal()
