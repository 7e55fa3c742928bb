"""A run's message says what its status hides: converged on the gradient at a local minimum."""
import workbench as wb


def test_a_stop_at_a_local_minimum_says_so():
    prob = wb.problems.rastrigin(dim=2, start=[3.0, 3.0])
    res = wb.run(wb.optim.GD(lr=0.001), prob, rtol=1e-4, max_steps=5000)
    assert res.converged and res.final["loss"] > 17  # the nearest local minimum, f* = 0
    assert "stationary point" in res.message and "f - f* = 17.91" in res.message


def test_no_such_note_on_the_minimum_or_while_still_descending():
    at_minimum = wb.run(wb.optim.GD(lr=0.001), wb.problems.rastrigin(dim=2, start=[0.01, 0.0]), rtol=1e-6,
                        max_steps=5000)
    assert at_minimum.converged and "stationary point" not in at_minimum.message
    descending = wb.run(wb.optim.GD(lr=0.001), wb.problems.rosenbrock(), max_steps=200)
    assert "stationary point" not in descending.message
    convex = wb.run(wb.optim.GD(lr=0.1), wb.problems.quadratic(condition=1e4), max_steps=100)
    assert "stationary point" not in convex.message
