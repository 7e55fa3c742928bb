r"""Tsallis-INF: the 1/2-Tsallis-entropy bandit ("best of both worlds")."""
from __future__ import annotations

import math

import numpy as np
import param

from .base import Policy, sample_index

__all__ = ["TsallisINF", "tsallis_probabilities"]


def tsallis_probabilities(losses: np.ndarray, eta: float, normaliser: str = "exact") -> np.ndarray:
    r"""Arm probabilities :math:`p_i = 4\,(\eta(\hat L_i - x))^{-2}` with :math:`\sum_i p_i = 1`.

    These are the minimisers of :math:`\langle p, \hat L\rangle - \frac{4}{\eta}\sum_i \sqrt{p_i}`
    over the simplex; the normaliser :math:`x < \min_i \hat L_i` solves
    :math:`f(x) = \sum_i 4 (\eta(\hat L_i - x))^{-2} - 1 = 0` by Newton's method,
    :math:`x \leftarrow x - f(x) / (\eta \sum_i p_i^{3/2})`.

    ``normaliser="exact"`` starts Newton at :math:`x_0 = \min_i \hat L_i - 2/\eta`,
    where the leading arm alone has probability 1, so :math:`f(x_0) \ge 0`; as
    :math:`f` is increasing and convex left of its pole, the iterates then
    decrease monotonically to the root (Zimmert & Seldin's recommended start).
    It iterates to machine precision (at most 100 steps).

    ``normaliser="reference"`` repeats the reference MATLAB code exactly:
    20 Newton steps from :math:`x_0 = -1`. That start lies far left of the
    root once the losses have grown (after roughly 100 instances in the
    shifted-Laplacian setting), the first step overshoots past the pole and
    the 20 steps no longer reach the root: the "probabilities" no longer sum
    to 1 and the leading arm's weight explodes, so the reference code in
    effect turns into follow-the-leader. Use it to reproduce the reference
    numbers, not as a bandit.

    Parameters
    ----------
    losses : numpy.ndarray
        The cumulative loss estimates :math:`\hat L_i`, one per arm.
    eta : float
        The learning rate :math:`\eta > 0`.
    normaliser : {"exact", "reference"}
        How the normaliser :math:`x` is found (above).

    Returns
    -------
    numpy.ndarray
        The probabilities :math:`p_i` (summing to 1 with ``"exact"``).

    Examples
    --------
    >>> p = tsallis_probabilities(np.array([0.0, 1.0, 3.0]), eta=1.0)
    >>> np.round(p, 3), bool(abs(p.sum() - 1) < 1e-12)   # the smallest loss gets the most weight
    (array([0.573, 0.301, 0.126]), True)
    >>> tsallis_probabilities(np.zeros(4), eta=2.0)       # equal losses: uniform
    array([0.25, 0.25, 0.25, 0.25])

    References
    ----------
    J. Zimmert, Y. Seldin. *Tsallis-INF: An optimal algorithm for stochastic and
    adversarial bandits*. JMLR 22 (2021).
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024
    (reference code ``learners/TsallisINF.m``).
    """
    losses = np.asarray(losses, dtype=float)
    if normaliser == "reference":
        x = -1.0
        with np.errstate(all="ignore"):
            for _ in range(20):
                p = 4.0 * (eta * (losses - x)) ** -2.0
                x = x - (p.sum() - 1.0) / (eta * np.sum(p**1.5))
        return p
    x = losses.min() - 2.0 / eta
    p = 4.0 * (eta * (losses - x)) ** -2.0
    for _ in range(100):
        s = p.sum()
        step = (s - 1.0) / (eta * np.sum(p**1.5))
        x -= step
        p = 4.0 * (eta * (losses - x)) ** -2.0
        if abs(s - 1.0) < 1e-15 or step <= 1e-16 * max(1.0, abs(x)):
            break
    return p


