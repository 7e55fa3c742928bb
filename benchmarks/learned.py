"""Learned conjugate directions against SciPy's CG on 2-D Poisson: iterations and wall time.

    python benchmarks/learned.py [--sizes 32 64 128]

Ratios are SciPy's / the learned method's (> 1: fewer iterations, less time). The network
evaluation (a small CNN in torch, float32) costs more than a 5-point matvec, so the
iteration ratio is the method's gain and the time ratio what it costs on this stencil.
"""
from __future__ import annotations

import argparse

from _timing import best_of


def main(argv=None):
    import numpy as np
    import scipy.sparse.linalg as sla

    import workbench as wb

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    args = ap.parse_args(argv)
    wb.run(wb.linear.DeepConjugateDirections(), wb.problems.poisson2d(8))  # load torch and the weights once
    print(f"{'grid':>10} {'scipy its':>10} {'learned its':>12} {'its ratio':>10} {'scipy ms':>9} "
          f"{'learned ms':>11} {'time ratio':>11}")
    for n in args.sizes:
        p = wb.problems.poisson2d(n)
        count = []
        sla.cg(p.A, p.b, rtol=1e-8, atol=0.0, callback=lambda xk: count.append(1))
        res = wb.run(wb.linear.DeepConjugateDirections(), p, rtol=1e-8, max_steps=5000)
        assert res.converged and np.linalg.norm(p.b - p.A @ res.x) <= 1.01e-8 * np.linalg.norm(p.b)
        t_scipy = best_of(lambda: sla.cg(p.A, p.b, rtol=1e-8, atol=0.0))
        t_ours = best_of(lambda: wb.run(wb.linear.DeepConjugateDirections(), p, rtol=1e-8, max_steps=5000))
        print(f"{n:>4} x {n:<4} {len(count):>10} {res.iterations:>12} {len(count) / res.iterations:>9.1f}x "
              f"{t_scipy * 1e3:>9.1f} {t_ours * 1e3:>11.1f} {t_scipy / t_ours:>10.2f}x")


if __name__ == "__main__":
    main()
