r"""Convergence theory for the overlays: Jacobi's spectral radius, the optimal
SOR omega, the SOR spectral radius as a function of omega, and the CG bound.

For a consistently ordered matrix with Jacobi spectral radius
:math:`\rho_J < 1` (real Jacobi eigenvalues), Young's theory gives

.. math::
    \omega^* = \frac{2}{1 + \sqrt{1 - \rho_J^2}}, \qquad
    \rho(\mathcal{L}_\omega) = \begin{cases}
        \left(\frac{\omega\rho_J + \sqrt{\omega^2\rho_J^2 - 4(\omega-1)}}{2}\right)^2 & 0<\omega\le\omega^*\\
        \omega - 1 & \omega^* \le \omega < 2
    \end{cases}

and Gauss-Seidel's radius is :math:`\rho_J^2`.

References
----------
D. M. Young, *Iterative Solution of Large Linear Systems*, 1971, chapter 6.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..core import InvalidParameter

__all__ = [
    "jacobi_spectral_radius",
    "optimal_omega",
    "sor_spectral_radius",
    "gauss_seidel_spectral_radius",
    "cg_error_bound",
    "cg_rate",
    "extreme_eigenvalues",
    "condition_number",
    "iterations_to_tolerance",
]


def _check_rho(rho_j: float) -> float:
    rho_j = float(rho_j)
    if not 0 <= rho_j < 1:
        raise InvalidParameter(
            f"the SOR formulas need a Jacobi spectral radius in [0, 1), got {rho_j:g}; "
            "Jacobi does not converge on this matrix."
        )
    return rho_j


def jacobi_spectral_radius(problem) -> float:
    r"""Spectral radius of :math:`I - D^{-1}A`: exact when the problem knows it (Poisson:
    :math:`\cos(\pi h)`), otherwise computed by ARPACK (dense eigenvalues for tiny n)."""
    rho = problem.metadata.get("rho_jacobi")
    if rho is not None:
        return float(rho)
    cached = getattr(problem, "_rho_jacobi", None)  # the notes and every overlay ask again
    if cached is None:
        cached = _jacobi_spectral_radius(problem)
        problem._rho_jacobi = cached
    return cached


def _jacobi_spectral_radius(problem) -> float:
    A = problem.A
    d = A.diagonal()
    n = A.shape[0]
    if "symmetric" in problem.properties and np.all(d > 0):
        s = 1 / np.sqrt(d)
        S = sp.diags(s) @ A @ sp.diags(s)  # similar to D^{-1} A, symmetric
        lmin, lmax = _symmetric_extremes(S)
        return float(max(abs(1 - lmin), abs(1 - lmax)))
    J = sp.identity(n) - sp.diags(1 / d) @ A
    if n <= 1000:
        return float(np.max(np.abs(np.linalg.eigvals(J.toarray()))))
    from scipy.sparse.linalg import eigs

    # A fixed start vector makes the estimate the same on every call (ARPACK's default is random);
    # for a strongly non-normal J no eigenvalue solver is accurate, which is why problems that
    # know their rho_J (convection_diffusion2d) put it in their metadata.
    v0 = np.ones(n) / np.sqrt(n)
    return float(np.abs(eigs(J, k=1, which="LM", return_eigenvectors=False, tol=1e-6, v0=v0,
                             maxiter=20 * n)[0]))


def _symmetric_extremes(S) -> tuple[float, float]:
    n = S.shape[0]
    if n <= 1500:
        ev = np.linalg.eigvalsh(S.toarray())
        return float(ev[0]), float(ev[-1])
    from scipy.sparse.linalg import eigsh

    v0 = np.ones(n) / np.sqrt(n)  # a fixed start: the same estimate on every call
    lmax = float(eigsh(S, k=1, which="LA", return_eigenvectors=False, tol=1e-8, v0=v0)[0])
    try:
        lmin = float(eigsh(S.tocsc(), k=1, sigma=0, which="LM", return_eigenvectors=False, tol=1e-8, v0=v0)[0])
    except Exception:
        lmin = float(eigsh(S, k=1, which="SA", return_eigenvectors=False, tol=1e-8, v0=v0)[0])
    return lmin, lmax


def extreme_eigenvalues(problem) -> tuple[float, float]:
    """(lambda_min, lambda_max) of a symmetric problem's matrix (exact for Poisson).

    Computed once per problem (an eigen-solve of anisotropic2d at n = 256 takes seconds, and
    a dashboard's notes and CG overlay ask on every refresh) and kept on the problem."""
    lmin = problem.metadata.get("lambda_min")
    lmax = problem.metadata.get("lambda_max")
    if lmin is not None and lmax is not None:
        return float(lmin), float(lmax)
    cached = getattr(problem, "_extreme_eigenvalues", None)
    if cached is None:
        cached = _symmetric_extremes(problem.A)
        problem._extreme_eigenvalues = cached
    return cached


def condition_number(problem) -> float:
    lmin, lmax = extreme_eigenvalues(problem)
    return lmax / lmin


def optimal_omega(rho_j: float) -> float:
    r""":math:`\omega^* = 2 / (1 + \sqrt{1 - \rho_J^2})` for consistently ordered matrices."""
    rho_j = _check_rho(rho_j)
    return 2.0 / (1.0 + math.sqrt(1.0 - rho_j**2))


def sor_spectral_radius(omega, rho_j: float):
    """Spectral radius of the SOR iteration matrix (Young's formula); ``omega`` may be an array."""
    rho_j = _check_rho(rho_j)
    w = np.asarray(omega, dtype=float)
    if not np.all((w > 0) & (w < 2)):  # (written so that a NaN omega is refused too)
        raise InvalidParameter("omega must lie in (0, 2) for SOR.")
    w_opt = optimal_omega(rho_j)
    disc = np.maximum(w**2 * rho_j**2 - 4 * (w - 1), 0.0)
    below = ((w * rho_j + np.sqrt(disc)) / 2) ** 2
    out = np.where(w <= w_opt, below, w - 1)
    return float(out) if np.ndim(out) == 0 else out


def gauss_seidel_spectral_radius(rho_j: float) -> float:
    return _check_rho(rho_j) ** 2


def cg_rate(kappa: float) -> float:
    r""":math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)`."""
    if not kappa >= 1:  # (NaN included)
        raise InvalidParameter(f"a condition number is at least 1, got {kappa:g}.")
    s = math.sqrt(kappa)
    return (s - 1) / (s + 1)


def cg_error_bound(kappa: float, iterations):
    r"""The CG bound :math:`\|e_k\|_A/\|e_0\|_A \le 2 ((\sqrt\kappa-1)/(\sqrt\kappa+1))^k`."""
    return 2 * cg_rate(kappa) ** np.asarray(iterations, dtype=float)


def iterations_to_tolerance(rate: float, rtol: float) -> float:
    """Iterations for an error reduction of ``rtol`` at a constant asymptotic ``rate``.

    ``inf`` for a rate of 1 or more (no convergence) and for ``rtol = 0`` (never reached
    exactly); 0 for ``rtol >= 1`` (reached at the start), 1 for a rate of 0.
    """
    if math.isnan(rate) or math.isnan(rtol) or rtol < 0:
        raise InvalidParameter(f"iterations_to_tolerance needs a rate and an rtol >= 0, got {rate:g} and {rtol:g}.")
    if rtol >= 1:
        return 0.0
    if rate == 0:
        return 1.0  # (an exact step: Jacobi on a diagonal matrix)
    if not 0 < rate < 1 or rtol == 0:
        return math.inf
    return math.log(rtol) / math.log(rate)
