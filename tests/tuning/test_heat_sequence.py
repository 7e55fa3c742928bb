"""The PDE-driven sequence: Crank-Nicolson heat steps with a pulsing diffusivity."""
import numpy as np
import pytest
import scipy.sparse.linalg as sla

import workbench as wb
from workbench.problems.heat_sequence import diffusivity


@pytest.fixture(scope="module")
def heat():
    return wb.problems.heat_sequence(m=12, instances=1000)


def test_instances_are_crank_nicolson_steps(heat):
    h, dt = 1 / 13, 5 / 1000
    assert len(heat) == 1000 and heat.instance(0).n == 144
    for t in (0, 600, 750):
        inst = heat.instance(t)
        a = diffusivity(dt * (t + 0.5))
        assert heat.contexts[t] == pytest.approx(a)
        L = -wb.problems.poisson2d(12).A / h**2
        np.testing.assert_allclose((inst.A - (np.eye(144) - 0.5 * a * dt * L)), 0, atol=1e-12)
        # the trajectory is the exact solution of each step, the warm start its predecessor
        np.testing.assert_allclose(sla.spsolve(inst.A.tocsc(), inst.b), heat.u[t + 1], rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(inst.x0, heat.u[t])
        J = np.eye(144) - np.diag(1 / inst.A.diagonal()) @ inst.A.toarray()
        assert np.max(np.abs(np.linalg.eigvals(J))) == pytest.approx(heat.rho_jacobi(t), rel=1e-9)
    lo, hi = heat.context_range
    assert lo >= 0 and hi == pytest.approx(10, rel=1e-3)


def test_the_diffusion_pulse_moves_the_best_omega(heat):
    table = wb.tuning.cost_table(heat, instances=1000, solver="sor")
    best = table.omegas[np.argmin(table.iterations, axis=1)]
    calm = heat.contexts < 0.2
    pulse = heat.contexts > 5
    assert best[calm].mean() < 1.2 and best[pulse].mean() > 1.3
    # a contextual bandit uses it: ChebCB beats the best fixed omega over the pulse-rich run
    res = wb.run(wb.get_method("learning_to_relax", policy="chebcb", costs=table, seed=0), heat)
    assert res.status.label == "converged"
    assert res.state.iterations.sum() < table.iterations[:, 0].sum()


def test_registry_and_errors():
    assert "heat_sequence" in wb.problems_list(kind="sequence")
    with pytest.raises(wb.TooLarge, match="fewer instances"):
        wb.problems.heat_sequence(m=1000, instances=100)
