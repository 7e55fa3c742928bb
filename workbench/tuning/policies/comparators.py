r"""Comparators: fixed omega, Gauss-Seidel, the best fixed omega in hindsight, instance-optimal omega."""
from __future__ import annotations

import numpy as np
import param

from ...core import InvalidParameter
from .base import Policy

__all__ = ["FixedOmega", "GaussSeidelPolicy", "BestFixedInHindsight", "InstanceOptimal"]


class _Deterministic(Policy):
    def _pick(self, context, probs):
        return self._arm_of(self._omega(context))

    def _arm_of(self, omega: float) -> int | None:
        hit = np.flatnonzero(np.isclose(self.omegas, omega, rtol=0, atol=1e-12))
        return int(hit[0]) if hit.size else None

    def distribution(self, context) -> np.ndarray | None:
        arm = self._arm_of(self._omega(context))
        if arm is None:
            return None
        p = np.zeros(self.d)
        p[arm] = 1.0
        return p


class FixedOmega(_Deterministic):
    r"""Always the same :math:`\omega` (``fixed:1.8`` on the command line).

    Examples
    --------
    >>> import numpy as np
    >>> pol = FixedOmega(omega=1.8); pol.reset(np.linspace(1, 1.95, 20))
    >>> omega = pol.choose(0.0)      # the grid's arm for 1.8 (linspace gives 1.7999999999999998)
    >>> round(omega, 12), pol.last_arm
    (1.8, 16)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    label = "fixed omega"
    omega = param.Number(default=1.8, bounds=(0.0, 2.0), inclusive_bounds=(False, False),
                         doc="The relaxation parameter used on every instance.")

    def _omega(self, context) -> float:
        return float(self.omega)


class GaussSeidelPolicy(_Deterministic):
    r"""Gauss-Seidel: :math:`\omega = 1` on every instance (no relaxation at all).

    The SOR sweep with :math:`\omega = 1`,
    :math:`x_i \leftarrow \bigl(b_i - \sum_{j \ne i} a_{ij} x_j\bigr) / a_{ii}`: the
    baseline a learned omega is measured against.

    Examples
    --------
    >>> import numpy as np
    >>> pol = GaussSeidelPolicy(); pol.reset(np.linspace(1, 1.95, 20))
    >>> pol.choose(0.3), pol.last_arm, pol.distribution(0.3)[:3]
    (1.0, 0, array([1., 0., 0.]))

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    label = "Gauss-Seidel"

    def _omega(self, context) -> float:
        return 1.0


class BestFixedInHindsight(_Deterministic):
    r"""The grid omega with the least total cost over the whole sequence, known only in hindsight.

    .. math:: \omega_{j^*}, \qquad j^* = \arg\min_j \sum_t k_t(\omega_j).

    Needs the full cost table (every grid omega on every instance), passed to
    :meth:`reset` as ``costs`` (a :class:`workbench.tuning.CostTable`); the
    omega is the table's :meth:`~workbench.tuning.CostTable.best_fixed` over all its
    instances (ties: the smallest omega), whatever the context.

    Examples
    --------
    >>> import workbench as wb
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=10, seed=0)
    >>> table = wb.tuning.cost_table(seq, instance_optimal=False)
    >>> pol = BestFixedInHindsight(); pol.reset(table.omegas, costs=table)
    >>> round(pol.choose(0.0), 2), pol.last_arm == table.best_fixed()[0]
    (1.8, True)

    References
    ----------
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    label = "best fixed omega (hindsight)"
    needs_costs = True

    def _reset(self) -> None:
        costs = getattr(self, "_costs_table", None)
        if costs is None:
            raise InvalidParameter("the best fixed omega in hindsight needs the cost table of the whole "
                                   "sequence; pass costs=workbench.tuning.cost_table(sequence).")
        self.best_omega = costs.best_fixed()[1]

    def reset(self, omegas, context_range=(0.0, 1.0), sequence=None, seed: int = 0, costs=None,
              start: int = 0) -> None:
        """As :meth:`Policy.reset`; ``costs`` (a :class:`~workbench.tuning.CostTable`) is required."""
        self._costs_table = costs
        super().reset(omegas, context_range, sequence, seed, costs, start)

    def _omega(self, context) -> float:
        return float(self.best_omega)


class InstanceOptimal(_Deterministic):
    r"""Young's optimal omega of each instance, from its Jacobi spectral radius.

    .. math:: \omega^*_t = \frac{2}{1 + \sqrt{1 - \rho_J(A_t)^2}},

    with :math:`\rho_J` the Jacobi spectral radius of :math:`A_t` (from ``sequence.rho_jacobi(t)``).

    It is not restricted to the grid (``last_arm`` is ``None`` off it); for
    consistently ordered matrices it is the asymptotically fastest SOR parameter
    of each instance (the reference's ``omega_opt``). The instance is the
    policy's ``instance`` counter, so rounds must follow the sequence's order.

    Examples
    --------
    >>> import workbench as wb
    >>> from workbench.linear.theory import optimal_omega
    >>> seq = wb.problems.shifted_laplacian_sequence("high", instances=5, seed=0)
    >>> pol = InstanceOptimal(); pol.reset(np.linspace(1, 1.95, 20), sequence=seq)
    >>> omega = pol.choose(seq.contexts[0])
    >>> omega == optimal_omega(seq.rho_jacobi(0)), pol.last_arm
    (True, None)
    >>> pol.observe(50); pol.choose(seq.contexts[1]) == optimal_omega(seq.rho_jacobi(1))
    True

    References
    ----------
    D. M. Young, *Iterative Solution of Large Linear Systems*, 1971 (omega*).
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. *Learning to Relax: Setting
    Solver Parameters Across a Sequence of Linear System Instances*. ICLR 2024.
    """

    label = "instance-optimal"

    def _reset(self) -> None:
        if self.sequence is None or not hasattr(self.sequence, "rho_jacobi"):
            raise InvalidParameter("the instance-optimal policy needs a sequence that knows rho_jacobi(t).")

    def _omega(self, context) -> float:
        from ...linear.theory import optimal_omega

        return optimal_omega(self.sequence.rho_jacobi(self.instance))
