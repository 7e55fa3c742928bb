r"""ChebCB: a contextual bandit regressing each arm's cost on Chebyshev polynomials of the context."""
from __future__ import annotations

import math

import numpy as np
import param

from ...core import InvalidParameter
from .base import Policy

__all__ = ["ChebCB", "chebyshev_features"]


def chebyshev_features(z: float, count: int) -> np.ndarray:
    r"""``[T_0(z), ..., T_{count-1}(z)]``, the Chebyshev polynomials at ``z``, by the three-term recurrence.

    .. math::
        T_0(z) = 1, \qquad T_1(z) = z, \qquad T_{j+1}(z) = 2 z\, T_j(z) - T_{j-1}(z),

    the features :math:`\phi(c)` of :class:`ChebCB` (with :math:`z \in [-1, 1]`,
    where :math:`|T_j(z)| \le 1`).

    Parameters
    ----------
    z : float
        The point, normally in :math:`[-1, 1]`.
    count : int
        Number of polynomials (degree ``count - 1`` is the highest).

    Returns
    -------
    numpy.ndarray
        Shape ``(count,)``.

    Examples
    --------
    >>> chebyshev_features(0.5, 4)          # T_2(z) = 2z^2 - 1, T_3(z) = 4z^3 - 3z
    array([ 1. ,  0.5, -0.5, -1. ])
    >>> chebyshev_features(1.0, 6)          # T_j(1) = 1
    array([1., 1., 1., 1., 1., 1.])

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """
    out = np.ones(count)
    if count > 1:
        out[1] = z
    for j in range(2, count):
        out[j] = 2.0 * z * out[j - 1] - out[j - 2]
    return out


