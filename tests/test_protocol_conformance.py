"""Protocol conformance of every registered method, whatever its family.

For each method: ``init`` works on a small example problem of its kind, one
step changes the iterate, the metrics are finite numbers, the stop metric is
among them, and the method's spec round-trips through ``from_spec``.
"""
import dataclasses
import json

import numpy as np
import pytest

import workbench as wb
from workbench.core import registry

#: A small problem for each problem kind (name, params). A family that adds a
#: new kind adds its example here.
EXAMPLES = {
    "linear": ("poisson2d", {"n": 6}),
    "sequence": ("shifted_laplacian_sequence", {"instances": 6, "m": 6}),
    "objective": ("quadratic", {}),
    "transport": ("point_clouds", {}),
    "sparse_regression": ("compressed_sensing", {}),
    "constrained": ("constrained_quartic", {"dim": 8, "constraints": 3}),
    "operator": ("bilinear_game", {"n": 3}),
    "bilevel": ("quadratic_bilevel", {"upper_dim": 3, "lower_dim": 4}),
}


def _example_problem(method_cls):
    kind = method_cls.problem_kind
    assert kind in EXAMPLES, f"add an example problem of kind {kind!r} to EXAMPLES in {__file__}"
    name, params = EXAMPLES[kind]
    if name not in wb.problems_list():
        # fall back to any registered problem of that kind with its defaults
        candidates = wb.problems_list(kind=kind)
        assert candidates, f"no registered problem of kind {kind!r}"
        name, params = candidates[0], {}
    prob = wb.get_problem(name, **params)
    if not method_cls.supports(prob):
        for other in wb.problems_list(kind=kind):
            prob = wb.get_problem(other)
            if method_cls.supports(prob):
                break
    return prob


def _iterate(state):
    for field in ("x", "w", "z", "potentials", "f"):
        if hasattr(state, field):
            value = getattr(state, field)
            try:
                return np.array(value, dtype=float, copy=True)
            except (TypeError, ValueError):
                continue
    return None


@pytest.mark.parametrize("name", registry.methods())
def test_method_follows_the_protocol(name):
    cls = registry.get_method_class(name)
    method = cls()
    problem = _example_problem(cls)
    state = method.init(problem)
    assert dataclasses.is_dataclass(state), "state must be a plain dataclass"
    before = _iterate(state)
    m0 = method.metrics(problem, state)
    assert method.stop_metric in m0
    state2 = method.step(problem, state)
    after = _iterate(state2)
    m1 = method.metrics(problem, state2)
    if before is not None and after is not None and before.shape == after.shape:
        assert not np.array_equal(before, after), "one step must change the iterate"
    else:
        assert m1 != m0, "one step must change something the metrics see"
    for key, value in m1.items():
        assert isinstance(value, (int, float, np.floating, np.integer)), f"{key} is not a number"
        assert np.isfinite(value) or np.isnan(value) and key != method.stop_metric, f"{key} = {value}"
    spec = json.loads(json.dumps(method.spec()))
    clone = wb.from_spec(spec)
    assert type(clone) is cls and clone.spec() == method.spec()
    assert (cls.__doc__ or "").strip(), f"{name} needs a numpydoc docstring"
