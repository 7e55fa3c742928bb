"""Classic optimisation test functions: Rosenbrock, Beale, Rastrigin."""
from __future__ import annotations

import numpy as np
import param

from ...core import InvalidParameter, ProblemFactory, get_problem, register_problem
from .base import Objective

__all__ = ["Rosenbrock", "Beale", "Rastrigin", "rosenbrock", "beale", "rastrigin"]


def _start(start, dim, default):
    if start is None:
        return np.asarray(default, dtype=float)
    x0 = np.asarray(start, dtype=float).reshape(-1)
    if x0.size != dim:
        raise InvalidParameter(f"start has {x0.size} entries; it needs {dim} (one per variable).")
    return x0


class RosenbrockObjective(Objective):
    r"""Chained Rosenbrock :math:`\sum_i b (x_{i+1} - x_i^2)^2 + (a - x_i)^2`."""

    def __init__(self, a, b, x0, **kw):
        self.a, self.b = float(a), float(b)
        super().__init__(x0, **kw)

    def value_and_grad(self, x):
        a, b = self.a, self.b
        u, w = x[:-1], x[1:]
        r = w - u * u
        f = float(np.sum(b * r * r + (a - u) ** 2))
        g = np.zeros_like(x)
        g[:-1] = -4.0 * b * r * u - 2.0 * (a - u)
        g[1:] += 2.0 * b * r
        return f, g

    def hvp(self, x, v):
        # The Hessian is tridiagonal: diagonal and first off-diagonal in closed form.
        a, b = self.a, self.b
        u, w = x[:-1], x[1:]
        diag = np.zeros_like(x)
        diag[:-1] = 12.0 * b * u * u - 4.0 * b * w + 2.0
        diag[1:] += 2.0 * b
        off = -4.0 * b * u
        out = diag * v
        out[:-1] += off * v[1:]
        out[1:] += off * v[:-1]
        return out


