r"""A fully first-order penalty method for bilevel problems; one lower step per upper step is the single loop."""
from __future__ import annotations

import numpy as np
import param

from ..core import register_method
from .base import BilevelMethod

__all__ = ["PenaltyBilevel"]


@register_method("penalty_bilevel", family="bilevel")
class PenaltyBilevel(BilevelMethod):
    r"""Gradient descent on the value-function penalty :math:`f + \sigma (g - g^\star)`.

    The bilevel problem is replaced by the single-level one

    .. math::
        \min_{x, y}\ \mathcal L_\sigma(x, y) = f(x, y) + \sigma\,\bigl(g(x, y) - g^\star(x)\bigr),
        \qquad g^\star(x) = \min_z g(x, z),

    whose gradient in x, by Danskin's theorem
    :math:`\nabla g^\star(x) = \nabla_x g(x, z^\star(x))`, needs no Hessian. Each step runs
    ``inner_steps`` gradient steps on two lower iterates, then one on x:

    .. math::
        z &\leftarrow z - \beta\, \nabla_y g(x, z), \\
        y &\leftarrow y - \beta \bigl(\tfrac{1}{\sigma}\nabla_y f(x, y) + \nabla_y g(x, y)\bigr), \\
        x &\leftarrow x - \alpha \bigl(\nabla_x f(x, y) + \sigma\,(\nabla_x g(x, y) - \nabla_x g(x, z))\bigr).

    ``z`` tracks the lower solution :math:`y^\star(x)` and ``y`` the minimiser of the
    penalised problem, which lies :math:`O(1/\sigma)` away from it; so does the limit
    :math:`x_\sigma` from the bilevel solution :math:`x^\star` (the tests measure the
    distance falling tenfold per tenfold of ``sigma``). Although the penalty's curvature
    grows like :math:`\sigma`, ``y - z`` is :math:`O(1/\sigma)` and the x step sees
    :math:`\sigma (\nabla_x g(x,y) - \nabla_x g(x,z)) \approx -\nabla^2_{xy} g\,
    [\nabla^2_{yy} g]^{-1} \nabla_y f`, the implicit-function correction, so ``lr`` need
    not shrink with ``sigma``. With ``inner_steps = 1`` this is a single-loop method:
    the same limit as many inner steps, for a fraction of the gradient calls.
    ``sigma`` may be moved mid-run: the next step first rescales the offset,
    :math:`y \leftarrow z + (\sigma_\text{old}/\sigma_\text{new})(y - z)`, since the
    penalised minimiser's distance from :math:`z` scales as :math:`1/\sigma`; without this a
    move from 100 to 1e5 makes the next x step about 1000 times too long.
    ``inner_lr`` is :math:`\beta` in units of :math:`1/(L_g + L_f/\sigma)`.

    The run stops on ``penalty_residual``, the stationarity of the penalised problem (the
    method's own target), relative to the larger of its starting value and the starting
    hypergradient norm; ``hypergradient_norm`` then shows the bias that is left, and the
    run's message says so. The difference :math:`\sigma(\nabla_x g(x,y) - \nabla_x g(x,z))`
    loses about :math:`\log_{10}\sigma` digits to cancellation, which sets the floor of the
    residual at very large ``sigma``.

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.quadratic_bilevel()
    >>> res = wb.run(wb.bilevel.PenaltyBilevel(sigma=100.0), prob)
    >>> res.status.name, bool(res.final["distance"] < 0.2), bool(res.final["hessians"] == 0)
    ('CONVERGED', True, True)

    References
    ----------
    J. Kwon, D. Kwon, S. Wright, R. Nowak, *A fully first-order method for stochastic bilevel
    optimization*, ICML 2023.
    H. Shen, T. Chen, *On penalty-based bilevel gradient descent method*, ICML 2023.
    """

    stop_metric = "penalty_residual"

    sigma = param.Number(default=100.0, bounds=(1e-3, 1e12), doc=(
        "Penalty weight on the lower level's value gap; the solution's bias from the bilevel one is O(1/sigma)."))

    def init_extra(self, problem, state):
        state.extra["z"] = problem.y0.copy()
        state.extra["sigma"] = float(self.sigma)  # the sigma that y's offset from z was built for

    def step(self, problem, state):
        x, y, z, sigma = state.x, state.y, state.extra["z"], float(self.sigma)
        sigma_used = state.extra.get("sigma", sigma)
        if sigma != sigma_used:
            # sigma moved mid-run. The minimiser of f/sigma + g in y sits at
            # z - [H_yy]^{-1} grad_y f / sigma + O(1/sigma^2): its offset from z scales as 1/sigma.
            # Rescale the offset, so that sigma (grad_x g(x, y) - grad_x g(x, z)) keeps estimating
            # the implicit correction instead of jumping by sigma_new / sigma_old.
            y = z + (sigma_used / sigma) * (y - z)
            state.extra["sigma"] = sigma
        lower_l = problem.lower_smoothness(x)  # once per step: a user's L_g(x) may be costly
        beta_z = self.inner_lr / max(lower_l, 1e-300)
        # The y problem is f/sigma + g: its gradient is Lipschitz with L_g + L_f/sigma.
        beta_y = self.inner_lr / max(lower_l + problem.upper_smoothness / sigma, 1e-300)
        for _ in range(self.inner_steps):
            z = z - beta_z * problem.lower(x, z)[2]
            _, _, fy = problem.upper(x, y)
            y = y - beta_y * (fy / sigma + problem.lower(x, y)[2])
        state.lower_grads += 2 * self.inner_steps
        state.upper_grads += self.inner_steps
        _, fx, _ = problem.upper(x, y)
        gx_y = problem.lower(x, y)[1]
        gx_z = problem.lower(x, z)[1]
        state.upper_grads += 1
        state.lower_grads += 2
        state.x = x - self.lr * (fx + sigma * (gx_y - gx_z))
        state.y, state.extra["z"] = y, z
        state.t += 1
        return state

    def stop_scale(self, problem, metrics0: dict) -> float:
        # At a start where y = z the penalty residual is only |grad_y f| / sigma, which would make
        # rtol sigma-dependent; its x part estimates the hypergradient, so scale by that as well.
        return max(abs(float(metrics0.get("penalty_residual", 0.0))),
                   abs(float(metrics0.get("hypergradient_norm", 0.0))))

    def penalty_residual(self, problem, state) -> float:
        r"""How far ``(x, y, z)`` is from solving the penalised problem: the norm of
        :math:`(\nabla_x \mathcal L_\sigma,\ \nabla_y \mathcal L_\sigma / \sigma,\ \nabla_y g(x, z))`."""
        x, y, z = state.x, state.y, state.extra["z"]
        _, fx, fy = problem.upper(x, y)
        _, gx_y, gy_y = problem.lower(x, y)
        _, gx_z, gy_z = problem.lower(x, z)
        parts = (fx + self.sigma * (gx_y - gx_z), fy / self.sigma + gy_y, gy_z)
        return float(np.sqrt(sum(p @ p for p in parts)))

    def method_metrics(self, problem, state):
        return {"sigma": float(self.sigma), "penalty_residual": self.penalty_residual(problem, state)}

    def end_note(self, problem, state) -> str:
        hyper = float(np.linalg.norm(problem.hypergradient(state.x)))
        penalty = self.penalty_residual(problem, state)
        if np.isfinite(penalty) and penalty < 0.1 * hyper:
            return (f"The penalised problem is solved (residual {penalty:.2g}) but the hypergradient stays at "
                    f"{hyper:.2g}: that is the O(1/sigma) bias of sigma = {self.sigma:g}; raise sigma to shrink it.")
        return ""
