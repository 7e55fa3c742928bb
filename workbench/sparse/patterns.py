"""Sparse-matrix diagnostics for the sparse-systems view: pattern image, nnz, fill-in."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..core import InvalidParameter, InvalidProblem

__all__ = ["pattern_image", "sparsity_summary"]


def pattern_image(A, pixels: int = 200) -> np.ndarray:
    """Counts of non-zeros of ``A`` binned onto a ``pixels x pixels`` grid (a spy plot as an image).

    Row 0 of the image is row 0 of the matrix. Matrices smaller than ``pixels``
    map one entry to one pixel.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> pattern_image(sp.identity(4), pixels=2)
    array([[2., 0.],
           [0., 2.]])
    """
    if not (isinstance(pixels, (int, np.integer)) and pixels >= 1):
        raise InvalidParameter(f"pixels is the image's side, a whole number of at least 1; got {pixels!r}.")
    A = sp.coo_matrix(A)
    n, m = A.shape
    rows, cols = min(pixels, n), min(pixels, m)
    img = np.zeros((rows, cols))
    np.add.at(img, ((A.row * rows) // n, (A.col * cols) // m), 1.0)
    return img


def sparsity_summary(A) -> dict[str, float]:
    """``nnz``, ``density`` (nnz / n^2), ``bandwidth`` and the LU fill-in of ``A``.

    ``fill`` is ``nnz(L + U) / nnz(A)`` of SuperLU's factorisation with its
    default COLAMD ordering (what a direct solver would pay); ``fill_natural``
    the same without reordering.
    """
    from scipy.sparse.linalg import splu

    A = sp.csc_matrix(A)
    n = A.shape[0]
    if A.shape[0] != A.shape[1] or n == 0:
        raise InvalidProblem(f"the fill-in of a factorisation needs a non-empty square matrix; this one is "
                             f"{A.shape[0]} x {A.shape[1]}.")
    coo = A.tocoo()
    out = {"n": float(n), "nnz": float(A.nnz), "density": A.nnz / float(n * A.shape[1]),
           "bandwidth": float(np.abs(coo.row - coo.col).max(initial=0))}
    for key, spec in (("fill", "COLAMD"), ("fill_natural", "NATURAL")):
        try:
            lu = splu(A, permc_spec=spec)
            out[key] = (lu.L.nnz + lu.U.nnz - n) / max(A.nnz, 1)
        except RuntimeError:  # singular
            out[key] = float("nan")
    return out
