"""The batch perceptron: the limit of GD on logistic regression as the step grows."""
from __future__ import annotations

import param

from ..core import register_method
from .base import Optimizer

__all__ = ["BatchPerceptron"]


@register_method("batch_perceptron", family="optim")
class BatchPerceptron(Optimizer):
    r"""Batch perceptron on a linear classification objective.

    .. math::
        w_{t+1} = w_t + \frac{\eta}{n} \sum_{i=1}^n c_i\, y_i a_i,\qquad
        c_i = \begin{cases} 1 & y_i\langle a_i, w_t\rangle < 0\\ \tfrac12 & = 0 \\ 0 & > 0\end{cases}

    This is the limit of :math:`w_t/\gamma` for GD on the logistic loss with
    step :math:`\gamma \to \infty` (the logistic weight :math:`\sigma(-m_i)` of a
    point becomes 1, 1/2 or 0 with the sign of its margin), so ties count half.
    Only the direction of ``w`` matters, so ``lr`` does not change the
    classifications. The reported loss is the objective's (logistic) loss at ``w``.

    Needs an objective with property ``linear_classifier`` (e.g. ``logistic_separable``).

    Examples
    --------
    >>> import workbench as wb
    >>> res = wb.run(wb.optim.BatchPerceptron(), wb.problems.logistic_separable(), max_steps=100)
    >>> res.final["misclassified"]
    0.0

    References
    ----------
    F. Rosenblatt, *The perceptron*, 1958. A. Tyurin, *From Logistic Regression to the
    Perceptron Algorithm*, 2024.
    """

    requires = frozenset({"linear_classifier"})
    converges_on = (frozenset({"separable", "linear_classifier"}),)
    lr = param.Number(default=1.0, bounds=(0.0, None), inclusive_bounds=(False, True), doc="Step size (only scales w).")

    def update(self, problem, state, lr):
        m = problem.margins(state.x)
        c = (m < 0.0).astype(float)
        c[m == 0.0] = 0.5
        state.x = state.x + (lr / problem.n_samples) * (problem.signed_features.T @ c)
