import math

import numpy as np
import pytest
import scipy.sparse as sp

import workbench as wb
from workbench.linear import theory


def test_from_matrix_validates_shape_values_and_sizes():
    with pytest.raises(wb.InvalidProblem, match="must be square"):
        wb.problems.from_matrix(np.ones((3, 2)))
    with pytest.raises(wb.InvalidProblem, match="NaN or infinite"):
        wb.problems.from_matrix(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(wb.InvalidProblem, match="b has 3 entries but A has 2 rows"):
        wb.problems.from_matrix(np.eye(2), np.ones(3))
    with pytest.raises(wb.InvalidProblem, match="x0 has 1 entries"):
        wb.problems.from_matrix(np.eye(2), np.ones(2), np.ones(1))
    with pytest.raises(wb.InvalidProblem, match="numeric"):
        wb.problems.from_matrix([["a", "b"], ["c", "d"]])


def test_properties_are_detected():
    spd = wb.problems.from_matrix(sp.csr_matrix(np.array([[2.0, -1.0], [-1.0, 2.0]])))
    assert {"symmetric", "spd", "m_matrix", "diagonally_dominant"} <= spd.properties
    indefinite = wb.problems.from_matrix(np.array([[1.0, 3.0], [3.0, 1.0]]))
    assert "symmetric" in indefinite.properties and "spd" not in indefinite.properties
    cd = wb.problems.convection_diffusion2d(8, peclet=1.0)
    assert "symmetric" not in cd.properties and "m_matrix" in cd.properties


@pytest.mark.parametrize("dim,n", [(1, 50), (2, 12), (3, 6)])
def test_poisson_metadata_matches_eigenvalues(dim, n):
    prob = wb.get_problem(f"poisson{dim}d", n=n)
    ev = np.linalg.eigvalsh(prob.A.toarray())
    assert ev[0] == pytest.approx(prob.metadata["lambda_min"], rel=1e-10)
    assert ev[-1] == pytest.approx(prob.metadata["lambda_max"], rel=1e-10)
    J = np.eye(prob.n) - prob.A.toarray() / (2 * dim)
    assert np.max(np.abs(np.linalg.eigvals(J))) == pytest.approx(prob.metadata["rho_jacobi"], rel=1e-10)


@pytest.mark.parametrize("kappa", [10.0, 1e4])
def test_random_spd_has_the_requested_condition_number(kappa):
    prob = wb.problems.random_spd_matrix(n=300, density=0.02, condition=kappa, seed=1)
    ev = np.linalg.eigvalsh(prob.A.toarray())
    assert ev[-1] / ev[0] == pytest.approx(kappa, rel=1e-6)
    assert "spd" in prob.properties


def test_settings_a_control_offers_build_or_are_refused_before_building():
    from workbench.core import InvalidParameter, TooLarge, get_problem_factory

    # condition = 1 (the identity) is outside the range, so no control offers it
    with pytest.raises(InvalidParameter, match="must be greater than 1.0, not 1.0"):
        get_problem_factory("random_spd")(condition=1.0)
    assert get_problem_factory("random_spd")(n=50, condition=1.5).make().metadata["condition"] == 1.5
    # m = 1000 (its largest setting): 5000 right-hand sides of 10^6 unknowns, refused before drawing
    with pytest.raises(TooLarge, match="5000 right-hand sides of 1000000 unknowns \\(37.3 GiB\\) are too many"):
        get_problem_factory("shifted_laplacian_sequence")(m=1000).make()
    # n = 200000 (its largest setting, a box on the solvers page) at the default density: 4e8
    # non-zeros, which would take the server's memory; refused before drawing one
    with pytest.raises(TooLarge, match="about 4e\\+08 non-zeros, over the limit of 20,000,000; lower the "
                                       "density \\(at most 0.0005 for this n\\)"):
        get_problem_factory("random_spd")(n=200_000).make()
    assert len(get_problem_factory("shifted_laplacian_sequence")(m=1000, instances=3).make()) == 3


def test_anisotropic_and_pyamg_meshes():
    an = wb.problems.anisotropic2d(10, epsilon=0.01)
    assert {"spd", "m_matrix"} <= an.properties
    rot = wb.problems.anisotropic2d(10, epsilon=0.01, theta=math.pi / 4)
    assert "spd" in rot.properties and "m_matrix" not in rot.properties
    mesh = wb.problems.pyamg_mesh("airfoil")
    assert mesh.n == 260 and "spd" in mesh.properties


def test_matrix_market_loader(tmp_path):
    prob = wb.problems.matrix_market_file("airfoil.mtx")  # shipped in workbench/data
    assert prob.n == 260 and "symmetric" in prob.properties
    assert prob.spec() == {"kind": "problem", "name": "matrix_market", "params": {"path": "airfoil.mtx"}}
    foreign = tmp_path / "notes.mtx"
    foreign.write_text("these are my notes, not a matrix\n")
    with pytest.raises(wb.MalformedInput, match="not a readable Matrix Market file"):
        wb.problems.matrix_market_file(foreign)
    with pytest.raises(wb.MalformedInput, match="no Matrix Market file"):
        wb.problems.matrix_market_file(tmp_path / "missing.mtx")
    rect = tmp_path / "rect.mtx"
    import scipy.io

    scipy.io.mmwrite(str(rect), sp.random(3, 4, density=0.5, random_state=0))
    with pytest.raises(wb.InvalidProblem, match="square"):
        wb.problems.matrix_market_file(rect)
    with pytest.raises(wb.MalformedInput, match="is a folder; give the path of a .mtx file in it"):
        wb.problems.matrix_market_file(tmp_path)
    # A right-hand side beside the matrix that is not readable, or complex, is named.
    good = tmp_path / "good.mtx"
    scipy.io.mmwrite(str(good), sp.identity(3, format="coo") * 2.0)
    (tmp_path / "good_b.mtx").write_text("garbage\n")
    with pytest.raises(wb.MalformedInput, match="good_b.mtx, the right-hand side beside good.mtx, is not a readable"):
        wb.problems.matrix_market_file(good)
    scipy.io.mmwrite(str(tmp_path / "good_b.mtx"), np.array([[1.0 + 1j], [1.0], [1.0]]))
    with pytest.raises(wb.InvalidProblem, match="good_b.mtx is complex"):
        wb.problems.matrix_market_file(good)


def test_complex_systems_are_refused_not_cut_to_their_real_part():
    with pytest.raises(wb.InvalidProblem, match="A is complex; the workbench solves real systems"):
        wb.problems.from_matrix(np.array([[2.0, 1j], [0.0, 2.0]]), np.ones(2))
    with pytest.raises(wb.InvalidProblem, match="b is complex"):
        wb.problems.from_matrix(sp.identity(2, format="csr"), np.array([1.0, 1j]))
    with pytest.raises(wb.InvalidProblem, match="x0 must be a numeric vector"):
        wb.problems.from_matrix(np.eye(2), np.ones(2), x0="ab")


def test_shifted_laplacian_sequence_matches_the_reference_setup():
    seq = wb.problems.shifted_laplacian_sequence("high", m=10, instances=4000, seed=0)
    c = seq.contexts
    assert len(seq) == 4000 and c.min() >= -0.15 and c.max() <= 0.45
    # Beta(0.5, 1.5) has mean 1/4, so c has mean -0.15 + 0.6/4 = 0
    assert c.mean() == pytest.approx(0.0, abs=0.01)
    low = wb.problems.shifted_laplacian_sequence("low", instances=4000)
    assert low.contexts.mean() == pytest.approx(-0.15 + 0.6 * 0.25, abs=0.01)
    assert low.contexts.std() < c.std()
    inst = seq.instance(7)
    assert inst.n == 100 and "spd" in inst.properties
    ev = np.linalg.eigvalsh(inst.A.toarray())
    assert ev[0] > 0
    # the Jacobi radius given for the overlay is the true one
    J = np.eye(100) - np.diag(1 / inst.A.diagonal()) @ inst.A.toarray()
    assert np.max(np.abs(np.linalg.eigvals(J))) == pytest.approx(seq.rho_jacobi(7), rel=1e-10)
    assert theory.jacobi_spectral_radius(inst) == pytest.approx(seq.rho_jacobi(7))


def test_dominance_must_be_strict_in_every_irreducible_block():
    # Weakly dominant in every row and strictly in the last, yet singular (eigenvalues 0, 2, 2):
    # its first block {0, 1} has no strictly dominant row. It must not be called spd.
    singular = wb.problems.from_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]), [1, 2, 1])
    assert singular.properties == {"symmetric"}
    # An explicit zero is no edge: the same matrix with stored zeros linking the blocks
    linked = sp.csr_matrix((np.array([1.0, 1, 0, 1, 1, 0, 0, 0, 2]),
                            (np.repeat([0, 1, 2], 3), np.tile([0, 1, 2], 3))), shape=(3, 3))
    assert "spd" not in wb.problems.from_matrix(linked).properties
    # Reducible but dominant in each block: upper triangular [[1, -1], [0, 1]] (Jacobi's matrix is
    # nilpotent) and a diagonal matrix
    assert "diagonally_dominant" in wb.problems.from_matrix(np.array([[1.0, -1.0], [0.0, 1.0]])).properties
    assert {"spd", "diagonally_dominant"} <= wb.problems.from_matrix(np.diag([1.0, 2.0, 3.0])).properties


def test_from_matrix_copies_the_callers_arrays():
    A = sp.csr_matrix(np.array([[4.0, 1.0], [1.0, 3.0]]))
    b = np.array([1.0, 2.0])
    prob = wb.problems.from_matrix(A, b)
    A.data[:] = [4.0, -100.0, 5.0, 3.0]
    b *= 100
    assert prob.A.toarray().tolist() == [[4.0, 1.0], [1.0, 3.0]]
    assert prob.b.tolist() == [1.0, 2.0] and prob.b_norm == pytest.approx(math.sqrt(5))
    # canonicalising (summing duplicates, sorting) leaves the caller's matrix as it was
    unsorted = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), np.array([0, 2, 3])), shape=(2, 2))
    wb.problems.from_matrix(unsorted)
    assert unsorted.indices.tolist() == [1, 0, 1]
