"""Logistic regression: separable synthetic data with a chosen margin, noisy
synthetic data, and scikit-learn's bundled breast-cancer data set."""
from __future__ import annotations

import numpy as np
import param
from scipy.special import expit

from ...core import InvalidParameter, ProblemFactory, get_problem, register_problem
from ..regression import check_design_size
from .base import Objective

__all__ = ["LogisticObjective", "LogisticSeparable", "LogisticRegression",
           "logistic_separable", "logistic_regression", "separable_data"]


class LogisticObjective(Objective):
    r"""Mean logistic loss of a linear classifier, optionally with an L2 penalty.

    .. math::
        f(w) = \frac1n \sum_{i=1}^n \log\left(1 + e^{-y_i \langle a_i, w\rangle}\right)
               + \frac{\lambda}{2} \|w\|^2

    Labels are :math:`\pm 1`. ``extra_metrics`` reports ``misclassified``, the
    number of points with margin :math:`y_i \langle a_i, w\rangle \le 0` (so
    ``w = 0`` misclassifies every point), and ``accuracy``.

    Attributes
    ----------
    features : (n, d) array; labels : (n,) array of -1/+1
    signed_features : (n, d) array with rows :math:`y_i a_i` (the perceptron's data)
    """

    def __init__(self, features, labels, l2=0.0, x0=None, **kw):
        X = np.ascontiguousarray(features, dtype=float)
        y = np.asarray(labels, dtype=float).reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.size:
            raise InvalidParameter("features must be an (n, d) array with one label per row.")
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise InvalidParameter("labels must be -1 or +1.")
        self.features, self.labels, self.l2 = X, y, float(l2)
        self.signed_features = np.ascontiguousarray(X * y[:, None])
        self.n_samples = X.shape[0]
        super().__init__(np.zeros(X.shape[1]) if x0 is None else x0, **kw)

    def margins(self, w):
        return self.signed_features @ w

    def _from_margins(self, w, m):
        # log(1 + e^{-m}) without overflow; sigma(-m) is the weight of each point.
        f = float(np.mean(np.logaddexp(0.0, -m)))
        s = expit(-m)
        g = self.signed_features.T @ s
        g *= -1.0 / self.n_samples
        if self.l2:
            f += 0.5 * self.l2 * float(w @ w)
            g += self.l2 * w
        return f, g

    def value_and_grad(self, w):
        return self._from_margins(w, self.margins(w))

    def value(self, w):
        m = self.margins(w)
        return float(np.mean(np.logaddexp(0.0, -m))) + 0.5 * self.l2 * float(w @ w)

    def hvp(self, w, v):
        s = expit(-self.margins(w))
        out = self.signed_features.T @ (s * (1.0 - s) * (self.signed_features @ v)) / self.n_samples
        return out + self.l2 * v

    def hessian(self, w):
        s = expit(-self.margins(w))
        A = self.signed_features
        H = (A.T * (s * (1.0 - s))) @ A / self.n_samples
        H[np.diag_indices_from(H)] += self.l2
        return H

    def extra_metrics(self, w):
        return self._extras(self.margins(w))

    def _extras(self, m):
        wrong = int(np.count_nonzero(m <= 0.0))
        return {"misclassified": float(wrong), "accuracy": 1.0 - wrong / self.n_samples}

    def evaluate(self, w):
        m = self.margins(w)
        f, g = self._from_margins(w, m)
        return f, g, self._extras(m)


def separable_data(n: int, d: int, margin: float, seed: int = 0, offset: float = 0.0):
    """Linearly separable points through the origin with a guaranteed margin.

    Draw :math:`z_i \\sim N(\\mathrm{offset}\\cdot\\mathbf 1, I_d)` and a random unit normal ``u``; label
    :math:`y_i = \\mathrm{sign}\\langle z_i, u\\rangle` and push every point
    ``margin`` further from the hyperplane: :math:`a_i = z_i + y_i\\,\\mathrm{margin}\\,u`.
    Every point then has distance at least ``margin`` from :math:`\\{u^\\perp\\}`.
    """
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    Z = rng.standard_normal((n, d)) + offset
    proj = Z @ u
    y = np.where(proj >= 0, 1.0, -1.0)
    A = Z + (y * margin)[:, None] * u[None, :]
    return A, y, u


