r"""Red-black SOR for the unscaled Poisson stencils (matrix-free), in numba.

Points with even ``i + j (+ k)`` are red, the others black. A sweep updates all
red points from their (black) neighbours, then all black points:

.. math:: u_p \leftarrow u_p + \omega \left( \frac{b_p + \sum_{q \sim p} u_q}{2d} - u_p \right)

Red-black ordering is consistently ordered, so the classic SOR theory
(:math:`\omega^*`, the V-shaped rate curve) applies; the iterates differ from
natural-order SOR. :func:`redblack_sweep_reference` is the numpy reference.
"""
from __future__ import annotations

import numpy as np

_KERNELS = {}


def _compile():
    if _KERNELS:
        return _KERNELS
    import numba

    @numba.njit(cache=True, parallel=False, fastmath=False)
    def sweep2d(u, b, omega, n):  # u, b: (n*n,) natural order, index i*n + j
        for colour in range(2):
            for i in range(n):
                start = (i + colour) % 2
                row = i * n
                for j in range(start, n, 2):
                    s = b[row + j]
                    if i > 0:
                        s += u[row - n + j]
                    if i < n - 1:
                        s += u[row + n + j]
                    if j > 0:
                        s += u[row + j - 1]
                    if j < n - 1:
                        s += u[row + j + 1]
                    u[row + j] += omega * (0.25 * s - u[row + j])

    @numba.njit(cache=True, parallel=False, fastmath=False)
    def sweep3d(u, b, omega, n):
        nn = n * n
        for colour in range(2):
            for i in range(n):
                for j in range(n):
                    start = (i + j + colour) % 2
                    base = i * nn + j * n
                    for k in range(start, n, 2):
                        p = base + k
                        s = b[p]
                        if i > 0:
                            s += u[p - nn]
                        if i < n - 1:
                            s += u[p + nn]
                        if j > 0:
                            s += u[p - n]
                        if j < n - 1:
                            s += u[p + n]
                        if k > 0:
                            s += u[p - 1]
                        if k < n - 1:
                            s += u[p + 1]
                        u[p] += omega * (s / 6.0 - u[p])

    _KERNELS["2"] = sweep2d
    _KERNELS["3"] = sweep3d
    return _KERNELS


def redblack_sweep(u: np.ndarray, b: np.ndarray, omega: float, n: int, dim: int) -> None:
    """One red-black SOR sweep in place (numba; compiled on first call, cached on disk)."""
    _compile()[str(dim)](u, b, float(omega), int(n))


def redblack_sweep_reference(u: np.ndarray, b: np.ndarray, omega: float, n: int, dim: int) -> np.ndarray:
    """The same sweep with numpy slicing on a zero-padded grid; returns a new array."""
    shape = (n,) * dim
    U = np.pad(u.reshape(shape), 1)
    B = b.reshape(shape)
    idx = np.indices(shape).sum(axis=0)
    inner = tuple(slice(1, -1) for _ in range(dim))
    for colour in (0, 1):
        s = B.copy()
        for axis in range(dim):
            s = s + np.roll(U, 1, axis)[inner] + np.roll(U, -1, axis)[inner]
        gs = s / (2 * dim)
        mask = (idx % 2) == colour
        view = U[inner]
        view[mask] += omega * (gs[mask] - view[mask])
    return U[inner].reshape(-1).copy()
