r"""Compiled "solve until tolerance" kernels for sequences of systems sharing a sparsity pattern.

A bandit over a sequence needs only the *number of iterations* a solver takes
on each instance, many thousands of times; running the protocol step by step
(``wb.run(wb.linear.SOR(omega), instance, rtol=...)``, the readable
reference) costs tens of microseconds per iteration in Python, these kernels
well under one. Both stop at the first iteration ``k`` with

.. math:: \|b - A x_k\|_2 \le \mathrm{rtol}\, \|b\|_2,

the test of :class:`workbench.core.Runner` for linear solvers (with the
reference setup's ``x_0 = 0`` it is the reference code's ``||r_k|| / ||r_0||``
test), and return ``max_iterations`` when the tolerance is not reached. A test
checks that the iteration counts equal the reference's.

* :func:`sor_iterations`: natural-order forward SOR on a CSR matrix, the same
  sweep as PyAMG's ``sor`` and :class:`workbench.linear.SOR`.
* :func:`ssor_pcg_iterations`: CG preconditioned by one symmetric SOR sweep
  from zero (forward then backward), the same as
  ``workbench.linear.PCG(preconditioner="ssor", ssor_omega=omega)``.

:func:`iterations_batch` runs many (instance, omega) pairs whose matrices
share one sparsity pattern, split over threads (the kernels release the GIL).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["sor_iterations", "ssor_pcg_iterations", "iterations_batch", "solve_csr", "solve_csr_status",
           "diagonal_positions", "SOLVERS"]

#: Solvers with a compiled kernel, and the protocol method each mirrors.
SOLVERS = ("sor", "ssor_pcg")

_K: dict = {}


def _kernels() -> dict:
    if not _K:
        from . import _compiled

        _K.update(sor=_compiled.sor_solve, ssor_pcg=_compiled.ssor_pcg_solve, batch=_compiled.batch)
    return _K


def diagonal_positions(indptr, indices) -> np.ndarray:
    """Positions in a CSR ``data`` array of the stored diagonal entries (``indices[pos]`` is their row).

    A diagonal entry that is not stored has no position: the result can be
    shorter than the number of rows. The sequences use it to shift or read the
    diagonal of many instances on one shared pattern without rebuilding a matrix.

    Parameters
    ----------
    indptr, indices : numpy.ndarray
        The CSR structure (row pointers and column indices).

    Returns
    -------
    numpy.ndarray
        Indices ``pos`` into ``data`` with ``indices[pos]`` equal to the row of each entry, in row order.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[4.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 4.0]]))
    >>> pos = diagonal_positions(A.indptr, A.indices)
    >>> pos, A.data[pos]
    (array([0, 3, 6]), array([4., 4., 4.]))
    """
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return np.flatnonzero(indices == rows)


def _csr_parts(A):
    A = A.tocsr()
    if not A.has_sorted_indices:
        A = A.sorted_indices()
    return (A.indptr.astype(np.int64), A.indices.astype(np.int64), np.ascontiguousarray(A.data, dtype=float),
            np.ascontiguousarray(A.diagonal(), dtype=float))


def _solve(name, A, b, omega, rtol, max_iterations, x0):
    indptr, indices, data, diag = _csr_parts(A)
    x = np.zeros(len(b)) if x0 is None else np.array(x0, dtype=float)
    k = _kernels()[name](indptr, indices, data, diag, np.ascontiguousarray(b, dtype=float), x,
                         float(omega), float(rtol), int(max_iterations))
    # (the compiled kernels return max_iterations + 1 for "not converged"; the cost is the cap)
    return min(int(k), int(max_iterations)), x


def solve_csr(solver: str, indptr, indices, data, diag, b, x0, omega: float, rtol: float = 1e-8,
              max_iterations: int = 10_000) -> int:
    """Iteration count of ``solver`` on the CSR system given as arrays (``x0`` is not modified).

    The lowest-level entry point of the compiled kernels (no matrix is
    converted and nothing is checked): :class:`~workbench.tuning.LearningToRelax` calls it once per instance.

    Parameters
    ----------
    solver : {"sor", "ssor_pcg"}
        The kernel, see :func:`sor_iterations` and :func:`ssor_pcg_iterations`.
    indptr, indices, data : numpy.ndarray
        The matrix in CSR form with sorted column indices (``int64``, ``int64``, ``float64``).
    diag : numpy.ndarray
        Its diagonal (``float64``).
    b, x0 : numpy.ndarray
        Right-hand side (``float64``) and initial guess.
    omega : float
        The relaxation parameter.
    rtol, max_iterations : float, int
        Stop at the first ``k`` with ``||b - A x_k|| <= rtol ||b||``, at most ``max_iterations``.

    Returns
    -------
    int
        The iteration count ``k`` (``max_iterations`` when the tolerance is not reached).

    Examples
    --------
    >>> import workbench as wb
    >>> A = wb.problems.poisson2d(10).A.tocsr()
    >>> A.sort_indices()
    >>> b = np.ones(A.shape[0])
    >>> k = solve_csr("sor", A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, A.diagonal(),
    ...               b, np.zeros_like(b), 1.6)
    >>> k == sor_iterations(A, b, 1.6)[0]
    True

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """
    return solve_csr_status(solver, indptr, indices, data, diag, b, x0, omega, rtol, max_iterations)[0]


def solve_csr_status(solver: str, indptr, indices, data, diag, b, x0, omega: float, rtol: float = 1e-8,
                     max_iterations: int = 10_000) -> tuple[int, bool]:
    """:func:`solve_csr`'s iteration count and whether the tolerance was met.

    A solve that meets the tolerance exactly at iteration ``max_iterations`` costs the
    cap but converged; only ``converged=False`` marks a solve that gave up (the cap, or
    a CG breakdown).

    Examples
    --------
    A solve capped exactly where it converges converged; one step short, it did not:

    >>> import workbench as wb
    >>> from workbench.tuning.costs import system_arrays
    >>> a = system_arrays(wb.problems.shifted_laplacian_sequence("high", instances=1, seed=0), 0)
    >>> arrays = (a.indptr, a.indices, a.data, a.diag, a.b, a.x0)
    >>> k, converged = solve_csr_status("sor", *arrays, 1.6)
    >>> converged, solve_csr_status("sor", *arrays, 1.6, max_iterations=k - 1) == (k - 1, False)
    (True, True)
    """
    x = np.array(x0, dtype=float)
    k = int(_kernels()[solver](indptr, indices, data, diag, b, x, float(omega), float(rtol), int(max_iterations)))
    # The kernels return max_iterations + 1 when the tolerance was not met (see _compiled).
    return min(k, int(max_iterations)), k <= int(max_iterations)


def sor_iterations(A, b, omega: float, rtol: float = 1e-8, max_iterations: int = 10_000, x0=None):
    r"""Iterations natural-order SOR needs to reach ``||b - A x|| <= rtol ||b||``, and the iterate.

    One iteration is a forward sweep over :math:`i = 1, \dots, n`, using the
    entries already updated in this sweep:

    .. math::
        x_i \leftarrow (1 - \omega)\, x_i + \frac{\omega}{a_{ii}}
        \Bigl(b_i - \sum_{j \ne i} a_{ij} x_j\Bigr),

    with the residual tested after every sweep (``k = 0`` when ``x0`` already meets the test).

    Parameters
    ----------
    A : scipy.sparse matrix
        The system matrix (converted to CSR with sorted indices).
    b : numpy.ndarray
        Right-hand side.
    omega : float
        The relaxation parameter, :math:`0 < \omega < 2` for convergence on SPD matrices.
    rtol, max_iterations : float, int
        The stopping rule; ``max_iterations`` is returned when the tolerance is not reached.
    x0 : numpy.ndarray, optional
        Initial guess (default zero; not modified).

    Returns
    -------
    k : int
        The iteration count.
    x : numpy.ndarray
        The last iterate.

    Examples
    --------
    >>> import workbench as wb
    >>> p = wb.problems.poisson2d(10)
    >>> sor_iterations(p.A, p.b, 1.6)[0] == wb.run(wb.linear.SOR(omega=1.6), p, rtol=1e-8).iterations
    True

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    D. M. Young, *Iterative Solution of Large Linear Systems*, 1971.
    """
    return _solve("sor", A, b, omega, rtol, max_iterations, x0)


def ssor_pcg_iterations(A, b, omega: float, rtol: float = 1e-8, max_iterations: int = 10_000, x0=None):
    r"""Iterations of SSOR-preconditioned CG to ``||b - A x|| <= rtol ||b||``, and the iterate.

    Conjugate gradients with the preconditioner applied as one symmetric SOR
    sweep (forward then backward) from zero, which computes :math:`z = M^{-1} r` for

    .. math::
        M = \frac{\omega}{2 - \omega}\Bigl(\frac{D}{\omega} + L\Bigr) D^{-1} \Bigl(\frac{D}{\omega} + U\Bigr),

    with :math:`D`, :math:`L`, :math:`U` the diagonal and strict triangles of :math:`A`
    (SPD for SPD :math:`A` and :math:`0 < \omega < 2`). The run gives up, returning
    ``max_iterations``, if a search direction has :math:`p^\top A p \le 0`.
    Parameters and returns as in :func:`sor_iterations`.

    Examples
    --------
    >>> import workbench as wb
    >>> p = wb.problems.poisson2d(10)
    >>> k, x = ssor_pcg_iterations(p.A, p.b, 1.5)
    >>> k == wb.run(wb.linear.PCG(preconditioner="ssor", ssor_omega=1.5), p, rtol=1e-8).iterations
    True
    >>> bool(np.linalg.norm(p.b - p.A @ x) <= 1e-8 * np.linalg.norm(p.b))
    True

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """
    return _solve("ssor_pcg", A, b, omega, rtol, max_iterations, x0)


def iterations_batch(indptr, indices, data_rows, b_rows, x0_rows, omegas, rtol=1e-8,
                     max_iterations=10_000, solver="sor", return_converged: bool = False):
    """Iteration counts of every (instance, omega) pair, shape ``(T, W)``.

    With ``return_converged`` also a boolean array of the same shape, False where the
    solve did not meet the tolerance (its count is then the cap).

    ``omegas`` is a grid of W values shared by all instances, or a ``(T, W)``
    array of per-instance values. ``data_rows[t]`` holds instance t's CSR values on the shared pattern
    ``indptr``/``indices`` (sorted column indices); rows of ``b_rows`` and
    ``x0_rows`` are its right-hand side and initial guess. Entry ``[t, w]`` is
    what :func:`solve_csr` returns for instance t with ``omegas[t, w]``; the
    pairs are split over threads when there are enough of them.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=3, seed=0)
    >>> insts = [seq.instance(t) for t in range(3)]
    >>> A = insts[0].A
    >>> K = iterations_batch(A.indptr, A.indices, [p.A.data for p in insts], [p.b for p in insts],
    ...                      [p.x0 for p in insts], [1.0, 1.5, 1.8])
    >>> K.shape, bool(K[0, 0] == sor_iterations(A, insts[0].b, 1.0)[0])
    ((3, 3), True)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """
    data_rows = np.ascontiguousarray(data_rows, dtype=float)
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    n = len(indptr) - 1
    diag_rows = np.zeros((data_rows.shape[0], n))
    on_diag = diagonal_positions(indptr, indices)
    diag_rows[:, indices[on_diag]] = data_rows[:, on_diag]
    T = data_rows.shape[0]
    omegas = np.asarray(omegas, dtype=float)
    omegas = np.ascontiguousarray(np.broadcast_to(omegas, (T, omegas.shape[-1])))
    b_rows = np.ascontiguousarray(b_rows, dtype=float)
    x0_rows = np.ascontiguousarray(x0_rows, dtype=float)
    out = np.empty(omegas.shape, dtype=np.int64)
    kernel = _kernels()["batch"]
    args = (indptr, indices, data_rows, diag_rows, b_rows, x0_rows, omegas, float(rtol), int(max_iterations),
            SOLVERS.index(solver), out)
    jobs = out.size
    workers = min(os.cpu_count() or 1, max(jobs // 8, 1))
    if workers == 1:
        kernel(*args, 0, jobs)
    else:
        # The kernel releases the GIL: split the (instance, omega) pairs over threads,
        # interleaved in small blocks so cheap and expensive omegas spread evenly.
        from concurrent.futures import ThreadPoolExecutor

        block = max(jobs // (16 * workers), 1)
        ranges = [(s, min(s + block, jobs)) for s in range(0, jobs, block)]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda r: kernel(*args, r[0], r[1]), ranges))
    # The kernels return max_iterations + 1 for "not converged" (see _compiled); the cost is the cap.
    converged = out <= int(max_iterations)
    np.minimum(out, int(max_iterations), out=out)
    return (out, converged) if return_converged else out