class TsallisINF(Policy):
    r"""Tsallis-INF with the 1/2-Tsallis entropy, as in the Learning-to-Relax reference code.

    Round :math:`t = 1, 2, \dots` with learning rate :math:`\eta_t = 2/\sqrt{t}`:

    .. math::
        p_{t,i} = 4\,\bigl(\eta_t (\hat L_i / s_{t-1} - x_t)\bigr)^{-2},\quad
        \sum_i p_{t,i} = 1,

    sample arm :math:`I_t \sim p_t`, pay cost :math:`k_t` (iterations), then update
    the importance-weighted cumulative loss estimate of the played arm and the
    cost scale (costs are rescaled by their running mean, minus the minimum
    possible cost of one iteration):

    .. math::
        \hat L_{I_t} \mathrel{+}= \frac{k_t - 1}{p_{t,I_t}},\qquad
        s_t = \frac1t \sum_{u \le t} k_u - 1 .

    The normaliser :math:`x_t` is found by Newton's method; see
    :func:`tsallis_probabilities` for the exact solver (default) and the
    reference code's fixed 20 steps from :math:`x = -1` (``normaliser="reference"``).

    Examples
    --------
    >>> import numpy as np
    >>> pol = TsallisINF(); pol.reset(np.linspace(1, 1.95, 20), seed=0)
    >>> omega = pol.choose(None); pol.observe(120)
    >>> float(pol.distribution(None).sum())
    1.0

    References
    ----------
    J. Zimmert, Y. Seldin. *Tsallis-INF: An optimal algorithm for stochastic and
    adversarial bandits*. JMLR 22 (2021). M. Khodak, E. Chow, M.-F. Balcan,
    A. Talwalkar. *Learning to Relax*, ICLR 2024 (reference code ``learners/TsallisINF.m``).
    """

    label = "Tsallis-INF"
    normaliser = param.Selector(default="exact", objects=["exact", "reference"],
                                doc="Newton start: exact root (default) or the reference code's 20 steps from x = -1.")
    eta_scale = param.Number(default=2.0, bounds=(1e-3, 100.0),
                             doc="Learning rate eta_t = eta_scale / sqrt(t); the reference uses 2.")

    def _reset(self) -> None:
        self.cumulative = np.zeros(self.d)  # importance-weighted sums of (cost - 1)
        self.cost_sum = 0.0
        self.scale = 1.0
        self.last_weight = float("nan")

    def raw_distribution(self) -> np.ndarray:
        """The formula's probabilities, unnormalised (they sum to 1 unless the reference Newton failed)."""
        eta = self.eta_scale / math.sqrt(self.t + 1)
        with np.errstate(all="ignore"):
            return tsallis_probabilities(self.cumulative / self.scale, eta, self.normaliser)

    def distribution(self, context=None) -> np.ndarray:
        """:math:`p_t` normalised to sum 1 (uniform if the normaliser failed); the context is ignored."""
        p = self.raw_distribution()
        total = p.sum()
        if not np.all(np.isfinite(p)) or not total > 0:
            return np.full(self.d, 1.0 / self.d)
        return p / total

    def choose(self, context=None, arm: int | None = None) -> float:
        r"""Sample arm :math:`I_t \sim p_t` (``arm=`` replays) and return its omega.

        The importance weight of the coming update is the unnormalised
        probability of the played arm, as in the reference.
        """
        raw = self.raw_distribution()
        total = raw.sum()
        ok = bool(np.all(np.isfinite(raw)) and total > 0)
        probs = raw / total if ok else np.full(self.d, 1.0 / self.d)
        if arm is None:
            # Sampling normalises the weights, as MATLAB's randsample does; a
            # failed normaliser falls back to the uniform draw, as in the reference.
            arm = sample_index(self.rng, probs)
        self.last_arm = int(arm)
        self.last_probs = probs
        # The importance weight is the formula's probability itself (as in the reference).
        self.last_weight = float(raw[self.last_arm])
        self.last_omega = float(self.omegas[self.last_arm])
        return self.last_omega

    def _observe(self, cost: float) -> None:
        self.cost_sum += cost
        n = self.t + 1
        scale = self.cost_sum / n - 1.0
        # All costs equal to 1 would give a zero scale; keep the last positive one.
        if scale > 0:
            self.scale = scale
        with np.errstate(divide="ignore", invalid="ignore"):
            # IEEE semantics as in MATLAB (only the reference normaliser can give a zero weight).
            self.cumulative[self.last_arm] += np.float64(cost - 1.0) / np.float64(self.last_weight)
