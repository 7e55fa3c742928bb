"""The numba kernels of :mod:`workbench.tuning.kernels` (imported lazily: numba is heavy).

Top-level functions so numba's on-disk cache can reuse the compiled code.

The solve kernels return the iteration count ``k <= max_iter`` at which the tolerance was
met, or ``max_iter + 1`` when it was not (the cap was reached, or CG broke down): a solve
that converges exactly at the cap returns ``max_iter`` and must not be mistaken for one that
gave up there. The wrappers in :mod:`workbench.tuning.kernels` turn ``max_iter + 1`` into the
cost ``max_iter`` and a "not converged" flag.
"""
import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def residual_norm(indptr, indices, data, b, x):
    n = b.shape[0]
    rr = 0.0
    for i in range(n):
        s = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            s -= data[jj] * x[indices[jj]]
        rr += s * s
    return np.sqrt(rr)


@numba.njit(cache=True, nogil=True)
def sor_sweep(indptr, indices, data, diag, b, x, omega, forward):
    n = b.shape[0]
    for ii in range(n):
        i = ii if forward else n - 1 - ii
        s = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            if j != i:
                s -= data[jj] * x[j]
        x[i] = (1.0 - omega) * x[i] + omega * s / diag[i]


@numba.njit(cache=True, nogil=True)
def sor_solve(indptr, indices, data, diag, b, x, omega, rtol, max_iter):
    threshold = rtol * np.sqrt(np.sum(b * b))
    if residual_norm(indptr, indices, data, b, x) <= threshold:
        return 0
    for k in range(1, max_iter + 1):
        sor_sweep(indptr, indices, data, diag, b, x, omega, True)
        if residual_norm(indptr, indices, data, b, x) <= threshold:
            return k
    return max_iter + 1  # not converged (see the module docstring)


@numba.njit(cache=True, nogil=True)
def matvec(indptr, indices, data, p, out):
    n = p.shape[0]
    for i in range(n):
        s = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            s += data[jj] * p[indices[jj]]
        out[i] = s


@numba.njit(cache=True, nogil=True)
def ssor_apply(indptr, indices, data, diag, r, z, omega):
    z[:] = 0.0
    sor_sweep(indptr, indices, data, diag, r, z, omega, True)
    sor_sweep(indptr, indices, data, diag, r, z, omega, False)


@numba.njit(cache=True, nogil=True)
def ssor_pcg_solve(indptr, indices, data, diag, b, x, omega, rtol, max_iter):
    n = b.shape[0]
    threshold = rtol * np.sqrt(np.sum(b * b))
    r = np.empty(n)
    matvec(indptr, indices, data, x, r)
    r = b - r
    if np.sqrt(np.sum(r * r)) <= threshold:
        return 0
    z = np.empty(n)
    ssor_apply(indptr, indices, data, diag, r, z, omega)
    p = z.copy()
    rz = np.sum(r * z)
    Ap = np.empty(n)
    for k in range(1, max_iter + 1):
        matvec(indptr, indices, data, p, Ap)
        pAp = np.sum(p * Ap)
        if pAp <= 0.0:
            return max_iter + 1  # breakdown (A or M not SPD): not converged
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        if np.sqrt(np.sum(r * r)) <= threshold:
            return k
        ssor_apply(indptr, indices, data, diag, r, z, omega)
        rz_new = np.sum(r * z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return max_iter + 1  # not converged


@numba.njit(cache=True, nogil=True)
def batch(indptr, indices, data_rows, diag_rows, b_rows, x0_rows, omegas, rtol, max_iter, solver, out, start, stop):
    # Jobs start..stop of the T x W (instance, omega) pairs; threads split the range (nogil).
    W = omegas.shape[1]
    for job in range(start, stop):
        t = job // W
        w = job % W
        x = x0_rows[t].copy()
        if solver == 0:
            out[t, w] = sor_solve(indptr, indices, data_rows[t], diag_rows[t], b_rows[t], x,
                                  omegas[t, w], rtol, max_iter)
        else:
            out[t, w] = ssor_pcg_solve(indptr, indices, data_rows[t], diag_rows[t], b_rows[t], x,
                                       omegas[t, w], rtol, max_iter)

