r"""GCRO-DR: restarted GMRES that recycles harmonic Ritz vectors across restarts and across systems."""
from __future__ import annotations

import numpy as np
import param
import scipy.linalg as la

from ..core import InvalidParameter, register_method
from .krylov_recycling import KrylovRecycling, RecyclingState

__all__ = ["GCRODR", "gcro_dr_solve", "harmonic_ritz"]


def harmonic_ritz(G: np.ndarray, WV: np.ndarray, k: int) -> np.ndarray:
    r"""The ``k`` harmonic Ritz vectors of smallest modulus, as coefficient columns.

    Solves :math:`G^T G z = \theta\, G^T (W^T V) z` (Parks et al. 2006, eq. 2.12), where
    :math:`A V = W G` and the harmonic Ritz values :math:`\theta` approximate the
    eigenvalues of :math:`A` closest to 0, whose eigenvectors slow GMRES down. Complex
    pairs are kept whole and split into their real and imaginary parts, so the span is
    real and holds both; returns a real ``(G.shape[1], <= k)`` array.
    """
    s = G.shape[1]
    k = min(k, s)
    theta, Z = la.eig(G.T @ G, G.T @ WV)
    finite = np.isfinite(theta)
    theta, Z = theta[finite], Z[:, finite]
    order = np.argsort(np.abs(theta))
    cols, taken = [], 0
    for j in order:
        if taken >= k:
            break
        z = Z[:, j]
        if abs(theta[j].imag) > 1e-12 * max(abs(theta[j]), 1e-300):
            if theta[j].imag < 0:
                continue  # the conjugate of a pair already taken (or to be taken with its partner)
            cols += [z.real, z.imag]
            taken += 2
        else:
            cols.append(z.real)
            taken += 1
    if not cols:
        return np.zeros((s, 0))
    P = np.column_stack(cols)
    Q, R = la.qr(P, mode="economic")
    keep = np.abs(np.diag(R)) > 1e-12 * np.abs(R[0, 0])
    return Q[:, keep]


def _arnoldi(matvec, v0, C, steps, beta=1.0, target=0.0):
    """Up to ``steps`` Arnoldi steps with ``(I - C C^T) A``: V (n x (s+1)), Hbar ((s+1) x s), B = C^T A V.

    Stops early once the cycle's residual reaches ``target``. That residual is the GMRES
    residual :math:`\min_y \|\beta e_1 - \bar H y\|` alone: the recycled block of the
    least-squares problem can always be satisfied exactly, so Givens rotations on
    :math:`\bar H` track it at no cost, as GMRES does.
    """
    n = v0.size
    V = np.zeros((n, steps + 1))
    H = np.zeros((steps + 1, steps))
    B = np.zeros((C.shape[1], steps))
    V[:, 0] = v0
    cs, sn = np.zeros(steps), np.zeros(steps)
    g = np.zeros(steps + 1)
    g[0] = beta
    done = steps
    for j in range(steps):
        w = matvec(V[:, j])
        if C.shape[1]:
            b = C.T @ w
            w -= C @ b
            B[:, j] = b
        # modified Gram-Schmidt, then once more: the basis stays orthonormal to rounding
        for _ in range(2):
            h = V[:, :j + 1].T @ w
            w -= V[:, :j + 1] @ h
            H[:j + 1, j] += h
        H[j + 1, j] = np.linalg.norm(w)
        column = H[:j + 2, j].copy()
        for i in range(j):  # the earlier rotations, then the one that zeroes the subdiagonal
            column[i], column[i + 1] = cs[i] * column[i] + sn[i] * column[i + 1], -sn[i] * column[i] + cs[i] * column[i + 1]
        radius = float(np.hypot(column[j], column[j + 1]))
        cs[j], sn[j] = (1.0, 0.0) if radius == 0 else (column[j] / radius, column[j + 1] / radius)
        g[j + 1], g[j] = -sn[j] * g[j], cs[j] * g[j]
        if H[j + 1, j] <= 1e-14 * np.linalg.norm(H[:j + 2, j]) or abs(g[j + 1]) <= target:
            # converged, or a happy breakdown (the Krylov space is invariant and holds the solution)
            done = j + 1
            if H[j + 1, j] > 1e-14 * np.linalg.norm(H[:j + 2, j]):
                V[:, j + 1] = w / H[j + 1, j]
            break
        V[:, j + 1] = w / H[j + 1, j]
    return V[:, :done + 1], H[:done + 1, :done], B[:, :done]


