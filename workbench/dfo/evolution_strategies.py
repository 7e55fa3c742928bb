r"""Evolution strategies: descend along an antithetic estimate of the Gaussian-smoothed gradient."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import param

from ..core import InvalidProblem, register_method
from ..core.protocol import Method

__all__ = ["EvolutionStrategies", "ESState", "antithetic_gradient"]


def antithetic_gradient(value, x: np.ndarray, eps: np.ndarray, sigma: float) -> tuple[np.ndarray, int]:
    r"""The estimate :math:`\hat g = \frac{1}{2 n \sigma} \sum_i \big(f(x + \sigma\epsilon_i) - f(x - \sigma\epsilon_i)\big)\,\epsilon_i`.

    ``eps`` holds the :math:`n` directions as rows. It is an unbiased estimate of the gradient
    of the smoothed function :math:`f_\sigma(x) = E f(x + \sigma\epsilon)`; on a quadratic
    each pair's difference is exactly :math:`2\sigma\epsilon_i^T \nabla f(x)`, so the estimate is
    :math:`\frac1n \sum_i \epsilon_i \epsilon_i^T \nabla f(x)` whatever :math:`\sigma`.
    Returns the estimate and the number of function values spent (``2 n``).
    """
    diffs = np.array([value(x + sigma * e) - value(x - sigma * e) for e in eps], dtype=float)
    return (diffs @ eps) / (2.0 * len(eps) * sigma), 2 * len(eps)


@dataclasses.dataclass
class ESState:
    """The iterate, its value, the last gradient estimate and the work done."""

    x: np.ndarray
    loss: float
    g: np.ndarray
    function_evals: int
    rng: np.random.Generator
    t: int = 0


@register_method("evolution_strategies", family="dfo")
class EvolutionStrategies(Method):
    r"""Evolution strategies with antithetic sampling (Salimans et al. 2017).

    .. math::
        x_{k+1} = x_k - \eta\, \hat g_k,\qquad
        \hat g_k = \frac{1}{2 n \sigma}\sum_{i=1}^n \big(f(x_k + \sigma\epsilon_i) - f(x_k - \sigma\epsilon_i)\big)\epsilon_i,
        \quad \epsilon_i \sim N(0, I)

    GD on the Gaussian smoothing :math:`f_\sigma(x) = E f(x + \sigma\epsilon)` with a
    stochastic gradient from ``2 * samples`` function values (:func:`antithetic_gradient`).
    A large ``sigma`` smooths out narrow local minima (Rastrigin's ripples) that trap GD; a
    small one approaches the true gradient. The estimate's variance falls like
    ``1 / samples``. Metrics: ``loss`` :math:`f(x)`; ``gap`` :math:`f(x) - f_\star` (the stop
    metric), with :math:`f_\star` the problem's ``f_star``, or 0 when the problem does not
    know it (then ``gap`` is ``loss`` and the run's message says that a tolerance on it
    assumes :math:`f_\star = 0`); ``suboptimality`` (the same difference, under the
    optimizers' name, when ``f_star`` is known); ``gradient_estimate_norm`` (the last step's
    estimate: NaN before the first step, so it cannot be a stop metric); ``function_evals``;
    and ``distance`` when the minimiser is known. No default tolerance (the estimate is
    noisy): give ``max_steps``, or an ``atol`` on ``gap``.

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.rastrigin(dim=2, start=[3.0, 3.0])
    >>> es = wb.run(wb.dfo.EvolutionStrategies(sigma=1.0, seed=0), prob, max_steps=500)
    >>> gd = wb.run(wb.optim.GD(lr=0.002), prob, max_steps=500)
    >>> bool(es.final["distance"] < 0.5 < 1.0 < gd.final["distance"])
    True

    References
    ----------
    T. Salimans, J. Ho, X. Chen, S. Sidor, I. Sutskever, *Evolution strategies as a scalable
    alternative to reinforcement learning*, 2017. Y. Nesterov, V. Spokoiny, *Random
    gradient-free minimization of convex functions*, Found. Comput. Math. 2017.
    """

    problem_kind = "objective"
    # f(x) - f*, not f(x): an atol on the loss itself "converges" at once where f* < 0 and never
    # where f* > 0. (The gradient estimate cannot stop the run: it is noisy, and NaN at row 0.)
    stop_metric = "gap"
    default_rtol = None
    divergence_factor = 1e8

    lr = param.Number(default=0.01, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    sigma = param.Number(default=0.1, bounds=(0.0, None), inclusive_bounds=(False, True),
                         doc="Smoothing radius: the spread of the perturbations.")
    samples = param.Integer(default=20, bounds=(1, 100_000), doc="Antithetic pairs per step (2 function values each).")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of the perturbations (read at the start).")

    def init(self, problem) -> ESState:
        self.check_problem(problem)
        x = problem.x0.copy()
        loss = float(problem.value(x))
        if not np.isfinite(loss):
            raise InvalidProblem(f"the objective is not finite at the start of {problem.name}; choose another start.")
        return ESState(x=x, loss=loss, g=np.zeros_like(x), function_evals=1, rng=np.random.default_rng(self.seed))

    def step(self, problem, state: ESState) -> ESState:
        eps = state.rng.standard_normal((self.samples, problem.dim))
        g, spent = antithetic_gradient(problem.value, state.x, eps, self.sigma)
        state.x = state.x - self.lr * g
        state.g = g
        state.loss = float(problem.value(state.x))
        state.function_evals += spent + 1
        state.t += 1
        return state

    def metrics(self, problem, state: ESState) -> dict[str, float]:
        f_star = problem.f_star
        gap = state.loss - (0.0 if f_star is None else f_star)
        # (no estimate before the first step: a 0 there would "converge" a run stopped on it at once)
        g_norm = math.nan if state.t == 0 else float(np.linalg.norm(state.g))
        out = {"loss": state.loss, "gap": gap, "gradient_estimate_norm": g_norm,
               "function_evals": float(state.function_evals)}
        if f_star is not None:
            out["suboptimality"] = gap
        if problem.x_star is not None:
            out["distance"] = float(np.linalg.norm(state.x - problem.x_star))
        return out

    def end_note(self, problem, state: ESState) -> str:
        """Where the problem does not know f*, ``gap`` is the loss itself: say what that assumes."""
        if problem.f_star is not None:
            return ""
        return ("The problem does not know its optimal value f*, so gap is f(x) itself and a tolerance on it "
                "assumes f* = 0; give the problem its f_star for a true gap.")
