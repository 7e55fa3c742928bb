r"""Monotone operator problems: find :math:`z` with :math:`F(z) = 0`, e.g. a saddle point of a game.

A :class:`LinearMonotoneOperator` (kind ``"operator"``) is :math:`F(z) = M z - b` with
:math:`M + M^T \succeq 0`. The saddle points of :math:`\min_x \max_y f(x, y)` are the
zeros of :math:`F = (\nabla_x f, -\nabla_y f)`, monotone when :math:`f` is convex-concave:
for a bilinear game :math:`x^T A y` it is skew, :math:`M = [[0, A], [-A^T, 0]]`, the case
where simultaneous gradient descent-ascent spirals out and extragradient converges.
Progress is measured by the residual :math:`\|F(z)\|`, which needs no known solution.
"""
from __future__ import annotations

import math

import numpy as np
import param

from ..core import InvalidProblem, Problem, ProblemFactory, get_problem, register_problem

__all__ = ["LinearMonotoneOperator", "linear_operator_problem", "BilinearGame", "bilinear_game"]


class LinearMonotoneOperator(Problem):
    r""":math:`F(z) = M z - b` with :math:`M + M^T \succeq 0`; a zero of F is the solution.

    Attributes
    ----------
    M, b, z0 : the operator, its offset and the start
    z_star : a zero of F (the least-norm one; with a singular M every z_star + null(M) is one,
        and ``distance`` is measured to that set)
    lipschitz : :math:`L = \|M\|_2`

    The constructor refuses an M that is not monotone, a zero M (L = 0: the step sizes, in
    units of 1/L, would be infinite) and a b outside the range of a singular M (F then has no
    zero, and the residual cannot fall below :math:`\|(I - M M^+) b\|`; the sentence gives it).
    """

    kind = "operator"

    def __init__(self, M, b, z0, *, name="custom", properties=(), metadata=None, spec=None, known=None):
        # ``known``: {"lipschitz": ||M||_2, "z_star": the unique zero} from a caller that built M
        # with a known structure (monotone and nonsingular), which skips the O(n^3) checks below
        # (eigenvalues, the 2-norm, least squares, an SVD: 40 s for a 4000 x 4000 game).
        super().__init__(name=name, properties=properties, metadata=metadata, spec=spec)
        try:
            M = np.asarray(M, dtype=float)
            b = np.asarray(b, dtype=float).reshape(-1)
            z0 = np.asarray(z0, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidProblem("M, b and z0 must be numeric arrays.") from None
        if M.ndim != 2 or M.shape[0] != M.shape[1] or b.shape != (M.shape[0],) or z0.shape != b.shape:
            raise InvalidProblem(f"M must be square with b and z0 of its size; got M {M.shape}, b {b.shape}, "
                                 f"z0 {z0.shape}.")
        if M.size == 0:
            raise InvalidProblem("M must have at least one row: an operator on no variables has nothing to solve.")
        if not (np.all(np.isfinite(M)) and np.all(np.isfinite(b)) and np.all(np.isfinite(z0))):
            raise InvalidProblem("M, b and z0 must be finite.")
        if known is not None:
            self.M, self.b, self.z0 = M, b, z0
            self.lipschitz = float(known["lipschitz"])
            self.z_star = np.asarray(known["z_star"], dtype=float).reshape(-1)
            self._row_space = None  # (nonsingular: the zero is unique)
            return
        lowest = float(np.linalg.eigvalsh(0.5 * (M + M.T))[0])
        if lowest < -1e-10 * max(1.0, float(np.abs(M).max())):
            raise InvalidProblem(f"the operator is not monotone: M + M^T has eigenvalue {2 * lowest:.3g} < 0. The "
                                 "methods here need a monotone F (a convex-concave game).")
        # One SVD gives all of it: L = ||M||_2, the least-norm zero M^+ b, the least residual any z
        # has, and the row space of M (the zeros are z_star + null(M), and the distance to that set
        # is the part of z - z_star in the row space: all of it when M is nonsingular).
        U, sing, Vt = np.linalg.svd(M)
        lipschitz = float(sing[0])
        if lipschitz == 0:
            # (the step sizes are lr / L: a zero M would send z off by lr / 1e-300 times b)
            raise InvalidProblem("M is zero, so F(z) = -b is the same at every z: every z solves it (b = 0) or none "
                                 "does; give a nonzero M.")
        # (numpy's lstsq cut-off, as the least-squares solve this replaces used)
        kept = sing > max(M.shape) * np.finfo(float).eps * sing[0]
        z = Vt[kept].T @ ((U[:, kept].T @ b) / sing[kept])
        floor = float(np.linalg.norm(M @ z - b))  # ||(I - M M^+) b||, the least residual any z has
        if floor > 1e-9 * max(1.0, float(np.linalg.norm(b))):
            raise InvalidProblem(
                f"F(z) = M z - b has no zero: b is not in the range of the singular M, so ||F(z)|| >= "
                f"||(I - M M^+) b|| = {floor:.3g} for every z and no method can bring the residual below it. Take "
                "b in the range of M (e.g. b = M z for some z), or make M nonsingular.")
        self.M, self.b, self.z0 = M, b, z0
        self.lipschitz = lipschitz
        self.z_star = z
        self._row_space = Vt[kept]

    @property
    def dim(self) -> int:
        return self.z0.size

    def operator(self, z) -> np.ndarray:
        return self.M @ z - self.b

    def distance_to_solutions(self, z) -> float:
        r"""The distance from ``z`` to the set of zeros :math:`z_\star + \ker M`, not to one of them.

        Examples
        --------
        >>> prob = linear_operator_problem([[1.0, 0.0], [0.0, 0.0]], [1.0, 0.0], [0.0, 5.0])
        >>> prob.distance_to_solutions([0.0, 5.0]), prob.distance_to_solutions([1.0, -3.0])   # zeros: (1, t)
        (1.0, 0.0)
        """
        d = np.asarray(z, dtype=float) - self.z_star
        if self._row_space is None or self._row_space.shape[0] == d.size:
            return float(np.linalg.norm(d))
        return float(np.linalg.norm(self._row_space @ d))

    def value(self, z) -> float:
        r"""The merit :math:`\tfrac12 \|F(z)\|^2` (zero exactly at the solutions; what a contour map draws)."""
        Fz = self.operator(np.asarray(z, dtype=float))
        return 0.5 * float(Fz @ Fz)

    @property
    def x0(self) -> np.ndarray:
        """The start, under the name the trajectory views read."""
        return self.z0

    @property
    def x_star(self):
        """The solution, under the name the trajectory views read (None when there is none)."""
        return self.z_star

    def resolvent(self, step: float):
        r"""The map :math:`z \mapsto (I + \eta M)^{-1}(z + \eta b)`, firmly nonexpansive, fixed points = zeros of F."""
        import scipy.linalg as la

        lu = la.lu_factor(np.eye(self.dim) + step * self.M)
        return lambda z: la.lu_solve(lu, z + step * self.b)

    def describe(self) -> str:
        return f"{self.name}: {self.dim} variables, L = {self.lipschitz:.3g}"


def linear_operator_problem(M, b, z0, *, name: str = "custom") -> LinearMonotoneOperator:
    """Your own monotone linear operator ``F(z) = M z - b`` (validated: ``M + M^T`` must be PSD,
    M nonzero, and F must have a zero).

    Examples
    --------
    >>> import numpy as np, workbench as wb
    >>> prob = wb.problems.linear_operator_problem([[0.0, 1.0], [-1.0, 0.0]], [0.0, 0.0], [1.0, 1.0])
    >>> prob.lipschitz, prob.z_star.tolist()
    (1.0, [0.0, 0.0])
    """
    return LinearMonotoneOperator(M, b, z0, name=name)


@register_problem("bilinear_game")
class BilinearGame(ProblemFactory):
    r"""The bilinear game :math:`\min_x \max_y\ x^T A y + \tfrac{\mu}{2}(\|x\|^2 - \|y\|^2)`.

    :math:`A` is ``n x n`` with singular values spaced geometrically from
    ``1 / condition`` to 1; ``regularization`` :math:`\mu \ge 0` adds a strongly monotone
    part (0: the pure, merely monotone game, where GDA spirals out). The saddle point is 0
    and the start a random point at distance 1.

    Examples
    --------
    >>> import workbench as wb
    >>> game = wb.problems.bilinear_game(n=5)
    >>> game.dim, round(game.lipschitz, 6), game.z_star.tolist() == [0.0] * 10
    (10, 1.0, True)
    """

    problem_kind = "operator"
    n = param.Integer(default=10, bounds=(1, 1000), doc="Variables per player (z has 2n; at most 1000, which builds in 0.3 s).")
    condition = param.Number(default=10.0, bounds=(1.0, 1e12), doc=(
        "Largest over smallest singular value of A (with n = 1, A has one singular value, 1, and this has no effect)."))
    regularization = param.Number(default=0.0, bounds=(0.0, None), doc="mu: strong convexity-concavity (0: pure game).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed (A's singular vectors and the start).")

    def build(self) -> LinearMonotoneOperator:
        n, mu = self.n, self.regularization
        rng = np.random.default_rng(self.seed)
        U, _ = np.linalg.qr(rng.standard_normal((n, n)))
        V, _ = np.linalg.qr(rng.standard_normal((n, n)))
        sigma = np.geomspace(1.0 / self.condition, 1.0, n) if n > 1 else np.ones(1)
        A = (U * sigma) @ V.T
        M = np.block([[mu * np.eye(n), A], [-A.T, mu * np.eye(n)]])
        z0 = rng.standard_normal(2 * n)
        z0 /= np.linalg.norm(z0)
        props = {"monotone"} | ({"strongly_monotone"} if mu > 0 else set())
        kappa = self.condition if n > 1 else 1.0  # (one singular value: its condition is 1, whatever was asked)
        # M = mu I + J with J skew: M^T M = mu^2 I + J^T J, so ||M||_2 = sqrt(mu^2 + sigma_max^2) = sqrt(mu^2 + 1),
        # and M is monotone (its symmetric part is mu I) and nonsingular (sigma_min > 0): the zero is 0
        return LinearMonotoneOperator(M, np.zeros(2 * n), z0, name=f"bilinear_game(n={n}, kappa={kappa:g})",
                                      properties=props, metadata={"sigma_min": float(sigma[0]), "mu": mu,
                                                                  "condition": float(kappa)},
                                      known={"lipschitz": math.sqrt(mu * mu + 1.0), "z_star": np.zeros(2 * n)})


def bilinear_game(n: int = 10, **kw) -> LinearMonotoneOperator:
    """The bilinear game (see :class:`BilinearGame`), built by name."""
    return get_problem("bilinear_game", n=n, **kw)
