r"""Theory overlays for the live plots: predicted convergence lines.

An *overlay* is any callable ``overlay(runner) -> Line | None``; the live
components call it when a run starts, when the method's hyperparameters change
and on reset, and draw the returned line dashed in the curve's colour. Return
``None`` where no theory applies (the overlay is then hidden).

:func:`predicted_rate` draws the asymptotic prediction
:math:`r_k \approx r_{k_0}\,\rho^{\,k-k_0}` from the current iterate, with the
rate :math:`\rho` taken from :mod:`workbench.linear.theory` (:func:`linear_rate`):
Jacobi :math:`\max|1-\omega(1\mp\rho_J)|`, Gauss-Seidel :math:`\rho_J^2`, SOR
Young's :math:`\rho(\mathcal L_\omega)`, CG and Chebyshev
:math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)`. Other families add their own
overlay callables; nothing here is specific to the page that shows it.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

__all__ = ["Line", "linear_rate", "predicted_rate", "Overlay"]


@dataclasses.dataclass
class Line:
    """A theory line in iteration units on the plot of ``metric`` (None: the first plot)."""

    x: np.ndarray
    y: np.ndarray
    label: str = "theory"
    metric: str | None = None


Overlay = Callable[[object], "Line | None"]


def _consistently_ordered(problem) -> bool:
    return "consistently_ordered" in getattr(problem, "properties", ())


def linear_rate(method, problem) -> float | None:
    """Asymptotic per-iteration reduction factor predicted by theory, or ``None``.

    Uses the Jacobi spectral radius the problem knows (Poisson) or that
    :func:`workbench.linear.theory.jacobi_spectral_radius` computes; Young's
    formulas need a consistently ordered matrix. None for the stationary methods on a
    non-symmetric matrix, whose transient can be far from the asymptotic rate.
    """
    from ..linear import theory

    name = getattr(method, "registry_name", "")
    try:
        if name in ("jacobi", "gauss_seidel", "sor"):
            if "symmetric" not in getattr(problem, "properties", ()):
                # A non-symmetric matrix can be far from normal (convection-diffusion at a
                # high Peclet number): the spectral radius is only the rate in the limit, after
                # a transient that can grow by 1e8 (SOR above omega*). A line from the current
                # residual would promise what the run does not do.
                return None
            rho = theory.jacobi_spectral_radius(problem)
            if name == "jacobi":
                w = float(method.omega)
                return max(abs(1 - w * (1 - rho)), abs(1 - w * (1 + rho)))
            if not _consistently_ordered(problem) or rho >= 1:
                return None
            if name == "gauss_seidel":
                return theory.gauss_seidel_spectral_radius(rho)
            return float(theory.sor_spectral_radius(float(method.omega), rho))
        if name in ("cg", "chebyshev") and "spd" in getattr(problem, "properties", ()):
            return theory.cg_rate(theory.condition_number(problem))
    except Exception:  # theory unavailable for this matrix (e.g. rho_J >= 1): no overlay
        return None
    return None


def predicted_rate(rate: Callable | None = None, label: str = "predicted rate") -> Overlay:
    """Overlay: the line ``r_k0 * rate**(k - k0)`` from the current iteration ``k0``.

    Parameters
    ----------
    rate : callable ``(method, problem) -> float | None``
        Defaults to :func:`linear_rate`.

    Examples
    --------
    >>> import workbench as wb
    >>> from workbench.ui.overlays import predicted_rate
    >>> r = wb.Runner(wb.linear.SOR(omega=1.5), wb.problems.poisson2d(16))
    >>> line = predicted_rate()(r)
    >>> bool(line.y[-1] < line.y[0])
    True
    """
    rate_fn = rate or linear_rate

    def overlay(runner) -> Line | None:
        rho = rate_fn(runner.method, runner.problem)
        if rho is None or not (0 < rho < 1):
            return None
        trace = runner.trace
        k0 = len(trace) - 1
        metric = runner.metric
        y0 = float(trace[metric][-1]) if len(trace) else math.nan
        if not (math.isfinite(y0) and y0 > 0):
            return None
        target = max(runner.threshold, y0 * 1e-16) if runner.threshold > 0 else y0 * 1e-12
        steps = math.log(target / y0) / math.log(rho) if target < y0 else 1.0
        steps = min(max(steps, 1.0), max(runner.max_steps - k0, 1), 1e7)
        # A geometric sequence is a straight line on the log axis: two points draw it.
        x = np.array([k0, k0 + steps])
        return Line(x=x, y=y0 * rho ** (x - k0), label=f"{label} {rho:.4f}", metric=metric)

    return overlay
