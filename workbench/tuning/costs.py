r"""The full-information cost table of a sequence: every grid omega's iteration count on every instance.

Comparators need it (the best fixed omega in hindsight is
:math:`\arg\min_\omega \sum_t k_t(\omega)`), and any grid policy can be
replayed against it without solving again, since the solvers are
deterministic. It is computed once per (sequence, grid, solver, tolerance)
with the compiled kernels of :mod:`workbench.tuning.kernels`, in chunks of
instances, in parallel, and cached on the sequence object.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from ..core import IncompatibleProblem, InvalidParameter, InvalidProblem, WorkbenchError
from ..problems.sequences import check_instance
from .kernels import SOLVERS, diagonal_positions, iterations_batch

__all__ = ["CostTable", "cost_table", "cost_row", "default_omegas", "check_grid", "check_stopping",
           "cached_instance", "system_arrays", "SystemArrays", "last_quarter_ratio", "last_quarter_start",
           "sequence_fingerprint", "check_solver_fits"]

#: Instances kept per sequence by :func:`cached_instance` (several policies racing
#: over one sequence build each instance once, not once per policy).
INSTANCE_CACHE = 256
#: Bytes of instance arrays kept per sequence by :func:`system_arrays`.
ARRAY_CACHE_BYTES = 64 * 2**20


@dataclasses.dataclass
class SystemArrays:
    """Instance t of a sequence as the arrays the compiled kernels take (CSR with sorted indices)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    diag: np.ndarray
    b: np.ndarray
    x0: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes of the per-instance arrays (``data``, ``diag``, ``b``, ``x0``; the pattern may be shared)."""
        return sum(a.nbytes for a in (self.data, self.diag, self.b, self.x0))


def system_arrays(sequence, t: int) -> SystemArrays:
    """The kernel's view of instance ``t``: the same numbers as ``sequence.instance(t)``, cached.

    The shifted-Laplacian and heat sequences are read directly (no
    :class:`~workbench.problems.LinearProblem` is built, which costs more than a
    solve at n = 100); any other sequence goes through ``instance(t)``. A test
    checks both fast paths against ``instance(t)``.
    """
    cache = _cache(sequence).setdefault("arrays", {})
    hit = cache.get(t)
    if hit is not None:
        return hit
    shared = _cache(sequence).get("pattern")
    base = getattr(sequence, "base", None)
    if base is not None and isinstance(getattr(sequence, "rhs", None), np.ndarray):
        # ShiftedLaplacianInstances: A_t = base + c_t I on base's pattern (diagonal always stored).
        if shared is None:
            base = base.tocsr().sorted_indices()
            shared = (base.indptr.astype(np.int64), base.indices.astype(np.int64), base.data.copy(),
                      diagonal_positions(base.indptr, base.indices))
            _cache(sequence)["pattern"] = shared
        indptr, indices, base_data, pos = shared
        data = base_data.copy()
        data[pos] += float(sequence.contexts[t])
        b = np.ascontiguousarray(sequence.rhs[t], dtype=float)
        arrays = SystemArrays(indptr, indices, data, data[pos].copy(), b, np.zeros_like(b))
    else:
        if hasattr(sequence, "matrix") and hasattr(sequence, "u"):  # HeatEquationInstances
            A, b, x0 = sequence.matrix(t), sequence.rhs(t), sequence.u[t]
        else:
            inst = sequence.instance(t)
            A, b, x0 = inst.A, inst.b, inst.x0
        A = A.tocsr()
        if not A.has_sorted_indices:
            A = A.sorted_indices()
        arrays = SystemArrays(A.indptr.astype(np.int64), A.indices.astype(np.int64),
                              np.ascontiguousarray(A.data, dtype=float), np.ascontiguousarray(A.diagonal()),
                              np.ascontiguousarray(b, dtype=float), np.array(x0, dtype=float))
    limit = max(16, ARRAY_CACHE_BYTES // max(arrays.nbytes, 1))
    while len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[t] = arrays
    return arrays


def default_omegas(low: float = 1.0, high: float = 1.95, arms: int = 20) -> np.ndarray:
    """The arm grid ``linspace(low, high, arms)``; the defaults are the reference's ``linspace(1, 1.95, 20)``.

    Examples
    --------
    >>> default_omegas()[[0, 1, -1]]
    array([1.  , 1.05, 1.95])
    >>> default_omegas(1.5, 1.5, 1)
    array([1.5])
    """
    if not (0 < low <= high < 2):
        raise InvalidParameter(f"the omega grid needs 0 < omega_min <= omega_max < 2 (SOR converges only "
                               f"there), got {low:g} .. {high:g}.")
    if arms != int(arms) or arms < 1:
        raise InvalidParameter(f"the number of arms must be a whole number >= 1, got {arms!r}.")
    if arms > 1 and not high > low:
        raise InvalidParameter(f"{int(arms)} arms need omega_min < omega_max (got both {low:g}); "
                               "widen the range or use one arm.")
    return np.linspace(low, high, int(arms))


def check_grid(omegas) -> np.ndarray:
    """``omegas`` as a float array, refused unless it is a non-empty 1-D list of values in (0, 2)."""
    try:
        omegas = np.asarray(omegas, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter("the omega grid must be a list of numbers in (0, 2), e.g. "
                               "numpy.linspace(1, 1.95, 20).") from None
    if omegas.ndim != 1 or omegas.size < 1 or not np.all((omegas > 0) & (omegas < 2)):
        raise InvalidParameter(f"the omega grid must be a non-empty 1-D list of values in (0, 2); got shape "
                               f"{omegas.shape} with values {np.array2string(omegas.ravel()[:5], precision=3)}.")
    return omegas


def check_stopping(rtol: float, max_iterations: int) -> tuple[float, int]:
    """The per-instance stopping rule, refused unless ``0 < rtol < 1`` and ``max_iterations >= 1``."""
    if not (isinstance(rtol, (int, float, np.floating)) and 0 < rtol < 1):
        raise InvalidParameter(f"rtol must lie in (0, 1) (the residual is measured against ||b||), got {rtol!r}.")
    if max_iterations != int(max_iterations) or max_iterations < 1:
        raise InvalidParameter(f"max_iterations must be a whole number >= 1, got {max_iterations!r}.")
    return float(rtol), int(max_iterations)


@dataclasses.dataclass
class CostTable:
    r"""Iteration counts ``iterations[t, j]`` of the solver with ``omegas[j]`` on instance t.

    The full-information view of a sequence, :math:`K_{t,j} = k_t(\omega_j)`;
    the comparators are read off it, the best fixed omega in hindsight
    (:meth:`best_fixed`) and the best grid omega of each instance (:meth:`oracle`):

    .. math::
        j^* = \arg\min_j \sum_{t<T} K_{t,j}, \qquad o_t = \min_j K_{t,j}.

    Usually built by :func:`cost_table`. ``optimal_omega[t]`` /
    ``optimal_iterations[t]`` hold Young's omega* of each instance and its cost,
    when the sequence knows its Jacobi spectral radius.

    Parameters
    ----------
    omegas : numpy.ndarray
        The grid, shape ``(W,)``.
    iterations : numpy.ndarray
        Integer costs, shape ``(T, W)``; a cell equal to ``max_iterations`` is a capped solve.
    contexts : numpy.ndarray
        The context of each instance, shape ``(T,)``.
    solver, rtol, max_iterations
        The settings the costs were computed with (``"sor"`` or ``"ssor_pcg"``).
    optimal_omega, optimal_iterations : numpy.ndarray or None
        Young's omega* of each instance and its cost, or ``None``.
    converged : numpy.ndarray or None
        Booleans of the shape of ``iterations``, False where the solve did not meet the
        tolerance (its cost is then the cap); ``None`` (a hand-made table): a cell equal to
        the cap counts as not converged.
    fingerprint : tuple or None
        :func:`sequence_fingerprint` of the sequence the table was computed on (``None`` for a
        hand-made table); a run refuses a table whose fingerprint is not its sequence's.

    Examples
    --------
    >>> table = CostTable(omegas=np.array([1.0, 1.5, 1.8]), contexts=np.zeros(2),
    ...                   iterations=np.array([[90, 40, 30], [80, 35, 50]]))
    >>> table.totals(), table.best_fixed()
    (array([170,  75,  80]), (1, 1.5, 75))
    >>> table.oracle(), table.best_fixed_cumulative()   # after one instance 1.8 leads, after two 1.5
    (array([30, 35]), array([30, 75]))

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    omegas: np.ndarray
    iterations: np.ndarray
    contexts: np.ndarray
    solver: str = "sor"
    rtol: float = 1e-8
    max_iterations: int = 10_000
    optimal_omega: np.ndarray | None = None
    optimal_iterations: np.ndarray | None = None
    converged: np.ndarray | None = None
    fingerprint: tuple | None = None

    def __len__(self) -> int:
        return self.iterations.shape[0]

    def totals(self, stop: int | None = None, start: int = 0) -> np.ndarray:
        """Total iterations of each fixed grid omega over instances ``start .. stop - 1`` (default: the first ``stop``)."""
        return self.iterations[start:stop].sum(axis=0)

    def best_fixed(self, stop: int | None = None, start: int = 0) -> tuple[int, float, int]:
        """``(index, omega, total)`` of the best fixed grid omega in hindsight (ties: smallest omega).

        Over instances ``start .. stop - 1``; ``start > 0`` asks how close a learner
        is once it has had ``start`` instances to learn from.
        """
        totals = self.totals(stop, start)
        j = int(np.argmin(totals))
        return j, float(self.omegas[j]), int(totals[j])

    def cumulative(self, j: int) -> np.ndarray:
        """Cumulative cost of grid omega ``j`` over the instances."""
        return np.cumsum(self.iterations[:, j])

    def capped(self) -> int:
        """Cells whose solve did not meet the tolerance (their cost is the cap, not a converged count).

        A solve that converges exactly at ``max_iterations`` is not capped; a hand-made table
        without ``converged`` cannot tell, and counts every cell at the cap.
        """
        if self.converged is not None:
            return int(np.count_nonzero(~np.asarray(self.converged, dtype=bool)))
        return int(np.count_nonzero(self.iterations >= self.max_iterations))

    def best_fixed_cumulative(self) -> np.ndarray:
        r"""The best fixed omega's cumulative cost, re-chosen in hindsight at every prefix.

        Entry :math:`s` is :math:`\min_j \sum_{t \le s} K_{t,j}` (the omega attaining
        it may change with :math:`s`), the curve a learner's cumulative cost is
        compared with; shape ``(T,)``.
        """
        return np.cumsum(self.iterations, axis=0).min(axis=1)

    def oracle(self) -> np.ndarray:
        r"""Per-instance minimum over the grid, :math:`\min_j K_{t,j}` (the best grid omega of each instance).

        A lower bound for every policy restricted to the grid; shape ``(T,)``.
        """
        return self.iterations.min(axis=1)

    def index_of(self, omega: float) -> int | None:
        """Column of ``omega`` on the grid (to 1e-12), or ``None`` when it is off the grid."""
        hit = np.flatnonzero(np.isclose(self.omegas, omega, rtol=0, atol=1e-12))
        return int(hit[0]) if hit.size else None

    def summary(self) -> dict:
        """Totals of the comparators: best fixed omega, Gauss-Seidel, per-instance best grid omega, omega*."""
        j, omega, total = self.best_fixed()
        out = {"instances": len(self), "best_fixed_omega": omega, "best_fixed_total": total,
               "gauss_seidel_total": None, "oracle_total": int(self.oracle().sum()), "capped_cells": self.capped()}
        gs = self.index_of(1.0)
        if gs is not None:
            out["gauss_seidel_total"] = int(self.iterations[:, gs].sum())
        if self.optimal_iterations is not None:
            out["instance_optimal_total"] = int(self.optimal_iterations.sum())
        return out


