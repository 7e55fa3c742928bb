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

    @numba.njit(cache=True, inline="always")
    def _row2d(u, b, omega, n, i, start):
        # One row of one colour. Neighbours outside the grid are the zero
        # Dirichlet boundary; the interior loop carries no branches.
        row = i * n
        has_up = i > 0
        has_down = i < n - 1
        for j in range(start, n, 2):
            p = row + j
            s = b[p]
            if has_up:
                s += u[p - n]
            if has_down:
                s += u[p + n]
            if j > 0:
                s += u[p - 1]
            if j < n - 1:
                s += u[p + 1]
            u[p] += omega * (0.25 * s - u[p])

    @numba.njit(cache=True)
    def sweep2d(u, b, omega, n):  # u, b: (n*n,) natural order, index i*n + j
        for colour in range(2):
            for i in range(n):
                _row2d(u, b, omega, n, i, (i + colour) % 2)

    @numba.njit(cache=True, parallel=True)
    def sweep2d_parallel(u, b, omega, n):
        # Points of one colour only read the other colour, so rows of a colour
        # are independent: parallel over rows, colours in sequence.
        for colour in range(2):
            for i in numba.prange(n):
                _row2d(u, b, omega, n, i, (i + colour) % 2)

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
    _KERNELS["2p"] = sweep2d_parallel
    _KERNELS["3"] = sweep3d
    return _KERNELS


#: Grids with at least this many unknowns use the threaded 2-D sweep; below it,
#: thread start-up costs more than the sweep.
PARALLEL_THRESHOLD = 250_000


def redblack_sweep(u: np.ndarray, b: np.ndarray, omega: float, n: int, dim: int) -> None:
    """One red-black SOR sweep in place (numba; compiled on first call, cached on disk)."""
    kernels = _compile()
    key = "2p" if dim == 2 and u.shape[0] >= PARALLEL_THRESHOLD else str(dim)
    kernels[key](u, b, float(omega), int(n))


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
