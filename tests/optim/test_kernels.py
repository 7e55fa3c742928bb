"""The fused numba Adam kernel agrees with its numpy reference."""
import numpy as np
import pytest

import workbench as wb
from workbench.optim.kernels import adam_update, adam_update_reference


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_kernel_matches_reference(decoupled, weight_decay):
    rng = np.random.default_rng(0)
    n = 3000
    x, g = rng.standard_normal(n), rng.standard_normal(n)
    m, v = rng.standard_normal(n), rng.random(n)
    m2, v2 = m.copy(), v.copy()
    kw = dict(lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=weight_decay, decoupled=decoupled, t=4)
    a = adam_update(x, g, m, v, **kw)
    b = adam_update_reference(x, g, m2, v2, **kw)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    np.testing.assert_allclose(m, m2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(v, v2, rtol=0, atol=1e-15)
    assert not np.array_equal(a, x)


@pytest.mark.parametrize("cls", [wb.optim.Adam, wb.optim.AdamW])
def test_runs_agree_between_kernels(cls):
    prob = wb.problems.quadratic(dim=2000, condition=100.0, rotate=False, seed=4)
    fast = wb.run(cls(lr=0.01), prob, max_steps=50)  # 'auto' picks numba at this size
    slow = wb.run(cls(lr=0.01, kernel="numpy"), prob, max_steps=50)
    np.testing.assert_allclose(fast.x, slow.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.trace["loss"], slow.trace["loss"], rtol=1e-12)
