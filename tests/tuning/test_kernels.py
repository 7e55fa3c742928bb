"""The compiled solve-until-tolerance kernels agree with the protocol's own runs."""
import numpy as np
import pytest

import workbench as wb
from workbench.tuning.kernels import iterations_batch, sor_iterations, ssor_pcg_iterations


@pytest.fixture(scope="module")
def seq():
    return wb.problems.shifted_laplacian_sequence("high", instances=12, seed=3)


@pytest.mark.parametrize("omega", [1.0, 1.35, 1.7, 1.8, 1.95])
def test_sor_kernel_counts_equal_the_reference_run(seq, omega):
    for t in range(0, 12, 3):
        inst = seq.instance(t)
        reference = wb.run(wb.linear.SOR(omega=omega), inst, rtol=1e-8, max_steps=10_000)
        assert reference.status.label == "converged"
        k, x = sor_iterations(inst.A, inst.b, omega, rtol=1e-8)
        assert k == reference.iterations
        np.testing.assert_allclose(x, reference.x, rtol=1e-9, atol=1e-12)


def test_ssor_pcg_kernel_counts_equal_the_reference_run(seq):
    """Equal counts, except that CG amplifies rounding: on a nearly singular instance
    (c = -0.147, omega = 1.9) the order of a dot product's summation alone moves the
    count by one (checked by hand with numpy), so one-off differences must stay rare."""
    same = total = 0
    for t in range(12):
        inst = seq.instance(t)
        for omega in (1.0, 1.5, 1.9):
            reference = wb.run(wb.linear.PCG(preconditioner="ssor", ssor_omega=omega), inst, rtol=1e-8)
            k, x = ssor_pcg_iterations(inst.A, inst.b, omega, rtol=1e-8)
            assert abs(k - reference.iterations) <= 1
            same += k == reference.iterations
            total += 1
            if k == reference.iterations and omega < 1.9:
                np.testing.assert_allclose(x, reference.x, rtol=1e-6, atol=1e-9)
    assert same >= total - 2


def test_kernel_with_a_warm_start_on_the_heat_sequence():
    heat = wb.problems.heat_sequence(m=10, instances=900)
    for t in (100, 650, 800):
        inst = heat.instance(t)
        for omega in (1.0, 1.4):
            ref = wb.run(wb.linear.SOR(omega=omega), inst, rtol=1e-8)
            assert sor_iterations(inst.A, inst.b, omega, 1e-8, x0=inst.x0)[0] == ref.iterations


def test_batch_equals_single_solves_and_honours_the_cap(seq):
    insts = [seq.instance(t) for t in range(4)]
    A0 = insts[0].A
    data = np.vstack([p.A.data for p in insts])
    B = np.vstack([p.b for p in insts])
    omegas = [1.0, 1.6, 1.9]
    table = iterations_batch(A0.indptr, A0.indices, data, B, np.zeros_like(B), omegas)
    for t, p in enumerate(insts):
        for j, w in enumerate(omegas):
            assert table[t, j] == sor_iterations(p.A, p.b, w)[0]
    capped = iterations_batch(A0.indptr, A0.indices, data, B, np.zeros_like(B), omegas, max_iterations=7)
    assert capped.max() == 7


def test_method_with_reference_kernel_matches_numba_kernel(seq):
    """The whole sequence run: protocol solves (wb.run per instance) vs the compiled kernel."""
    counts = {}
    for kernel in ("numba", "reference"):
        method = wb.get_method("learning_to_relax", policy="tsallis_inf", kernel=kernel, seed=5)
        res = wb.run(method, seq)
        counts[kernel] = res.state.iterations.copy()
        omegas = res.state.omega.copy()
    np.testing.assert_array_equal(counts["numba"], counts["reference"])
    assert len(np.unique(omegas)) > 1


@pytest.mark.parametrize("make", [
    lambda: wb.problems.shifted_laplacian_sequence("low", instances=6, seed=1),
    lambda: wb.problems.heat_sequence(m=7, instances=30),
])
def test_system_arrays_fast_paths_equal_the_instances(make):
    from workbench.tuning.costs import system_arrays

    seq = make()
    for t in range(0, len(seq), 5):
        a, inst = system_arrays(seq, t), seq.instance(t)
        A = inst.A.sorted_indices()
        np.testing.assert_array_equal(a.indptr, A.indptr)
        np.testing.assert_array_equal(a.indices, A.indices)
        np.testing.assert_array_equal(a.data, A.data)
        np.testing.assert_array_equal(a.diag, A.diagonal())
        np.testing.assert_array_equal(a.b, inst.b)
        np.testing.assert_array_equal(a.x0, inst.x0)
