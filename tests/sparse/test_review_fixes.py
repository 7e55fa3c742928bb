"""Fixes from a review of the sparse methods and problems: refusals with sentences instead of
raw errors or failed runs, and metrics reported from the initial iterate on."""
from __future__ import annotations

import math

import numpy as np
import pytest

import workbench as wb
from workbench.core.errors import InvalidParameter, InvalidProblem
from workbench.sparse import hard_threshold, sparsify_plan


# -- IHT: k larger than n mid-run ------------------------------------------------------------
def test_iht_k_larger_than_n_mid_run_is_refused_at_assignment_and_the_run_goes_on():
    prob = wb.problems.compressed_sensing(n=20, k=3, seed=0)
    m = wb.sparse.IHT(k=3)
    r = wb.Runner(m, prob, max_steps=50)
    r.advance(max_steps=3)
    with pytest.raises(InvalidParameter, match=r"k = 100 is larger than the number of unknowns n = 20"):
        m.k = 100
    assert m.k == 3
    with pytest.raises(InvalidParameter, match="choose k <= n"):
        m.param.update(k=21)
    m.k = 20  # k = n is allowed
    m.k = 4
    r.advance(max_steps=5)
    assert r.status.label != "failed", r.message
    assert r.iteration == 8


def test_iht_k_check_follows_the_problem_of_the_last_init():
    m = wb.sparse.IHT(k=3)
    m.k = 500  # no problem known yet: init checks it
    with pytest.raises(InvalidParameter, match="larger than the number of unknowns"):
        wb.Runner(m, wb.problems.compressed_sensing(n=20, k=3, seed=0))
    m.k = 3
    wb.Runner(m, wb.problems.compressed_sensing(n=20, k=3, seed=0))
    with pytest.raises(InvalidParameter):
        m.k = 25


# -- metrics present from row 0 ----------------------------------------------------------------
@pytest.mark.parametrize("method, problem, metric", [
    (lambda: wb.sparse.SinkhornNewtonSparse(reg=0.01, warmup=2), lambda: wb.problems.histograms_1d(n=30),
     "cg_iterations"),
    (lambda: wb.sparse.SinkhornNewtonSparse(reg=0.01, warmup=2), lambda: wb.problems.histograms_1d(n=30),
     "kept_fraction"),
    (lambda: wb.sparse.SinkhornNewtonSparse(reg=0.01, warmup=2), lambda: wb.problems.histograms_1d(n=30),
     "step_size"),
    (lambda: wb.sparse.IHT(k=3), lambda: wb.problems.compressed_sensing(n=40, k=3, seed=0), "step_size"),
    (lambda: wb.sparse.CoordinateDescent(), lambda: wb.problems.compressed_sensing(n=40, k=3, seed=0),
     "coordinate"),
])
def test_step_metrics_are_in_the_trace_from_the_initial_iterate(method, problem, metric):
    r = wb.Runner(method(), problem(), max_steps=10)
    assert metric in r.trace and len(r.trace[metric]) == 1
    # Their values before a first step are NaN or 0; NaN trips no guard: the run goes on.
    r.advance(max_steps=10)
    assert r.status.label == "max_steps", r.message
    assert np.isfinite(r.trace[metric][-1])


def test_sns_newton_metrics_before_the_newton_phase():
    r = wb.Runner(wb.sparse.SinkhornNewtonSparse(reg=0.01, warmup=2), wb.problems.histograms_1d(n=30),
                  max_steps=4)
    r.advance(max_steps=4)
    assert list(r.trace["cg_iterations"][:3]) == [0.0, 0.0, 0.0]
    assert np.isnan(r.trace["kept_fraction"][:3]).all() and np.isfinite(r.trace["kept_fraction"][3])
    assert list(r.trace["phase"]) == [0.0, 0.0, 0.0, 1.0, 1.0]


