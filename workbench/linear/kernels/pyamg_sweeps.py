"""PyAMG's compiled SOR sweeps on CSR matrices (reference: :mod:`.sor_reference`).

PyAMG 5's ``gauss_seidel(..., sweep="symmetric")`` recurses into the forward and
backward sweeps *without* passing ``omega``, so ``pyamg.relaxation.sor(...,
sweep="symmetric")`` performs symmetric Gauss-Seidel whatever omega is. We
therefore compose the symmetric sweep from the forward and backward ones,
which do honour omega (``tests/linear/test_kernels.py`` checks all three
against the triangular-solve definition).
"""
from __future__ import annotations

import numpy as np


def pyamg_sweep(A, x: np.ndarray, b: np.ndarray, omega: float, sweep: str) -> None:
    """One SOR sweep in place; ``sweep`` is forward, backward or symmetric."""
    from pyamg.relaxation.relaxation import sor

    if sweep == "symmetric":
        sor(A, x, b, omega, iterations=1, sweep="forward")
        sor(A, x, b, omega, iterations=1, sweep="backward")
    else:
        sor(A, x, b, omega, iterations=1, sweep=sweep)