def last_quarter_start(instances: int) -> int:
    r"""First instance (0-based) of the last quarter of ``instances``: :math:`s = \lfloor 3T/4 \rfloor`.

    The window :func:`last_quarter_ratio` measures a learner on (instances
    ``s .. T - 1``).

    Parameters
    ----------
    instances : int
        The number of instances :math:`T`.

    Returns
    -------
    int
        :math:`\lfloor 3T/4 \rfloor`.

    Examples
    --------
    >>> last_quarter_start(2000), last_quarter_start(10)
    (1500, 7)
    """
    return (3 * instances) // 4


def last_quarter_ratio(iterations, costs) -> float:
    r"""A policy's cost over the last quarter of its instances, relative to the best fixed omega there.

    .. math::
        \frac{\sum_{t \ge s} k_t}{\min_j \sum_{t \ge s} K_{t,j}},\qquad s = \lfloor 3T/4 \rfloor,

    with :math:`k_t` the policy's iterations on its :math:`T` instances and :math:`K_{t,j}` the
    cost of grid omega :math:`j` on instance :math:`t` (the rows of a :class:`CostTable`). A
    learner's total keeps the cost of its early exploration; this ratio shows where it has got
    to (METHODS.md 1.2: "within 5-16 % of the best fixed omega after 1500 instances" of 2000).

    Examples
    --------
    >>> costs = np.array([[10, 20], [10, 20], [10, 20], [30, 20]])
    >>> last_quarter_ratio([20, 20, 20, 30], costs)   # the last instance: 30 against 20
    1.5

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """
    iterations = np.asarray(iterations)
    costs = np.asarray(costs)
    T = len(iterations)
    if T == 0 or len(costs) < T:
        raise InvalidParameter(f"last_quarter_ratio needs at least one instance and the cost rows of all "
                               f"{T} of them (got {len(costs)}); pass the cost table's rows for the same instances.")
    start = last_quarter_start(T)
    best = costs[start:T].sum(axis=0).min()
    return float(iterations[start:].sum() / best) if best > 0 else float("nan")


