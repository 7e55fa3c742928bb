import numpy as np
import pytest

from workbench.core import Trace


def test_append_grows_and_keeps_every_row():
    t = Trace(capacity=2)
    for k in range(1000):
        t.append({"iteration": k, "residual": 1.0 / (k + 1)})
    assert len(t) == 1000
    np.testing.assert_array_equal(t["iteration"], np.arange(1000))
    assert t["residual"][-1] == pytest.approx(1e-3)


def test_new_columns_are_backfilled_with_nan():
    t = Trace()
    t.append({"a": 1.0})
    t.append({"a": 2.0, "b": 5.0})
    assert np.isnan(t["b"][0]) and t["b"][1] == 5.0


def test_unknown_column_names_the_existing_ones():
    t = Trace()
    t.append({"a": 1.0})
    with pytest.raises(KeyError, match="it has \\['a'\\]"):
        t["zzz"]


def test_decimate_keeps_first_last_min_max_and_bounds_size():
    t = Trace()
    rng = np.random.default_rng(0)
    y = np.exp(-np.arange(10_000) / 1000) + 0.01 * rng.standard_normal(10_000)
    y[4321] = 50.0  # a spike must survive decimation
    y[7777] = -50.0
    for k, v in enumerate(y):
        t.append({"iteration": k, "residual": v})
    d = t.decimate(200, by="residual")
    assert len(d["iteration"]) <= 200
    assert d["iteration"][0] == 0 and d["iteration"][-1] == 9999
    assert 50.0 in d["residual"] and -50.0 in d["residual"]
    assert np.all(np.diff(d["iteration"]) > 0)
    assert len(t) == 10_000  # storage untouched


def test_rows_returns_only_new_rows_and_roundtrips():
    t = Trace()
    for k in range(5):
        t.append({"iteration": k, "x": k * 2.0})
    new = t.rows(3)
    np.testing.assert_array_equal(new["x"], [6.0, 8.0])
    t2 = Trace.from_dict(t.to_dict())
    np.testing.assert_array_equal(t2["x"], t["x"])
    df = t.to_pandas()
    assert list(df.columns) == ["iteration", "x"] and len(df) == 5
