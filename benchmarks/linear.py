"""Linear-solver benchmarks, printed as ratios against the reference libraries.

    python benchmarks/linear.py [--n 1000]

* SOR through the workbench Runner vs a bare PyAMG ``sor`` loop (the driver's overhead);
* the numba red-black kernel vs PyAMG's CSR sweep (unknown-updates per second);
* CG and AMG-PCG through the Runner vs ``scipy.sparse.linalg.cg`` and PyAMG's ``solve``.
"""
from __future__ import annotations

import argparse

import numpy as np

from _timing import best_of


def main(argv=None):
    import pyamg
    import scipy.sparse.linalg as sla
    from pyamg.relaxation.relaxation import sor

    import workbench as wb
    from workbench.linear.kernels.redblack import redblack_sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="grid side for the sweep benchmark (n^2 unknowns)")
    ap.add_argument("--sweeps", type=int, default=20)
    args = ap.parse_args(argv)
    rows = []

    # 1. sweep throughput at n^2 unknowns
    prob = wb.problems.poisson2d(args.n)
    N = prob.n
    x = np.zeros(N)
    t_pyamg = best_of(lambda: sor(prob.A, x, prob.b, 1.9, iterations=args.sweeps))
    redblack_sweep(x.copy(), prob.b, 1.9, args.n, 2)  # compile
    t_numba = best_of(lambda: [redblack_sweep(x, prob.b, 1.9, args.n, 2) for _ in range(args.sweeps)])
    mu_pyamg = N * args.sweeps / t_pyamg / 1e6
    mu_numba = N * args.sweeps / t_numba / 1e6
    rows.append((f"SOR sweep, {N:,} unknowns", "PyAMG sor (CSR)", f"{mu_pyamg:.0f} M upd/s",
                 f"numba red-black {mu_numba:.0f} M upd/s", mu_numba / mu_pyamg))

    # 2. Runner overhead on a small SOR solve
    small = wb.problems.poisson2d(64)

    def bare():
        x = small.x0.copy()
        target = 1e-8 * np.linalg.norm(small.b)
        while np.linalg.norm(small.b - small.A @ x) > target:
            sor(small.A, x, small.b, 1.9, iterations=1)

    t_bare = best_of(bare)
    t_ours = best_of(lambda: wb.run(wb.linear.SOR(omega=1.9), small, rtol=1e-8))
    rows.append(("SOR solve, 4,096 unknowns", "bare PyAMG loop", f"{t_bare * 1e3:.1f} ms",
                 f"wb.run {t_ours * 1e3:.1f} ms", t_bare / t_ours))

    # 3. CG vs SciPy
    mid = wb.problems.poisson2d(256)
    t_scipy = best_of(lambda: sla.cg(mid.A, mid.b, rtol=1e-8, atol=0.0))
    t_cg = best_of(lambda: wb.run(wb.linear.CG(), mid, rtol=1e-8))
    rows.append(("CG, 65,536 unknowns", "scipy cg", f"{t_scipy * 1e3:.1f} ms", f"wb CG {t_cg * 1e3:.1f} ms",
                 t_scipy / t_cg))

    # 4. AMG-PCG vs PyAMG solve (setup included in both)
    def pyamg_solve():
        ml = pyamg.smoothed_aggregation_solver(mid.A)
        ml.solve(mid.b, tol=1e-8, accel="cg")

    t_ref = best_of(pyamg_solve)
    t_amg = best_of(lambda: wb.run(wb.linear.PCG(preconditioner="amg"), mid, rtol=1e-8))
    rows.append(("AMG-PCG, 65,536 unknowns", "pyamg solve(accel=cg)", f"{t_ref * 1e3:.1f} ms",
                 f"wb PCG(amg) {t_amg * 1e3:.1f} ms", t_ref / t_amg))

    print(f"{'case':30s} {'reference':24s} {'ref':>14s}   {'workbench':28s} {'speed ratio':>11s}")
    for case, ref, ref_v, ours, ratio in rows:
        print(f"{case:30s} {ref:24s} {ref_v:>14s}   {ours:28s} {ratio:>10.2f}x")
    print("speed ratio = reference time / workbench time (> 1: workbench faster)")


if __name__ == "__main__":
    main()
