"""The policy interface: pick an omega for the next instance, learn from its cost."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import param

from ...core import InvalidParameter
from ...core.errors import WorkbenchError
from ...core.protocol import CheckedParams
from ..costs import check_grid

__all__ = ["Policy", "sample_index"]


def sample_index(rng: np.random.Generator, probs: np.ndarray) -> int:
    r"""Draw an index with probability proportional to ``probs`` (inverse-CDF, one uniform).

    With :math:`u \sim U[0, 1)` from ``rng`` and the cumulative weights
    :math:`C_i = \sum_{j \le i} p_j`, the index is

    .. math:: I = \min\{\, i : C_i > u\, C_{d-1} \,\},

    so the weights need not sum to 1 (as MATLAB's ``randsample``), and an arm of
    weight 0 is never drawn; rounding cannot push :math:`I` past the last index.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of the single uniform draw.
    probs : numpy.ndarray
        Non-negative weights with a positive sum.

    Returns
    -------
    int
        The drawn index in ``0 .. len(probs) - 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sample_index(rng, np.array([0.0, 1.0, 0.0]))
    1
    >>> draws = [sample_index(rng, np.array([1.0, 3.0])) for _ in range(1000)]
    >>> bool(0.7 < np.mean(draws) < 0.8)     # index 1 about 3 times in 4
    True
    """
    cdf = np.cumsum(probs)
    u = rng.random() * cdf[-1]
    return int(min(np.searchsorted(cdf, u, side="right"), len(probs) - 1))


class PolicyNotReset(WorkbenchError, AttributeError):
    """A policy was asked to choose or learn before :meth:`Policy.reset` gave it its grid."""


class Policy(CheckedParams):
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

    A subclass allocates its state in :meth:`_reset`, returns its arm
    probabilities from :meth:`distribution` (the default :meth:`choose` samples
    them with :func:`sample_index`) and learns in :meth:`_observe`.

    Examples
    --------
    A follow-the-leader policy that plays the arm whose last cost was lowest
    (an untried arm counts as 0, so each is tried once first):

    >>> class Leader(Policy):
    ...     def _reset(self):
    ...         self.seen = np.zeros(self.d)
    ...     def distribution(self, context):
    ...         p = np.zeros(self.d)
    ...         p[np.argmin(self.seen)] = 1.0
    ...         return p
    ...     def _observe(self, cost):
    ...         self.seen[self.last_arm] = cost
    >>> pol = Leader(); pol.reset([1.0, 1.5, 1.8], seed=0)
    >>> for cost in (90, 40, 50):
    ...     omega = pol.choose(0.0); pol.observe(cost)
    >>> pol.choose(0.0), pol.last_arm, pol.t      # arms 0, 1, 2 tried; 1.5 was cheapest
    (1.5, 1, 3)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    #: Short label for legends and tables.
    label: ClassVar[str] = "policy"
    #: True when the policy uses the context.
    contextual: ClassVar[bool] = False
    #: True when the policy needs every grid omega's cost on every instance (hindsight).
    needs_costs: ClassVar[bool] = False

    def __getattr__(self, name):
        # Only reached for a missing attribute: before reset() every piece of round state is
        # missing, and the sentence says what to call.
        if not name.startswith("_") and "omegas" not in self.__dict__:
            self._require_reset(f"has no {name!r}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _require_reset(self, what: str = "cannot observe a cost") -> None:
        if "omegas" not in self.__dict__:
            raise PolicyNotReset(f"{type(self).__name__} {what} before reset(omegas, ...) gives it its arm grid: "
                                 "call reset first (or check the spelling of the attribute).")

    def reset(self, omegas, context_range=(0.0, 1.0), sequence=None, seed: int = 0, costs=None,
              start: int = 0) -> None:
        """Start afresh on the grid ``omegas``; ``start`` is the sequence index of the first instance.

        ``context_range`` is checked only by contextual policies (a policy that
        ignores the context runs on sequences whose contexts are all equal).
        """
        omegas = check_grid(omegas)
        self.omegas = omegas
        self.d = omegas.size
        try:
            lo, hi = (float(v) for v in context_range)
        except (TypeError, ValueError):
            raise InvalidParameter(f"context_range is a pair (low, high) of numbers, e.g. (0.0, 1.0); "
                                   f"got {context_range!r}.") from None
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise InvalidParameter(f"context_range must be finite, got ({lo:g}, {hi:g}).")
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
        """Allocate the policy's own state (subclasses); a no-op here.

        Called at the end of :meth:`reset`, when ``omegas``, ``d``,
        ``context_range``, ``sequence``, ``rng``, ``t`` and ``instance`` are set.
        """

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
        self._require_reset()
        if isinstance(cost, (bool, str, bytes)) or not isinstance(cost, (int, float, np.number)) \
                or not np.isfinite(cost) or cost < 0:
            # A NaN cost would turn the learned weights into NaN for good (Tsallis-INF falls back to
            # uniform and never recovers); a cost is an iteration count, 0 or more.
            raise InvalidParameter(f"a cost is a finite number of iterations, 0 or more; got {cost!r}. "
                                   "Pass the solver's iteration count.")
        self._observe(float(cost))
        self.t += 1
        self.instance += 1

    def _observe(self, cost: float) -> None:
        """Learn from the cost of the last choice (subclasses); a no-op here.

        Called by :meth:`observe` with ``cost`` as a float, before ``t`` and
        ``instance`` advance; ``last_arm``, ``last_probs`` and ``last_omega``
        still describe the choice that cost it.
        """