def sequence_fingerprint(sequence) -> tuple:
    """What identifies a sequence for a cost table: ``(spec, length, n, digest of instance 0)``.

    ``spec`` is the sequence's registry spec as JSON (``None`` for a hand-built sequence),
    ``n`` the size of its systems and the digest a SHA-1 of instance 0's matrix, right-hand
    side and initial guess. The contexts alone do not identify a sequence: the heat
    sequence's depend only on the time step (``m = 8`` and ``m = 16`` share them) and a
    10-instance shifted-Laplacian sequence shares its first shifts, not its right-hand
    sides, with a 100-instance one of the same seed.

    Examples
    --------
    >>> import workbench as wb
    >>> a = wb.problems.heat_sequence(m=8, instances=20)
    >>> b = wb.problems.heat_sequence(m=16, instances=20)
    >>> bool(np.array_equal(a.contexts, b.contexts)), sequence_fingerprint(a) == sequence_fingerprint(b)
    (True, False)
    """
    cache = _cache(sequence)
    hit = cache.get("fingerprint")
    if hit is not None:
        return hit
    try:
        spec = json.dumps(sequence.spec(), sort_keys=True, default=str)
    except (WorkbenchError, AttributeError, TypeError):  # built by hand: no spec
        spec = None
    a = system_arrays(sequence, 0)
    digest = hashlib.sha1()
    for arr in (a.indptr, a.indices, a.data, a.b, a.x0):
        digest.update(np.ascontiguousarray(arr).tobytes())
    out = (spec, len(sequence), int(len(a.b)), digest.hexdigest())
    cache["fingerprint"] = out
    return out