def _orthonormal_image(AU, U):
    r"""``(C, U')`` with :math:`C` orthonormal, :math:`A U' = C` and :math:`U'` from the columns of ``U``.

    A pivoted QR :math:`A U \Pi = Q R` keeps the ``rank`` leading pivoted columns, for which
    :math:`A U \Pi_{:r} = Q_{:r} R_{:r,:r}` holds exactly; dependent columns are dropped
    whole (without pivoting, dropping a small diagonal entry of R would break
    :math:`A U' = C` for the columns after it).
    """
    if AU.shape[1] == 0:
        return AU[:, :0], U[:, :0]
    Q, R, piv = la.qr(AU, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > 1e-12 * d[0])) if d[0] > 0 else 0
    if rank == 0:
        return AU[:, :0], U[:, :0]
    R = R[:rank, :rank]
    return Q[:, :rank], la.solve_triangular(R, U[:, piv[:rank]].T, trans="T").T


def gcro_dr_solve(A, b, x0=None, *, U=None, m=40, k=20, rtol=1e-8, max_matvecs=100_000):
    r"""Solve :math:`A x = b` by GCRO-DR(m, k), starting from the recycled space ``U``.

    Each cycle minimises the residual over :math:`\mathrm{span}(U) + K_{m-k}((I - CC^T)A, r)`
    with :math:`C = AU` orthonormal, then replaces :math:`U` by the ``k`` harmonic Ritz
    vectors of smallest modulus from that space (:func:`harmonic_ritz`). The first cycle
    without a ``U`` is GMRES(m). Returns ``(x, U, matvecs, residual_norms)``; the returned
    ``U`` is the space to recycle into the next system (its ``C`` is recomputed there,
    ``k`` products, because the matrix changes).
    """
    n = b.size
    count = [0]

    def matvec(v):
        count[0] += 1
        return A @ v

    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = b - matvec(x) if x0 is not None and np.any(x) else b.copy()
    target = rtol * float(np.linalg.norm(b))
    history = [float(np.linalg.norm(r))]
    C = np.zeros((n, 0))
    if U is not None and U.shape[0] != n:
        U = None  # a space from a system of another size says nothing about this one
    if U is not None and U.shape[1] and max_matvecs > U.shape[1]:
        AU = np.column_stack([matvec(U[:, j]) for j in range(U.shape[1])])
        C, U = _orthonormal_image(AU, U)
        if C.shape[1]:
            coef = C.T @ r
            x += U @ coef
            r -= C @ coef
        else:
            U = None
    else:
        U = None
    history.append(float(np.linalg.norm(r)))
    while history[-1] > target and count[0] < max_matvecs:
        beta = history[-1]
        kk = 0 if U is None else U.shape[1]
        steps = min(max(m - kk, 1), max_matvecs - count[0])  # never past the product cap
        if steps < 1:
            break
        V, Hbar, B = _arnoldi(matvec, r / beta, C, steps, beta=beta, target=target)
        s = Hbar.shape[1]
        if kk:
            # A [U~ V_s] = [C V_{s+1}] G with U~ = U D (unit columns): the cycle's least squares
            D = 1.0 / np.linalg.norm(U, axis=0)
            Ut = U * D
            G = np.block([[np.diag(D), B], [np.zeros((s + 1, kk)), Hbar]])
            W = np.hstack([C, V])
            Vhat = np.hstack([Ut, V[:, :s]])
        else:
            G, W, Vhat = Hbar, V, V[:, :s]
        rhs = W.T @ r  # = (0, beta e1) up to rounding: r is orthogonal to C
        y, *_ = la.lstsq(G, rhs)
        x += Vhat @ y
        r = r - W @ (G @ y)
        history.append(float(np.linalg.norm(r)))
        # the new recycle space: harmonic Ritz vectors of this cycle's space (none to find for
        # GMRES, k = 0, which then skips the generalized eigenproblem)
        P = harmonic_ritz(G, W.T @ Vhat, k) if k else np.zeros((G.shape[1], 0))
        CQ, U = _orthonormal_image(G @ P, Vhat @ P)  # A (Vhat P) = W (G P)
        if U.shape[1] == 0:
            U, C = None, np.zeros((n, 0))
            continue
        C = W @ CQ
        # re-orthogonalise r against the new C: it is, in exact arithmetic (r = W(rhs - G y))
        r -= C @ (C.T @ r)
    return x, (np.zeros((n, 0)) if U is None else U), count[0], np.array(history)


