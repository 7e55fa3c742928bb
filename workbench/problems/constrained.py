r"""Equality-constrained problems :math:`\min f(x)` subject to :math:`c(x) = 0`.

A :class:`ConstrainedProblem` (kind ``"constrained"``) carries the objective, the
constraints, their Jacobian and the Hessian of the Lagrangian
:math:`\mathcal L(x, \lambda) = f(x) + \lambda^T c(x)`, which is what a Newton (SQP)
method on the KKT conditions needs. The KKT residual
:math:`\|(\nabla_x \mathcal L, c)\|` measures progress; it needs no known solution.

Examples
--------
>>> import workbench as wb
>>> prob = wb.problems.constrained_quartic(dim=10, constraints=3)
>>> prob.dim, prob.n_constraints, round(prob.kkt_residual(prob.x0, prob.lam0), 3) > 0
(10, 3, True)
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import param

from ..core import InvalidProblem, Problem, ProblemFactory, get_problem, register_problem

__all__ = ["ConstrainedProblem", "constrained_problem", "ConstrainedQuartic", "constrained_quartic"]


class ConstrainedProblem(Problem):
    r""":math:`\min_x f(x)` subject to :math:`c(x) = 0`, :math:`c: \mathbb R^d \to \mathbb R^m`.

    Parameters
    ----------
    objective : callable ``x -> (f, grad)``
    objective_hessian : callable ``x -> (d, d) array``
    constraints : callable ``x -> (m,) array``
    jacobian : callable ``x -> (m, d) array`` (row j is the gradient of :math:`c_j`)
    constraint_curvature : callable ``(x, lam) -> (d, d) array``,
        :math:`\sum_j \lambda_j \nabla^2 c_j(x)` (zero for linear constraints)
    x0 : start; ``lam0`` : starting multipliers (default zero)
    """

    kind = "constrained"

    def __init__(self, objective: Callable, objective_hessian: Callable, constraints: Callable,
                 jacobian: Callable, constraint_curvature: Callable, x0, lam0=None, *, name="custom",
                 properties=(), metadata=None, spec=None):
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        x0 = np.asarray(x0, dtype=float).reshape(-1)
        if x0.size == 0 or not np.all(np.isfinite(x0)):
            raise InvalidProblem("x0 must be a finite vector with at least one entry.")
        self._f, self._hf, self._c, self._jac, self._curv = (objective, objective_hessian, constraints,
                                                             jacobian, constraint_curvature)
        self.x0 = x0
        try:
            c0 = np.asarray(constraints(x0), dtype=float).reshape(-1)
            G0 = np.asarray(jacobian(x0), dtype=float)
        except Exception as exc:
            raise InvalidProblem(f"the constraints failed at x0: {type(exc).__name__}: {exc}") from None
        m = c0.size
        if m == 0 or m >= x0.size:
            raise InvalidProblem(f"give between 1 and {x0.size - 1} constraints for {x0.size} variables; got {m}.")
        if G0.shape != (m, x0.size):
            raise InvalidProblem(f"the Jacobian at x0 has shape {G0.shape}; expected ({m}, {x0.size}).")
        self.lam0 = np.zeros(m) if lam0 is None else np.asarray(lam0, dtype=float).reshape(-1)
        if self.lam0.shape != (m,):
            raise InvalidProblem(f"lam0 needs one multiplier per constraint ({m}).")

    @property
    def dim(self) -> int:
        return self.x0.size

    @property
    def n_constraints(self) -> int:
        return self.lam0.size

    def objective(self, x):
        f, g = self._f(x)
        return float(f), np.asarray(g, dtype=float)

    def constraints(self, x) -> np.ndarray:
        return np.asarray(self._c(x), dtype=float).reshape(-1)

    def jacobian(self, x) -> np.ndarray:
        return np.asarray(self._jac(x), dtype=float)

    def lagrangian_hessian(self, x, lam) -> np.ndarray:
        r""":math:`\nabla^2_{xx} \mathcal L = \nabla^2 f(x) + \sum_j \lambda_j \nabla^2 c_j(x)`."""
        return np.asarray(self._hf(x), dtype=float) + np.asarray(self._curv(x, lam), dtype=float)

    def kkt_residual(self, x, lam) -> float:
        _, g = self.objective(x)
        grad_l = g + self.jacobian(x).T @ lam
        c = self.constraints(x)
        return float(np.sqrt(grad_l @ grad_l + c @ c))

    def describe(self) -> str:
        return f"{self.name}: {self.dim} variables, {self.n_constraints} equality constraints"


def constrained_problem(objective, objective_hessian, constraints, jacobian, x0, *,
                        constraint_curvature=None, lam0=None, name: str = "custom") -> ConstrainedProblem:
    """Your own equality-constrained problem (``constraint_curvature`` defaults to linear constraints).

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> prob = wb.problems.constrained_problem(            # min |x|^2 s.t. x1 + x2 = 1
    ...     lambda x: (x @ x, 2 * x), lambda x: 2 * np.eye(2),
    ...     lambda x: np.array([x.sum() - 1.0]), lambda x: np.ones((1, 2)), x0=[0.0, 0.0])
    >>> res = wb.run(wb.sketching.SketchedSQP(inner="exact"), prob, atol=1e-12, max_steps=10)
    >>> res.iterations, [round(float(v), 6) for v in res.state.x]
    (1, [0.5, 0.5])
    """
    if constraint_curvature is None:
        d = np.asarray(x0).size
        constraint_curvature = lambda x, lam: np.zeros((d, d))  # noqa: E731  (linear constraints)
    return ConstrainedProblem(objective, objective_hessian, constraints, jacobian, constraint_curvature, x0,
                              lam0=lam0, name=name)


@register_problem("constrained_quartic")
class ConstrainedQuartic(ProblemFactory):
    r"""A strictly convex quartic objective under random quadratic equality constraints.

    .. math::
        \min_x \tfrac12 x^T H x + q^T x + \tfrac{\kappa}{4}\sum_i x_i^4
        \quad\text{s.t.}\quad a_j^T x + \tfrac{\gamma}2 x^T B_j x = b_j,\ j = 1..m

    :math:`H` is SPD with condition number 10, the :math:`B_j` are random symmetric
    matrices of norm 1 and :math:`b` is chosen so that a random point is feasible.
    ``nonlinearity`` :math:`\kappa` and ``curvature`` :math:`\gamma` set how far from a
    quadratic program it is (both 0: one Newton step solves it). The start is
    :math:`x_0 = 0` (infeasible), :math:`\lambda_0 = 0`.
    """

    problem_kind = "constrained"
    dim = param.Integer(default=20, bounds=(2, 2000), doc="Number of variables d.")
    constraints = param.Integer(default=5, bounds=(1, 1999), doc="Number of equality constraints m (< d).")
    nonlinearity = param.Number(default=0.5, bounds=(0.0, None), doc="kappa: weight of the quartic term.")
    curvature = param.Number(default=0.2, bounds=(0.0, None), doc="gamma: curvature of the constraints.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def build(self) -> ConstrainedProblem:
        d, m, kappa, gamma = self.dim, self.constraints, self.nonlinearity, self.curvature
        if m >= d:
            raise InvalidProblem(f"constraints = {m} must be below dim = {d}: with as many equations as "
                                 "unknowns there is nothing left to optimise.")
        rng = np.random.default_rng(self.seed)
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        H = (Q * np.geomspace(1.0, 10.0, d)) @ Q.T
        H = 0.5 * (H + H.T)
        q = rng.standard_normal(d)
        A = rng.standard_normal((m, d)) / np.sqrt(d)
        B = rng.standard_normal((m, d, d))
        B = 0.5 * (B + B.transpose(0, 2, 1))
        B /= np.linalg.norm(B, ord=2, axis=(1, 2))[:, None, None]
        feasible = rng.standard_normal(d) / np.sqrt(d)
        b = A @ feasible + 0.5 * gamma * np.einsum("i,jik,k->j", feasible, B, feasible)

        def objective(x):
            Hx = H @ x
            return 0.5 * x @ Hx + q @ x + 0.25 * kappa * np.sum(x ** 4), Hx + q + kappa * x ** 3

        def objective_hessian(x):
            return H + np.diag(3.0 * kappa * x ** 2)

        def constraints(x):
            return A @ x + 0.5 * gamma * np.einsum("i,jik,k->j", x, B, x) - b

        def jacobian(x):
            return A + gamma * (B @ x)

        def constraint_curvature(x, lam):
            return gamma * np.tensordot(lam, B, axes=1)

        return ConstrainedProblem(objective, objective_hessian, constraints, jacobian, constraint_curvature,
                                  np.zeros(d), name=f"constrained_quartic(d={d}, m={m})",
                                  properties={"smooth", "equality_constrained"},
                                  metadata={"dim": d, "constraints": m, "nonlinearity": kappa, "curvature": gamma})


def constrained_quartic(dim: int = 20, constraints: int = 5, **kw) -> ConstrainedProblem:
    """A quartic objective under quadratic equality constraints (see :class:`ConstrainedQuartic`)."""
    return get_problem("constrained_quartic", dim=dim, constraints=constraints, **kw)
