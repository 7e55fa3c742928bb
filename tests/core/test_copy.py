"""copy.copy of a method or problem factory is a new object with the same settings: a knob set
on the copy leaves the original alone (param's own shallow copy shared their storage)."""
import copy

import pytest

import workbench as wb


@pytest.mark.parametrize("obj,name,value", [
    (wb.linear.SOR(omega=1.5), "omega", 1.2),
    (wb.sparse.IHT(k=3), "k", 2),
    (wb.fixedpoint.Extragradient(), "lr", 0.25),
    (wb.optim.Adam(lr=0.1), "lr", 0.05),
    (wb.bilevel.PenaltyBilevel(), "sigma", 7.0),
    (wb.core.get_problem_factory("quadratic")(dim=4), "dim", 6),
], ids=["sor", "iht", "extragradient", "adam", "penalty_bilevel", "quadratic_factory"])
def test_a_copy_is_independent_of_its_original(obj, name, value):
    before = getattr(obj, name)
    twin = copy.copy(obj)
    settings = lambda o: {k: v for k, v in o.param.values().items() if k != "name"}  # noqa: E731
    assert type(twin) is type(obj) and settings(twin) == settings(obj)
    setattr(twin, name, value)
    assert getattr(twin, name) == value and getattr(obj, name) == before
