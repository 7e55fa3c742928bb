"""The policy interface: pick an omega for the next instance, learn from its cost."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import param

from ...core import InvalidParameter

__all__ = ["Policy", "sample_index"]


def sample_index(rng: np.random.Generator, probs: np.ndarray) -> int:
    """Draw an index with probability proportional to ``probs`` (inverse-CDF, one uniform)."""
    cdf = np.cumsum(probs)
    u = rng.random() * cdf[-1]
    return int(min(np.searchsorted(cdf, u, side="right"), len(probs) - 1))


class Policy(param.Parameterized):
    """A rule that chooses the relaxation parameter omega before each instance.

    The protocol, one round per instance:

    * :meth:`reset` once with the arm grid (the omegas), the context interval,
      the sequence (for comparators that read it) and a seed;
    * :meth:`distribution` -- the probabilities over the arms it would sample
      from for this context (``None`` for deterministic, off-grid policies);
    * :meth:`choose` -- draw and return omega (``arm=`` replays a recorded choice);
    * :meth:`observe` -- the cost (iterations) the solver took with that omega.

    Attributes after :meth:`choose`: ``last_arm`` (index on the grid or
    ``None``) and ``last_probs``. ``t`` counts the rounds this policy has
    observed (a learner's clock: its learning rate and cost scale use it);
    ``instance`` is the index in the sequence of the next instance, which
    differs from ``t`` when a policy is started mid-sequence (a control moved
    during a run: a fresh learner takes over from that instance on).
    """

    #: Short label for legends and tables.
    label: ClassVar[str] = "policy"
    #: True when the policy uses the context.
    contextual: ClassVar[bool] = False
    #: True when the policy needs every grid omega's cost on every instance (hindsight).
    needs_costs: ClassVar[bool] = False

    def reset(self, omegas, context_range=(0.0, 1.0), sequence=None, seed: int = 0, costs=None,
              start: int = 0) -> None:
        """Start afresh on the grid ``omegas``; ``start`` is the sequence index of the first instance.

        ``context_range`` is checked only by contextual policies (a policy that
        ignores the context runs on sequences whose contexts are all equal).
        """
        omegas = np.asarray(omegas, dtype=float)
        if omegas.ndim != 1 or omegas.size < 1 or np.any((omegas <= 0) | (omegas >= 2)):
            raise InvalidParameter("the omega grid must be a non-empty list of values in (0, 2).")
        self.omegas = omegas
        self.d = omegas.size
        lo, hi = (float(v) for v in context_range)
        if self.contextual and not hi > lo:
            raise InvalidParameter(f"the context interval ({lo:g}, {hi:g}) is empty; give low < high.")
        self.context_range = (lo, hi)
        self.sequence = sequence
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.instance = int(start)
        self.last_arm: int | None = None
        self.last_probs: np.ndarray | None = None
        self.last_omega = float("nan")
        self._reset()

    def _reset(self) -> None:
        """Allocate the policy's own state (subclasses)."""

    def distribution(self, context: float) -> np.ndarray | None:
        """Probabilities over the arms for this context; ``None`` if the policy is deterministic."""
        return None

    def choose(self, context: float, arm: int | None = None) -> float:
        """Draw the omega for this context (``arm=`` replays a recorded choice) and return it."""
        probs = self.distribution(context)
        if arm is None:
            arm = self._pick(context, probs)
        self.last_arm = None if arm is None else int(arm)
        self.last_probs = probs
        self.last_omega = self._omega(context) if self.last_arm is None else float(self.omegas[self.last_arm])
        return self.last_omega

    def _pick(self, context: float, probs) -> int | None:
        return sample_index(self.rng, probs)

    def _omega(self, context: float) -> float:  # pragma: no cover - off-grid policies override
        raise NotImplementedError

    def observe(self, cost: float) -> None:
        """Learn from the cost (iterations) of the last choice; the next round begins."""
        self._observe(float(cost))
        self.t += 1
        self.instance += 1

    def _observe(self, cost: float) -> None:
        """Learn from the cost of the last choice (subclasses)."""