def check_solver_fits(sequence, solver: str) -> None:
    """Refuse ``solver="ssor_pcg"`` on a sequence whose systems are not symmetric.

    CG needs a symmetric matrix (SPD for convergence); on a non-symmetric one it runs to the
    cap on every instance, which would be recorded as costs. The reference path refuses it
    too (``wb.linear.PCG`` requires ``symmetric``). The sequence's own properties decide when
    they say ``spd`` or ``symmetric``; otherwise instance 0's (analysed from its matrix).
    """
    if solver != "ssor_pcg":
        return
    props = set(getattr(sequence, "properties", ()))
    if not props & {"spd", "symmetric"}:
        props = set(getattr(cached_instance(sequence, 0), "properties", ()))
    if "symmetric" not in props and "spd" not in props:
        raise IncompatibleProblem(
            f"solver 'ssor_pcg' (conjugate gradients) needs symmetric systems, and "
            f"{getattr(sequence, 'name', 'this sequence')} is not symmetric; use solver='sor' for it.")


def _cache(sequence) -> dict:
    cache = getattr(sequence, "_wb_cost_cache", None)
    if cache is None:
        cache = {}
        try:
            sequence._wb_cost_cache = cache
        except AttributeError:  # pragma: no cover - slotted objects
            pass
    return cache