@register_problem("rosenbrock")
class Rosenbrock(ProblemFactory):
    r"""The Rosenbrock valley, chained over dim variables.

    .. math:: f(x) = \sum_{i=1}^{d-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2

    Minimum 0 at :math:`(a, a^2)` in 2-D (all ones in higher dimension, which needs
    ``a = 1``). The classic start is (-1.2, 1).

    References
    ----------
    H. H. Rosenbrock, *An automatic method for finding the greatest or least value
    of a function*, The Computer Journal, 1960.
    """

    problem_kind = "objective"
    dim = param.Integer(default=2, bounds=(2, 100_000), doc="Number of variables.")
    a = param.Number(default=1.0, doc="Location parameter a (the minimiser is (a, a^2)); |a| <= 1000.")
    b = param.Number(default=100.0, bounds=(0.0, None), doc="Curvature of the valley walls.")
    start = param.List(default=None, allow_None=True, item_type=(int, float),
                       doc="Starting point (default -1.2, 1, -1.2, 1, ...).")

    def build(self):
        d = self.dim
        # Checked here, not with param bounds (which would turn the a box into a slider that
        # cannot land on 1): beyond |a| = 1e3 the minimiser's a^2 and the loss's scale leave the
        # range where a tolerance or a plot means anything (a = 1e308 overflows).
        if not abs(self.a) <= 1e3:
            raise InvalidParameter(f"rosenbrock's a is at most 1000 in size (the minimiser is (a, a^2)); got {self.a:g}.")
        if d > 2 and self.a != 1.0:
            raise InvalidParameter("the chained Rosenbrock with more than 2 variables needs a = 1.")
        default = np.tile([-1.2, 1.0], d // 2 + 1)[:d]
        x0 = _start(self.start, d, default)
        x_star = np.array([self.a, self.a ** 2]) if d == 2 else np.ones(d)
        return RosenbrockObjective(self.a, self.b, x0, x_star=x_star, f_star=0.0,
                                   name=f"rosenbrock(d={d})", properties={"smooth", "nonconvex"},
                                   metadata={"bounds": [[-2.0, 2.0], [-1.0, 3.0]]})


class BealeObjective(Objective):
    """Beale's function (two variables)."""

    _c = np.array([1.5, 2.25, 2.625])

    def value_and_grad(self, x):
        u, v = x
        p = np.array([1.0, v, v * v])          # d(v^k)/dv pieces
        vk = np.array([v, v * v, v ** 3])
        r = self._c - u + u * vk
        f = float(r @ r)
        du = 2.0 * r @ (vk - 1.0)
        dv = 2.0 * r @ (u * np.array([1.0, 2.0, 3.0]) * p)
        return f, np.array([du, dv])

    def hvp(self, x, w):
        # Gauss-Newton part J^T J plus the residual-weighted second derivatives.
        u, v = x
        k = np.array([1.0, 2.0, 3.0])
        vk = np.array([v, v * v, v ** 3])
        p = np.array([1.0, v, v * v])                  # v^(k-1)
        q = np.array([0.0, 1.0, 2.0 * v])              # (k-1) v^(k-2)
        r = self._c - u + u * vk
        J = np.stack([vk - 1.0, u * k * p], axis=1)    # dr/du, dr/dv
        H = 2.0 * J.T @ J
        H[0, 1] += 2.0 * r @ (k * p)
        H[1, 0] = H[0, 1]
        H[1, 1] += 2.0 * r @ (u * k * q)
        return H @ np.asarray(w, dtype=float)


@register_problem("beale")
class Beale(ProblemFactory):
    r"""Beale's function, minimum 0 at (3, 0.5).

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2
    """

    problem_kind = "objective"
    start = param.List(default=None, allow_None=True, item_type=(int, float),
                       doc="Starting point (default 1, 1).")

    def build(self):
        x0 = _start(self.start, 2, [1.0, 1.0])
        return BealeObjective(x0, x_star=[3.0, 0.5], f_star=0.0, name="beale",
                              properties={"smooth", "nonconvex"},
                              metadata={"bounds": [[-4.5, 4.5], [-4.5, 4.5]]})


class RastriginObjective(Objective):
    r""":math:`A d + \sum_i x_i^2 - A \cos(2 \pi x_i)`."""

    def __init__(self, amplitude, x0, **kw):
        self.amplitude = float(amplitude)
        super().__init__(x0, **kw)

    def value_and_grad(self, x):
        A = self.amplitude
        w = 2.0 * np.pi * x
        f = float(A * x.size + np.sum(x * x - A * np.cos(w)))
        return f, 2.0 * x + 2.0 * np.pi * A * np.sin(w)

    def hvp(self, x, v):
        return (2.0 + 4.0 * np.pi ** 2 * self.amplitude * np.cos(2.0 * np.pi * x)) * v


@register_problem("rastrigin")
class Rastrigin(ProblemFactory):
    r"""Rastrigin's function: many local minima, global minimum 0 at the origin.

    .. math:: f(x) = A d + \sum_i \left(x_i^2 - A \cos(2\pi x_i)\right)
    """

    problem_kind = "objective"
    dim = param.Integer(default=2, bounds=(1, 1_000_000), doc="Number of variables.")
    amplitude = param.Number(default=10.0, bounds=(0.0, None), doc="A: depth of the local minima.")
    start = param.List(default=None, allow_None=True, item_type=(int, float),
                       doc="Starting point (default: uniform in [-5.12, 5.12] from the seed).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the random start.")

    def build(self):
        d = self.dim
        default = np.random.default_rng(self.seed).uniform(-5.12, 5.12, d)
        x0 = _start(self.start, d, default)
        return RastriginObjective(self.amplitude, x0, x_star=np.zeros(d), f_star=0.0,
                                  name=f"rastrigin(d={d})", properties={"smooth", "nonconvex"},
                                  metadata={"bounds": [[-5.12, 5.12]] * min(d, 2)})


def rosenbrock(dim: int = 2, **kw):
    return get_problem("rosenbrock", dim=dim, **kw)


def beale(**kw):
    return get_problem("beale", **kw)


def rastrigin(dim: int = 2, **kw):
    return get_problem("rastrigin", dim=dim, **kw)