# -- hard_threshold and sparsify_plan ---------------------------------------------------------
def test_hard_threshold_takes_a_list_and_refuses_a_bad_k():
    np.testing.assert_array_equal(hard_threshold([1.0, -3.0, 2.0], 2), [0.0, -3.0, 2.0])
    np.testing.assert_array_equal(hard_threshold(np.array([1.0, -3.0]), 5), [1.0, -3.0])
    for k in (0, -1, 1.5, math.nan, None, "2", True):
        with pytest.raises(InvalidParameter, match="k must be a whole number, at least 1"):
            hard_threshold(np.ones(4), k)
    with pytest.raises(InvalidParameter, match="vector"):
        hard_threshold(np.ones((2, 2)), 1)
    with pytest.raises(InvalidParameter, match="vector of numbers"):
        hard_threshold(["a", "b"], 1)


def test_sparsify_plan_takes_nested_lists_and_refuses_a_bad_rho():
    S = sparsify_plan([[1.0, 4.0], [3.0, 2.0]], 0.5)
    np.testing.assert_array_equal(S.toarray(), [[0.0, 4.0], [3.0, 0.0]])
    for rho in (0, -0.1, 1.5, math.nan, math.inf, None, "0.5"):
        with pytest.raises(InvalidParameter, match=r"must lie in \(0, 1\]"):
            sparsify_plan(np.ones((3, 3)), rho)
    with pytest.raises(InvalidParameter, match="matrix"):
        sparsify_plan(np.ones(4), 0.5)


# -- regression problems: x_true ------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_x_true_with_nan_or_inf_is_refused(bad):
    A = np.eye(3)
    with pytest.raises(InvalidProblem, match="x_true contains NaN or infinite values"):
        wb.problems.regression_problem(A, np.ones(3), x_true=[1.0, bad, 0.0])


def test_all_zero_x_true_has_no_relative_error():
    A = np.random.default_rng(0).standard_normal((5, 4))
    prob = wb.problems.regression_problem(A, A @ np.array([1.0, 0, 0, 0]), x_true=np.zeros(4))
    r = wb.Runner(wb.sparse.ISTA(), prob, max_steps=3)
    r.advance(max_steps=3)
    assert "relative_error" not in r.trace
    assert np.isfinite(r.trace["distance"]).all()
    prob = wb.problems.regression_problem(A, A @ np.array([1.0, 0, 0, 0]), x_true=[1.0, 0, 0, 0])
    assert wb.Runner(wb.sparse.ISTA(), prob).trace["relative_error"][0] == pytest.approx(1.0)


# -- transport problems: the marginals -----------------------------------------------------------
def test_a_missing_marginal_is_named_as_such():
    with pytest.raises(InvalidProblem, match="a must be a vector of nonnegative weights"):
        wb.problems.transport_problem(None, [0.5, 0.5], np.ones((2, 2)))
    with pytest.raises(InvalidProblem, match="b must be a vector of nonnegative weights"):
        wb.problems.transport_problem([0.5, 0.5], None, np.ones((2, 2)))


def test_a_2d_marginal_is_refused_unless_a_single_row_or_column():
    C = np.ones((4, 4))
    with pytest.raises(InvalidProblem, match=r"shape \(2, 2\)"):
        wb.problems.transport_problem(np.full((2, 2), 0.25), np.full(4, 0.25), C)
    p = wb.problems.transport_problem(np.full((4, 1), 0.25), np.full((1, 4), 0.25), C)
    assert p.a.shape == (4,) and p.b.shape == (4,)


# -- seed docs ---------------------------------------------------------------------------------
def test_every_seed_doc_of_the_sparse_and_sketching_methods_says_it_is_read_at_the_start():
    # (coordinate descent's said only "Seed of the random rule.")
    classes = [wb.sparse.CoordinateDescent, wb.sketching.SketchAndProject, wb.sketching.RandomizedKaczmarz]
    for cls in classes:
        assert "(read at the start)" in cls.param["seed"].doc, cls.__name__
