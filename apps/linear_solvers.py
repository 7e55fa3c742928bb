"""Race the classic linear solvers on one problem, with omega* and the predicted rates."""
from __future__ import annotations

TITLE = "Linear solvers race"
DESCRIPTION = ("Jacobi, Gauss-Seidel, SOR(omega), SSOR, CG and PCG on the same system, live; "
               "move omega mid-run and compare with omega* and the predicted rates.")

PROBLEMS = ["poisson2d", "poisson1d", "anisotropic2d", "convection_diffusion2d", "random_spd"]
SIZES = [8, 16, 24, 32, 48, 64, 96, 128, 256]


def _notes(race) -> str:
    """omega*, rho_J and each method's predicted rate, for the problem on screen."""
    from workbench.linear import theory
    from workbench.ui.overlays import linear_rate

    problem = race.problem
    lines = [f"**{problem.name}**: {problem.n} unknowns."]
    try:
        rho = theory.jacobi_spectral_radius(problem)
        lines.append(f"Jacobi spectral radius rho_J = {rho:.5f}.")
        if "consistently_ordered" in problem.properties and rho < 1:
            w_star = theory.optimal_omega(rho)
            lines.append(f"Young: **omega\\* = {w_star:.4f}**, where SOR's rate is omega\\* - 1 = {w_star - 1:.4f} "
                         f"(Gauss-Seidel: rho_J^2 = {rho ** 2:.5f}).")
        else:
            lines.append("The matrix is not consistently ordered: Young's omega* formula does not apply.")
        if "symmetric" not in problem.properties:
            lines.append("The matrix is not symmetric, and far from normal at a high Peclet number: rho_J and "
                         "omega* describe the rate in the limit only. Residuals can first grow a millionfold "
                         "(SOR above omega*, Jacobi), so no predicted-rate lines are drawn.")
    except Exception as exc:  # theory unavailable for this matrix
        lines.append(f"(no spectral estimate: {exc})")
    rates = []
    for lane in race.lanes:
        rate = linear_rate(lane.method, problem)
        if rate is not None:
            rates.append(f"{lane.label} {rate:.4f}")
    if rates:
        lines.append("Predicted rate per iteration (dashed lines): " + ", ".join(rates) + ".")
    return "  \n".join(lines)


def page():
    import panel as pn

    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.overlays import predicted_rate

    size = {"n": {"type": pn.widgets.DiscreteSlider, "options": SIZES}}
    race = Race(
        {"Jacobi": wb.linear.Jacobi(), "Gauss-Seidel": wb.linear.GaussSeidel(),
         "SOR": wb.linear.SOR(omega=1.5), "SSOR": wb.linear.SSOR(omega=1.5),
         "CG": wb.linear.CG(), "PCG": wb.linear.PCG(preconditioner="ssor")},
        PROBLEMS, problem_params={"poisson2d": {"n": 32}, "poisson1d": {"n": 64}},
        problem_widgets={"poisson2d": size, "anisotropic2d": size, "convection_diffusion2d": size,
                         "poisson1d": {"n": {"type": pn.widgets.DiscreteSlider,
                                             "options": [16, 32, 64, 128, 256, 512, 1024]}}},
        overlays=[predicted_rate()], notes=_notes, rtol=1e-8, max_steps=50_000,
        title="Solvers",
    )

    said = pn.pane.Markdown("", css_classes=["wb-omega-star-status"], sizing_mode="stretch_width", margin=(0, 10))

    def set_optimal(event):
        from workbench.linear import theory

        problem = race.problem
        try:
            rho = theory.jacobi_spectral_radius(problem)
        except Exception as exc:  # no spectral estimate for this matrix
            said.object = f"No omega* for {problem.name}: the Jacobi spectral radius is not available ({exc})."
            return
        if "consistently_ordered" not in problem.properties or not rho < 1:
            # the notes say the same: Young's formula is a theorem about these matrices only
            said.object = (f"Young's omega* does not apply to {problem.name} (not consistently ordered, or "
                           "rho_J >= 1); SOR's omega is left as it is.")
            return
        race.lanes[2].method.omega = round(theory.optimal_omega(rho), 4)
        # (named: the sentence stays when the problem changes, and must stay true)
        said.object = f"SOR's omega set to omega* = {race.lanes[2].method.omega:.4f} of {problem.name}."

    button = pn.widgets.Button(name="Set SOR omega to omega*", button_type="primary",
                               sizing_mode="stretch_width")
    button.on_click(set_optimal)
    return pn.Row(race.sidebar(button, said, width=340), race.main(), sizing_mode="stretch_width")
