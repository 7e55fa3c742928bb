"""Krylov recycling: CG on every system of a sequence vs recycling its slow eigenvectors, and sorting first."""
from __future__ import annotations

TITLE = "Krylov recycling"
DESCRIPTION = ("A sequence of related SPD systems solved by CG from scratch, by deflated CG recycling the "
               "Ritz vectors of the slow eigenvalues from solve to solve, and sorted by their parameter "
               "first (Sorting Krylov Recycling): matvecs per system and in total, live.")

PROBLEMS = ["rotated_anisotropic_sequence", "shifted_laplacian_sequence", "heat_sequence"]
#: Sequence sizes for the page: a system solves in milliseconds, so a lane advances tens of systems a second.
PROBLEM_PARAMS = {"rotated_anisotropic_sequence": {"m": 32, "instances": 120},
                  "shifted_laplacian_sequence": {"m": 24, "instances": 120},
                  "heat_sequence": {"m": 24, "instances": 120}}


def _notes(race) -> str:
    problem = race.problem
    first = problem.instance(0)
    lines = [f"**{problem.name}**: {len(problem)} systems of {first.n} unknowns; the table gives each lane's "
             "matvecs so far (forming A W for the recycled basis included)."]
    if "rotated_anisotropic" in problem.name:
        lines.append("The direction of strong diffusion turns with each system's angle, and the slow "
                     "eigenvectors with it: a basis recycled in the random order drawn helps a little; sorted by "
                     "angle, consecutive systems are close and it helps more (1.5-1.8x fewer matvecs).")
    else:
        lines.append("Every matrix of this sequence is I or the Laplacian shifted and scaled, with the Laplacian's "
                     "eigenvectors: the recycled Ritz vectors stay exact, and sorting adds nothing.")
    lines.append("Fewer matvecs is not less time here: each deflated step costs about 8k flops per unknown "
                 "against 10-18 for these stencils (see docs/recycling.md).")
    return "  \n".join(lines)


def page():
    import workbench as wb
    from workbench.ui import Race

    return Race(
        {"CG on every system": wb.linear.KrylovRecycling(recycle=0),
         "recycled": wb.linear.KrylovRecycling(),
         "sorted, then recycled": wb.linear.KrylovRecycling(order="sorted")},
        PROBLEMS, problem_params=PROBLEM_PARAMS, metrics=["cumulative_matvecs", "system_matvecs"], log_y=False,
        notes=_notes, title="Recycling", max_steps=100_000,
    )
