"""Chebyshev iteration for SPD systems with known spectral bounds."""
from __future__ import annotations

import numpy as np
import param

from ..core import InvalidParameter, register_method
from .base import LinearMethod, LinearState
from .theory import extreme_eigenvalues

__all__ = ["Chebyshev"]


def _check_bounds(lambda_min, lambda_max):
    if lambda_min > 0 and lambda_max > 0 and lambda_min > lambda_max:
        raise InvalidParameter(
            f"Chebyshev.lambda_min = {lambda_min:g} exceeds lambda_max = {lambda_max:g}; give bounds with "
            "lambda_min <= lambda_max (or 0 to have one computed).")


def chebyshev_direction(theta, delta, rho, d, r):
    """The next correction and ``rho`` of the Chebyshev recurrence (shared with the polynomial
    preconditioner of :mod:`workbench.linear.preconditioners`)."""
    # rho_{k+1} = 1/(2 sigma - rho_k) with sigma = theta/delta, written without dividing by
    # delta: a one-point interval (A = c I, delta = 0) is then Richardson with step 1/theta,
    # which solves it in one step, instead of a division by zero.
    denominator = 2 * theta - rho * delta
    rho_new = delta / denominator
    return rho_new * rho * d + (2 / denominator) * r, rho_new


@register_method("chebyshev", family="krylov")
class Chebyshev(LinearMethod):
    r"""Chebyshev iteration on the interval :math:`[\lambda_{min}, \lambda_{max}]`.

    With :math:`\theta = (\lambda_{max}+\lambda_{min})/2`, :math:`\delta = (\lambda_{max}-\lambda_{min})/2`,
    :math:`\sigma = \theta/\delta`, :math:`\rho_0 = 1/\sigma`, :math:`d_0 = r_0/\theta`:

    .. math::
        x_{k+1} = x_k + d_k,\quad r_{k+1} = r_k - A d_k,\quad
        \rho_{k+1} = (2\sigma - \rho_k)^{-1},\quad
        d_{k+1} = \rho_{k+1}\rho_k d_k + \tfrac{2\rho_{k+1}}{\delta} r_{k+1}

    No inner products: the price is knowing the spectrum. Bounds left at 0
    are computed at ``init`` (exact for Poisson, by Lanczos otherwise) and
    widened by ``safety``. Converges at the CG bound's rate
    :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`.

    Moving ``lambda_min``, ``lambda_max`` or ``safety`` mid-run restarts the recurrence on the
    new interval from the current residual (:math:`d = r/\theta`, :math:`\rho = 1/\sigma`;
    no matvec), so the run goes on as one started there with the new settings would.

    Examples
    --------
    >>> import workbench as wb
    >>> wb.run(wb.linear.Chebyshev(), wb.problems.poisson2d(16)).status.label
    'converged'

    References
    ----------
    Saad (2003), Algorithm 12.1; Golub and Van Loan, *Matrix Computations*, 10.1.5.
    """

    lambda_min = param.Number(default=0.0, bounds=(0.0, None), doc="Lower spectral bound (0: compute).")
    lambda_max = param.Number(default=0.0, bounds=(0.0, None), doc="Upper spectral bound (0: compute).")
    safety = param.Number(default=1.0, bounds=(1.0, 2.0), doc="Widen computed bounds by this factor.")
    requires = frozenset({"spd"})
    converges_on = (frozenset({"spd"}),)

    def __init__(self, **params):
        super().__init__(**params)
        _check_bounds(self.lambda_min, self.lambda_max)

    def _check_setting(self, name, value):
        if name in ("lambda_min", "lambda_max"):
            _check_bounds(self._proposed("lambda_min"), self._proposed("lambda_max"))

    def _bounds_key(self):
        """The settings the interval depends on (``safety`` only widens a computed bound)."""
        lmin, lmax = self.lambda_min, self.lambda_max
        return (lmin, lmax, self.safety if lmin <= 0 or lmax <= 0 else None)

    def _interval(self, problem):
        """``theta``, ``delta`` and the bounds of the current settings."""
        lmin, lmax = self.lambda_min, self.lambda_max
        if lmin <= 0 or lmax <= 0:
            emin, emax = extreme_eigenvalues(problem)  # (kept on the problem: computed once)
            lmin = lmin if lmin > 0 else emin / self.safety
            lmax = lmax if lmax > 0 else emax * self.safety
        if not 0 < lmin <= lmax:
            raise InvalidParameter(
                f"Chebyshev needs 0 < lambda_min <= lambda_max, got [{lmin:g}, {lmax:g}]; set bounds that "
                "enclose the spectrum of A, or leave them at 0 to have them computed.")
        theta, delta = (lmax + lmin) / 2, (lmax - lmin) / 2
        return {"theta": theta, "delta": delta, "bounds": (lmin, lmax), "bounds_key": self._bounds_key()}

    def init_extra(self, problem, x, r):
        extra = self._interval(problem)
        return {**extra, "rho": extra["delta"] / extra["theta"], "d": r / extra["theta"]}

    recurred_residual = True

    def restart_from(self, problem, extra, r):
        extra["d"], extra["rho"] = r / extra["theta"], extra["delta"] / extra["theta"]
        return extra

    def step(self, problem, state: LinearState) -> LinearState:
        e = dict(state.extra)
        if e["bounds_key"] != self._bounds_key():
            # A bound or the safety factor moved mid-run: the recurrence of the old interval
            # would go on as if nothing changed (and the spec would name a run that never
            # happened). Restart it on the new interval from the current residual, as a run
            # started here with the new settings would (no reset of x, no matvec).
            e.update(self._interval(problem))
            e = self.restart_from(problem, e, state.r)
            self.forget_checks(e)
        x = state.x + e["d"]
        r = state.r - problem.A @ e["d"]
        e["d"], e["rho"] = chebyshev_direction(e["theta"], e["delta"], e["rho"], e["d"], r)
        return LinearState(x, r, float(np.linalg.norm(r)), state.matvecs + 1, e)
