r"""Binned Tsallis-INF: one independent Tsallis-INF per context bin."""
from __future__ import annotations

import numpy as np
import param

from .base import Policy
from .tsallis_inf import TsallisINF

__all__ = ["BinnedTsallisINF"]


class BinnedTsallisINF(Policy):
    r"""Binned Tsallis-INF: an independent :class:`TsallisINF` on each of ``bins`` equal context bins.

    The context interval :math:`[a, b]` is split into ``bins`` equal bins, each
    with its own learner (own round counter, own cost scale).

    A context goes to the bin whose centre :math:`a + (b - a)(j + 1/2)/\text{bins}`
    is nearest, as in the reference's ``TsallisINFCB``:

    .. math::
        j(c) = \arg\min_j \bigl|c - a - (b - a)(j + \tfrac12)/\text{bins}\bigr|,

    and only that bin's learner samples the arm and is updated with the cost
    (the :class:`TsallisINF` rule, with that bin's :math:`t` and cost scale).
    Each bin's learner is seeded from the policy's seed.

    Examples
    --------
    >>> import numpy as np
    >>> pol = BinnedTsallisINF(bins=5); pol.reset(np.linspace(1, 1.95, 20), (-0.15, 0.45), seed=0)
    >>> omega = pol.choose(0.4); pol.observe(30); pol.bin_of(0.4)
    4

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024,
    reference code ``learners/TsallisINFCB.m``. J. Zimmert, Y. Seldin. *Tsallis-INF:
    An optimal algorithm for stochastic and adversarial bandits*. JMLR 22 (2021).
    """

    label = "binned Tsallis-INF"
    contextual = True
    bins = param.Integer(default=5, bounds=(1, 1000), doc="Number of context bins (the reference uses 5).")
    normaliser = param.Selector(default="exact", objects=["exact", "reference"],
                                doc="Newton start of each bin's Tsallis-INF (see TsallisINF).")

    def _reset(self) -> None:
        lo, hi = self.context_range
        self.centres = lo + (hi - lo) * np.linspace(0.5 / self.bins, 1.0 - 0.5 / self.bins, self.bins)
        seeds = self.rng.integers(0, 2**31 - 1, size=self.bins)
        self.learners = []
        for j in range(self.bins):
            learner = TsallisINF(normaliser=self.normaliser)
            learner.reset(self.omegas, self.context_range, self.sequence, int(seeds[j]), start=self.instance)
            self.learners.append(learner)
        self.active = 0

    def bin_of(self, context: float) -> int:
        """Index of the bin whose centre is nearest ``context`` (ties: the lower bin).

        A context outside the interval goes to the end bin on its side.

        Examples
        --------
        >>> pol = BinnedTsallisINF(bins=3); pol.reset([1.0, 1.5], (0.0, 3.0))
        >>> [pol.bin_of(c) for c in (-1.0, 0.4, 1.5, 2.9, 9.0)]
        [0, 0, 1, 2, 2]
        """
        return int(np.argmin(np.abs(self.centres - float(context))))

    def distribution(self, context) -> np.ndarray:
        """The arm probabilities of the learner of ``context``'s bin."""
        return self.learners[self.bin_of(context)].distribution()

    def choose(self, context, arm: int | None = None) -> float:
        """Let the learner of ``context``'s bin draw omega (``arm=`` replays); it gets the next cost."""
        self.active = self.bin_of(context)
        learner = self.learners[self.active]
        omega = learner.choose(context, arm)
        self.last_arm, self.last_probs, self.last_omega = learner.last_arm, learner.last_probs, omega
        return omega

    def _observe(self, cost: float) -> None:
        self.learners[self.active].observe(cost)
