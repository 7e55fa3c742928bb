r"""Bilevel problems: :math:`\min_x F(x) = f(x, y^\star(x))` with :math:`y^\star(x) = \arg\min_y g(x, y)`.

A :class:`BilevelProblem` (kind ``"bilevel"``) carries the upper objective f, the lower
objective g (strongly convex in y), their gradients in x and y, and the lower level's
Hessian blocks :math:`\nabla^2_{yy} g` and :math:`\nabla^2_{xy} g`. The methods of
:mod:`workbench.bilevel` differ in what they use: the penalty methods only gradients, the
implicit-differentiation reference also the Hessians. The problem uses the Hessians to
*measure* every method the same way, through the true hypergradient

.. math::
    \nabla F(x) = \nabla_x f(x, y^\star) - \nabla^2_{xy} g(x, y^\star)\,
    [\nabla^2_{yy} g(x, y^\star)]^{-1} \nabla_y f(x, y^\star),

the implicit function theorem's formula, whose norm is the stop metric.

Examples
--------
>>> import workbench as wb
>>> prob = wb.problems.quadratic_bilevel(upper_dim=3, lower_dim=4)
>>> prob.dim, prob.lower_dim, bool(prob.hypergradient(prob.x_star) @ prob.hypergradient(prob.x_star) < 1e-20)
(3, 4, True)
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import param

from ..core import InvalidProblem, Problem, ProblemFactory, get_problem, register_problem

__all__ = ["BilevelProblem", "bilevel_problem", "QuadraticBilevel", "quadratic_bilevel",
           "RidgeHyperparameters", "ridge_hyperparameters"]


class BilevelProblem(Problem):
    r""":math:`\min_x f(x, y^\star(x))`, :math:`y^\star(x) = \arg\min_y g(x, y)`, g strongly convex in y.

    Parameters
    ----------
    upper : callable ``(x, y) -> (f, grad_x f, grad_y f)``
    lower : callable ``(x, y) -> (g, grad_x g, grad_y g)``
    lower_hessians : callable ``(x, y) -> (H_yy, H_xy)``, with ``H_yy`` of shape
        ``(dy, dy)`` and ``H_xy[i, j]`` :math:`= \partial^2 g / \partial x_i \partial y_j`
        of shape ``(dx, dy)``
    x0, y0 : starts of the two levels
    lower_solution : callable ``x -> y*(x)``, optional (default: Newton's method on g from
        the last solution, which the Hessians make cheap and exact)
    lower_smoothness : callable ``x -> L_g(x)``, the Lipschitz constant of
        :math:`\nabla_y g(x, \cdot)`, optional (default: :math:`\|H_{yy}\|_2` at the lower solution)
    upper_smoothness : float, optional
        The Lipschitz constant of :math:`\nabla_y f(x, \cdot)` (default: estimated at
        ``(x0, y0)`` by a few power iterations on differences of gradients)
    x_star : the solution of the bilevel problem when known (for the ``distance`` metric)
    """

    kind = "bilevel"

    def __init__(self, upper: Callable, lower: Callable, lower_hessians: Callable, x0, y0, *,
                 lower_solution: Callable | None = None, lower_smoothness: Callable | None = None,
                 upper_smoothness: float | None = None, x_star=None, name="custom", properties=(), metadata=None, spec=None):
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        try:
            x0 = np.asarray(x0, dtype=float).reshape(-1)
            y0 = np.asarray(y0, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidProblem("x0 and y0 must be numeric vectors.") from None
        if x0.size == 0 or y0.size == 0 or not (np.all(np.isfinite(x0)) and np.all(np.isfinite(y0))):
            raise InvalidProblem("x0 and y0 must be finite vectors with at least one entry each.")
        self._upper, self._lower, self._hessians = upper, lower, lower_hessians
        self._solution, self._smoothness = lower_solution, lower_smoothness
        self.x0, self.y0 = x0, y0
        dx, dy = x0.size, y0.size
        try:
            f, fx, fy = self.upper(x0, y0)
            g, gx, gy = self.lower(x0, y0)
            Hyy, Hxy = self.lower_hessians(x0, y0)
        except InvalidProblem:
            raise
        except Exception as exc:
            raise InvalidProblem(f"the problem's functions failed at (x0, y0): {type(exc).__name__}: {exc}. "
                                 "Check that upper, lower and lower_hessians take (x, y) and return what the "
                                 "docstring says.") from None
        shapes = {"grad_x f": (fx.shape, (dx,)), "grad_y f": (fy.shape, (dy,)), "grad_x g": (gx.shape, (dx,)),
                  "grad_y g": (gy.shape, (dy,)), "H_yy": (Hyy.shape, (dy, dy)), "H_xy": (Hxy.shape, (dx, dy))}
        for label, (got, want) in shapes.items():
            if got != want:
                raise InvalidProblem(f"{label} at (x0, y0) has shape {got}; expected {want} for x of size {dx} "
                                     f"and y of size {dy}.")
        if not all(np.all(np.isfinite(v)) for v in (f, fx, fy, g, gx, gy, Hyy, Hxy)):
            raise InvalidProblem("the values, gradients or Hessians at (x0, y0) are not finite.")
        eigenvalues = np.linalg.eigvalsh(0.5 * (Hyy + Hyy.T))
        lowest = float(eigenvalues[0])
        if lowest <= 0.0:
            raise InvalidProblem(f"the lower level is not strongly convex in y at (x0, y0): H_yy has eigenvalue "
                                 f"{lowest:.3g}. The methods here need a unique lower solution y*(x); add a "
                                 "ridge term to g.")
        self._check_user_lower(float(eigenvalues[-1]))
        self.x_star = None if x_star is None else np.asarray(x_star, dtype=float).reshape(-1)
        if self.x_star is not None and self.x_star.shape != x0.shape:
            raise InvalidProblem(f"x_star has {self.x_star.size} entries; x has {dx}.")
        if upper_smoothness is None:
            upper_smoothness = self._estimate_upper_smoothness(fy)
        if not (np.isfinite(upper_smoothness) and upper_smoothness >= 0):
            raise InvalidProblem(f"upper_smoothness must be a finite number >= 0; got {upper_smoothness!r}.")
        self.upper_smoothness = float(upper_smoothness)
        self._cache_x: np.ndarray | None = None
        self._cache: dict = {}
        self._last_y = y0.copy()

    def _check_user_lower(self, largest_Hyy: float) -> None:
        """Check a user's ``lower_solution`` and ``lower_smoothness`` once, at ``x0``."""
        for label, fn in (("lower_solution", self._solution), ("lower_smoothness", self._smoothness)):
            if fn is not None and not callable(fn):
                raise InvalidProblem(f"{label} must be a function of x; got {fn!r}. Pass a callable such as "
                                     f"lambda x: ..., or leave it out for the default.")
        for label, fn, check in (("lower_solution", self._solution, self._user_lower_solution),
                                 ("lower_smoothness", self._smoothness, self._user_lower_smoothness)):
            if fn is None:
                continue
            try:
                value = check(self.x0)
            except InvalidProblem:
                raise
            except Exception as exc:
                raise InvalidProblem(f"{label} failed at x0: {type(exc).__name__}: {exc}. It takes x (a vector of "
                                     f"size {self.x0.size}); fix it or leave it out for the default.") from None
            if label == "lower_smoothness" and value < largest_Hyy * (1.0 - 1e-8):
                raise InvalidProblem(
                    f"lower_smoothness(x0) = {value:.6g} is below the largest eigenvalue {largest_Hyy:.6g} of H_yy "
                    "at (x0, y0), so it is not a Lipschitz constant of grad_y g and inner steps of size "
                    "1/L_g would diverge. Return an upper bound on the eigenvalues of H_yy, or leave it out "
                    "for the default.")

    def _user_lower_solution(self, x) -> np.ndarray:
        """The user's ``lower_solution(x)``, checked: a finite vector the size of y."""
        y = self._solution(x)
        try:
            y = np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise InvalidProblem(f"lower_solution(x) returned {type(y).__name__}, not a numeric vector; return y*(x), "
                                 f"a vector of size {self.y0.size} like y0.") from None
        if y.size != self.y0.size or sum(n > 1 for n in y.shape) > 1:  # (a column (dy, 1) is a vector too)
            raise InvalidProblem(f"lower_solution(x) returned shape {y.shape}; y has {self.y0.size} entries. "
                                 f"Return y*(x), a vector of size {self.y0.size} like y0.")
        y = y.reshape(-1)
        if not np.all(np.isfinite(y)):
            raise InvalidProblem("lower_solution(x) returned non-finite entries at this x; return a finite y*(x) "
                                 "there, or leave lower_solution out to use Newton's method on g.")
        return y

    def _user_lower_smoothness(self, x) -> float:
        """The user's ``lower_smoothness(x)``, checked: a finite positive number."""
        value = self._smoothness(x)
        try:
            value = float(np.asarray(value, dtype=float).item())
        except (TypeError, ValueError):
            raise InvalidProblem(f"lower_smoothness(x) returned {value!r}; return one number, the Lipschitz "
                                 "constant L_g(x) of grad_y g(x, .).") from None
        if not (np.isfinite(value) and value > 0.0):
            raise InvalidProblem(f"lower_smoothness(x) returned {value!r} at this x; L_g(x) must be a finite positive "
                                 "number (the largest eigenvalue of H_yy is one). Fix it, or leave it out for the "
                                 "default.")
        return value

    def _estimate_upper_smoothness(self, fy0) -> float:
        # Power iteration on v -> (grad_y f(y0 + h v) - grad_y f(y0)) / h: exact for a quadratic f,
        # a local estimate otherwise; 20 gradients, once.
        rng = np.random.default_rng(0)
        v = rng.standard_normal(self.y0.size)
        v /= np.linalg.norm(v)
        h = 1e-4 * max(1.0, float(np.linalg.norm(self.y0)))
        estimate = 0.0
        for _ in range(20):
            w = (self.upper(self.x0, self.y0 + h * v)[2] - fy0) / h
            estimate = float(np.linalg.norm(w))
            if not np.isfinite(estimate) or estimate == 0.0:
                return 0.0 if estimate == 0.0 else 1.0
            v = w / estimate
        return estimate

    # -- the oracles the methods call -----------------------------------------
    @property
    def dim(self) -> int:
        return self.x0.size

    @property
    def lower_dim(self) -> int:
        return self.y0.size

    def upper(self, x, y):
        """``(f, grad_x f, grad_y f)`` at ``(x, y)``."""
        f, fx, fy = self._upper(x, y)
        return float(f), np.asarray(fx, dtype=float).reshape(-1), np.asarray(fy, dtype=float).reshape(-1)

    def lower(self, x, y):
        """``(g, grad_x g, grad_y g)`` at ``(x, y)``."""
        g, gx, gy = self._lower(x, y)
        return float(g), np.asarray(gx, dtype=float).reshape(-1), np.asarray(gy, dtype=float).reshape(-1)

    def lower_hessians(self, x, y):
        """``(H_yy, H_xy)`` of g at ``(x, y)``."""
        Hyy, Hxy = self._hessians(x, y)
        return np.asarray(Hyy, dtype=float), np.asarray(Hxy, dtype=float)

    def lower_smoothness(self, x, y=None) -> float:
        r"""The Lipschitz constant :math:`L_g` of :math:`\nabla_y g(x, \cdot)` (what inner step sizes divide by)."""
        if self._smoothness is not None:
            return self._user_lower_smoothness(x)
        Hyy, _ = self.lower_hessians(x, self.lower_solution(x) if y is None else y)
        return float(np.linalg.eigvalsh(0.5 * (Hyy + Hyy.T))[-1])

    # -- the measurements, the same for every method ---------------------------
    def lower_solution(self, x) -> np.ndarray:
        r""":math:`y^\star(x)`, by the given solver or by Newton's method on :math:`g(x, \cdot)`."""
        return self._measure(x)["y"].copy()

    def hyper_objective(self, x) -> float:
        """:math:`F(x) = f(x, y^*(x))`, the objective the upper level really has."""
        return self._measure(x)["F"]

    def hypergradient(self, x) -> np.ndarray:
        r""":math:`\nabla F(x)` by the implicit function theorem (one dense solve with :math:`H_{yy}`)."""
        return self._measure(x)["grad"].copy()

    def lower_value(self, x) -> float:
        r""":math:`g^\star(x) = \min_y g(x, y)`."""
        return self._measure(x)["g"]

    def _measure(self, x) -> dict:
        x = np.asarray(x, dtype=float)
        if self._cache_x is not None and self._cache_x.shape == x.shape and np.array_equal(self._cache_x, x):
            return self._cache
        y = self._solve_lower(x)
        F, fx, fy = self.upper(x, y)
        g = self.lower(x, y)[0]
        Hyy, Hxy = self.lower_hessians(x, y)
        grad = fx - Hxy @ np.linalg.solve(Hyy, fy)
        self._cache_x, self._cache = x.copy(), {"y": y, "F": F, "g": g, "grad": grad}
        return self._cache

    #: Newton steps allowed per lower solve (damped steps from far away, then a few quadratic ones).
    newton_max_steps = 100
    #: Stop when ``|grad_y g|`` has fallen by this factor from the start of the solve.
    newton_rtol = 1e-12

    def _solve_lower(self, x) -> np.ndarray:
        if self._solution is not None:
            y = self._user_lower_solution(x)
            self._last_y = y.copy()
            return y
        y = self._newton_lower(np.asarray(x, dtype=float))
        self._last_y = y.copy()
        return y

    def _newton_lower(self, x) -> np.ndarray:
        r"""Damped Newton on :math:`g(x, \cdot)` from the last solution (or ``y0``).

        Each step is the Newton direction with an Armijo backtracking line search on g, so a
        start far from :math:`y^\star` (where the local quadratic model overshoots) still
        converges; for a lower level quadratic in y one full step is exact. The tests are
        scale-free, so g and 1e8 g are solved alike: converged when :math:`|\nabla_y g|` has
        fallen by ``newton_rtol`` from the start of the solve, or when it stalls: the step no
        longer lowers g or :math:`|\nabla_y g|` beyond floating-point rounding, with a Newton
        step that is tiny next to y (the floor of the arithmetic, reached).
        """
        eps = np.finfo(float).eps
        y = self._last_y.copy()
        g, _, gy = self.lower(x, y)
        if not (np.isfinite(g) and np.all(np.isfinite(gy))) and not np.array_equal(y, self.y0):
            y = self.y0.copy()  # the last solution is outside g's domain at this x: start afresh
            g, _, gy = self.lower(x, y)
        if not (np.isfinite(g) and np.all(np.isfinite(gy))):
            raise InvalidProblem("g(x, y) or grad_y g is not finite at the start of the lower solve at this x; the "
                                 "upper iterate has left the region where the lower level is well posed (lower the "
                                 "step size), or give lower_solution.")
        gnorm0 = gnorm = float(np.linalg.norm(gy))
        first_step = None
        for k in range(self.newton_max_steps):
            if gnorm == 0.0 or gnorm <= self.newton_rtol * gnorm0:
                return y
            Hyy, _ = self.lower_hessians(x, y)
            try:
                d = -np.linalg.solve(Hyy, gy)
            except np.linalg.LinAlgError:
                d = np.full_like(y, np.nan)
            slope = float(gy @ d)
            if not (np.all(np.isfinite(d)) and slope < 0.0):
                raise InvalidProblem(f"H_yy at this x (Newton step {k} of the lower solve) is singular, not finite or "
                                     "not positive definite, so Newton's method has no descent direction. The "
                                     "lower level must be strongly convex in y near its solution; check "
                                     "lower_hessians, add a ridge term to g, or give lower_solution.")
            dnorm = float(np.linalg.norm(d))
            first_step = dnorm if first_step is None else first_step
            # Armijo backtracking on g; at t = 1 also accept a step that keeps g within rounding
            # and lowers |grad_y g| (near the solution g is flat to machine precision, its gradient is not).
            t, taken = 1.0, None
            for _ in range(60):
                yt = y + t * d
                gt, _, gyt = self.lower(x, yt)
                if np.isfinite(gt) and np.all(np.isfinite(gyt)):
                    gtnorm = float(np.linalg.norm(gyt))
                    noise = 16.0 * eps * max(abs(g), abs(gt))
                    if gt <= g + 1e-4 * t * slope or (t == 1.0 and gt <= g + noise and gtnorm < gnorm):
                        taken = (yt, gt, gyt, gtnorm, gt < g - noise or gtnorm < gnorm)
                        break
                t *= 0.5
            progress = taken is not None and taken[4]
            if not progress:
                # Stalled: no step lowers g or |grad_y g| beyond rounding. At the floor of the
                # arithmetic the Newton step is tiny next to y; far from it this is a real failure.
                if dnorm <= 1e-6 * max(float(np.linalg.norm(y)), first_step) or gnorm <= 1e-8 * gnorm0:
                    return y if taken is None or taken[3] >= gnorm else taken[0]
                raise InvalidProblem(
                    f"Newton's method with a line search on the lower level g(x, .) stalled at this x after {k} "
                    f"steps: no step along the Newton direction lowers g, and |grad_y g| = {gnorm:.3g} (it started "
                    f"at {gnorm0:.3g}). Check that lower's grad_y and lower_hessians are the derivatives of its "
                    "value g, or give lower_solution.")
            y, g, gy, gnorm = taken[0], taken[1], taken[2], taken[3]
        if gnorm <= 1e-8 * gnorm0:
            return y  # slow but accurate (e.g. a Hessian that is only approximate)
        raise InvalidProblem(
            f"Newton's method with a line search on the lower level g(x, .) did not converge in "
            f"{self.newton_max_steps} steps at this x: |grad_y g| went from {gnorm0:.3g} to {gnorm:.3g}. Check that "
            "lower_hessians is the Hessian of lower (a wrong one slows Newton to a crawl), or give lower_solution.")

    def describe(self) -> str:
        return f"{self.name}: {self.dim} upper and {self.lower_dim} lower variables"


