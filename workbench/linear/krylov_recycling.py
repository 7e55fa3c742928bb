r"""Krylov subspace recycling across a sequence: one step = one system solved by deflated CG."""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import param
import scipy.linalg as la

from ..core import IncompatibleProblem, InvalidParameter, InvalidProblem, register_method
from ..core.protocol import SequenceMethod
from .base import AttainableAccuracy
from .deflated_cg import DeflatedCG

__all__ = ["KrylovRecycling", "RecyclingState", "ritz_basis"]


def ritz_basis(Z: np.ndarray, AZ: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``k`` Ritz vectors of :math:`A` on :math:`\mathrm{span}(Z)` with the smallest Ritz values.

    With :math:`Q` an orthonormal basis of the span (pivoted QR, dropping columns that
    are numerically dependent) and :math:`H = Q^T A Q` (from ``AZ``, no matvec), the
    eigenpairs :math:`H y = \theta y` give Ritz pairs :math:`(\theta, Q y)`, the
    Rayleigh-Ritz approximations of :math:`A`'s eigenpairs from the subspace.

    Returns ``(W, theta)``: ``W`` of shape ``(n, min(k, rank))`` with orthonormal
    columns, and its Ritz values in increasing order.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([1.0, 2.0, 3.0, 4.0])
    >>> W, theta = ritz_basis(np.eye(4)[:, :3], A @ np.eye(4)[:, :3], 2)
    >>> theta.round(12).tolist(), np.abs(W[:3]).round(12).tolist()
    ([1.0, 2.0], [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    """
    if Z.shape[1] == 0 or k == 0:
        return np.zeros((Z.shape[0], 0)), np.zeros(0)
    # Unit columns first: CG's directions shrink with the residual, and the rank test below
    # is relative to the largest column; unscaled, it dropped late directions as "dependent".
    norms = np.linalg.norm(Z, axis=0)
    nonzero = norms > 0
    if not np.any(nonzero):
        return np.zeros((Z.shape[0], 0)), np.zeros(0)
    Z, AZ = Z[:, nonzero] / norms[nonzero], AZ[:, nonzero] / norms[nonzero]
    Q, R, piv = la.qr(Z, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    # Directions of later CG steps can be nearly in the span of the recycled basis; a
    # relative threshold keeps Q well conditioned (a 1e-10 column would be all rounding).
    rank = int(np.sum(d > 1e-10 * d[0])) if d[0] > 0 else 0
    if rank == 0:
        return np.zeros((Z.shape[0], 0)), np.zeros(0)
    Q, R = Q[:, :rank], R[:rank, :rank]
    # A Q = A Z[:, piv] R^{-1}: solve R^T (A Q)^T = (A Z[:, piv])^T
    AQ = la.solve_triangular(R, AZ[:, piv[:rank]].T, trans="T").T
    H = Q.T @ AQ
    theta, Y = la.eigh(0.5 * (H + H.T))
    keep = min(k, rank)
    return Q @ Y[:, :keep], theta[:keep]


@functools.lru_cache(maxsize=None)
def _blas_controller():
    """threadpoolctl's controller, made once (making one scans the loaded libraries: 1.5 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@dataclasses.dataclass
class RecyclingState:
    """Where a recycling run stands.

    ``order`` is the solve order (system indices); ``iterations[j]``, ``matvecs[j]``
    and ``residual[j]`` (the true relative residual ``||b - A x|| / ||b||`` of its
    solution) describe the j-th solve (of system ``order[j]``); ``t`` solves
    are done. ``basis`` is the recycled basis the next solve deflates, ``ritz`` its
    Ritz values (on the last system), ``capped`` counts solves stopped at ``max_iterations``.
    """

    t: int
    order: np.ndarray
    contexts: np.ndarray
    iterations: np.ndarray
    matvecs: np.ndarray
    residual: np.ndarray
    basis: np.ndarray | None = None
    ritz: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    cumulative_matvecs: int = 0
    capped: int = 0
    order_setting: str = "given"
    used: int = 0  #: basis columns the last solve was deflated by
    period: float | None = None  #: the contexts' period, for a sequence whose contexts are angles


@register_method("krylov_recycling", family="krylov")
class KrylovRecycling(SequenceMethod):
    r"""Solve a sequence :math:`A_t x = b_t` by CG, recycling a deflation space from solve to solve.

    Each step solves one system with :class:`~workbench.linear.DeflatedCG`, deflated by
    the basis :math:`W` carried over from the previous solve, then updates :math:`W`:
    the ``recycle`` Ritz vectors with the smallest Ritz values of the current matrix on
    :math:`\mathrm{span}([W, p_0, \dots, p_{m-1}])`, the old basis and the first
    ``directions`` CG search directions of this solve (:func:`ritz_basis`; :math:`AW`
    and :math:`A p_j` are at hand, so the update costs no matvec). The next solve pays
    ``recycle`` matvecs to form its own :math:`A_{t+1} W`; ``system_matvecs`` and
    ``cumulative_matvecs`` count them.

    Slow eigenvectors of related systems are close, so deflating them removes the
    smallest eigenvalues and CG converges at the rate of the rest. ``order="sorted"``
    solves the systems in order of their context (the parameter that generated them),
    so consecutive systems are as close as the sequence allows: Sorting Krylov
    Recycling (Wang et al., 2024), for a scalar context, where the greedy
    nearest-neighbour order is the sorted one. ``recycle=0`` is plain CG on every
    system, the baseline.

    Metrics per solve: ``instance`` (solves done), ``remaining``, ``system`` (index of
    the system just solved), ``context``, ``iterations`` and ``system_matvecs`` (of that
    solve), ``cumulative_matvecs`` (the run's work so far), ``true_residual`` (of the last
    solution), ``capped``, ``recycled`` (columns of the basis used) and ``ritz_min`` (the
    smallest Ritz value of the new basis).

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.rotated_anisotropic_sequence(m=16, instances=12, seed=0)
    >>> plain = wb.run(wb.linear.KrylovRecycling(recycle=0), seq)
    >>> sorted_ = wb.run(wb.linear.KrylovRecycling(order="sorted"), seq)
    >>> sorted_.status.label, sorted_.final["cumulative_matvecs"] < plain.final["cumulative_matvecs"]
    ('converged', True)

    References
    ----------
    M. L. Parks, E. de Sturler, G. Mackey, D. D. Johnson, S. Maiti. *Recycling Krylov
    subspaces for sequences of linear systems*. SIAM J. Sci. Comput. 28(5), 2006.

    H. Wang, Z. Hao, J. Wang, Z. Geng, Z. Wang, B. Li, F. Wu. *Accelerating Data
    Generation for Neural Operators via Krylov Subspace Recycling*. ICLR 2024.
    """

    # (problem_kind, stop_metric "remaining", stop_scale and confirm_convergence: SequenceMethod)

    recycle = param.Integer(default=20, bounds=(0, 500),
                            doc="Ritz vectors carried to the next solve (0: plain CG on every system).")
    directions = param.Integer(default=60, bounds=(1, 5000),
                               doc="First CG search directions of each solve fed to the Ritz update.")
    order = param.Selector(default="given", objects=["given", "sorted"],
                           doc="Solve the systems as given, or sorted by their context (Sorting Krylov Recycling).")
    rtol = param.Number(default=1e-8, bounds=(1e-15, 0.5), doc="Per-system tolerance on ||b - A x|| / ||b||.")
    max_iterations = param.Integer(default=10_000, bounds=(1, 10_000_000), doc="CG iteration cap per system.")

    may_be_inert = frozenset({"directions"})

    def inert_params(self) -> frozenset[str]:
        """``directions`` feeds the basis update, which ``recycle=0`` does not make."""
        return self.may_be_inert if self.recycle == 0 else frozenset()

    def solve_order(self, contexts: np.ndarray, systems: np.ndarray, period: float | None = None) -> np.ndarray:
        """``systems`` in the order of the ``order`` setting: as given (by index) or by context.

        With a ``period`` (contexts that are angles) the sorted order goes around the circle
        and starts after the widest gap between neighbouring contexts, so that systems on
        either side of the wrap (an angle just below 2 pi and one just above 0) are solved
        one after the other rather than at the two ends of the sequence.
        """
        systems = np.sort(np.asarray(systems, dtype=np.int64))
        if self.order != "sorted":
            return systems
        ordered = systems[np.argsort(contexts[systems], kind="stable")]
        if period and len(ordered) > 1:
            c = np.mod(contexts[ordered], period)
            ordered = ordered[np.argsort(c, kind="stable")]
            c = np.sort(c)
            gaps = np.append(np.diff(c), c[0] + period - c[-1])  # gaps[j]: from system j to j + 1
            start = (int(np.argmax(gaps)) + 1) % len(ordered)
            ordered = np.roll(ordered, -start)
        return ordered

    def init(self, problem) -> RecyclingState:
        """Check the sequence and order its systems; no basis yet (the first solve is plain CG)."""
        self.check_problem(problem)
        T = len(problem)
        if T < 1:
            raise InvalidProblem("the sequence has no instances; give it instances >= 1.")
        contexts = np.asarray(problem.contexts, dtype=float)
        period = None
        if getattr(problem, "periodic", False):
            lo, hi = problem.context_range
            period = float(hi - lo)
        return RecyclingState(t=0, order=self.solve_order(contexts, np.arange(T), period), contexts=contexts,
                              iterations=np.zeros(T, dtype=np.int64), matvecs=np.zeros(T, dtype=np.int64),
                              residual=np.full(T, np.nan), order_setting=self.order, period=period)

    def step(self, problem, state: RecyclingState) -> RecyclingState:
        r"""Solve the next system deflated by the recycled basis, then update the basis.

        A change of ``order`` mid-run reorders the systems not solved yet; a smaller
        ``recycle`` deflates this system by the slowest columns of the basis already
        (``recycle=0`` by none, and drops the basis).
        """
        # The dense work here is small (n x k products, a QR of n x (k + m)); OpenBLAS's
        # threads spin against each other on it, which made a recycled solve 5x slower on
        # 2 cores than on one thread.
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._solve_and_recycle(problem, state)

    def next_system(self, problem, state: RecyclingState):
        """``(index, instance)`` of the next system to solve, after a mid-run change of ``order``."""
        t = state.t
        if t >= len(problem):
            raise InvalidProblem(f"all {len(problem)} systems are solved; reset to start again.")
        if self.order != state.order_setting:
            state.order[t:] = self.solve_order(state.contexts, state.order[t:], state.period)
            state.order_setting = self.order
        i = int(state.order[t])
        return i, problem.instance(i)

    @staticmethod
    def record_solve(state: RecyclingState, instance, x, *, iterations: int, matvecs: int, capped: bool) -> None:
        """Write the solve's counts and its true residual into the record, and count it done."""
        t = state.t
        state.iterations[t] = iterations
        state.matvecs[t] = matvecs
        # The true residual, not the solver's recursive one (which drifts from it in floating point,
        # and more so with projections); one check product per system, not counted as solver work.
        state.residual[t] = float(np.linalg.norm(instance.b - instance.A @ x)) / (instance.b_norm or 1.0)
        state.cumulative_matvecs += int(matvecs)
        state.capped += int(capped)
        state.t = t + 1

    def _solve_and_recycle(self, problem, state: RecyclingState) -> RecyclingState:
        import workbench as wb

        i, instance = self.next_system(problem, state)
        basis = None
        # (a basis from a system of another size says nothing about this one: start afresh)
        if self.recycle > 0 and state.basis is not None and state.basis.shape[1] and state.basis.shape[0] == instance.n:
            # (the columns come in increasing Ritz value: a smaller recycle keeps the slowest)
            basis = state.basis[:, :self.recycle]
        solver = DeflatedCG(basis=basis, keep_directions=self.directions if self.recycle > 0 else 0)
        try:
            runner = wb.Runner(solver, instance, rtol=self.rtol, max_steps=self.max_iterations)
            res = runner.run()
        except InvalidParameter as exc:
            if basis is None:
                raise
            # The recycled basis is orthonormal: a W^T A W that is not positive definite means
            # this system's matrix is not, on the slow modes of the last one.
            raise IncompatibleProblem(f"system {i} of the sequence is not positive definite on the recycled "
                                      f"basis ({exc}); deflated CG needs SPD systems.") from None
        state.used = 0 if basis is None else basis.shape[1]
        # (a system whose rtol is below the attainable accuracy is solved as well as it can be;
        # the run's note names those whose true residual misses rtol)
        floor = isinstance(runner.error, AttainableAccuracy)
        if res.status.label not in ("converged", "max_steps") and not floor:
            raise IncompatibleProblem(f"system {i} of the sequence could not be solved ({res.status.label}): "
                                      f"{res.message}")
        inner = res.state
        self.record_solve(state, instance, inner.x, iterations=res.iterations, matvecs=int(inner.matvecs),
                          capped=res.status.label == "max_steps")
        if self.recycle > 0:
            deflation = inner.extra["deflation"]
            P, AP = inner.extra["P"], inner.extra["AP"]
            Z = np.column_stack(P) if P else np.zeros((instance.n, 0))
            AZ = np.column_stack(AP) if AP else np.zeros((instance.n, 0))
            if deflation is not None:
                Z, AZ = np.hstack([deflation.W, Z]), np.hstack([deflation.AW, AZ])
            state.basis, state.ritz = ritz_basis(Z, AZ, min(self.recycle, instance.n - 1))
        else:
            state.basis, state.ritz = None, np.zeros(0)
        return state

    def metrics(self, problem, state: RecyclingState) -> dict[str, float]:
        """The record of the last solve (NaN before the first) and the running counts."""
        t = state.t
        out = {"instance": float(t), "remaining": float(len(problem) - t),
               "cumulative_matvecs": float(state.cumulative_matvecs), "capped": float(state.capped),
               "recycled": float(state.used),
               "ritz_min": float(state.ritz[0]) if state.ritz.size else np.nan}
        if t == 0:
            out.update(system=np.nan, context=np.nan, true_residual=np.nan, iterations=np.nan,
                       system_matvecs=np.nan)
        else:
            i = int(state.order[t - 1])
            out.update(system=float(i), context=float(state.contexts[i]), true_residual=float(state.residual[t - 1]),
                       iterations=float(state.iterations[t - 1]),
                       system_matvecs=float(state.matvecs[t - 1]))
        return out

    def end_note(self, problem, state: RecyclingState) -> str:
        """Systems left short of ``rtol``: stopped at the iteration cap, or solutions whose true
        residual misses it (CG's recursive residual drifts near the attainable accuracy)."""
        t = state.t
        if t == 0:
            return ""
        notes = []
        if state.capped:
            notes.append(f"{state.capped} of {t} systems stopped at max_iterations = {self.max_iterations} "
                         "before reaching rtol; raise max_iterations")
        short = state.residual[:t] > 1.1 * self.rtol
        drifted = int(short.sum()) - state.capped
        if drifted > 0:
            notes.append(f"{drifted} of {t} solutions miss rtol = {self.rtol:g} by more than 10 % in their true "
                         f"residual ||b - A x|| / ||b|| (worst {float(state.residual[:t].max()):.2g}), below the "
                         "accuracy the solver's recursion holds; use a larger rtol")
        return ("Note: " + "; ".join(notes) + ".") if notes else ""
