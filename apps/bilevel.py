"""Bilevel problems: tune ridge penalties on validation data with a first-order penalty method, against
the implicit hypergradient that needs Hessians."""
from __future__ import annotations

TITLE = "Bilevel: penalties and hypergradients"
DESCRIPTION = ("Learn one ridge penalty per feature from validation data: the penalty method uses gradients "
               "only (one lower step per upper step, the single loop), the implicit hypergradient also the "
               "lower level's Hessians. Move sigma and watch the bias that is left.")

PROBLEMS = ["ridge_hyperparameters", "quadratic_bilevel"]


def _notes(race) -> str:
    problem = race.problem
    lines = [f"**{problem.name}**: {problem.dim} upper and {problem.lower_dim} lower variables. Every lane is "
             "measured by the exact lower solution: F(x) is the true upper objective, and the hypergradient "
             "norm shows how far from stationary x is."]
    meta = problem.metadata
    if "best_scalar_validation_loss" in meta:
        lines.append(f"The best single ridge penalty reaches a validation loss of "
                     f"**{meta['best_scalar_validation_loss']:.4f}** (the noise floor is {meta['noise_floor']:.3f}); "
                     "one penalty per feature goes below it, by shrinking the unshaded features hard.")
    else:
        lines.append("The solution x* is known (the diamonds). With sigma = 100 the penalty lanes stop about "
                     "0.1 away from it: that is the O(1/sigma) bias, and raising sigma tenfold cuts it tenfold.")
    lines.append("On the cost axis a Hessian pair counts as many gradients as there are lower variables.")
    return "  \n".join(lines)


def page():
    import workbench as wb
    from workbench.ui import IterateBars, Race

    bars = IterateBars()
    bl = wb.bilevel
    return Race(
        {"Penalty, single loop": bl.PenaltyBilevel(sigma=100.0, lr=1.0),
         "Penalty, 10 inner steps": bl.PenaltyBilevel(sigma=100.0, lr=1.0, inner_steps=10),
         "Implicit hypergradient": bl.ImplicitHypergradient(lr=1.0)},
        PROBLEMS, metrics=["hyper_objective", "hypergradient_norm"], x_axis="cost", cost_axis=True,
        notes=_notes, companions=[bars], title="Bilevel", max_steps=3000, rtol=1e-6, plot_height=240,
    )
