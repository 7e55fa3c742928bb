"""Successive over-relaxation (SOR), Gauss-Seidel and symmetric SOR (SSOR)."""
from __future__ import annotations

import numpy as np
import param

from ..core import InvalidParameter, register_method
from .base import LinearMethod, LinearState
from .kernels.pyamg_sweeps import pyamg_sweep
from .kernels.sor_reference import sor_sweep_reference

__all__ = ["SOR", "GaussSeidel", "SSOR"]


class _Relaxation(LinearMethod):
    """One sweep per step, with a choice of kernel.

    ``matvecs`` counts passes over the nonzeros of A: 1 for the initial residual, then per step
    each sweep (one pass, like a matvec) plus the residual ``b - A x`` (one matvec): 2 a step
    for SOR and Gauss-Seidel, 3 for SSOR.

    ``kernel="pyamg"`` runs PyAMG's compiled CSR sweep (any matrix, natural
    ordering); ``"redblack"`` the matrix-free numba red-black sweep (Poisson
    2-D/3-D stencils only); ``"reference"`` the readable triangular-solve
    definition the others are tested against.
    """

    kernel = param.Selector(default="pyamg", objects=["pyamg", "redblack", "reference"],
                            doc="Sweep implementation: PyAMG (CSR), numba red-black (Poisson stencils), or the reference.")
    needs_diagonal = True
    converges_on = (frozenset({"spd"}),)
    sweep_direction = "forward"

    def _omega(self) -> float:
        return float(self.omega)

    _run_problem = None  #: (name, stencil) of the problem a run started on: what a moved kernel is checked against

    def init(self, problem) -> LinearState:
        state = super().init(problem)
        if self.kernel == "redblack":
            self._check_redblack(problem.name, problem.metadata.get("stencil"))
        self._run_problem = (problem.name, problem.metadata.get("stencil"))
        return state

    def _check_setting(self, name, value):
        # A kernel switched mid-run to one that cannot sweep this problem is refused at the
        # assignment, so the run goes on with the old kernel instead of failing at its next step.
        super()._check_setting(name, value)
        if name == "kernel" and self._proposed("kernel") == "redblack":
            if self.sweep_direction != "forward":
                self._check_redblack(None, "poisson2d")
            elif self._run_problem is not None:
                self._check_redblack(*self._run_problem)

    def _check_redblack(self, name, stencil):
        if self.sweep_direction != "forward":
            raise InvalidParameter("the red-black kernel implements forward SOR only; use kernel='pyamg' for SSOR.")
        if stencil not in ("poisson2d", "poisson3d"):
            raise InvalidParameter(
                f"kernel='redblack' works on the Poisson 2-D/3-D stencils only, not on {name}; "
                "use kernel='pyamg'."
            )

    def step(self, problem, state: LinearState) -> LinearState:
        omega = self._omega()
        kernel = self.kernel
        if kernel == "pyamg":
            if not problem.A.has_sorted_indices:
                # PyAMG sweeps in place on a canonical CSR matrix with sorted indices (checked each
                # step: the kernel may have been switched to this one mid-run).
                problem.A.sort_indices()
            x = state.x.copy()
            pyamg_sweep(problem.A, x, problem.b, omega, self.sweep_direction)
        elif kernel == "redblack":
            from .kernels.redblack import redblack_sweep

            self._check_redblack(problem.name, problem.metadata.get("stencil"))
            x = state.x.copy()
            redblack_sweep(x, problem.b, omega, problem.metadata["grid"][0], problem.metadata["dim"])
        else:
            x = sor_sweep_reference(problem.A, state.x, problem.b, omega, self.sweep_direction)
        r = problem.b - problem.A @ x
        # Each sweep reads every nonzero of A once, as a matvec does, and the residual the
        # stop rule needs is one more product: 2 passes a step for SOR and Gauss-Seidel, 3 for
        # SSOR (forward sweep, backward sweep, residual).
        sweeps = 2 if self.sweep_direction == "symmetric" else 1
        return LinearState(x, r, float(np.linalg.norm(r)), state.matvecs + sweeps + 1, state.extra)


@register_method("sor", family="stationary")
class SOR(_Relaxation):
    r"""Successive over-relaxation.

    .. math:: x_{k+1} = x_k + \left(\tfrac{1}{\omega} D + L\right)^{-1} (b - A x_k)

    with :math:`D` the diagonal and :math:`L` the strict lower triangle of
    :math:`A`. :math:`\omega = 1` is Gauss-Seidel. For SPD matrices SOR
    converges for every :math:`0 < \omega < 2`; for consistently ordered
    matrices the optimal value is :math:`\omega^* = 2 / (1 + \sqrt{1 - \rho_J^2})`
    (see :mod:`workbench.linear.theory`).

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.linear.SOR(omega=1.8), wb.problems.poisson2d(32), rtol=1e-8)
    >>> res.status.label
    'converged'

    References
    ----------
    D. M. Young, *Iterative methods for solving partial difference equations of
    elliptic type*, Trans. AMS 76 (1954). Saad (2003), section 4.1.
    """

    omega = param.Number(default=1.5, bounds=(0.0, 2.0), inclusive_bounds=(False, False), step=0.01,
                         doc="Relaxation parameter omega in (0, 2); 1 is Gauss-Seidel.")


@register_method("gauss_seidel", family="stationary")
class GaussSeidel(_Relaxation):
    r"""Gauss-Seidel: SOR with :math:`\omega = 1`.

    .. math:: x_{k+1} = x_k + (D + L)^{-1} (b - A x_k)

    For consistently ordered matrices its rate is :math:`\rho_J^2`, twice as
    fast as Jacobi. Converges for SPD and for diagonally dominant matrices.

    Examples
    --------
    >>> import workbench as wb
    >>> wb.run(wb.linear.GaussSeidel(), wb.problems.poisson2d(8)).status.label
    'converged'
    """

    converges_on = (frozenset({"spd"}), frozenset({"diagonally_dominant"}))

    def _omega(self) -> float:
        return 1.0


@register_method("ssor", family="stationary")
class SSOR(_Relaxation):
    r"""Symmetric SOR: a forward SOR sweep followed by a backward one.

    .. math::
        x_{k+1/2} = x_k + (\tfrac{1}{\omega} D + L)^{-1} (b - A x_k), \quad
        x_{k+1} = x_{k+1/2} + (\tfrac{1}{\omega} D + U)^{-1} (b - A x_{k+1/2})

    Its iteration matrix is similar to a symmetric one, which makes SSOR a
    good preconditioner for CG. Converges for SPD matrices and ``0 < omega < 2``.

    Examples
    --------
    >>> import workbench as wb
    >>> wb.run(wb.linear.SSOR(omega=1.5), wb.problems.poisson2d(8)).status.label
    'converged'
    """

    omega = param.Number(default=1.5, bounds=(0.0, 2.0), inclusive_bounds=(False, False), step=0.01,
                         doc="Relaxation parameter omega in (0, 2).")
    sweep_direction = "symmetric"