def cached_instance(sequence, t: int):
    """``sequence.instance(t)``, remembered for the last :data:`INSTANCE_CACHE` instances asked for."""
    cache = _cache(sequence).setdefault("instances", {})
    inst = cache.get(t)
    if inst is None:
        inst = sequence.instance(t)
        if len(cache) >= INSTANCE_CACHE:
            cache.pop(next(iter(cache)))  # the oldest entry (dicts keep insertion order)
        cache[t] = inst
    return inst


def _key(omegas, solver, rtol, max_iterations):
    return (tuple(np.round(np.asarray(omegas, dtype=float), 12)), solver, float(rtol), int(max_iterations))


def _check_solver(solver: str) -> None:
    if solver not in SOLVERS:
        raise InvalidParameter(f"no compiled kernel for solver {solver!r}; use one of {', '.join(SOLVERS)}.")


def _solve_block(sequence, ts, omega_rows, solver, rtol, max_iterations) -> tuple[np.ndarray, np.ndarray]:
    """Iteration counts for instances ``ts`` with per-instance omegas ``omega_rows[k]``, and
    whether each solve converged."""
    insts = [cached_instance(sequence, int(t)) if len(ts) == 1 else sequence.instance(int(t)) for t in ts]
    A0 = insts[0].A
    A0.sort_indices()
    indptr, indices = A0.indptr, A0.indices
    same = True
    for p in insts[1:]:
        p.A.sort_indices()
        if p.A.nnz != A0.nnz or not (np.array_equal(p.A.indptr, indptr) and np.array_equal(p.A.indices, indices)):
            same = False
            break
    omega_rows = np.atleast_2d(omega_rows)
    if not same:  # patterns differ: one instance at a time
        rows = omega_rows if omega_rows.shape[0] == len(ts) else np.repeat(omega_rows, len(ts), axis=0)
        parts = [_solve_block(sequence, [t], rows[k], solver, rtol, max_iterations) for k, t in enumerate(ts)]
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
    data = np.vstack([p.A.data for p in insts])
    B = np.vstack([p.b for p in insts])
    X0 = np.vstack([p.x0 for p in insts])
    if omega_rows.shape[0] == 1:
        omega_rows = np.broadcast_to(omega_rows, (len(ts), omega_rows.shape[1]))
    return iterations_batch(indptr, indices, data, B, X0, omega_rows, rtol, max_iterations, solver,
                            return_converged=True)


def cost_row(sequence, t: int, omegas, solver: str = "sor", rtol: float = 1e-8,
             max_iterations: int = 10_000) -> np.ndarray:
    """Iterations of every grid omega on instance ``t`` (cached on the sequence).

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=5, seed=0)
    >>> row = cost_row(seq, 2, default_omegas())
    >>> row.shape, bool(row[0] > row.min())    # Gauss-Seidel (omega = 1) is not the best arm
    ((20,), True)
    """
    _check_solver(solver)
    omegas = check_grid(omegas)
    rtol, max_iterations = check_stopping(rtol, max_iterations)
    check_instance(t, len(sequence))
    cache = _cache(sequence).setdefault(_key(omegas, solver, rtol, max_iterations), {"rows": {}, "table": None})
    table = cache["table"]
    if table is not None:
        return table.iterations[t]
    row = cache["rows"].get(t)
    if row is None:
        # One instance: the kernel's arrays straight from the sequence (no LinearProblem) and the
        # omegas one after another on this thread (the dashboard's comparator thread calls this
        # and must leave the other core to the server and the browser).
        from .kernels import solve_csr

        a = system_arrays(sequence, t)
        row = np.array([solve_csr(solver, a.indptr, a.indices, a.data, a.diag, a.b, a.x0, w, rtol, max_iterations)
                        for w in omegas], dtype=np.int64)
        cache["rows"][t] = row
    return row