@register_method("gcro_dr", family="krylov")
class GCRODR(KrylovRecycling):
    r"""Solve a sequence :math:`A_t x = b_t` of general (non-symmetric) systems by GCRO-DR.

    GMRES restarted every ``cycle`` products, keeping ``recycle`` harmonic Ritz vectors
    (those of smallest modulus) from one cycle to the next, and from one system to the
    next: the recycled space :math:`U` enters the next system's solve through
    :math:`C = A_{t+1} U` (``recycle`` products, counted), and GMRES runs on
    :math:`(I - CC^T) A`, with the slow eigenvalues near 0 deflated. ``recycle=0`` is
    GMRES(``cycle``) on every system, the baseline; ``across_systems=False`` recycles across
    the restarts of each solve only; ``order="sorted"`` solves the systems in
    order of their context (Sorting Krylov Recycling, Wang et al. 2024).

    Per-solve metrics as :class:`~workbench.linear.KrylovRecycling` (``iterations`` counts
    GMRES cycles here). The residual each solve reaches is checked, as the true
    ``||b - A x|| / ||b||``.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.convection_diffusion_sequence(m=16, instances=8)
    >>> plain = wb.run(wb.linear.GCRODR(recycle=0), seq)
    >>> recycled = wb.run(wb.linear.GCRODR(), seq)
    >>> recycled.final["cumulative_matvecs"] < plain.final["cumulative_matvecs"]
    True

    References
    ----------
    M. L. Parks, E. de Sturler, G. Mackey, D. D. Johnson, S. Maiti. *Recycling Krylov
    subspaces for sequences of linear systems*. SIAM J. Sci. Comput. 28(5), 2006.

    H. Wang, Z. Hao, J. Wang, Z. Geng, Z. Wang, B. Li, F. Wu. *Accelerating Data
    Generation for Neural Operators via Krylov Subspace Recycling*. ICLR 2024.
    """

    recycle = param.Integer(default=10, bounds=(0, 500),
                            doc="Harmonic Ritz vectors kept between cycles and systems (0: GMRES on every system).")
    cycle = param.Integer(default=40, bounds=(2, 5000), doc="Products per GMRES cycle (m, recycled vectors included).")
    max_iterations = param.Integer(default=100_000, bounds=(1, 10_000_000), doc="Product cap per system.")
    across_systems = param.Boolean(default=True, doc=(
        "Carry the recycled space to the next system; off: GCRO-DR on each system alone (recycling "
        "across its restarts only)."))

    may_be_inert = frozenset({"directions"})

    def inert_params(self) -> frozenset[str]:
        """``directions`` belongs to the CG recycling of the parent class; GCRO-DR does not read it."""
        return self.may_be_inert

    def __init__(self, **params):
        super().__init__(**params)
        self._check_cycle(self.recycle, self.cycle)

    def _check_setting(self, name, value):
        # refused at the assignment, so a run goes on with the old values instead of failing
        super()._check_setting(name, value)
        if name in ("recycle", "cycle"):
            self._check_cycle(self._proposed("recycle"), self._proposed("cycle"))

    @staticmethod
    def _check_cycle(recycle: int, cycle: int) -> None:
        if recycle >= cycle:
            raise InvalidParameter(f"recycle = {recycle} leaves no room in a cycle of {cycle} products; "
                                   "make recycle smaller than cycle.")

    def _solve_and_recycle(self, problem, state: RecyclingState) -> RecyclingState:
        i, instance = self.next_system(problem, state)
        U = state.basis if (self.recycle > 0 and self.across_systems and state.basis is not None) else None
        if U is not None:
            U = U[:, :self.recycle] if U.shape[0] == instance.n else None
        x, U_next, matvecs, history = gcro_dr_solve(instance.A, instance.b, U=U, m=self.cycle, k=self.recycle,
                                                    rtol=self.rtol, max_matvecs=self.max_iterations)
        state.used = 0 if U is None else U.shape[1]
        self.record_solve(state, instance, x, iterations=len(history) - 2, matvecs=matvecs,
                          capped=history[-1] > self.rtol * (instance.b_norm or 1.0))
        state.basis = U_next if self.recycle > 0 else None
        state.ritz = np.zeros(0)
        return state
