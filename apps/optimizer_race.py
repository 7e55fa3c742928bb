"""Race optimizers on one objective: trajectories on the contour map, loss, and the D estimates."""
from __future__ import annotations

TITLE = "Optimizer race"
DESCRIPTION = ("GD, heavy ball, Adam, DoG and Prodigy on the same objective, live: their paths "
               "over the contour map of a 2-D function, loss against iteration or time, and each "
               "learning-rate-free method's distance estimate D against the true ||x0 - x*||.")

PROBLEMS = ["rosenbrock", "beale", "quadratic", "rastrigin", "logistic_regression"]


def _notes(race) -> str:
    from workbench.ui.optim_views import true_distance_of

    problem = race.problem
    lines = [f"**{problem.name}**: {problem.dim} variables."]
    reference = true_distance_of(problem)
    if reference is not None:
        d = reference[0]
        lines.append(f"True distance to the minimiser D = ||x0 - x*|| = **{d:.4g}** (dashed on the D plot). "
                     "DoG and Prodigy start from a tiny D estimate and grow it; a good estimate "
                     "settles near the dashed line.")
    else:
        lines.append("The minimiser is not known here, so the D plot has no reference line.")
    lines.append("Step sizes are per method (cards on the left); they take effect at the next step.")
    return "  \n".join(lines)


def page():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.optim_views import MetricPanel, TrajectoryMap, true_distance_of

    trajectories = TrajectoryMap()
    d_panel = MetricPanel("d_estimate", title="D estimate (DoG, Prodigy) vs the true distance",
                          reference=true_distance_of)
    race = Race(
        {"GD": wb.optim.GD(lr=0.001), "Heavy ball": wb.optim.HeavyBall(lr=0.001, momentum=0.9),
         "Adam": wb.optim.Adam(lr=0.05),
         "DoG": wb.optim.DoG(), "Prodigy": wb.optim.Prodigy()},
        PROBLEMS,
        problem_params={"quadratic": {"dim": 2, "condition": 20.0, "lambda_max": 1.0},
                        "logistic_regression": {"n": 200, "d": 10}},
        metrics=["loss"], notes=_notes,
        companions=[d_panel, trajectories], observers=[trajectories.observe],
        # beta3 defaults to None (= sqrt(beta2)) and growth_rate to infinity: no slider can show those
        method_widgets={"Prodigy": {"beta3": pn.widgets.LiteralInput, "growth_rate": pn.widgets.LiteralInput},
                        "DoG": {"r_eps": pn.widgets.LiteralInput}},
        max_steps=20_000, plot_height=260, title="Optimizers",
    )
    return race
