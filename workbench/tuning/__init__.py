"""Online learning of solver parameters across sequences of linear systems (Learning to Relax).

* :mod:`workbench.tuning.policies` -- bandits (Tsallis-INF, ChebCB, binned
  Tsallis-INF) and comparators (fixed omega, Gauss-Seidel, best fixed in
  hindsight, instance-optimal), all with ``choose(context) -> omega`` and
  ``observe(cost)``;
* :class:`LearningToRelax` -- the registered method ``learning_to_relax``: one
  step solves one instance of a sequence with the omega its policy chose;
* :func:`cost_table` -- every grid omega's cost on every instance (compiled kernels).

Examples
--------
>>> import workbench as wb
>>> seq = wb.problems.shifted_laplacian_sequence("high", instances=20, seed=1)
>>> res = wb.run(wb.tuning.LearningToRelax(policy="chebcb"), seq)
>>> len(res.trace["omega"])
21
"""
from .costs import CostTable, cost_row, cost_table, default_omegas, last_quarter_ratio, last_quarter_start
from .learn_omega import LearningToRelax, SequenceState
from .policies import (
    POLICIES,
    BestFixedInHindsight,
    BinnedTsallisINF,
    ChebCB,
    FixedOmega,
    GaussSeidelPolicy,
    InstanceOptimal,
    Policy,
    TsallisINF,
    parse_policy,
)

__all__ = ["LearningToRelax", "SequenceState", "CostTable", "cost_table", "cost_row", "default_omegas", "last_quarter_ratio", "last_quarter_start",
           "Policy", "TsallisINF", "ChebCB", "BinnedTsallisINF", "FixedOmega", "GaussSeidelPolicy",
           "BestFixedInHindsight", "InstanceOptimal", "POLICIES", "parse_policy"]
