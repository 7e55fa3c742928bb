"""Krylov recycling benchmark: a sequence solved by SciPy's CG system by system, and recycled.

    python benchmarks/recycling.py [--m 32] [--instances 200]

Prints, for the rotated anisotropic diffusion sequence, the total matvecs and wall time of
SciPy's ``cg`` on every system (the reference), of ``KrylovRecycling(recycle=0)`` (the same
CG through the workbench loop), recycled in the order given, and sorted then recycled;
then, for the turning-wind convection-diffusion sequence (instances / 5 systems), SciPy's
``gmres(restart=40)`` against GCRO-DR. Ratios are against SciPy (> 1: fewer matvecs / less
time than SciPy).
"""
from __future__ import annotations

import argparse
import time


def main(argv=None):
    import numpy as np
    import scipy.sparse.linalg as sla

    import workbench as wb

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--m", type=int, default=32, help="grid side (m^2 unknowns)")
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    seq = wb.problems.rotated_anisotropic_sequence(m=args.m, instances=args.instances, seed=args.seed)
    systems = [seq.instance(t) for t in range(len(seq))]  # built once, outside every timing

    t0 = time.perf_counter()
    scipy_matvecs = 0
    for p in systems:
        count = []
        x, info = sla.cg(p.A, p.b, rtol=1e-8, atol=0.0, callback=lambda xk: count.append(1))
        assert info == 0 and np.linalg.norm(p.b - p.A @ x) <= 1.01e-8 * np.linalg.norm(p.b)
        scipy_matvecs += len(count) + 1
    t_scipy = time.perf_counter() - t0

    class Prebuilt(wb.problems.LinearSequence):
        def instance(self, t):
            return systems[t]

    prebuilt = Prebuilt(len(seq), seq.contexts, seq.context_range, name=seq.name)
    rows = []
    for label, settings in [("CG per system (recycle=0)", {"recycle": 0}), ("recycled, order given", {}),
                            ("sorted, then recycled", {"order": "sorted"})]:
        t0 = time.perf_counter()
        res = wb.run(wb.linear.KrylovRecycling(**settings), prebuilt)
        wall = time.perf_counter() - t0
        assert res.converged and np.all(res.state.residual <= 1.5e-8), res.message
        rows.append((label, int(res.final["cumulative_matvecs"]), wall))

    print(f"{seq.name}: {len(seq)} systems of {systems[0].n} unknowns, rtol 1e-8")
    print(f"{'solver':30s} {'matvecs':>9s} {'vs scipy':>9s} {'wall s':>8s} {'vs scipy':>9s}")
    print(f"{'scipy cg per system':30s} {scipy_matvecs:>9d} {1.0:>8.2f}x {t_scipy:>8.2f} {1.0:>8.2f}x")
    for label, matvecs, wall in rows:
        print(f"{label:30s} {matvecs:>9d} {scipy_matvecs / matvecs:>8.2f}x {wall:>8.2f} {t_scipy / wall:>8.2f}x")
    print("ratios = SciPy's / this row's (> 1: fewer matvecs, less time)")
    print()
    gmres_table(args)


def gmres_table(args):
    """The non-symmetric counterpart: SciPy's GMRES(40) per system against GCRO-DR."""
    import numpy as np
    import scipy.sparse.linalg as sla

    import workbench as wb

    seq = wb.problems.convection_diffusion_sequence(m=args.m, instances=max(args.instances // 5, 1), seed=args.seed)
    systems = [seq.instance(t) for t in range(len(seq))]
    t0 = time.perf_counter()
    scipy_matvecs = 0
    for p in systems:
        count = [0]
        op = sla.LinearOperator(p.A.shape, matvec=lambda v, A=p.A: (count.__setitem__(0, count[0] + 1), A @ v)[1],
                                dtype=float)
        x, info = sla.gmres(op, p.b, rtol=1e-8, atol=0.0, restart=40, maxiter=1000)
        assert info == 0
        scipy_matvecs += count[0]
    t_scipy = time.perf_counter() - t0

    class Prebuilt(wb.problems.LinearSequence):
        def instance(self, t):
            return systems[t]

    prebuilt = Prebuilt(len(seq), seq.contexts, seq.context_range, name=seq.name)
    print(f"{seq.name}: {len(seq)} systems of {systems[0].n} unknowns, rtol 1e-8")
    print(f"{'solver':30s} {'matvecs':>9s} {'vs scipy':>9s} {'wall s':>8s} {'vs scipy':>9s}")
    print(f"{'scipy gmres(40) per system':30s} {scipy_matvecs:>9d} {1.0:>8.2f}x {t_scipy:>8.2f} {1.0:>8.2f}x")
    for label, settings in [("GMRES(40) (recycle=0)", {"recycle": 0}),
                            ("GCRO-DR, each system alone", {"across_systems": False}),
                            ("GCRO-DR, recycled", {}), ("GCRO-DR, sorted", {"order": "sorted"})]:
        t0 = time.perf_counter()
        res = wb.run(wb.linear.GCRODR(**settings), prebuilt)
        wall = time.perf_counter() - t0
        assert res.converged and np.all(res.state.residual <= 1.05e-8), res.message
        matvecs = int(res.final["cumulative_matvecs"])
        print(f"{label:30s} {matvecs:>9d} {scipy_matvecs / matvecs:>8.2f}x {wall:>8.2f} {t_scipy / wall:>8.2f}x")


if __name__ == "__main__":
    main()
