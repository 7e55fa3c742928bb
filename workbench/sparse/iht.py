"""Iterative hard thresholding for k-sparse least squares."""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import InvalidParameter, register_method
from .regression_base import RegressionMethod, RegressionState

__all__ = ["IHT", "hard_threshold"]


def hard_threshold(v: np.ndarray, k: int) -> np.ndarray:
    """:math:`H_k(v)`: keep the ``k`` entries of largest magnitude, zero the rest.

    ``v`` is anything :func:`numpy.asarray` reads as a vector (a list too); ``k`` is a whole
    number, at least 1 (``k >= v.size`` keeps every entry).
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer, float, np.floating)) \
            or not math.isfinite(k) or k != int(k) or k < 1:
        raise InvalidParameter(f"hard_threshold keeps the k largest entries, so k must be a whole number, "
                               f"at least 1; got {k!r}.")
    k = int(k)
    try:
        v = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter("hard_threshold needs a vector of numbers (a NumPy array or a list); "
                               f"got {type(v).__name__}.") from None
    if v.ndim != 1:
        raise InvalidParameter(f"hard_threshold needs a vector (1-D), got an array of shape {v.shape}; "
                               "flatten it first.")
    if k >= v.size:
        return v.copy()
    out = np.zeros_like(v)
    idx = np.argpartition(np.abs(v), v.size - k)[v.size - k:]
    out[idx] = v[idx]
    return out


@register_method("iht", family="sparse_regression")
class IHT(RegressionMethod):
    r"""Iterative hard thresholding for :math:`\min \tfrac12\|Ax - y\|^2` s.t. :math:`\|x\|_0 \le k`.

    .. math:: x_{k+1} = H_k\big(x_k + \mu_k A^T(y - A x_k)\big)

    ``step_rule="normalized"`` (default) is Blumensath and Davies' normalised IHT:
    :math:`\mu_k = \|g_S\|^2 / \|A_S g_S\|^2` with ``g`` the gradient restricted
    to the current support ``S`` (the top-k entries of ``g`` at the start), halved
    while the objective would increase; ``step_rule="fixed"`` uses :math:`\mu = 1/\|A\|_2^2`.
    Under a restricted isometry property, e.g. Gaussian ``A`` with
    :math:`m \gtrsim k\log(n/k)` rows, IHT recovers a k-sparse ``x`` exactly from
    noiseless measurements.

    Stop metric: ``fixed_point_residual`` :math:`\|x_k - T(x_k)\|`, the length of the step the
    map :math:`T` (with the current ``k`` and step rule) takes from :math:`x_k`, relative to the
    first step's; it is 0 exactly at a fixed point, where x and its support no longer change.
    The run ends there on noisy or not exactly k-sparse data too, where the residual
    ``||y - A x||`` (reported, with ``relative_residual``) has a floor above 0; the message
    then names that floor. ``work`` counts products with ``A`` or ``A^T``, the look-ahead
    evaluation of :math:`T` included.

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.compressed_sensing(n=200, k=5, seed=0)
    >>> res = wb.run(wb.sparse.IHT(k=5), prob, rtol=1e-10, max_steps=500)
    >>> res.status.label, res.final["support_recovered"]
    ('converged', 1.0)
    >>> noisy = wb.problems.compressed_sensing(n=256, k=8, seed=0, noise=0.01)
    >>> res = wb.run(wb.sparse.IHT(k=8), noisy)   # x settles; the residual cannot reach 0
    >>> res.status.label, round(res.final["relative_residual"], 3), "floor" in res.message
    ('converged', 0.019, True)

    References
    ----------
    T. Blumensath, M. E. Davies, *Iterative hard thresholding for compressed sensing*, ACHA 2009;
    *Normalized iterative hard thresholding: guaranteed stability and performance*, IEEE JSTSP 2010.
    """

    stop_metric = "fixed_point_residual"
    default_rtol = 1e-8

    k = param.Integer(default=8, softbounds=(1, 100), doc="Sparsity level: non-zeros kept each step.")
    step_rule = param.Selector(default="normalized", objects=["normalized", "fixed"],
                               doc="Step size: normalised (adaptive, Blumensath-Davies 2010) or 1/||A||^2.")

    #: The number of unknowns of the problem of the last :meth:`init` (None before one): an
    #: assignment ``k = ...`` mid-run is checked against it.
    _problem_n = None

    def check_params(self) -> None:
        k = self._proposed("k")
        if k is None or k < 1:
            raise InvalidParameter(f"the sparsity level k must be at least 1, got {k!r}.")

    def _check_setting(self, name, value):
        # A k moved mid-run past the problem's size is refused now, as init refuses it, so the
        # run goes on with the old k instead of failing at its next step.
        super()._check_setting(name, value)
        if name == "k" and self._problem_n is not None:
            self._check_k(self._problem_n, value)

    def _check_k(self, n: int, k=None) -> None:
        k = self.k if k is None else k
        if k > n:
            raise InvalidParameter(
                f"the sparsity level k = {k} is larger than the number of unknowns n = "
                f"{n}; choose k <= n."
            )

    def init(self, problem) -> RegressionState:
        self.check_problem(problem)
        self.check_params()
        self._check_k(problem.n)
        self._problem_n = problem.n
        x = problem.x0.copy()
        r = problem.y - problem.A @ x
        # The map's image T(x0) is computed now, so row 0 has its fixed-point residual; each step
        # takes the image it was given and computes the next one (one map evaluation a step).
        ahead = self._map(problem, x, r)
        # No step taken yet: step_size is NaN in row 0, so the trace has the column from the start.
        return RegressionState(x=x, work=ahead["work"], extra={"r": r, "step_size": math.nan, "ahead": ahead})

    def _knobs(self) -> tuple:
        return int(self.k), self.step_rule

    def _map(self, problem, x, r) -> dict:
        r"""The IHT map :math:`T(x) = H_k(x + \mu A^T(y - Ax))` at ``x`` (residual ``r``) with the
        current ``k`` and step rule: its image, residual, step size, products spent, and
        ``||x - T(x)||`` (the fixed-point residual of ``x``)."""
        A = problem.A
        k, rule = self._knobs()
        g = A.T @ r  # minus the gradient
        work = 1
        if rule == "fixed":
            mu = 1.0 / problem.lipschitz
            x_new = hard_threshold(x + mu * g, k)
            r_new = problem.y - A @ x_new
            work += 1
        else:
            support = np.flatnonzero(x)
            if support.size == 0:
                support = np.argpartition(np.abs(g), g.size - k)[g.size - k:]
            gs = g[support]
            Ags = A[:, support] @ gs
            mu = float(gs @ gs) / max(float(Ags @ Ags), 1e-300)
            f_old = 0.5 * float(r @ r)
            sorted_support = np.sort(support)
            for _ in range(30):
                x_new = hard_threshold(x + mu * g, k)
                r_new = problem.y - A @ x_new
                work += 1
                same = np.array_equal(np.flatnonzero(x_new), sorted_support)
                # The support changed: accept only if the objective does not rise (Blumensath-Davies).
                if same or 0.5 * float(r_new @ r_new) <= f_old:
                    break
                mu *= 0.5
        return {"x": x_new, "r": r_new, "step_size": mu, "work": work, "knobs": (k, rule),
                "fixed_point_residual": float(np.linalg.norm(x_new - x))}

    def step(self, problem, state: RegressionState) -> RegressionState:
        self.check_params()
        self._check_k(problem.n)
        work = state.work
        ahead = state.extra["ahead"]
        if ahead["knobs"] != self._knobs():  # k or the step rule moved since: the map has changed
            ahead = self._map(problem, state.x, state.extra["r"])
            work += ahead["work"]
        x, r = ahead["x"], ahead["r"]
        following = self._map(problem, x, r)
        return RegressionState(x=x, iteration=state.iteration + 1, work=work + following["work"],
                               extra={"r": r, "step_size": ahead["step_size"], "ahead": following})

    def metrics(self, problem, state: RegressionState) -> dict[str, float]:
        res = float(np.linalg.norm(state.extra["r"]))
        out = {"fixed_point_residual": state.extra["ahead"]["fixed_point_residual"],
               "residual": res, "relative_residual": res / max(float(np.linalg.norm(problem.y)), 1e-300),
               "objective": 0.5 * res * res, "work": state.work}
        out["step_size"] = float(state.extra.get("step_size", math.nan))
        out.update(self.truth_metrics(problem, state.x))
        return out

    def end_note(self, problem, state: RegressionState) -> str:
        """Name the residual IHT ends at when it is not small: on noisy or not exactly k-sparse
        data no k-sparse x fits y, and the run stops on x, not on the residual."""
        y_norm = float(np.linalg.norm(problem.y))
        if y_norm == 0:
            return ""
        rel = float(np.linalg.norm(state.extra["r"])) / y_norm
        if rel <= 1e-6:
            return ""
        ahead = state.extra["ahead"]
        if ahead["fixed_point_residual"] <= 1e-6 * float(np.linalg.norm(state.x)):
            k = ahead["knobs"][0]
            return (f"The residual ||y - A x|| stays at {rel:.3g} of ||y||: x has settled at a fixed point of the "
                    f"IHT map (its support and values no longer change), so that is the floor of k = {k} on this "
                    "data (noise, or a signal that is not k-sparse); IHT stops on x, since the residual cannot "
                    "fall below it.")
        return f"The residual ||y - A x|| is {rel:.3g} of ||y||."

    def stop_scale(self, problem, metrics0) -> float:
        # Relative to the first step's length (||T(x0) - x0||, ||x1|| from x0 = 0): the size of x.
        return metrics0["fixed_point_residual"] or 1.0


