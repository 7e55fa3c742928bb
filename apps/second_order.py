"""Second-order methods against GD: Newton's step rules, lazy Hessians, FOSI and M-FAC, by cost."""
from __future__ import annotations

TITLE = "Second-order methods"
DESCRIPTION = ("Pure and damped (AICN) Newton, cubic Newton with lazy Hessians, FOSI and M-FAC against GD, "
               "live, plotted against cost in gradient-equivalents (a Hessian costs dim gradients): "
               "few expensive steps against many cheap ones.")

PROBLEMS = ["logistic_regression", "quadratic", "rosenbrock"]
PROBLEM_PARAMS = {"quadratic": {"dim": 50, "condition": 1000.0}, "rosenbrock": {"dim": 10}}


def _notes(race) -> str:
    problem = race.problem
    d = problem.dim
    lines = [f"**{problem.name}**: {d} variables, so a dense Hessian costs **{d}** gradients on the cost axis. "
             "The lanes stop at gradient norm 1e-8."]
    name = problem.name
    if name.startswith("logistic"):
        lines.append("Newton needs 6 steps but pays a Hessian for each; the lazy method refreshes its Hessian "
                     f"only every {d} steps, takes 4x the steps and still does less work (89 against 127 "
                     "gradient-equivalents). GD needs hundreds of steps.")
    elif name.startswith("quadratic"):
        lines.append("Pure Newton solves a quadratic in one step whatever its condition number; AICN damps its "
                     "first steps. FOSI takes the 5 stiffest directions out of its heavy-ball base's way "
                     "(with GD as the base, the stable step grows from 2/lambda_1 to 2/lambda_6).")
    elif name.startswith("rosenbrock"):
        lines.append("Nonconvex: pure Newton meets negative curvature and stops with what to change; the AICN "
                     "step and the cubic step of the lazy method converge. GD at lr = 1 diverges: lower it "
                     "to 1e-3 on its card to watch it crawl.")
    lines.append("Switch the x axis between cost, iteration and wall time: the ranking changes.")
    return "  \n".join(lines)


def page():
    import workbench as wb
    from workbench.ui import Race

    return Race(
        {"GD": wb.optim.GD(lr=1.0),
         "Newton": wb.optim.DampedNewton(step_rule="fixed"),
         "Newton (AICN)": wb.optim.DampedNewton(),
         "Lazy Newton": wb.optim.LazyNewton(),
         "FOSI": wb.optim.FOSI(lr=0.5, rank=5, alpha=1.0, warmup=0, update_every=50),
         "M-FAC": wb.optim.MFAC()},
        PROBLEMS, problem_params=PROBLEM_PARAMS, metrics=["grad_norm", "suboptimality"],
        x_axis="cost", cost_axis=True, notes=_notes, title="Second order",
        atol=1e-8, max_steps=3000, plot_height=260,
    )