class ChebCB(Policy):
    r"""ChebCB (Khodak et al.): per-arm Chebyshev regression plus inverse-gap-weighted exploration.

    The context :math:`c \in [a, b]` is mapped to :math:`z = 2(c - a)/(b - a) - 1`
    and featurised as :math:`\phi(c) = (T_0(z), \dots, T_m(z))` (``degree`` = m).
    Each arm :math:`i` keeps a regression :math:`\hat y_i(c) = \theta_i^\top \phi(c)`
    of its scaled cost :math:`(k - 1)/S`. Given a context, with
    :math:`i^* = \arg\min_i \hat y_i`, arms are drawn with

    .. math::
        p_i = \frac{1}{d + \eta_t (\hat y_i - \hat y_{i^*})} \ (i \ne i^*), \qquad
        p_{i^*} = 1 - \sum_{i \ne i^*} p_i .

    After the cost :math:`k_t` is seen, with :math:`K = \max_u k_u`:
    :math:`N = 2 + 4(1 + \log(m+1))` and :math:`S = K N` (the reference code's
    Lipschitz estimate reduces to :math:`L = K/(b-a)` because it takes the
    minimum cost over a zero-initialised buffer); the played arm (every arm,
    when :math:`S` changed) is refitted by minimum-norm least squares, and by
    box-constrained least squares with :math:`|\theta_{i,0}| \le 1/N`,
    :math:`|\theta_{i,j}| \le 2/(N j)` when the plain fit leaves that box;
    the exploration rate is

    .. math::
        \eta_t = 2t \sqrt{\frac{d\,t}{R_t - r_t + 2\alpha^2 t}},\quad
        \alpha = \frac{\pi + \tfrac{2}{\pi}\log(2m + 3)}{2 S (m + 2)} (b - a) L,

    with :math:`R_t` the squared prediction error so far (predictions against
    :math:`k_u/S`, as in the reference) and :math:`r_t` the last constrained
    fit's residual.

    Examples
    --------
    >>> import numpy as np
    >>> pol = ChebCB(degree=5); pol.reset(np.linspace(1, 1.95, 20), (-0.15, 0.45), seed=0)
    >>> omega = pol.choose(0.1); pol.observe(80)
    >>> pol.distribution(0.1).shape
    (20,)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax*, ICLR 2024,
    section 4 and reference code ``learners/ChebCB.m`` (its ``m = 6`` is ``degree = 5`` here).
    """

    label = "ChebCB"
    contextual = True
    degree = param.Integer(default=5, bounds=(0, 30),
                           doc="Highest Chebyshev degree m (m + 1 coefficients per arm; the reference uses 5).")

    def _reset(self) -> None:
        self.m = self.degree + 1  # number of features, the reference's m
        lo, hi = self.context_range
        self.a, self.bma = lo, hi - lo
        self.theta = np.zeros((self.d, self.m))
        self.eta = 0.0
        self.scale = 0.0
        self.max_cost = 0.0
        self._X = np.zeros((64, self.m))  # features of every round (grown by doubling)
        self._costs = np.zeros(64)
        self._predicted = np.zeros(64)
        self.per_arm: list[list[int]] = [[] for _ in range(self.d)]
        self._feature = None
        self._prediction = 0.0

    def _phi(self, context: float) -> np.ndarray:
        c = float(context)
        if not math.isfinite(c):
            raise InvalidParameter(f"ChebCB needs a finite context, got {c}; check the sequence's contexts.")
        # Chebyshev polynomials grow like |z|^m outside [-1, 1]: a context outside the
        # interval is treated as the nearest end rather than extrapolated.
        z = min(max(2.0 / self.bma * (c - self.a) - 1.0, -1.0), 1.0)
        return chebyshev_features(z, self.m)

    def distribution(self, context) -> np.ndarray:
        """The inverse-gap-weighted probabilities :math:`p_i` above for this context."""
        yhat = self.theta @ self._phi(context)
        istar = int(np.argmin(yhat))
        probs = 1.0 / (self.d + self.eta * (yhat - yhat[istar]))
        probs[istar] = 0.0
        probs[istar] = 1.0 - probs.sum()
        return probs

    def choose(self, context, arm: int | None = None) -> float:
        """Draw an arm from :meth:`distribution` and remember the context's features and prediction."""
        omega = super().choose(context, arm)
        phi = self._phi(context)
        self._feature = phi
        self._prediction = float(self.theta[self.last_arm] @ phi)
        return omega

    def _grow(self, n: int) -> None:
        if n <= len(self._costs):
            return
        cap = len(self._costs)
        while cap < n:
            cap *= 2
        self._X = np.vstack([self._X, np.zeros((cap - len(self._X), self.m))])
        self._costs = np.concatenate([self._costs, np.zeros(cap - len(self._costs))])
        self._predicted = np.concatenate([self._predicted, np.zeros(cap - len(self._predicted))])

    def _observe(self, cost: float) -> None:
        t = self.t + 1
        i = self.last_arm
        self._grow(t)
        self._X[t - 1] = self._feature
        self._costs[t - 1] = cost
        self._predicted[t - 1] = self._prediction
        self.per_arm[i].append(t - 1)
        # The reference's costs are at least one iteration; a warm-started instance can
        # cost 0, so the scale K is at least 1 (all-zero costs would divide by zero).
        K = max(self.max_cost, cost, 1.0)
        self.max_cost = K
        L = K / self.bma
        N = 2.0 + 4.0 * self.bma * L / K * (1.0 + math.log(self.m))
        refit_all = self.scale != K * N
        self.scale = K * N
        ub = np.concatenate([[1.0 / N], 2.0 * self.bma * L / self.scale / np.arange(1, self.m)])
        resnorm = 0.0
        for arm in range(self.d):
            if not (refit_all or arm == i) or not self.per_arm[arm]:
                continue
            idx = self.per_arm[arm]
            X, y = self._X[idx], (self._costs[idx] - 1.0) / self.scale
            theta = np.linalg.lstsq(X, y, rcond=None)[0]  # minimum-norm least squares
            if np.any(np.abs(theta) > ub):
                from scipy.optimize import lsq_linear

                fit = lsq_linear(X, y, bounds=(-ub, ub), method="bvls")
                theta = fit.x
                resnorm = float(np.sum((X @ theta - y) ** 2))
            self.theta[arm] = theta
        alpha = (math.pi + 2.0 / math.pi * math.log(2.0 * self.m + 1.0)) / (2.0 * self.scale * (self.m + 1)) * self.bma * L
        R = float(np.sum((self._predicted[:t] - self._costs[:t] / K / N) ** 2))
        denom = R - resnorm + 2.0 * alpha**2 * t
        self.eta = 2.0 * t * math.sqrt(self.d * t / denom) if denom > 0 else 0.0
