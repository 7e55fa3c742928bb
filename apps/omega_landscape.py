"""The omega landscape: iterations to tolerance vs omega, filled in while you watch."""
from __future__ import annotations

TITLE = "The omega landscape"
DESCRIPTION = ("Iterations-to-tolerance of SOR against omega, measured run by run while you watch, "
               "next to Young's theoretical curve and omega*; your own SOR run is marked on it.")


def page():
    import panel as pn

    import workbench as wb
    from workbench.ui import LiveRun, OmegaLandscape
    from workbench.ui.overlays import predicted_rate

    rtol = 1e-6
    landscape = OmegaLandscape(rtol=rtol, max_steps=2000)
    live = LiveRun(
        wb.linear.SOR(omega=1.0), wb.problems.poisson2d(24),
        problem_widgets={"*": {"n": {"type": pn.widgets.DiscreteSlider, "options": [8, 12, 16, 24, 32, 48, 64]}}},
        overlays=[predicted_rate()], companions=[landscape], rtol=rtol, max_steps=20000, plot_height=260,
    )
    intro = pn.pane.Markdown(
        "Each dot is one SOR solve to a relative residual of 1e-6 at that omega; the dashed curve is "
        "Young's prediction log(rtol) / log rho(omega). The minimum sits at omega* (green). "
        "Move **Omega** to put your own run (orange, residual below) anywhere on the landscape.",
        sizing_mode="stretch_width")
    return pn.Row(live.sidebar(),
                  pn.Column(intro, live.readout(), landscape.view(), *live.plot_panes(), live.events_pane,
                            sizing_mode="stretch_width"),
                  sizing_mode="stretch_width")
