"""The textbook step size D / (G sqrt(T)) with a user-set distance D."""
from __future__ import annotations

import math

import param

from ..core import InvalidParameter, register_method
from .base import Optimizer

__all__ = ["TheoryStep"]


@register_method("theory_step", family="optim")
class TheoryStep(Optimizer):
    r"""Gradient descent with the step size of the convex Lipschitz theory.

    .. math::
        \eta_t = \mathrm{lr}\cdot s(t, T)\,\frac{D}{G_t \sqrt{T}},\qquad
        x_{t+1} = x_t - \eta_t \nabla f(x_t)

    :math:`D` is the user's guess of :math:`\|x_0 - x_\star\|`, :math:`T` the
    horizon and :math:`G_t` the gradient bound: ``grad_bound`` if given,
    otherwise the largest gradient norm seen so far. With the true :math:`D`
    and :math:`G` the averaged iterate of a :math:`G`-Lipschitz convex function
    satisfies :math:`f(\bar x_T) - f_\star \le DG/\sqrt T`. Setting ``d`` too
    small crawls; too large overshoots: the picture that motivates DoG,
    D-Adaptation and Prodigy, which estimate :math:`D` themselves.
    Reports ``d_estimate`` (here simply ``d``). While :math:`G_t = 0` (a stationary start)
    the step, and the reported ``lr``, is 0.

    References
    ----------
    Y. Nesterov, *Introductory Lectures on Convex Optimization*, 2004, Sec. 3.2.3.
    """

    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Multiplier on D / (G sqrt(T)).")
    d = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True),
                     doc="Distance estimate D ~ ||x0 - x_star||.")
    grad_bound = param.Number(default=None, allow_None=True, bounds=(0.0, None), inclusive_bounds=(False, True),
                              doc="Gradient bound G (default: the largest gradient norm seen so far).")

    def init_buffers(self, problem, state):
        self._horizon()
        return {"g_max": state.grad_norm}

    def _horizon(self) -> int:
        return self._needs_horizon(self._hp["horizon"])

    @staticmethod
    def _needs_horizon(T):
        if T is None:  # the step is D / (G sqrt(T)): without T there is no step size
            raise InvalidParameter("the theory step D / (G sqrt(T)) needs the horizon T; set horizon to the "
                                   "planned number of steps.")
        return T

    def _check_setting(self, name, value):
        super()._check_setting(name, value)
        if name == "horizon":  # refused at the assignment, as the schedule's own checks are
            self._needs_horizon(value)

    def _eta(self, state, lr):
        G = self._hp["grad_bound"] if self._hp["grad_bound"] is not None else state.buffers["g_max"]
        T = self._horizon()
        if G == 0.0:  # a stationary start (no gradient seen yet): no step, and lr = 0 reported,
            return 0.0  # as DoG and NormalizedGD do, where D / max(G, 1e-300) reported 3e298
        return lr * self._hp["d"] / (G * math.sqrt(T))

    def initial_lr(self, state):
        return self._eta(state, self.step_size(0))

    def update(self, problem, state, lr):
        buf = state.buffers
        buf["g_max"] = max(buf["g_max"], state.grad_norm)
        eta = self._eta(state, lr)
        state.x = state.x - eta * state.grad
        return eta

    def method_metrics(self, problem, state):
        return {"d_estimate": float(self._hp["d"])}
