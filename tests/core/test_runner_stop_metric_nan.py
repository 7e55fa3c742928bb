"""A stop metric that has no value at the start is refused with what to stop on instead."""
import pytest

import workbench as wb


def test_a_stop_metric_without_a_starting_value_is_refused_with_a_sentence():
    prob = wb.problems.compressed_sensing(n=20, k=3, seed=0)
    with pytest.raises(wb.InvalidParameter, match="'step_size': it has no value at the start.*stop on"):
        wb.Runner(wb.sparse.IHT(k=3), prob, metric="step_size", max_steps=10)
