import json

import pytest

import workbench as wb


def test_registry_lists_and_builds():
    assert {"jacobi", "gauss_seidel", "sor", "ssor", "cg", "pcg", "chebyshev"} <= set(wb.methods())
    assert {"poisson1d", "poisson2d", "poisson3d", "random_spd", "matrix_market"} <= set(wb.problems_list())
    m = wb.get_method("SOR", omega=1.5)
    assert isinstance(m, wb.linear.SOR) and m.omega == 1.5


def test_unknown_names_suggest_close_ones():
    with pytest.raises(wb.UnknownName, match="Did you mean sor"):
        wb.get_method("sorr")
    with pytest.raises(wb.UnknownName, match="workbench list"):
        wb.get_problem("poison9d")


def test_bad_parameters_are_invalid_parameter():
    with pytest.raises(wb.InvalidParameter, match="has no parameter colour"):
        wb.get_method("sor", colour="red")
    with pytest.raises(wb.InvalidParameter, match="must be less than 2.0"):
        wb.get_method("sor", omega=2.5)
    with pytest.raises(wb.InvalidParameter):
        wb.get_problem("poisson2d", n=1)


def test_run_spec_roundtrip_replays_the_same_run():
    res = wb.run(wb.linear.SOR(omega=1.7), wb.problems.poisson2d(12, seed=3), rtol=1e-9)
    spec = json.loads(json.dumps(res.spec()))  # plain data
    replay = wb.from_spec(spec).run()
    assert replay.iterations == res.iterations
    assert replay.spec() == res.spec()


def test_malformed_specs():
    with pytest.raises(wb.MalformedInput, match="'kind'"):
        wb.from_spec({"name": "sor"})
    with pytest.raises(wb.MalformedInput, match="no 'name' key"):
        wb.from_spec({"kind": "method"})
    with pytest.raises(wb.MalformedInput):
        wb.from_spec(["sor"])


def test_hand_built_problem_has_no_spec_but_runs():
    import numpy as np

    prob = wb.problems.from_matrix(np.array([[4.0, -1.0], [-1.0, 4.0]]), [1.0, 2.0])
    res = wb.run(wb.linear.CG(), prob)
    assert res.converged and res.problem_spec is None
    with pytest.raises(wb.MalformedInput, match="built by hand"):
        prob.spec()
