"""Saddle points of games: gradient descent-ascent spirals out, extragradient and its anchored and
optimistic variants spiral in."""
from __future__ import annotations

TITLE = "Games and fixed points"
DESCRIPTION = ("GDA, extragradient, optimistic GDA, the extra-anchored gradient and Halpern's iteration on a "
               "bilinear game: the paths spiral over the contours of ||F(z)||^2, and the residual ||F(z)|| "
               "falls (or grows) live.")

PROBLEMS = ["bilinear_game"]
PROBLEM_PARAMS = {"bilinear_game": {"n": 1}}


def _notes(race) -> str:
    problem = race.problem
    lines = [f"**{problem.name}**: {problem.dim} variables; the saddle point is the star, the residual "
             "||F(z)|| is each method's exit test."]
    if problem.dim == 2:
        lines.append("With one variable per player the paths show the whole story: GDA's spiral grows by "
                     "sqrt(1 + eta^2) a step whatever eta; extragradient's shrinks; the anchored methods are "
                     "pulled back towards the start early on and then converge like 1/k.")
    else:
        lines.append("The map draws 2-D problems only: set n = 1 to see the spirals.")
    lines.append("Add regularization (a strongly monotone part) and GDA converges too.")
    return "  \n".join(lines)


def page():
    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.optim_views import TrajectoryMap

    paths = TrajectoryMap()
    paths.figure.title.text = "Paths over log10 ||F(z)||^2 / 2 contours"
    fp = wb.fixedpoint
    return Race(
        {"GDA": fp.GDA(lr=0.3), "Extragradient": fp.Extragradient(lr=0.3), "Optimistic GDA": fp.OptimisticGDA(lr=0.3),
         "Anchored EG": fp.AnchoredExtragradient(), "Halpern": fp.Halpern()},
        PROBLEMS, problem_params=PROBLEM_PARAMS, metrics=["residual"], notes=_notes,
        companions=[paths], observers=[paths.observe], title="Games", max_steps=2000, rtol=1e-6, plot_height=260,
    )