def bilevel_problem(upper, lower, lower_hessians, x0, y0, *, lower_solution=None, lower_smoothness=None,
                    upper_smoothness=None, x_star=None, name: str = "custom") -> BilevelProblem:
    r"""Your own bilevel problem (see :class:`BilevelProblem` for what each callable returns).

    Examples
    --------
    Choose x so that the lower solution :math:`y^\star(x) = x` lands on 1, at a price
    :math:`\tfrac12 x^2`; the answer is :math:`x^\star = 1/2`.

    >>> import numpy as np, workbench as wb
    >>> prob = wb.problems.bilevel_problem(
    ...     upper=lambda x, y: (0.5 * (y - 1) @ (y - 1) + 0.5 * x @ x, x, y - 1),
    ...     lower=lambda x, y: (0.5 * (y - x) @ (y - x), x - y, y - x),
    ...     lower_hessians=lambda x, y: (np.eye(1), -np.eye(1)), x0=[0.0], y0=[0.0])
    >>> res = wb.run(wb.bilevel.ImplicitHypergradient(lr=0.5), prob, max_steps=100)
    >>> round(float(res.state.x[0]), 6)
    0.5
    """
    return BilevelProblem(upper, lower, lower_hessians, x0, y0, lower_solution=lower_solution,
                          lower_smoothness=lower_smoothness, upper_smoothness=upper_smoothness, x_star=x_star,
                          name=name)


