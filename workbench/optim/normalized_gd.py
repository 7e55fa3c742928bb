"""Normalized gradient descent."""
from __future__ import annotations

import param

from ..core import InvalidProblem, register_method
from .base import Optimizer

__all__ = ["NormalizedGD"]


@register_method("normalized_gd", family="optim")
class NormalizedGD(Optimizer):
    r"""Gradient descent with a normalised step.

    .. math::
        x_{t+1} = x_t - \eta_t \frac{\nabla f(x_t)}{\|\nabla f(x_t)\|}
        \quad\text{or}\quad
        x_{t+1} = x_t - \eta_t \frac{\nabla f(x_t)}{f(x_t)}

    ``normalize_by="grad_norm"`` moves a fixed distance per step.
    ``normalize_by="loss"`` is Normalized LR+GD of Tyurin (2024) for logistic
    regression: dividing by the loss makes the effective step grow as the loss
    falls, which keeps separating the data quickly where plain GD slows down.
    Once the loss is tiny the steps stay of the size of a perceptron step, so
    the iterate can leave the separating set again: watch ``misclassified``
    (Tyurin's method stops at the first separating iterate).

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.logistic_separable()
    >>> res = wb.run(wb.optim.NormalizedGD(lr=1.0, normalize_by="loss"), prob, max_steps=100)
    >>> first = int(res.trace["misclassified"].argmin())  # first step with every point classified
    >>> float(res.trace["misclassified"].min()), 70 <= first <= 95
    (0.0, True)

    The data are separated after 80-90 steps; the exact step at which the last
    point flips is sensitive to rounding, and so to library versions (86 and 82
    have both been seen).

    References
    ----------
    A. Tyurin, *From Logistic Regression to the Perceptron Algorithm: Exploring
    Gradient Descent with Large Step Sizes*, 2024.
    """

    lr = param.Number(default=0.1, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size eta.")
    normalize_by = param.Selector(default="grad_norm", objects=["grad_norm", "loss"],
                                  doc="Divide the gradient by its norm or by the loss.")

    def update(self, problem, state, lr):
        scale = state.grad_norm if self._hp["normalize_by"] == "grad_norm" else state.loss
        if scale < 0.0:
            # (only the loss can be negative; dividing by it would step uphill)
            raise InvalidProblem(
                f"normalize_by='loss' divides the step by the loss, and the loss is {scale:.4g} < 0 here; it "
                "needs a nonnegative loss (logistic, squared error): use normalize_by='grad_norm'.")
        if scale == 0.0:  # at a stationary point (or zero loss) there is nothing to do
            state.x = state.x.copy()
            return 0.0
        eta = lr / scale
        state.x = state.x - eta * state.grad
        return eta
