"""Linear systems ``A x = b`` as problems, and the checks every matrix goes through."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..core import InvalidProblem, Problem, TooLarge

__all__ = ["LinearProblem", "from_matrix", "analyse_matrix", "MAX_UNKNOWNS"]

#: Largest system the workbench accepts (about 1.6 GB for a 7-point stencil).
MAX_UNKNOWNS = 20_000_000


class LinearProblem(Problem):
    """A sparse linear system.

    Attributes
    ----------
    A : scipy.sparse.csr_matrix
        The (square) system matrix, canonical CSR with float64 values.
    b, x0 : numpy.ndarray
        Right-hand side and initial guess.
    x_true : numpy.ndarray or None
        The exact solution when known: the linear methods then report ``error``
        (:math:`\|x - x_{true}\|`) and, for a nonzero one, ``relative_error``. A vector of
        ``n`` finite numbers (copied), else :class:`InvalidProblem`.
    """

    kind = "linear"

    def __init__(self, A, b, x0=None, *, name="custom", properties=None, metadata=None,
                 x_true=None, spec=None, spd=None):
        A, b, x0 = _validate(A, b, x0)
        if properties is None:
            properties = analyse_matrix(A, spd=spd)
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        self.A = A
        self.b = b
        self.x0 = x0
        self.x_true = _validate_x_true(x_true, A.shape[0])
        self._diag = None
        self._bnorm = float(np.linalg.norm(b))

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def diagonal(self) -> np.ndarray:
        if self._diag is None:
            self._diag = self.A.diagonal()
        return self._diag

    @property
    def b_norm(self) -> float:
        return self._bnorm

    def residual(self, x) -> np.ndarray:
        return self.b - self.A @ x

    def describe(self) -> str:
        return f"{self.name}: n = {self.n}, nnz = {self.A.nnz}"


def _complex(value) -> bool:
    # (converting a complex array to float keeps the real part with only a warning)
    try:
        return bool(np.iscomplexobj(value.data if sp.issparse(value) else value))
    except Exception:
        return False


def _validate(A, b, x0):
    # Every array is copied: a problem that shared the caller's A or b would go stale (its
    # properties and ||b||, the stop scale, computed once) when the caller changed them, and
    # the canonicalisation below would rewrite the caller's matrix in place.
    for label, value in (("A", A), ("b", b), ("x0", x0)):
        if value is not None and _complex(value):
            raise InvalidProblem(f"{label} is complex; the workbench solves real systems (split a complex "
                                 "system into its real 2n x 2n form).")
    if sp.issparse(A):
        A = sp.csr_matrix(A, dtype=float, copy=True)
    else:
        try:
            A = np.asarray(A, dtype=float)
        except (TypeError, ValueError):
            raise InvalidProblem("A must be a numeric matrix (numpy array or scipy sparse).") from None
        except OverflowError:  # (Python integers beyond float range, e.g. 10**400 in an object array)
            raise InvalidProblem("A has entries too large for a float (beyond 1.8e308); rescale the system.") from None
        if A.ndim != 2:
            raise InvalidProblem(f"A must be two-dimensional, got {A.ndim} dimension(s).")
        A = sp.csr_matrix(A)
    if A.shape[0] != A.shape[1]:
        raise InvalidProblem(f"A must be square, got shape {A.shape}; iterative solvers here need n x n.")
    n = A.shape[0]
    if n == 0:
        raise InvalidProblem("A is empty; give a matrix with at least one row.")
    if n > MAX_UNKNOWNS:
        raise TooLarge(f"{n} unknowns exceed the limit of {MAX_UNKNOWNS}; use a smaller problem.")
    A.sum_duplicates()
    A.sort_indices()
    if not np.all(np.isfinite(A.data)):
        raise InvalidProblem("A contains NaN or infinite entries; clean the matrix first.")
    if b is None:
        b = np.ones(n)
    try:
        b = np.array(b, dtype=float).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise InvalidProblem("b must be a numeric vector of floats (entries below 1.8e308).") from None
    if b.shape[0] != n:
        raise InvalidProblem(f"b has {b.shape[0]} entries but A has {n} rows; they must match.")
    if not np.all(np.isfinite(b)):
        raise InvalidProblem("b contains NaN or infinite entries.")
    if x0 is None:
        x0 = np.zeros(n)
    try:
        x0 = np.array(x0, dtype=float).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise InvalidProblem("x0 must be a numeric vector of floats (entries below 1.8e308).") from None
    if x0.shape[0] != n:
        raise InvalidProblem(f"x0 has {x0.shape[0]} entries but A has {n} rows; they must match.")
    if not np.all(np.isfinite(x0)):
        raise InvalidProblem("x0 contains NaN or infinite entries.")
    return A, b, x0


def _validate_x_true(x_true, n):
    if x_true is None:
        return None
    if _complex(x_true):
        raise InvalidProblem("x_true is complex; the workbench solves real systems, so give the real solution.")
    try:
        x_true = np.array(x_true, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidProblem("x_true must be a numeric vector (the exact solution), or None.") from None
    if x_true.shape[0] != n:
        raise InvalidProblem(f"x_true has {x_true.shape[0]} entries but A has {n} rows; give the exact "
                             "solution, one entry per unknown, or leave x_true out (None).")
    if not np.all(np.isfinite(x_true)):
        raise InvalidProblem("x_true contains NaN or infinite entries; give the finite exact solution, or leave "
                             "x_true out (None) if it is not known.")
    return x_true


def analyse_matrix(A: sp.csr_matrix, spd: bool | None = None) -> frozenset[str]:
    """Facts about ``A`` that methods may require.

    ``symmetric``; ``diagonally_dominant`` (weakly in every row, and irreducibly so in
    every diagonal block: each strongly connected part of the graph of ``A`` has a row
    strictly dominant within it, which makes ``A`` nonsingular and Jacobi and
    Gauss-Seidel convergent); ``m_matrix`` (positive diagonal, non-positive off-diagonal,
    diagonally dominant); ``spd`` (symmetric with a positive smallest eigenvalue: given,
    implied by a positive diagonal and diagonal dominance, or checked by ``eigsh``).
    """
    props = set()
    diag = A.diagonal()
    asym = abs(A - A.T)
    scale = max(abs(A).max(), 1e-300)
    if asym.nnz == 0 or asym.max() <= 1e-12 * scale:
        props.add("symmetric")
    if _diagonally_dominant(A, diag, tol=1e-12 * scale):
        props.add("diagonally_dominant")
        off = A - sp.diags(diag)
        if np.all(diag > 0) and (off.nnz == 0 or off.data.max() <= 0):
            props.add("m_matrix")
    if "symmetric" in props and np.all(diag > 0):
        if spd is None:
            if "diagonally_dominant" in props:
                spd = True  # Gershgorin: PSD; irreducible dominance in every block: nonsingular
            else:
                # Relative test: a Neumann Laplacian's zero eigenvalue comes out as ~1e-15.
                spd = _smallest_eigenvalue(A) > 1e-10 * scale
        if spd:
            props.add("spd")
    return frozenset(props)


def _diagonally_dominant(A: sp.csr_matrix, diag: np.ndarray, tol: float) -> bool:
    """Weak dominance in every row, strict in some row of every irreducible diagonal block.

    "Strict in one row" of the whole matrix is not enough: [[1, 1, 0], [1, 1, 0], [0, 0, 2]]
    is dominant that way and singular. Permuted to block triangular form, the iteration
    matrices of Jacobi and Gauss-Seidel are block triangular too, so each block (a strongly
    connected component of the graph of A) must be irreducibly dominant by itself (Taussky),
    counting only the off-diagonal entries inside the block.
    """
    absA = abs(A).tocsr()
    absA.eliminate_zeros()  # (an explicit zero is no edge of the graph)
    adiag = np.abs(diag)
    offsum = np.asarray(absA.sum(axis=1)).ravel() - adiag
    if not np.all(adiag >= offsum - tol):
        return False
    from scipy.sparse.csgraph import connected_components

    count, labels = connected_components(absA, directed=True, connection="strong")
    coo = absA.tocoo()
    inside = (labels[coo.row] == labels[coo.col]) & (coo.row != coo.col)
    offsum_inside = np.bincount(coo.row[inside], weights=coo.data[inside], minlength=A.shape[0])
    strict = adiag > offsum_inside + tol
    return bool(np.all(np.bincount(labels, weights=strict, minlength=count) > 0))


def _smallest_eigenvalue(A) -> float:
    n = A.shape[0]
    if n <= 2000:
        return float(np.linalg.eigvalsh(A.toarray())[0])
    from scipy.sparse.linalg import eigsh

    try:
        return float(eigsh(A, k=1, which="SA", tol=1e-6, maxiter=20 * n, return_eigenvectors=False)[0])
    except Exception:
        return -np.inf


def from_matrix(A, b=None, x0=None, *, name: str = "custom", spd: bool | None = None) -> LinearProblem:
    """Wrap the user's own matrix (scipy sparse or dense) as a :class:`LinearProblem`.

    The matrix is validated (square, finite, sizes of ``b`` and ``x0``) and its
    properties are detected, so the methods that cannot handle it say so.

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> prob = wb.problems.from_matrix(np.array([[4.0, 1.0], [1.0, 3.0]]), [1.0, 2.0])
    >>> sorted(prob.properties)
    ['diagonally_dominant', 'spd', 'symmetric']
    """
    return LinearProblem(A, b, x0, name=name, spd=spd)
