r"""Newton (SQP) on the KKT conditions, the linear system solved by sketch-and-project, an exact
augmented Lagrangian as the merit function."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import param

from ..core import IncompatibleProblem, InvalidParameter, register_method
from ..core.protocol import Method
from .sketch_and_project import draw_sketch, project_onto_sketch

__all__ = ["SketchedSQP", "SQPState", "augmented_lagrangian"]


def augmented_lagrangian(problem, x, lam, mu: float, nu: float, *, gradient: bool = True, parts=None):
    r"""The exact augmented Lagrangian and (optionally) its gradient in :math:`(x, \lambda)`.

    .. math::
        \mathcal L_{\mu,\nu}(x, \lambda) = f(x) + \lambda^T c(x) + \tfrac\mu2 \|c(x)\|^2
        + \tfrac\nu2 \|\nabla_x \mathcal L(x, \lambda)\|^2

    with gradient :math:`\nabla_x = \nabla_x\mathcal L + \mu G^T c + \nu \nabla^2_{xx}\mathcal L\,
    \nabla_x \mathcal L` and :math:`\nabla_\lambda = c + \nu G \nabla_x \mathcal L`. Its stationary
    points with :math:`\mu` large enough are the KKT points, so its decrease is a merit test
    for both the primal and the dual step. Returns ``(value, grad_x, grad_lam, parts)``, where
    ``parts`` keeps what the step reuses (``g``, ``c``, ``G``, ``grad_l``, ``H``); passing the
    ``parts`` of an earlier call at the same ``(x, lam)`` skips evaluating f, c and G again.
    """
    if parts is None:
        f, g = problem.objective(x)
        c = problem.constraints(x)
        G = problem.jacobian(x)
        parts = {"f": f, "g": g, "c": c, "G": G, "grad_l": g + G.T @ lam}
    f, c, G, grad_l = parts["f"], parts["c"], parts["G"], parts["grad_l"]
    value = f + lam @ c + 0.5 * mu * (c @ c) + 0.5 * nu * (grad_l @ grad_l)
    if not gradient:
        return value, None, None, parts
    H = problem.lagrangian_hessian(x, lam)
    parts["H"] = H
    grad_x = grad_l + mu * (G.T @ c) + nu * (H @ grad_l)
    grad_lam = c + nu * (G @ grad_l)
    return value, grad_x, grad_lam, parts


def _kkt_residual(parts) -> float:
    """:math:`\|(\nabla_x \mathcal L, c)\|` from the pieces :func:`augmented_lagrangian` keeps."""
    gl, c = parts["grad_l"], parts["c"]
    return float(np.sqrt(gl @ gl + c @ c))


@dataclasses.dataclass
class SQPState:
    """Primal and dual iterate, the penalty reached, and what the last step did."""

    x: np.ndarray
    lam: np.ndarray
    mu: float
    parts: dict
    kkt: float
    merit: float
    step_size: float = math.nan
    inner_iterations: int = 0
    inner_residual: float = math.nan
    matvecs: float = 0.0
    merit_evals: int = 1
    rng: object = None


@register_method("sketched_sqp", family="sketching")
class SketchedSQP(Method):
    r"""SQP with randomized sketching for the Newton system and an exact augmented Lagrangian merit.

    For :math:`\min f(x)` s.t. :math:`c(x) = 0` each step solves the KKT system

    .. math::
        \begin{pmatrix} \nabla^2_{xx}\mathcal L & G^T \\ G & 0 \end{pmatrix}
        \begin{pmatrix} \Delta x \\ \Delta\lambda \end{pmatrix}
        = -\begin{pmatrix} \nabla_x \mathcal L \\ c \end{pmatrix}

    inexactly, by sketch-and-project iterations (``sketch``, ``sketch_size``) from zero
    until the residual falls below :math:`\psi_k` times the right-hand side, with
    :math:`\psi_k = \psi` (``inner_accuracy``) or, with ``sharpen``,
    :math:`\psi_k = \min(\psi, \|\text{KKT residual}\|)`. ``inner="exact"`` solves it by
    LU instead. The penalty :math:`\mu` grows (by ``mu_growth``) until the step is a
    descent direction of :math:`\mathcal L_{\mu,\nu}` (see :func:`augmented_lagrangian`),
    then an Armijo backtracking on that merit from :math:`\alpha = 1` sets the step.

    Claims of Hong, Na, Mahoney and Kolar, checked in the tests: near the solution the
    unit step is accepted; the KKT residual falls linearly with a fixed inner accuracy,
    and superlinearly (quadratically with the exact solve) when it is sharpened.
    Metrics: ``kkt_residual`` (the stop metric), ``objective``,
    ``constraint_violation`` :math:`\|c\|`, ``merit``, ``step_size``, ``mu``,
    ``inner_iterations``, ``inner_residual`` (relative), ``merit_evals`` (merit values the
    line searches computed) and ``matvecs`` (products with
    the KKT matrix: per sketch-and-project iteration ``sketch_size`` for a Gaussian sketch, the
    fraction of the matrix's rows a sparse or row sketch reads otherwise, plus one for the residual).
    ``inner="exact"`` falls back to least squares when redundant constraints make the KKT matrix
    singular.

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.constrained_quartic(dim=20, constraints=5)
    >>> res = wb.run(wb.sketching.SketchedSQP(), prob, rtol=1e-12, max_steps=100)
    >>> res.status.name, res.final["step_size"], res.final["constraint_violation"] < 1e-10
    ('CONVERGED', 1.0, True)

    References
    ----------
    I. Hong, S. Na, M. W. Mahoney, M. Kolar, *Constrained optimization via exact augmented
    Lagrangian and randomized iterative sketching*, ICML 2023 (first as *Adaptive inexact
    sequential quadratic programming via iterative randomized sketching*, OPT 2022).
    S. Na, M. Anitescu, M. Kolar, *An adaptive stochastic sequential quadratic programming
    with differentiable exact augmented Lagrangians*, Math. Program. 2023.
    """

    problem_kind = "constrained"
    stop_metric = "kkt_residual"
    default_rtol = 1e-8
    divergence_factor = 1e8

    inner = param.Selector(default="sketch", objects=["sketch", "exact"],
                           doc="How the KKT system is solved: sketch-and-project, or exactly (LU).")
    sketch = param.Selector(default="gaussian", objects=["gaussian", "sparse", "rows"],
                            doc="Sketch distribution of the inner solver.")
    sketch_size = param.Integer(default=None, bounds=(1, None), allow_None=True,
                                doc="Columns q of each sketch; None: 8, or the KKT size if that is smaller.")
    sparsity = param.Integer(default=3, bounds=(1, None), doc="Nonzeros per column of a sparse sketch.")
    inner_accuracy = param.Number(default=0.1, bounds=(0.0, 1.0), inclusive_bounds=(False, False), doc=(
        "psi: the inner solve stops at a residual of psi times the right-hand side."))
    sharpen = param.Boolean(default=True, doc=(
        "Tighten psi to the KKT residual as it falls (superlinear convergence); off: fixed psi (linear)."))
    max_inner = param.Integer(default=20_000, bounds=(1, None), doc="Most sketch-and-project iterations per step.")
    mu = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                      doc="Starting penalty on ||c||^2 of the merit (grows as needed; read at the start).")
    nu = param.Number(default=0.5, bounds=(0.0, None), doc="Weight of ||grad_x L||^2 in the merit.")
    mu_growth = param.Number(default=10.0, bounds=(1.0, None), inclusive_bounds=(False, True),
                             doc="Factor by which mu grows when the step is not a descent direction.")
    armijo = param.Number(default=1e-4, bounds=(0.0, 0.5), inclusive_bounds=(False, False),
                          doc="Armijo constant: the merit must fall by this fraction of the predicted decrease.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the sketches (read at the start).")

    def inert_params(self) -> frozenset[str]:
        """The sketch settings count only for the sketching inner solver; ``sparsity`` for sparse sketches."""
        if self.inner == "exact":
            return frozenset({"sketch", "sketch_size", "sparsity", "inner_accuracy", "sharpen", "max_inner", "seed"})
        return frozenset() if self.sketch == "sparse" else frozenset({"sparsity"})

    _kkt_n = None  #: the KKT system's size, once a run has started (what a moved knob is checked against)

    def init(self, problem) -> SQPState:
        self.check_problem(problem)
        self._check_sizes(problem.dim + problem.n_constraints)
        self._kkt_n = problem.dim + problem.n_constraints
        x, lam = problem.x0.copy(), problem.lam0.copy()
        merit, _, _, parts = augmented_lagrangian(problem, x, lam, self.mu, self.nu, gradient=False)
        kkt = _kkt_residual(parts)
        if not (math.isfinite(merit) and math.isfinite(kkt)):
            raise IncompatibleProblem(f"the objective or constraints of {problem.name} are not finite at x0.")
        return SQPState(x=x, lam=lam, mu=float(self.mu), parts=parts, kkt=kkt, merit=float(merit),
                        rng=np.random.default_rng(self.seed))

    def _sketch_size(self, problem_size: int) -> int:
        return min(8, problem_size) if self.sketch_size is None else self.sketch_size

    def _check_setting(self, name, value):
        # A sketch moved mid-run past the KKT system's size is refused at the assignment, as init
        # refuses it, so the run goes on with the old setting instead of failing at its next step.
        super()._check_setting(name, value)
        if name in ("sketch_size", "sparsity", "sketch", "inner") and self._kkt_n is not None:
            self._check_sizes(self._kkt_n)

    def _check_sizes(self, n: int) -> None:
        # (through _proposed: in an assignment being checked, the value it proposes)
        inner, q = self._proposed("inner"), self._proposed("sketch_size")
        sketch, sparsity = self._proposed("sketch"), self._proposed("sparsity")
        if inner == "sketch" and q is not None and q > n:
            raise InvalidParameter(f"sketch_size = {q} exceeds the {n} equations of the KKT system; "
                                   f"give at most {n}.")
        if inner == "sketch" and sketch == "sparse" and sparsity > n:
            raise InvalidParameter(f"sparsity = {sparsity} exceeds the {n} rows of a sketch column.")

    # -- the inner solve -----------------------------------------------------------
    def _solve(self, K, rhs, tol, state):
        if self.inner == "exact":
            state.inner_iterations = 0
            try:
                z = np.linalg.solve(K, rhs)
            except np.linalg.LinAlgError:
                # Redundant constraints (a rank-deficient Jacobian) make K singular; the system is
                # still consistent when the constraints are, and least squares finds its minimum-norm
                # solution, as sketch-and-project converges to.
                z = np.linalg.lstsq(K, rhs, rcond=None)[0]
            state.inner_residual = float(np.linalg.norm(K @ z - rhs)) / max(float(np.linalg.norm(rhs)), 1e-300)
            return z
        n, q = K.shape[0], self._sketch_size(problem_size=K.shape[0])
        z, r = np.zeros(n), rhs.copy()
        target = tol * float(np.linalg.norm(rhs))
        it = 0
        while it < self.max_inner and float(np.linalg.norm(r)) > target:
            S = draw_sketch(state.rng, n, q, self.sketch, self.sparsity)
            KS = K @ S  # K is symmetric: K^T S, the rows the sketch combines
            dz = project_onto_sketch(KS, S.T @ r)
            z += dz
            r -= K @ dz
            it += 1
            state.matvecs += (q if self.sketch == "gaussian" else q * (self.sparsity if self.sketch == "sparse"
                                                                        else 1) / n) + 1
        state.inner_iterations = it
        state.inner_residual = float(np.linalg.norm(r)) / max(float(np.linalg.norm(rhs)), 1e-300)
        return z

    # -- one SQP step ----------------------------------------------------------------
    def step(self, problem, state: SQPState) -> SQPState:
        self._check_sizes(problem.dim + problem.n_constraints)
        d = problem.dim
        # f, c and G at this point were computed when it was accepted as the last step's trial
        merit, gx, gl, parts = augmented_lagrangian(problem, state.x, state.lam, state.mu, self.nu,
                                                    parts=state.parts)
        H, G, grad_l, c = parts["H"], parts["G"], parts["grad_l"], parts["c"]
        m = c.size
        K = np.block([[H, G.T], [G, np.zeros((m, m))]])
        rhs = -np.concatenate([grad_l, c])
        psi = min(self.inner_accuracy, state.kkt) if self.sharpen else self.inner_accuracy
        z = self._solve(K, rhs, psi, state)
        dx, dlam = z[:d], z[d:]
        # The penalty only acts on the c-part of the slope: grow it until the step descends
        # (with an exact step the slope is grad_l.dx + c.dlam - mu ||c||^2 - nu ||grad_l||^2).
        slope_c = float((G.T @ c) @ dx)
        slope = float(gx @ dx + gl @ dlam)
        floor = -1e-8 * float(z @ z)
        growths = 0
        while slope > floor and slope_c < 0 and growths < 60:
            grow = state.mu * (self.mu_growth - 1.0)
            state.mu += grow
            merit += 0.5 * grow * float(c @ c)
            slope += grow * slope_c
            growths += 1
        if slope >= 0:
            raise IncompatibleProblem(
                f"the inexact Newton step is not a descent direction of the merit function (slope {slope:.3g}); "
                "lower inner_accuracy, or use inner='exact'.")
        alpha = 1.0
        # Near the solution the merit's decrease falls below its rounding error (|merit| ~ 1 while
        # the decrease is ~ kkt^2): within that noise the test cannot judge, and it would halve
        # good unit steps, so differences below it count as no increase.
        noise = 1e-13 * max(1.0, abs(merit))
        for _ in range(50):
            trial_x, trial_lam = state.x + alpha * dx, state.lam + alpha * dlam
            trial, _, _, trial_parts = augmented_lagrangian(problem, trial_x, trial_lam, state.mu, self.nu,
                                                            gradient=False)
            state.merit_evals += 1
            if math.isfinite(trial) and trial <= merit + self.armijo * alpha * slope + noise:
                break
            alpha *= 0.5
        else:
            raise IncompatibleProblem(
                f"the line search on the merit function found no step that lowers it ({merit:.17g}) in 50 "
                "halvings, so the iterate was left where it was. The objective's or constraints' derivatives "
                "do not match their values, or the merit is not smooth here; check the derivatives, or lower "
                "inner_accuracy.")
        state.x, state.lam, state.parts, state.merit, state.step_size = (trial_x, trial_lam, trial_parts,
                                                                         float(trial), alpha)
        state.kkt = _kkt_residual(trial_parts)
        return state

    def metrics(self, problem, state: SQPState) -> dict[str, float]:
        c = state.parts["c"]
        return {"kkt_residual": state.kkt, "objective": float(state.parts["f"]),
                "constraint_violation": float(np.sqrt(c @ c)), "merit": state.merit, "step_size": state.step_size,
                "mu": state.mu, "inner_iterations": float(state.inner_iterations),
                "inner_residual": state.inner_residual, "matvecs": state.matvecs,
                "merit_evals": float(state.merit_evals)}
