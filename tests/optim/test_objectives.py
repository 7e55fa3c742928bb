"""Objectives: gradients and Hessian-vector products against finite differences, minimisers, errors."""
import numpy as np
import pytest

import workbench as wb

CASES = [
    ("quadratic", {"dim": 8, "condition": 20.0}),
    ("quadratic", {"dim": 8, "condition": 20.0, "rotate": False}),
    ("rosenbrock", {"dim": 5}),
    ("beale", {}),
    ("rastrigin", {"dim": 3}),
    ("logistic_separable", {"n": 50, "d": 4}),
    ("logistic_regression", {"n": 60, "d": 5}),
    ("logistic_regression", {"dataset": "breast_cancer"}),
    ("least_squares", {"n": 30, "d": 6}),
    ("matrix_sensing", {"n": 5, "rank": 2}),
    ("matrix_sensing", {"n": 5, "rank": 2, "k": 3, "symmetric": False}),
    ("mlp_digits", {"width": 8, "activation": "tanh", "n_train": 100}),
]


def _point(prob, seed=0):
    rng = np.random.default_rng(seed)
    return prob.x0 + 0.3 * rng.standard_normal(prob.dim)


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_gradient_and_hvp_match_finite_differences(name, params):
    prob = wb.get_problem(name, **params)
    assert prob.kind == "objective" and prob.dim == prob.x0.size
    x = _point(prob)
    v = np.random.default_rng(1).standard_normal(prob.dim)
    f, g = prob.value_and_grad(x)
    assert f == pytest.approx(prob.value(x), rel=1e-12)
    np.testing.assert_allclose(g, prob.grad(x), rtol=1e-12, atol=1e-14)
    h = 1e-6
    fd = (prob.value(x + h * v) - prob.value(x - h * v)) / (2 * h)
    assert fd == pytest.approx(g @ v, rel=1e-5, abs=1e-8)
    if prob.has_hvp:
        hd = (prob.grad(x + h * v) - prob.grad(x - h * v)) / (2 * h)
        np.testing.assert_allclose(prob.hvp(x, v), hd, rtol=1e-4, atol=1e-6 * np.abs(hd).max())
    f2, g2, extras = prob.evaluate(x)
    assert f2 == pytest.approx(f) and np.allclose(g2, g)
    assert extras == pytest.approx(prob.extra_metrics(x))


@pytest.mark.parametrize("name,params", [c for c in CASES if c[0] not in ("logistic_separable", "matrix_sensing", "mlp_digits")])
def test_x_star_is_stationary_with_value_f_star(name, params):
    prob = wb.get_problem(name, **params)
    assert np.linalg.norm(prob.grad(prob.x_star)) < 1e-6
    assert prob.value(prob.x_star) == pytest.approx(prob.f_star, abs=1e-10)


def test_quadratic_has_the_requested_spectrum_and_distance():
    prob = wb.problems.quadratic(dim=30, condition=1e3, lambda_max=2.0, distance=4.0, seed=2)
    eig = np.linalg.eigvalsh(prob.H)
    assert eig.max() == pytest.approx(2.0) and eig.max() / eig.min() == pytest.approx(1e3)
    assert np.linalg.norm(prob.x0 - prob.x_star) == pytest.approx(4.0)


def test_separable_data_have_the_margin():
    prob = wb.problems.logistic_separable(n=300, d=5, margin=0.2, seed=3)
    u = np.array(prob.metadata["separator"])
    assert np.min(prob.signed_features @ u) >= 0.2 - 1e-12
    assert prob.extra_metrics(u)["misclassified"] == 0
    assert prob.extra_metrics(np.zeros(5))["misclassified"] == 300


def test_matrix_sensing_recovery_error_and_blocks():
    prob = wb.problems.matrix_sensing(n=6, rank=2, k=3, symmetric=False)
    assert [s for _, s in prob.blocks] == [(6, 3), (6, 3)]
    assert prob.extra_metrics(prob.x0)["recovery_error"] == pytest.approx(1.0, abs=0.05)  # small init


def test_mlp_digits_reports_accuracies():
    prob = wb.problems.mlp_digits(width=8, n_train=200)
    assert prob.backend == "torch"
    res = wb.run(wb.optim.Adam(lr=0.05), prob, max_steps=60)
    assert res.final["train_accuracy"] > 0.8 and 0.0 < res.final["test_accuracy"] <= 1.0


def test_from_functions_wraps_user_code():
    obj = wb.problems.from_functions(lambda x: float(x @ x), lambda x: 2 * x, x0=[1.0, -2.0],
                                     x_star=[0.0, 0.0], f_star=0.0)
    res = wb.run(wb.optim.GD(lr=0.25), obj, max_steps=20)
    assert res.final["loss"] < 1e-10
    with pytest.raises(wb.InvalidProblem, match="shape"):
        wb.problems.from_functions(lambda x: 0.0, lambda x: np.zeros(3), x0=[1.0, 2.0])


def test_bad_inputs_raise_workbench_errors():
    with pytest.raises(wb.InvalidParameter, match="start has 3 entries"):
        wb.problems.rosenbrock(start=[1.0, 2.0, 3.0])
    with pytest.raises(wb.InvalidParameter, match="rotate=False"):
        wb.problems.quadratic(dim=5000)
    with pytest.raises(wb.InvalidParameter, match="rank"):
        wb.problems.matrix_sensing(n=3, rank=5)
    with pytest.raises(wb.InvalidParameter):
        wb.get_problem("quadratic", condition=0.5)


def test_a_function_that_returns_no_number_is_a_sentence_at_x0_and_mid_run():
    import workbench as wb

    for bad, shown in ((lambda x: None, "None"), (lambda x: "a", "'a'")):
        with pytest.raises(wb.InvalidProblem, match=f"f must return a number; at x0 it returned {shown}"):
            wb.problems.from_functions(bad, lambda x: 2 * x, x0=np.ones(3))
    calls = []

    def forgets_to_return(x):  # returns None from its 4th call on
        calls.append(1)
        return float(x @ x) if len(calls) <= 3 else None

    res = wb.run(wb.optim.GD(lr=0.1), wb.problems.from_functions(forgets_to_return, lambda x: 2 * x, x0=np.ones(3)),
                 max_steps=10)
    assert res.status.label == "failed" and "f must return a number; at this x it returned None" in res.message