def cost_table(sequence, omegas=None, solver: str = "sor", rtol: float = 1e-8, max_iterations: int = 10_000,
               instances: int | None = None, instance_optimal: bool = True, chunk: int = 256,
               progress: bool = False) -> CostTable:
    r"""Every grid omega's iteration count on every instance of ``sequence`` (cached).

    .. math::
        K_{t,j} = k_t(\omega_j), \qquad j^* = \arg\min_j \sum_t K_{t,j},

    with :math:`k_t(\omega_j)` the iterations of :math:`\omega_j` on instance
    :math:`t` (the first :math:`k` with
    :math:`\|b_t - A_t x_k\| \le \mathrm{rtol}\,\|b_t\|`, or ``max_iterations``) and
    :math:`\omega_{j^*}` the best fixed omega in hindsight.
    A full table is kept on the sequence and reused by later calls with the
    same grid and stopping rule (a shorter ``instances`` reads its prefix).

    Parameters
    ----------
    sequence : LinearSequence
        A problem of kind ``"sequence"`` (``instance(t)``, ``contexts``, ``len``).
    omegas : array_like, optional
        The arm grid; default ``linspace(1, 1.95, 20)``.
    solver : {"sor", "ssor_pcg"}
        SOR, or CG preconditioned by SSOR(omega).
    rtol, max_iterations : float, int
        The per-instance stopping rule ``||b - A x|| <= rtol ||b||``, at most ``max_iterations``.
    instances : int, optional
        Only the first ``instances`` instances (default: all).
    instance_optimal : bool
        Also solve each instance at Young's omega* (when the sequence has ``rho_jacobi``).
    chunk : int
        Instances solved per batch of the compiled kernel.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    CostTable
        ``iterations`` of shape ``(T, W)``, with the settings it was computed with.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=50, seed=0)
    >>> table = cost_table(seq)
    >>> table.iterations.shape, table.best_fixed()[1] > 1.5
    ((50, 20), True)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    D. M. Young, *Iterative Solution of Large Linear Systems*, 1971 (omega*).
    """
    _check_solver(solver)
    if getattr(sequence, "kind", None) != "sequence":
        raise InvalidProblem("cost_table needs a sequence of linear systems (kind 'sequence'), e.g. "
                             "workbench.problems.shifted_laplacian_sequence().")
    omegas = default_omegas() if omegas is None else check_grid(omegas)
    rtol, max_iterations = check_stopping(rtol, max_iterations)
    if instances is not None and (instances != int(instances) or instances < 1):
        raise InvalidParameter(f"instances must be a whole number >= 1 (or None for all), got {instances!r}.")
    if chunk != int(chunk) or chunk < 1:
        raise InvalidParameter(f"chunk must be a whole number >= 1, got {chunk!r}.")
    check_solver_fits(sequence, solver)
    T = len(sequence) if instances is None else min(int(instances), len(sequence))
    cache = _cache(sequence).setdefault(_key(omegas, solver, rtol, max_iterations), {"rows": {}, "table": None})
    table = cache["table"]
    if table is not None and len(table) >= T and (table.optimal_iterations is not None or not instance_optimal):
        return table if len(table) == T else _prefix(table, T)
    iterations = np.empty((T, len(omegas)), dtype=np.int64)
    converged = np.empty((T, len(omegas)), dtype=bool)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=T, desc="cost table", unit="instance")
    for start in range(0, T, chunk):
        ts = np.arange(start, min(start + chunk, T))
        iterations[ts], converged[ts] = _solve_block(sequence, ts, omegas, solver, rtol, max_iterations)
        if bar is not None:
            bar.update(len(ts))
    if bar is not None:
        bar.close()
    opt_omega = opt_iter = None
    if instance_optimal and hasattr(sequence, "rho_jacobi"):
        from ..linear.theory import optimal_omega

        opt_omega = np.array([optimal_omega(sequence.rho_jacobi(t)) for t in range(T)])
        opt_iter = np.empty(T, dtype=np.int64)
        for start in range(0, T, chunk):
            ts = np.arange(start, min(start + chunk, T))
            opt_iter[ts] = _solve_block(sequence, ts, opt_omega[ts, None], solver, rtol, max_iterations)[0][:, 0]
    table = CostTable(omegas=omegas, iterations=iterations, contexts=np.asarray(sequence.contexts[:T], dtype=float),
                      solver=solver, rtol=float(rtol), max_iterations=int(max_iterations),
                      optimal_omega=opt_omega, optimal_iterations=opt_iter, converged=converged,
                      fingerprint=sequence_fingerprint(sequence))
    if T == len(sequence):
        cache["table"] = table
    return table


def _prefix(table: CostTable, T: int) -> CostTable:
    return dataclasses.replace(
        table, iterations=table.iterations[:T], contexts=table.contexts[:T],
        converged=None if table.converged is None else table.converged[:T],
        optimal_omega=None if table.optimal_omega is None else table.optimal_omega[:T],
        optimal_iterations=None if table.optimal_iterations is None else table.optimal_iterations[:T])
