"""Race the classic linear solvers on one problem, with omega* and the predicted rates."""
from __future__ import annotations

TITLE = "Linear solvers race"
DESCRIPTION = ("Jacobi, Gauss-Seidel, SOR(omega), SSOR, CG and PCG on the same system, live; "
               "move omega mid-run and compare with omega* and the predicted rates.")


def page():
    import workbench as wb
    from workbench.ui import Race
    from workbench.ui.overlays import predicted_rate

    return Race(
        {"Jacobi": wb.linear.Jacobi(), "Gauss-Seidel": wb.linear.GaussSeidel(),
         "SOR": wb.linear.SOR(omega=1.5), "SSOR": wb.linear.SSOR(omega=1.5),
         "CG": wb.linear.CG(), "PCG": wb.linear.PCG(preconditioner="ssor")},
        ["poisson2d"], overlays=[predicted_rate()], rtol=1e-8, max_steps=20000,
    )
