r"""The omega landscape: iterations to tolerance against omega, filled in while you watch.

:class:`OmegaLandscape` is a *companion* of a :class:`~workbench.ui.LiveRun`: it
shares the live run's ticks (and its Play / Pause / Step / Reset and problem),
and spends its share running one relaxation per grid value of omega through
the core's :class:`~workbench.core.Runner`, one slice per tick. Grid values
are visited coarse-to-fine (a van der Corput order), so the U shape appears
after a handful of runs and sharpens as the rest arrive.

The theoretical curve is :math:`\log(\mathrm{rtol}) / \log \rho(\mathcal L_\omega)`
with Young's :math:`\rho(\mathcal L_\omega)` (consistently ordered matrices;
:mod:`workbench.linear.theory`), and :math:`\omega^*` is marked, for SOR only (Young's
theory is SOR's; another method's sweep gets it only when asked, ``theory=True``).
A run that converged is a dot; one stopped at ``max_steps`` a hollow triangle at the
cap; one that diverged (or went NaN, or failed) an ``x`` at the top of the plot, never a
point among the fast ones. The live run's
own omega is marked too, so moving its slider shows where on the landscape
the run you are watching sits.

Companion protocol (for other sweeps): ``attach(live)``, ``reset(problem)``,
``advance(seconds)``, ``done``, ``refresh()``, ``view()``.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure

from ..core import Runner

__all__ = ["OmegaLandscape", "coarse_to_fine"]


def coarse_to_fine(n: int) -> list[int]:
    """Indices ``0..n-1`` in a coarse-to-fine order: both ends, the middle, the quarters, ...

    >>> coarse_to_fine(5)
    [0, 4, 2, 1, 3]
    """
    if n <= 0:
        return []
    if n == 1:
        return [0]
    order, seen = [], set()
    for idx in (0, n - 1):
        order.append(idx)
        seen.add(idx)
    level = 2
    while len(order) < n:
        for j in range(1, level, 2):
            idx = int(round(j * (n - 1) / level))
            if idx not in seen:
                order.append(idx)
                seen.add(idx)
        level *= 2
    return order


def _sweeps_sor(make_method) -> bool:
    """Whether ``make_method`` makes SOR (whose landscape Young's theory predicts)."""
    from ..linear import SOR

    try:
        return type(make_method(1.0)) is SOR
    except Exception:
        return False


class OmegaLandscape:
    """Iterations-to-tolerance vs omega for a relaxation method, computed progressively.

    Parameters
    ----------
    make_method : callable ``omega -> Method``
        Defaults to ``wb.linear.SOR(omega=omega)``.
    omegas : array, optional
        The grid (default 38 values from 0.1 to 1.95).
    rtol, max_steps : stopping rule of each run (``max_steps``: capped runs are
        drawn as hollow triangles at the cap; diverged, non-finite and failed runs as
        crosses above it, legend "diverged").
    theory : bool, optional
        Draw Young's SOR curve and omega*: by default when the swept method is SOR.
    height : plot height in pixels.
    """

    #: Statuses of runs stopped by their budget: drawn at the cap.
    CAPPED = ("max_steps", "max_time")

    def __init__(self, make_method: Callable | None = None, omegas=None, *, rtol: float = 1e-6,
                 max_steps: int = 2000, height: int = 360, title: str = "Iterations to tolerance vs omega",
                 theory: bool | None = None):
        if make_method is None:
            from ..linear import SOR

            def make_method(omega):
                return SOR(omega=omega)
            theory = True if theory is None else theory
        self.make_method = make_method
        self.theory = _sweeps_sor(make_method) if theory is None else bool(theory)
        self.omegas = np.asarray(omegas if omegas is not None else np.round(np.linspace(0.1, 1.95, 38), 4),
                                 dtype=float)
        self.rtol = float(rtol)
        self.max_steps = int(max_steps)
        self.live = None
        self.problem = None
        self._order: list[int] = []
        self._next = 0
        self._runner: Runner | None = None
        self._omega_now = math.nan
        self._pending: list[tuple[float, float, str]] = []
        self.results: dict[float, tuple[int, str]] = {}
        self.failures: dict[float, str] = {}  # omega -> why its run could not start
        self.total_iterations = 0
        self._rho: float | None = None  # Young's theory for the current problem (set by reset)
        self._omega_star: float | None = None

        self.figure = figure(title=title, height=height, sizing_mode="stretch_width", y_axis_type="log",
                             x_axis_label="omega", y_axis_label=f"iterations to rtol={self.rtol:g}",
                             x_range=(0, 2), tools="pan,wheel_zoom,box_zoom,reset,save",
                             toolbar_location="above")
        self.theory_source = ColumnDataSource({"omega": [], "iterations": []})
        self.done_source = ColumnDataSource({"omega": [], "iterations": []})
        self.capped_source = ColumnDataSource({"omega": [], "iterations": []})
        self.diverged_source = ColumnDataSource({"omega": [], "iterations": []})
        self.theory_renderer = self.figure.line("omega", "iterations", source=self.theory_source, color="black",
                                                line_dash="dashed", legend_label="theory (Young)")
        self.figure.scatter("omega", "iterations", source=self.done_source, size=8, color="#1f77b4",
                            legend_label="measured")
        self.figure.scatter("omega", "iterations", source=self.capped_source, size=9, marker="triangle",
                            fill_alpha=0, line_color="#d62728", legend_label=f"not converged in {self.max_steps}")
        # Above the cap: a diverged run is not a fast one (its few iterations are where it blew up).
        self.diverged_renderer = self.figure.scatter("omega", "iterations", source=self.diverged_source, size=10,
                                                     marker="x", line_width=2, color="#9467bd",
                                                     legend_label="diverged")
        self._legend_item(self.theory_renderer).visible = self.theory
        self.theory_renderer.visible = self.theory
        self._legend_item(self.diverged_renderer).visible = False
        self.figure.legend.location = "top_right"
        self.figure.legend.background_fill_alpha = 0.6
        self.omega_star_span = Span(dimension="height", line_color="#2ca02c", line_width=2, line_dash="dotted")
        self.current_span = Span(dimension="height", line_color="#ff7f0e", line_width=2)
        self.figure.add_layout(self.omega_star_span)
        self.figure.add_layout(self.current_span)
        self.progress = pn.pane.HTML("", css_classes=["wb-landscape-progress"], sizing_mode="stretch_width",
                                     margin=(0, 10))
        self._last_progress = ""

    # -- companion protocol ------------------------------------------------------------
    def attach(self, live) -> None:
        self.live = live
        method = getattr(live, "method", None)
        if method is not None and "omega" in method.param:
            method.param.watch(lambda e: self._mark_current(), "omega")

    @property
    def done(self) -> bool:
        return self._next >= len(self._order) and self._runner is None

    def reset(self, problem) -> None:
        self.problem = problem
        self._order = coarse_to_fine(len(self.omegas))
        self._next = 0
        self._runner = None
        self._pending = []
        self.results = {}
        self.failures = {}
        self.total_iterations = 0
        self.done_source.data = {"omega": [], "iterations": []}
        self.capped_source.data = {"omega": [], "iterations": []}
        self.diverged_source.data = {"omega": [], "iterations": []}
        self._legend_item(self.diverged_renderer).visible = False
        self._rho, self._omega_star = self._young(problem) if self.theory else (None, None)
        self._theory()
        self._mark_current()
        self._update_progress()

    def advance(self, seconds: float) -> None:
        """Spend about ``seconds`` on the sweep (at least one step)."""
        deadline = time.perf_counter() + max(seconds, 0.0)
        first = True
        while not self.done and (first or time.perf_counter() < deadline):
            first = False
            if self._runner is None:
                omega = float(self.omegas[self._order[self._next]])
                self._next += 1
                try:
                    self._runner = Runner(self.make_method(omega), self.problem, rtol=self.rtol,
                                          max_steps=self.max_steps)
                except Exception as exc:  # this omega cannot run here: record and move on
                    self._pending.append((omega, math.nan, "failed"))
                    self.results[omega] = (0, "failed")
                    self.failures[omega] = str(exc)
                    continue
                self._omega_now = omega
            remaining = max(deadline - time.perf_counter(), 0.0)
            before = self._runner.iteration
            self._runner.advance(max_seconds=remaining if remaining > 0 else 1e-9)
            self.total_iterations += self._runner.iteration - before
            if self._runner.done:
                r = self._runner
                self._pending.append((self._omega_now, float(r.iteration), r.status.label))
                self.results[self._omega_now] = (r.iteration, r.status.label)
                self._runner = None

    def refresh(self) -> None:
        if self._pending:
            ok = [(w, k) for w, k, s in self._pending if s == "converged"]
            capped = [(w, k) for w, k, s in self._pending if s in self.CAPPED]
            # diverged, nonfinite, failed (and anything else that is neither): above the cap
            bad = [w for w, _, s in self._pending if s != "converged" and s not in self.CAPPED]
            if ok:
                self.done_source.stream({"omega": [w for w, _ in ok], "iterations": [k for _, k in ok]})
            if capped:
                self.capped_source.stream({"omega": [w for w, _ in capped],
                                           "iterations": [k for _, k in capped]})
            if bad:
                self.diverged_source.stream({"omega": bad, "iterations": [self.diverged_height] * len(bad)})
                self._legend_item(self.diverged_renderer).visible = True
            self._pending = []
        self._update_progress()

    @property
    def diverged_height(self) -> float:
        """Where diverged runs are drawn: above the cap, at the top of the plot."""
        return 2.0 * self.max_steps

    def diverged(self) -> list[float]:
        """The omegas whose run diverged, went non-finite or failed."""
        return sorted(w for w, (_, s) in self.results.items() if s != "converged" and s not in self.CAPPED)

    def _legend_item(self, renderer):
        for legend in self.figure.legend:
            for item in legend.items:
                if renderer in item.renderers:
                    return item
        raise LookupError("renderer not in the legend")

    def view(self):
        return pn.Column(pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"), self.progress,
                         sizing_mode="stretch_width")

    # -- pieces ----------------------------------------------------------------------------
    def best(self) -> tuple[float, int] | None:
        """The measured omega with the fewest iterations (converged runs only)."""
        ok = [(k, w) for w, (k, s) in self.results.items() if s == "converged"]
        if not ok:
            return None
        k, w = min(ok)
        return w, k

    def omega_star(self) -> float | None:
        """Young's optimal omega for the current problem (None where the theory does not apply)."""
        return self._omega_star

    @staticmethod
    def _young(problem) -> tuple[float | None, float | None]:
        """``(rho_J, omega*)`` of a consistently ordered problem, else ``(None, None)``; computed
        once per problem (a spectral radius may need an eigen-solve), not on every refresh."""
        from ..linear import theory

        if problem is None or "consistently_ordered" not in problem.properties:
            return None, None
        try:
            rho = theory.jacobi_spectral_radius(problem)
            return rho, theory.optimal_omega(rho)
        except Exception:
            return None, None

    def _theory(self) -> None:
        from ..linear import theory

        w_star, rho = self._omega_star, self._rho
        self.omega_star_span.visible = w_star is not None
        if w_star is None:
            self.theory_source.data = {"omega": [], "iterations": []}
            return
        self.omega_star_span.location = w_star
        grid = np.unique(np.concatenate([np.linspace(0.02, 1.98, 300), [w_star]]))
        rates = theory.sor_spectral_radius(grid, rho)
        its = np.array([theory.iterations_to_tolerance(r, self.rtol) for r in rates])
        its = np.where(np.isfinite(its) & (its > 0), its, np.nan)
        self.theory_source.data = {"omega": grid, "iterations": its}

    def _mark_current(self) -> None:
        method = getattr(self.live, "method", None) if self.live is not None else None
        omega = getattr(method, "omega", None)
        self.current_span.visible = omega is not None
        if omega is not None:
            self.current_span.location = float(omega)

    def _update_progress(self) -> None:
        n = len(self.omegas)
        measured = len(self.results)
        w_star = self.omega_star()
        parts = [f"<b>{measured}</b> of {n} omegas measured ({self.total_iterations} relaxation sweeps)"]
        if w_star is not None:
            parts.append(f"omega* = {w_star:.4f} (green, dotted)")
        best = self.best()
        if best is not None:
            parts.append(f"best measured: omega = {best[0]:.3f} with {best[1]} iterations")
        diverged = self.diverged()
        if diverged:
            parts.append(f"{len(diverged)} diverged or failed (crosses, top)")
        # (a live CG or Gauss-Seidel run has no omega: nothing to mark)
        omega = getattr(getattr(self.live, "method", None), "omega", None) if self.live is not None else None
        if omega is not None:
            parts.append(f"your run: omega = {float(omega):.3f} (orange)")
        text = " · ".join(parts)
        if text != self._last_progress:
            self._last_progress = text
            self.progress.object = text
