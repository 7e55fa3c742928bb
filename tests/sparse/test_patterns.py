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
