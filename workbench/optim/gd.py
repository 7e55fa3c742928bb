"""Gradient descent."""
from __future__ import annotations

import param

from ..core import register_method
from .base import Optimizer

__all__ = ["GD"]


@register_method("gd", family="optim")
class GD(Optimizer):
    r"""Gradient descent with step size lr * schedule(t, T).

    .. math:: x_{t+1} = x_t - \eta_t \nabla f(x_t)

    On an :math:`L`-smooth function GD is stable for :math:`\eta < 2/L`; on a
    quadratic with largest Hessian eigenvalue :math:`\lambda_{max}` it diverges
    for :math:`\eta > 2/\lambda_{max}` (the run ends with status ``diverged``).
    On separable logistic regression any step size works, and large ones
    separate the data fastest (Tyurin 2024).

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.optim.GD(lr=1.0), wb.problems.quadratic(dim=10, condition=10.0), max_steps=200)
    >>> res.final["distance"] < 1e-8
    True

    References
    ----------
    A. Cauchy, *Méthode générale pour la résolution des systèmes d'équations simultanées*, 1847.
    """

    lr = param.Number(default=0.1, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")

    def update(self, problem, state, lr):
        state.x = state.x - lr * state.grad
