"""Sinkhorn-Newton-Sparse: Sinkhorn warm-up, then Newton steps with a sparsified Hessian."""
from __future__ import annotations

import math

import numpy as np
import param
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg

from ..core import InvalidParameter, register_method
from .transport_base import TransportMethod, TransportState, log_plan

__all__ = ["SinkhornNewtonSparse", "sparsify_plan"]


def sparsify_plan(P: np.ndarray, rho: float) -> sp.csr_matrix:
    """The ``ceil(rho * n * m)`` largest entries of ``P`` as a CSR matrix (the rest dropped).

    Selection is one ``argpartition`` pass, O(nm); ties at the threshold are
    broken arbitrarily, so exactly ``ceil(rho * n * m)`` entries are kept.

    Examples
    --------
    >>> import numpy as np
    >>> sparsify_plan(np.arange(12.0).reshape(3, 4), 0.25).toarray()
    array([[ 0.,  0.,  0.,  0.],
           [ 0.,  0.,  0.,  0.],
           [ 0.,  9., 10., 11.]])
    """
    if isinstance(rho, (bool, np.bool_)) or not isinstance(rho, (int, float, np.integer, np.floating)) \
            or not math.isfinite(rho) or not 0 < rho <= 1:
        raise InvalidParameter(f"rho is the fraction of plan entries kept and must lie in (0, 1], got {rho!r}; "
                               "try 0.02 (a few entries per row).")
    try:
        P = np.asarray(P, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter("sparsify_plan needs a plan, a matrix of numbers (a NumPy array or nested "
                               f"lists); got {type(P).__name__}.") from None
    if P.ndim != 2 or P.size == 0:
        raise InvalidParameter(f"sparsify_plan needs a non-empty matrix (2-D), got an array of shape {P.shape}.")
    n, m = P.shape
    total = n * m
    k = min(total, max(1, math.ceil(rho * total - 1e-9)))
    flat = P.ravel()
    if k == total:
        idx = np.arange(total)
    else:
        idx = np.argpartition(flat, total - k)[total - k:]
    idx.sort()  # row-major order: CSR without a sort inside scipy
    rows, cols = np.divmod(idx, m)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((flat[idx], cols, indptr), shape=(n, m))



class _CGBrokeDown(Exception):
    """Raised from the CG callback when its iterate runs off or stops being finite."""


@register_method("sinkhorn_newton_sparse", family="transport")
class SinkhornNewtonSparse(TransportMethod):
    r"""Sinkhorn-Newton-Sparse (SNS): Newton's method on the dual with a sparsified Hessian.

    The first ``warmup`` steps are log-domain Sinkhorn steps. Every later step
    tries a Newton step on the concave dual
    :math:`F(f, g) = \langle a, f\rangle + \langle b, g\rangle - \varepsilon\sum_{ij} P_{ij}`,
    whose Hessian is :math:`-\frac{1}{\varepsilon}\begin{pmatrix}\mathrm{diag}(P1) & P\\ P^T & \mathrm{diag}(P^T1)\end{pmatrix}`:

    1. keep the largest fraction ``rho`` of the plan's entries,
       :math:`P_\rho` (one selection pass);
    2. solve :math:`\left[\begin{pmatrix}\mathrm{diag}(P1) & P_\rho\\ P_\rho^T & \mathrm{diag}(P^T1)\end{pmatrix}
       + \mu I\right]\Delta = \varepsilon \begin{pmatrix}a - P1\\ b - P^T1\end{pmatrix}` by Jacobi-preconditioned
       conjugate gradients (cost O(rho n m) per CG iteration), with the Levenberg term
       :math:`\mu = 3\cdot 10^{-3}\,\|\nabla F\|_1/(n + m)`, which vanishes at the optimum;
    3. backtrack :math:`\alpha = 1, 1/2, \dots` until the Armijo condition
       :math:`F(z + \alpha\Delta) \ge F(z) + c\,\alpha\,\nabla F^T\Delta` holds;
       when the predicted gain is below the round-off of :math:`F` (close to the
       optimum) a trial is accepted if it lowers the marginal error instead;
    4. keep that trial only if its dual objective is at least that of the Sinkhorn
       step from the same point (both gains at round-off: if its marginal error is
       lower); otherwise take the Sinkhorn step (``step_size`` 0), and let the next
       trial wait 1, 2, 4, ... Sinkhorn steps (at most ``max_newton_pause``; an accepted
       trial, or a knob moved, ends the wait). After three wins in a row only every fourth
       trial is compared (``win_streak``, ``compare_every``).

    Choices not pinned down by the paper's abstract, made here: the diagonal
    blocks keep the exact marginals ``P1`` and ``P^T 1`` and only the
    off-diagonal blocks are sparsified, which keeps the matrix diagonally
    dominant, hence positive semi-definite, so CG applies; the Levenberg term
    bounds the Jacobi weights of rows whose plan mass underflowed (small
    epsilon), which otherwise make CG run off; the safeguard of step 4 makes
    every iteration of the Newton phase at least as good as a Sinkhorn
    iteration on the dual, so with a poor sparse model (small ``rho``, or a
    plan that is not sparse) SNS takes no more iterations than Sinkhorn, and the
    waits after rejected trials keep its work near Sinkhorn's. Per Newton trial the cost is one pass to select the
    entries, one for the Sinkhorn comparison (two when it is taken), the CG
    iterations, and one pass per line-search trial (usually one).

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.histograms_2d(side=12)
    >>> res = wb.run(wb.sparse.SinkhornNewtonSparse(reg=5e-4, rho=0.05), prob, rtol=1e-8)
    >>> res.status.label, res.iterations < 100   # 90; Sinkhorn needs about 1870
    ('converged', True)

    References
    ----------
    X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil, T. Xiao, L. Ying,
    *Accelerating Sinkhorn algorithm with sparse Newton iterations*, ICLR 2024.
    """

    rho = param.Number(default=0.02, softbounds=(0.005, 0.5), step=0.005,
                       doc="Fraction of the plan's entries kept in the sparsified Hessian, in (0, 1].")
    warmup = param.Integer(default=50, softbounds=(0, 200),
                           doc="Sinkhorn steps before the Newton phase starts.")
    cg_rtol = param.Number(default=1e-2, softbounds=(1e-12, 1e-2),
                           doc="Relative residual at which the inner CG solve stops.")
    cg_maxiter = param.Integer(default=200, softbounds=(1, 1000), doc="Most CG iterations per Newton step.")
    max_backtracks = param.Integer(default=30, softbounds=(1, 60),
                                   doc="Most halvings of the step length in the line search.")

    #: Armijo constant of the line search.
    armijo = 1e-4

    #: The Newton-phase metrics, with their values before the first Newton step: no CG
    #: iteration or line-search trial taken yet (0), no sparse Hessian nor step length yet
    #: (NaN: not drawn, and not a guard metric, so the run goes on). Reported from the initial
    #: iterate on, so a plot or stop test on one of them finds it in row 0 of the trace.
    _NEWTON_METRICS = {"cg_iterations": 0.0, "line_search_trials": 0.0, "hessian_nnz": math.nan,
                       "kept_fraction": math.nan, "step_size": math.nan}

    def metrics(self, problem, state: TransportState) -> dict[str, float]:
        out = {"phase": 0.0, **self._NEWTON_METRICS}
        out.update(super().metrics(problem, state))
        return out

    def check_params(self) -> None:
        super().check_params()
        rho = self._proposed("rho")
        if rho is None or not math.isfinite(rho) or not (0 < rho <= 1):
            raise InvalidParameter(
                f"rho is the fraction of plan entries kept and must lie in (0, 1], got {rho!r}; "
                "try 0.02 (a few entries per row)."
            )
        warmup, cg_rtol, cg_maxiter, max_backtracks = (
            self._proposed(n) for n in ("warmup", "cg_rtol", "cg_maxiter", "max_backtracks"))
        if warmup is None or warmup < 0:
            raise InvalidParameter(f"warmup must be 0 or more Sinkhorn steps, got {warmup!r}.")
        if not (cg_rtol and 0 < cg_rtol < 1) or not (cg_maxiter and cg_maxiter >= 1):
            raise InvalidParameter("cg_rtol must lie in (0, 1) and cg_maxiter be at least 1.")
        if not (max_backtracks and max_backtracks >= 1):
            raise InvalidParameter("max_backtracks must be at least 1.")

    #: Most Sinkhorn steps taken between two Newton trials after repeated rejections.
    max_newton_pause = 32
    #: Accepted Newton trials in a row after which only every ``compare_every``-th is compared.
    win_streak = 3
    compare_every = 4

    def step(self, problem, state: TransportState) -> TransportState:
        self.check_params()
        if state.iteration < self.warmup:
            return self.sinkhorn_step(problem, state)
        # After a rejected Newton trial (a Sinkhorn step beat it) the next trials wait 1, 2, 4, ...
        # Sinkhorn steps (at most max_newton_pause), and an accepted one ends the wait: where
        # the sparse model does not pay (small eps early on, a plan far from sparse) the Newton
        # phase then costs about Sinkhorn's work, not 3-15 passes an iteration for nothing.
        # A knob moved (rho, the regularisation, CG's settings) ends the wait: the new model is tried.
        knobs = (float(self.rho), float(self.reg), float(self.cg_rtol), int(self.cg_maxiter),
                 float(self.armijo), int(self.max_backtracks))
        last = state.extra
        same = last.get("_newton_knobs") == knobs
        pause = last.get("_newton_pause", 0) if same else 0
        backoff = last.get("_newton_backoff", 0) if same else 0
        if pause > 0:
            out = self.sinkhorn_step(problem, state)
            # (the model's size is the last trial's: the knobs have not moved since)
            out.extra = {"phase": 1.0, "step_size": 0.0, "cg_iterations": 0.0, "line_search_trials": 0.0,
                         "hessian_nnz": last.get("hessian_nnz", math.nan),
                         "kept_fraction": last.get("kept_fraction", math.nan),
                         "_newton_pause": pause - 1, "_newton_backoff": backoff, "_newton_knobs": knobs}
            return out
        # A model that keeps winning is compared with the Sinkhorn step only on every
        # compare_every-th trial once it has won win_streak in a row: the comparison costs 1-2
        # passes a trial, half again the work of a step that wins anyway.
        wins = last.get("_newton_wins", 0) if same else 0
        compare = wins < self.win_streak or state.iteration % self.compare_every == 0
        out = self.newton_step(problem, state, compare=compare)
        if out.extra.get("step_size") == 0.0:
            backoff = min(max(2 * backoff, 1), self.max_newton_pause)
            out.extra.update(_newton_pause=backoff, _newton_backoff=backoff, _newton_knobs=knobs)
        else:
            out.extra.update(_newton_wins=wins + 1, _newton_knobs=knobs)
        return out

    # ------------------------------------------------------------------------
    def _evaluate(self, problem, f, g, eps):
        """Plan, marginals, dual objective and marginal error at ``(f, g)`` (one pass)."""
        with np.errstate(over="ignore", invalid="ignore"):
            P = np.exp(log_plan(f, g, self._scaled_cost(problem, eps), eps))
            r, c = P.sum(axis=1), P.sum(axis=0)
            F = float(problem.a @ f + problem.b @ g - eps * r.sum())
            # (a trial that overshoots has an infinite error, and is rejected by its F)
            err = float(np.abs(r - problem.a).sum() + np.abs(c - problem.b).sum())
        return P, r, c, F, err

    #: Levenberg constant: the Newton system is K + mu I with mu = levenberg * err / (n + m).
    levenberg = 3e-3

    def _sinkhorn_candidate(self, problem, state, r, work):
        """The potentials and dual objective of the Sinkhorn step from ``state`` (1 pass, often)."""
        eps = float(self.reg)
        row_lse = state.row_lse if state.eps == eps else None
        if row_lse is None and np.all(r > 1e-280) and np.all(np.isfinite(r)):
            # r_i = exp(f_i/eps + LSE_j((g_j - C_ij)/eps)), so the row LSE the Sinkhorn update
            # needs is log r_i - f_i/eps: no pass over the plan. Rows near the underflow limit
            # (summed from denormal entries) would lose digits; those take the log-domain pass.
            row_lse = np.log(r) - state.f / eps
        f, g, work = self.sinkhorn_potentials(problem, state.g, row_lse, work)
        return f, g, float(problem.a @ f + problem.b @ g - eps * problem.b.sum()), work

    def newton_step(self, problem, state: TransportState, compare: bool = True) -> TransportState:
        """One Newton trial; with ``compare`` it is kept only if it beats the Sinkhorn step from
        the same point (else that Sinkhorn step is taken)."""
        eps = float(self.reg)
        a, b = problem.a, problem.b
        n, m = problem.shape
        work = state.work
        cache = state.extra.get("_eval")
        if state.P is None or state.eps != eps or cache is None:
            P, r, c, F, err = self._evaluate(problem, state.f, state.g, eps)
            work += 1
        else:
            P = state.P
            r, c, F, err = cache
        grad = np.concatenate([a - r, b - c])

        # The safeguard: the Sinkhorn step from the same point (1-2 passes), the step this one
        # must beat. A compared Newton trial is taken only if its dual objective is at least the
        # Sinkhorn step's (at round-off, if its marginal error is lower); a poor sparse model
        # (small rho, large reg, near-empty rows) then costs work, not iterations, and step()
        # spaces such trials out. A model on a winning streak is compared only on every
        # compare_every-th trial, so up to 3 trials in a row are kept on Armijo alone.
        # Computed when needed: a trial that wins often is compared only now and then.
        candidate: list = []

        def sinkhorn_candidate():
            nonlocal work
            if not candidate:
                f_s, g_s, F_s, work = self._sinkhorn_candidate(problem, state, r, work)
                candidate.append((f_s, g_s, F_s))
            return candidate[0]

        sink = None

        Ps = sparsify_plan(P, float(self.rho))
        PsT = Ps.T.tocsr()
        work += 1
        # Levenberg regularisation K + mu I, mu = levenberg * err / (n + m): err / (n + m) is the
        # marginal error spread over the n + m diagonal entries, about a typical diagonal entry
        # (a_i ~ 1/n) times the relative defect. Rows and columns whose plan mass underflowed
        # (1e-10, or 0, at small eps) no longer get Jacobi weights up to 1e300 that make CG run
        # off, and mu -> 0 with the error, so the quadratic convergence near the optimum is kept
        # (Levenberg-Marquardt with mu proportional to the gradient norm). The constant 3e-3 was
        # the best measured on the gallery (1e-3 .. 1: within 10 % in iterations; larger values
        # slow the docs example, 0 lets near-empty rows wreck most Newton steps at eps <= 1e-4).
        mu = self.levenberg * max(err, 0.0) / (n + m)
        # (mu = 0 only at an exact optimum; the floor keeps the Jacobi weights finite there)
        tiny = 1e-300
        dr, dc = np.maximum(r + mu, tiny), np.maximum(c + mu, tiny)

        def matvec(x):
            u, v = x[:n], x[n:]
            return np.concatenate([dr * u + Ps @ v, PsT @ u + dc * v])

        inv_diag = 1.0 / np.concatenate([dr, dc])
        H = LinearOperator((n + m, n + m), matvec=matvec, dtype=float)
        M = LinearOperator((n + m, n + m), matvec=lambda x: inv_diag * x, dtype=float)
        counter = [0]
        # The shortest trial of the line search is 2**-(max_backtracks - 1) of the Newton step.
        # Dual potentials live within a few times max|C| + eps of each other, so a step whose
        # shortest trial still moves one by 1e3 times that is the drift of CG on a singular,
        # inconsistent system (an underflowed plan), not a step the line search could accept.
        scale = float(np.abs(problem.C).max()) + eps
        too_far = 2.0 ** (int(self.max_backtracks) - 1) * 1e3 * scale

        def count(xk):
            counter[0] += 1
            if not np.all(np.isfinite(xk)) or np.abs(xk).max() > too_far:
                raise _CGBrokeDown

        try:
            # With rows or columns of the plan underflowed to 0 the Hessian is singular past what
            # CG tolerates: its iterate runs off (1e28 at the second iteration on the test's 2x2
            # plan) and overflows later. Stop there (not after cg_maxiter useless iterations)
            # and take the Sinkhorn step below.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                delta, _ = cg(H, eps * grad, rtol=float(self.cg_rtol), atol=0.0, maxiter=int(self.cg_maxiter),
                              M=M, callback=count)
        except _CGBrokeDown:
            delta = np.full(n + m, np.nan)
        work += counter[0] * (2.0 * Ps.nnz + n + m) / (n * m)
        with np.errstate(invalid="ignore"):
            gain = float(grad @ delta)

        alpha, accepted, trials = 1.0, None, 0
        if gain > 0 and np.all(np.isfinite(delta)):
            df, dg = delta[:n], delta[n:]
            roundoff = 1e-12 * (1.0 + abs(F))
            for _ in range(int(self.max_backtracks)):
                trials += 1
                f_t, g_t = state.f + alpha * df, state.g + alpha * dg
                P_t, r_t, c_t, F_t, err_t = self._evaluate(problem, f_t, g_t, eps)
                work += 1
                if math.isfinite(F_t):
                    if F_t >= F + self.armijo * alpha * gain or (
                        alpha * gain <= roundoff and err_t < err
                    ):
                        # The first Armijo step length decides: shorter ones move less, so one
                        # that loses to the Sinkhorn step is not worth more trials.
                        f_s, g_s, F_s = sinkhorn_candidate() if compare else (None, None, -math.inf)
                        if not compare:
                            # (unchecked: kept on Armijo, but at round-off of F only if it lowers
                            # the marginal error, as the checked path would demand)
                            better = F_t - F > roundoff or err_t <= err
                        elif F_t - F <= roundoff and F_s - F <= roundoff:
                            # Both gains are round-off of F (at the optimum): the
                            # marginal error decides, which needs the Sinkhorn step's.
                            sink = self.sinkhorn_state(problem, f_s, g_s, work, state.iteration + 1)
                            work = sink.work
                            better = err_t < sink.marginal_error
                        else:
                            better = F_t >= F_s
                        if better:
                            accepted = (f_t, g_t, P_t, r_t, c_t, F_t, err_t)
                        break
                alpha *= 0.5
        extra = {"phase": 1.0, "cg_iterations": float(counter[0]), "line_search_trials": float(trials),
                 "hessian_nnz": float(Ps.nnz), "kept_fraction": Ps.nnz / (n * m),
                 "sparse_plan": Ps}
        if accepted is None:
            # No acceptable step length, or one that a Sinkhorn step beats: the Sinkhorn step.
            if sink is None:
                f_s, g_s, _ = sinkhorn_candidate()
                sink = self.sinkhorn_state(problem, f_s, g_s, work, state.iteration + 1)
            else:
                sink.work = work
            sink.extra = {**extra, "step_size": 0.0, "phase": 1.0}
            return sink
        f_t, g_t, P_t, r_t, c_t, F_t, err_t = accepted
        extra["step_size"] = alpha
        extra["_eval"] = (r_t, c_t, F_t, err_t)
        return TransportState(f=f_t, g=g_t, eps=eps, row_lse=None, P=P_t, marginal_error=err_t,
                              dual_objective=F_t, work=work, iteration=state.iteration + 1, extra=extra)
