r"""Preconditioners for PCG: Jacobi, SSOR, PyAMG smoothed aggregation and Chebyshev polynomials.

Each is a callable ``z = apply(r)`` approximating :math:`A^{-1} r`, built once. One that
multiplies by A says how often in its ``matvecs`` attribute, and PCG counts those products.
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
        # (PyAMG's compiled sweep wants z, r and A in one dtype: a float32 or int r is cast)
        r = np.asarray(r, dtype=float)
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


def gershgorin_upper_bound(A) -> float:
    r""":math:`\max_i \sum_j |a_{ij}|`, an upper bound on every eigenvalue of A (Gershgorin's discs)."""
    return float(np.asarray(abs(A).sum(axis=1)).max())


def apply_chebyshev_polynomial(matvec, lmin: float, lmax: float, degree: int, r) -> np.ndarray:
    r""":math:`p(A) r`, the degree-``degree`` Chebyshev approximation of :math:`A^{-1}` on
    ``[lmin, lmax]``: ``degree + 1`` steps of the Chebyshev recurrence of
    :class:`workbench.linear.Chebyshev` on :math:`A z = r` from :math:`z = 0`, ``degree`` products
    (``matvec``), so that :math:`1 - \lambda p(\lambda) = T_{k+1}((\theta - \lambda)/\delta) / T_{k+1}(\theta/\delta)`.

    Examples
    --------
    >>> A = np.diag([1.0, 2.0, 3.0])
    >>> z = apply_chebyshev_polynomial(lambda v: A @ v, 1.0, 3.0, 6, np.ones(3))
    >>> bool(np.allclose(A @ z, 1.0, atol=1e-3))
    True
    """
    from .chebyshev import chebyshev_direction

    theta, delta = (lmax + lmin) / 2, (lmax - lmin) / 2
    z = np.zeros_like(r)
    res, rho = r, delta / theta  # (res is rebound, never written in place)
    d = r / theta
    for step in range(degree + 1):
        z = z + d
        if step == degree:
            break
        res = res - matvec(d)
        d, rho = chebyshev_direction(theta, delta, rho, d, res)
    return z


def chebyshev_polynomial_preconditioner(A, degree: int, ratio: float):
    r""":math:`M^{-1} r = p(A)\, r` with :math:`p` of degree ``degree``: ``degree + 1`` steps of the
    Chebyshev iteration on :math:`A z = r` from :math:`z = 0`, on the interval
    :math:`[\lambda_{max}/\text{ratio}, \lambda_{max}]`.

    :math:`\lambda_{max}` is Gershgorin's bound, so no spectrum is computed. Then
    :math:`1 - \lambda p(\lambda) = T_{k+1}((\theta - \lambda)/\delta) / T_{k+1}(\sigma)` is the
    scaled Chebyshev polynomial (:math:`k` = ``degree``, :math:`\sigma = \theta/\delta =
    (\text{ratio}+1)/(\text{ratio}-1)`), which lies in :math:`[-1/T_{k+1}(\sigma), 1)` for every
    :math:`\lambda \in (0, \lambda_{max}]`: it oscillates between :math:`\pm 1/T_{k+1}(\sigma)`
    on :math:`[\lambda_{max}/\text{ratio}, \lambda_{max}]` and rises to 1 as
    :math:`\lambda \to 0` (degree 4, ratio 30: down to -0.31, at :math:`\lambda_{max}`). It dips
    below 0, but :math:`1/T_{k+1}(\sigma) < 1`, so :math:`\lambda p(\lambda) \in
    (0, 1 + 1/T_{k+1}(\sigma)]` and :math:`p > 0` on the spectrum of an SPD A: :math:`M^{-1}` is
    SPD whatever the lower end, which only decides where the polynomial is small (Saad,
    *Iterative Methods for Sparse Linear Systems*, 12.3).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([1.0, 2.0, 3.0]).tocsr()
    >>> apply = chebyshev_polynomial_preconditioner(A, 2, 10.0)
    >>> z = apply(np.ones(3))
    >>> bool(np.all(z > 0)), apply.matvecs
    (True, 2)
    """
    lmax = gershgorin_upper_bound(A)
    if not lmax > 0:
        raise InvalidProblem("the Chebyshev polynomial preconditioner needs an SPD matrix; this one has "
                             "no positive Gershgorin bound (is A zero?).")
    lmin = lmax / ratio

    def apply(r):
        return apply_chebyshev_polynomial(lambda v: A @ v, lmin, lmax, degree, r)

    apply.matvecs = degree
    return apply


def make_preconditioner(name: str, A, omega: float = 1.0, degree: int = 4, ratio: float = 30.0):
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
    if name == "chebyshev":
        return chebyshev_polynomial_preconditioner(A, degree, ratio)
    raise InvalidParameter(f"unknown preconditioner {name!r}; use none, jacobi, ssor, amg or chebyshev.")