@register_problem("quadratic_bilevel")
class QuadraticBilevel(ProblemFactory):
    r"""A quadratic bilevel problem with a known solution.

    .. math::
        g(x, y) = \tfrac12 y^T H y - y^T C x, \qquad
        f(x, y) = \tfrac12 \|y - y_t\|^2 + \tfrac{\rho}{2}\|x\|^2,

    so :math:`y^\star(x) = H^{-1} C x = K x` and
    :math:`x^\star = (K^T K + \rho I)^{-1} K^T y_t`. ``H`` has eigenvalues spaced
    geometrically from ``1 / lower_condition`` to 1 (:math:`L_g = 1`), and ``K`` has
    singular values from ``1 / upper_condition`` to 1, so the hyper-objective F is a
    quadratic with smoothness :math:`1 + \rho` (a step of 1 is safe) and strong convexity
    :math:`1/\text{upper\_condition}^2 + \rho`. A single eigenvalue or singular value
    (``lower_dim = 1`` or ``upper_dim = 1``) is 1, so the condition there is 1; ``metadata``
    reports the true constants. Starts: :math:`x_0 = y_0 = 0`.
    """

    problem_kind = "bilevel"
    upper_dim = param.Integer(default=5, bounds=(1, 2000), doc="Number of upper variables x.")
    lower_dim = param.Integer(default=8, bounds=(1, 2000), doc="Number of lower variables y (at least upper_dim).")
    lower_condition = param.Number(default=10.0, bounds=(1.0, 1e8), doc="Condition number of H (the lower level).")
    upper_condition = param.Number(default=5.0, bounds=(1.0, 1e4), doc="Largest over smallest singular value of K.")
    upper_ridge = param.Number(default=0.01, bounds=(0.0, None), doc="rho: the upper level's weight on |x|^2 / 2.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def build(self) -> BilevelProblem:
        dx, dy, rho = self.upper_dim, self.lower_dim, self.upper_ridge
        if dy < dx:
            raise InvalidProblem(f"lower_dim = {dy} must be at least upper_dim = {dx}, so that every direction of x "
                                 "moves y*(x) (K has full column rank).")
        rng = np.random.default_rng(self.seed)
        Q, _ = np.linalg.qr(rng.standard_normal((dy, dy)))
        # A single value is the largest, 1: np.geomspace(1/c, 1, 1) returns [1/c], not [1]
        # (which would make L_g = 1/c, and F's curvature 1/c^2 + rho, against the promise).
        h_eig = np.geomspace(1.0 / self.lower_condition, 1.0, dy) if dy > 1 else np.ones(1)
        k_sv = np.geomspace(1.0 / self.upper_condition, 1.0, dx) if dx > 1 else np.ones(1)
        H = (Q * h_eig) @ Q.T
        H = 0.5 * (H + H.T)
        U, _ = np.linalg.qr(rng.standard_normal((dy, dx)))
        V, _ = np.linalg.qr(rng.standard_normal((dx, dx)))
        K = (U * k_sv) @ V.T
        C = H @ K
        y_target = rng.standard_normal(dy)
        x_star = np.linalg.solve(K.T @ K + rho * np.eye(dx), K.T @ y_target)

        def upper(x, y):
            r = y - y_target
            return 0.5 * r @ r + 0.5 * rho * x @ x, rho * x, r

        def lower(x, y):
            Hy, Cx = H @ y, C @ x
            return 0.5 * y @ Hy - y @ Cx, -C.T @ y, Hy - Cx

        def lower_hessians(x, y):
            return H, -C.T

        lower_l = float(np.linalg.eigvalsh(H)[-1])
        return BilevelProblem(upper, lower, lower_hessians, np.zeros(dx), np.zeros(dy),
                              lower_solution=lambda x: K @ x, lower_smoothness=lambda x: lower_l,
                              upper_smoothness=1.0, x_star=x_star,
                              name=f"quadratic_bilevel(dx={dx}, dy={dy})", properties={"quadratic"},
                              # F'' = K^T K + rho I, whose eigenvalues are k_sv^2 + rho.
                              metadata={"upper_strong_convexity": float(k_sv[0] ** 2 + rho),
                                        "upper_smoothness": float(k_sv[-1] ** 2 + rho),
                                        "lower_strong_convexity": float(h_eig[0])})


def quadratic_bilevel(upper_dim: int = 5, lower_dim: int = 8, **kw) -> BilevelProblem:
    """The quadratic bilevel problem (see :class:`QuadraticBilevel`), built by name."""
    return get_problem("quadratic_bilevel", upper_dim=upper_dim, lower_dim=lower_dim, **kw)


@register_problem("ridge_hyperparameters")
class RidgeHyperparameters(ProblemFactory):
    r"""Learn one ridge penalty per feature by minimising the validation loss.

    .. math::
        g(x, w) = \frac{1}{2n}\|X w - t\|^2 + \tfrac12 \sum_j e^{x_j} w_j^2, \qquad
        f(x, w) = \frac{1}{2m}\|X_v w - t_v\|^2.

    The data are synthetic: ``features`` Gaussian features of which the first
    ``relevant`` carry weight, ``train`` training rows (few, so that the penalties
    matter), ``validation`` validation rows, noise of standard deviation ``noise``. The
    upper variable is the log-penalty :math:`x_j = \log \lambda_j` (start 0, every
    :math:`\lambda_j = 1`); a good solution shrinks the irrelevant features hard and the
    relevant ones little, which no single scalar penalty can do. ``metadata`` holds the
    best scalar penalty on a grid and its validation loss, the baseline to beat.
    """

    problem_kind = "bilevel"
    features = param.Integer(default=20, bounds=(1, 500), doc="Number of features d (= upper and lower variables).")
    relevant = param.Integer(default=5, bounds=(0, 500), doc="Features with nonzero true weight.")
    train = param.Integer(default=40, bounds=(1, 100000), doc="Training rows n.")
    validation = param.Integer(default=400, bounds=(1, 100000), doc="Validation rows m.")
    noise = param.Number(default=0.5, bounds=(0.0, None), doc="Standard deviation of the label noise.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed.")

    def build(self) -> BilevelProblem:
        d, k, n, m = self.features, self.relevant, self.train, self.validation
        if k > d:
            raise InvalidProblem(f"relevant = {k} cannot exceed features = {d}.")
        rng = np.random.default_rng(self.seed)
        w_true = np.zeros(d)
        w_true[:k] = 2.0 * rng.standard_normal(k)
        X = rng.standard_normal((n, d))
        t = X @ w_true + self.noise * rng.standard_normal(n)
        Xv = rng.standard_normal((m, d))
        tv = Xv @ w_true + self.noise * rng.standard_normal(m)
        gram, rhs = X.T @ X / n, X.T @ t / n
        gram_norm = float(np.linalg.eigvalsh(gram)[-1])

        def upper(x, w):
            r = Xv @ w - tv
            return 0.5 * r @ r / m, np.zeros(d), Xv.T @ r / m

        def lower(x, w):
            r = X @ w - t
            lam = np.exp(x)
            return 0.5 * r @ r / n + 0.5 * lam @ (w * w), 0.5 * lam * w * w, gram @ w - rhs + lam * w

        def lower_hessians(x, w):
            lam = np.exp(x)
            return gram + np.diag(lam), np.diag(lam * w)

        def lower_solution(x):
            return np.linalg.solve(gram + np.diag(np.exp(x)), rhs)

        def validation_loss(w):
            r = Xv @ w - tv
            return 0.5 * r @ r / m

        grid = np.linspace(-8.0, 4.0, 121)
        losses = [validation_loss(lower_solution(np.full(d, a))) for a in grid]
        best = int(np.argmin(losses))
        return BilevelProblem(upper, lower, lower_hessians, np.zeros(d), np.zeros(d),
                              lower_solution=lower_solution,
                              lower_smoothness=lambda x: gram_norm + float(np.exp(np.max(x))),
                              upper_smoothness=float(np.linalg.eigvalsh(Xv.T @ Xv / m)[-1]),
                              name=f"ridge_hyperparameters(d={d}, n={n})", properties={"hyperparameter"},
                              metadata={"w_true": w_true, "relevant": k, "noise_floor": 0.5 * self.noise ** 2,
                                        "display": "exp", "coordinate_label": "penalty lambda_j = exp(x_j)",
                                        "highlight": list(range(k)),
                                        "coordinate_note": (f"The shaded {k} features carry the signal; a good "
                                                            "answer penalises them little and the rest hard."),
                                        "best_scalar_log_penalty": float(grid[best]),
                                        "best_scalar_validation_loss": float(losses[best])})


def ridge_hyperparameters(features: int = 20, **kw) -> BilevelProblem:
    """Per-feature ridge penalties tuned on validation data (see :class:`RidgeHyperparameters`)."""
    return get_problem("ridge_hyperparameters", features=features, **kw)
