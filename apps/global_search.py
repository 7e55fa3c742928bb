"""Global search without gradients: consensus-based optimisation against GD and heavy ball."""
from __future__ import annotations

TITLE = "Global search (CBO)"
DESCRIPTION = ("A swarm of particles drifting to a Gibbs-weighted mean and exploring around it (consensus-based "
               "optimisation, function values only) and evolution strategies against GD and heavy ball on Rastrigin's many local minima: "
               "the particles and the paths live over the contour map.")

PROBLEMS = ["rastrigin", "beale", "rosenbrock"]
PROBLEM_PARAMS = {"rastrigin": {"dim": 2, "start": [3.0, 3.0]}}


def _notes(race) -> str:
    problem = race.problem
    lines = [f"**{problem.name}**: {problem.dim} variables."]
    if problem.name.startswith("rastrigin"):
        lines.append("Every integer point is nearly a local minimum. GD and heavy ball roll into the one nearest the "
                     "start; the swarm's consensus finds the global minimum at the origin (the star) and the "
                     "particles gather there. Lower sigma on the CBO card to 0.5 and reset: the swarm then settles "
                     "in the local minimum next to the origin (on 5 of 6 seeds). Evolution strategies follow the gradient "
                     "of f smoothed over a radius sigma: at 0.5 the ripples vanish, at 0.1 they trap it too.")
    lines.append("CBO's answer is its consensus point (the path); its loss is f there. It spends N + 1 function "
                 "values a step and no gradient.")
    return "  \n".join(lines)


def page():
    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.optim_views import SwarmMap

    swarm = SwarmMap(resolution=160)  # Rastrigin has a period of 1: 60 samples over [-5, 5] alias it
    return Race(
        {"CBO": wb.dfo.ConsensusBasedOptimization(),
         "ES": wb.dfo.EvolutionStrategies(sigma=0.5),
         "GD": wb.optim.GD(lr=0.002),
         "Heavy ball": wb.optim.HeavyBall(lr=0.002, momentum=0.9)},
        PROBLEMS, problem_params=PROBLEM_PARAMS, metrics=["loss"], notes=_notes,
        companions=[swarm], observers=[swarm.observe], title="Global search", atol=1e-4, max_steps=3000,
        plot_height=260,
    )
