"""Sparse-system diagnostics shown beside the solver on the sparsity page."""
import numpy as np
import scipy.sparse as sp

import workbench as wb
from workbench.sparse import pattern_image, sparsity_summary


def test_pattern_image_counts_every_nonzero():
    prob = wb.problems.random_spd_matrix(n=300, density=0.02, seed=1)
    img = pattern_image(prob.A, pixels=64)
    assert img.shape == (64, 64)
    assert img.sum() == prob.A.nnz
    np.testing.assert_array_equal(pattern_image(sp.identity(5), pixels=10), np.eye(5))


def test_density_knob_drives_nnz_and_fill():
    low = sparsity_summary(wb.problems.random_spd_matrix(n=300, density=0.005).A)
    high = sparsity_summary(wb.problems.random_spd_matrix(n=300, density=0.05).A)
    assert low["nnz"] < high["nnz"]
    assert abs(high["density"] - 0.05) < 0.02
    # a banded matrix factors without fill; a random one fills in
    band = sparsity_summary(wb.problems.poisson1d(300).A)
    assert band["fill_natural"] <= 1.0 + 1e-12 and band["bandwidth"] == 1
    assert high["fill"] > 2.0


def test_pattern_and_fill_refuse_what_they_cannot_draw_or_factor():
    import pytest

    with pytest.raises(wb.InvalidProblem, match="non-empty square matrix; this one is 3 x 4"):
        sparsity_summary(np.ones((3, 4)))
    with pytest.raises(wb.InvalidParameter, match="pixels is the image's side"):
        pattern_image(sp.identity(3), 0)


def test_a_regression_design_must_carry_information_and_match_x_true():
    import pytest

    with pytest.raises(wb.InvalidProblem, match="A is all zeros"):
        wb.problems.regression_problem(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(wb.InvalidProblem, match="x_true has 2 entries but A has 3 columns"):
        wb.problems.regression_problem(np.eye(3), np.ones(3), x_true=[1.0, 2.0])