@register_problem("logistic_separable")
class LogisticSeparable(ProblemFactory):
    r"""Logistic regression on linearly separable synthetic data (no intercept, no penalty).

    The infimum 0 is not attained (``x_star`` is None, ``f_star = 0``); GD with
    any step drives the loss to 0 and the direction to the max-margin
    separator. With step ``gamma -> inf`` GD becomes the batch perceptron
    (Tyurin 2024). The metric ``misclassified`` counts the points on the wrong
    side (or on) the hyperplane.

    ``offset`` shifts every feature (uncentred data, as raw features usually
    are): large steps then overshoot along the mean direction, so the logistic
    loss of large-step GD is high while it classifies as well or better, the
    effect Tyurin (2024) describes. The defaults (offset 2, margin 0.05, seed 7)
    are a seeded instance on which all four effects of the large-step picture
    show (iterations to separate fall with the step; huge steps match the
    perceptron; at iteration 10 the loss for step 100 exceeds that for step 1
    at no more mistakes; normalized GD beats GD); other seeds show them less
    cleanly (see docs/optim.md).

    Examples
    --------
    >>> import workbench as wb
    >>> prob = wb.problems.logistic_separable(n=200, d=10)
    >>> prob.extra_metrics(prob.x0)["misclassified"]
    200.0
    """

    problem_kind = "objective"
    n = param.Integer(default=200, bounds=(2, 1_000_000), doc="Number of points.")
    d = param.Integer(default=10, bounds=(1, 10_000), doc="Number of features.")
    margin = param.Number(default=0.05, bounds=(0.0, None), doc="Minimum distance of every point to the true separating hyperplane.")
    offset = param.Number(default=2.0, doc="Mean of every feature (0: centred data).")
    seed = param.Integer(default=7, bounds=(0, None), doc="Random seed.")

    def build(self):
        # Refuse before allocating: the data and their signed copy are each n x d.
        check_design_size(self.n, self.d, f"logistic_separable with n = {self.n} and d = {self.d}")
        A, y, u = separable_data(self.n, self.d, self.margin, self.seed, self.offset)
        problem = LogisticObjective(A, y, 0.0, f_star=0.0,
                                    name=f"logistic_separable(n={self.n}, d={self.d}, margin={self.margin:g})",
                                    properties={"smooth", "convex", "separable", "linear_classifier"},
                                    metadata={"margin": self.margin, "offset": self.offset,
                                              "separator": u.tolist(), "n": self.n, "d": self.d})
        # GD's loss scales with |w|: a step of 1e9 raises it a billionfold before the data
        # separate and it falls to 0, so its growth is not divergence here (the gradient
        # norm, which stays below max |a_i|, is still guarded).
        problem.unguarded_metrics = ("loss",)
        return problem


@register_problem("logistic_regression")
class LogisticRegression(ProblemFactory):
    r"""L2-regularised logistic regression on a non-separable data set.

    ``dataset="synthetic"``: Gaussian features, labels from a random linear
    model with a fraction ``label_noise`` flipped. ``dataset="breast_cancer"``:
    scikit-learn's bundled Wisconsin breast-cancer data (569 points, 30
    features), standardised, with an intercept column. The minimiser
    ``x_star`` and ``f_star`` are computed once with L-BFGS to gradient norm 1e-10.
    """

    problem_kind = "objective"
    dataset = param.Selector(default="synthetic", objects=["synthetic", "breast_cancer"],
                             doc="Where the data come from.")
    n = param.Integer(default=500, bounds=(2, 1_000_000), doc="Points (synthetic only).")
    d = param.Integer(default=20, bounds=(1, 10_000), doc="Features (synthetic only).")
    label_noise = param.Number(default=0.1, bounds=(0.0, 0.5), doc="Fraction of flipped labels (synthetic only).")
    l2 = param.Number(default=1e-3, bounds=(0.0, None), doc="L2 penalty lambda.")
    seed = param.Integer(default=0, bounds=(0, None), doc="Random seed (synthetic only).")

    def build(self):
        if self.dataset == "breast_cancer":
            from sklearn.datasets import load_breast_cancer

            X, t = load_breast_cancer(return_X_y=True)
            X = (X - X.mean(0)) / X.std(0)
            X = np.hstack([X, np.ones((X.shape[0], 1))])
            y = np.where(t > 0, 1.0, -1.0)
            name = "logistic_regression(breast_cancer)"
        else:
            # Refuse before allocating: the features and their signed copy are each n x d.
            check_design_size(self.n, self.d, f"logistic_regression with n = {self.n} and d = {self.d}")
            rng = np.random.default_rng(self.seed)
            X = rng.standard_normal((self.n, self.d))
            w = rng.standard_normal(self.d)
            y = np.where(X @ w >= 0, 1.0, -1.0)
            y[rng.random(self.n) < self.label_noise] *= -1.0
            name = f"logistic_regression(n={self.n}, d={self.d}, noise={self.label_noise:g})"
        obj = LogisticObjective(X, y, self.l2, name=name,
                                properties={"smooth", "convex", "linear_classifier"}
                                | ({"strongly_convex"} if self.l2 > 0 else set()),
                                metadata={"n": X.shape[0], "d": X.shape[1], "l2": self.l2})
        if self.l2 > 0:
            from scipy.optimize import minimize

            sol = minimize(obj.value_and_grad, obj.x0, jac=True, method="L-BFGS-B",
                           options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000})
            obj.x_star, obj.f_star = sol.x, float(sol.fun)
        return obj


def logistic_separable(n: int = 200, d: int = 10, **kw):
    return get_problem("logistic_separable", n=n, d=d, **kw)


def logistic_regression(dataset: str = "synthetic", **kw):
    return get_problem("logistic_regression", dataset=dataset, **kw)
