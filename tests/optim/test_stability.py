"""GD on a quadratic is stable iff eta < 2 / lambda_max (METHODS.md 2.2)."""
import pytest

import workbench as wb


@pytest.fixture(scope="module")
def quadratic():
    return wb.problems.quadratic(dim=20, condition=50.0, lambda_max=4.0, seed=3)


@pytest.mark.parametrize("factor", [0.5, 0.9, 0.99])
def test_gd_converges_below_the_threshold(quadratic, factor):
    eta = factor * 2.0 / quadratic.metadata["lambda_max"]
    res = wb.run(wb.optim.GD(lr=eta), quadratic, max_steps=5000, atol=1e-10)
    assert res.status is wb.Status.CONVERGED, res.message
    assert res.final["distance"] < 1e-6


@pytest.mark.parametrize("factor", [1.01, 1.1, 2.0])
def test_gd_diverges_above_the_threshold(quadratic, factor):
    eta = factor * 2.0 / quadratic.metadata["lambda_max"]
    res = wb.run(wb.optim.GD(lr=eta), quadratic, max_steps=20_000, atol=1e-10)
    assert res.status is wb.Status.DIVERGED, res.message
    assert "exceeds" in res.message


def test_changing_the_step_mid_run_takes_effect():
    prob = wb.problems.quadratic(dim=5, condition=5.0)
    method = wb.optim.GD(lr=0.5)
    runner = wb.Runner(method, prob, max_steps=1000)
    runner.advance(max_steps=10)
    method.lr = 2.5  # above 2 / lambda_max = 2
    runner.advance()
    assert runner.status is wb.Status.DIVERGED
    assert runner.trace["lr"][11] == 2.5 and runner.trace["lr"][10] == 0.5
