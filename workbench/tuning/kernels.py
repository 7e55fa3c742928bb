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

__all__ = ["sor_iterations", "ssor_pcg_iterations", "iterations_batch", "solve_csr", "diagonal_positions", "SOLVERS"]

#: Solvers with a compiled kernel, and the protocol method each mirrors.
SOLVERS = ("sor", "ssor_pcg")

_K: dict = {}


def _kernels() -> dict:
    if not _K:
        from . import _compiled

        _K.update(sor=_compiled.sor_solve, ssor_pcg=_compiled.ssor_pcg_solve, batch=_compiled.batch)
    return _K


def diagonal_positions(indptr, indices) -> np.ndarray:
    """Positions in a CSR ``data`` array of the stored diagonal entries (``indices[pos]`` is their row)."""
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
    return int(k), x


def solve_csr(solver: str, indptr, indices, data, diag, b, x0, omega: float, rtol: float = 1e-8,
              max_iterations: int = 10_000) -> int:
    """Iteration count of ``solver`` on the CSR system given as arrays (``x0`` is not modified)."""
    x = np.array(x0, dtype=float)
    return int(_kernels()[solver](indptr, indices, data, diag, b, x, float(omega), float(rtol),
                                  int(max_iterations)))


def sor_iterations(A, b, omega: float, rtol: float = 1e-8, max_iterations: int = 10_000, x0=None):
    """Iterations natural-order SOR needs to reach ``||b - A x|| <= rtol ||b||``, and the iterate.

    Examples
    --------
    >>> import workbench as wb
    >>> p = wb.problems.poisson2d(10)
    >>> sor_iterations(p.A, p.b, 1.6)[0] == wb.run(wb.linear.SOR(omega=1.6), p, rtol=1e-8).iterations
    True
    """
    return _solve("sor", A, b, omega, rtol, max_iterations, x0)


def ssor_pcg_iterations(A, b, omega: float, rtol: float = 1e-8, max_iterations: int = 10_000, x0=None):
    """Iterations of SSOR-preconditioned CG to ``||b - A x|| <= rtol ||b||``, and the iterate."""
    return _solve("ssor_pcg", A, b, omega, rtol, max_iterations, x0)


def iterations_batch(indptr, indices, data_rows, b_rows, x0_rows, omegas, rtol=1e-8,
                     max_iterations=10_000, solver="sor") -> np.ndarray:
    """Iteration counts of every (instance, omega) pair, shape ``(T, W)``.

    ``omegas`` is a grid of W values shared by all instances, or a ``(T, W)``
    array of per-instance values. ``data_rows[t]`` holds instance t's CSR values on the shared pattern
    ``indptr``/``indices`` (sorted column indices); rows of ``b_rows`` and
    ``x0_rows`` are its right-hand side and initial guess.
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
        return out
    # The kernel releases the GIL: split the (instance, omega) pairs over threads,
    # interleaved in small blocks so cheap and expensive omegas spread evenly.
    from concurrent.futures import ThreadPoolExecutor

    block = max(jobs // (16 * workers), 1)
    ranges = [(s, min(s + block, jobs)) for s in range(0, jobs, block)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda r: kernel(*args, r[0], r[1]), ranges))
    return out
