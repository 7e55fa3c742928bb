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


KERNEL_METHODS = {
    "adan": dict(lr=0.01, weight_decay=0.05),
    "adan_decoupled": dict(lr=0.01, weight_decay=0.05, decoupled_decay=True),
    "lion": dict(lr=0.003, weight_decay=0.1),
    "diffgrad": dict(lr=0.01),
    "prodigy": dict(weight_decay=0.01),
    "schedule_free_adamw": dict(lr=0.01, weight_decay=0.01),
}


@pytest.mark.parametrize("case", sorted(KERNEL_METHODS))
def test_fused_kernels_match_the_numpy_reference(case):
    name = case.replace("_decoupled", "")
    prob = wb.problems.quadratic(dim=1500, condition=100.0, rotate=False, distance=3.0, seed=6)
    fast = wb.run(wb.get_method(name, **KERNEL_METHODS[case]), prob, max_steps=60)
    slow = wb.run(wb.get_method(name, kernel="numpy", **KERNEL_METHODS[case]), prob, max_steps=60)
    assert fast.final["distance"] < 0.999 * slow.trace["distance"][0]  # it moved
    np.testing.assert_allclose(fast.x, slow.x, rtol=0, atol=1e-10)
    checked = 0
    for key in ("loss", "lr", "d_estimate", "friction", "averaging_weight"):
        if key in slow.final:
            np.testing.assert_allclose(fast.trace[key], slow.trace[key], rtol=1e-9, atol=1e-300)
            checked += 1
    assert checked >= 2
