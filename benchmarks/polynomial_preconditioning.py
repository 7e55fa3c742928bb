"""Polynomial preconditioning by cost: Hessian-vector products to a tolerance, printed as a table.

    python benchmarks/polynomial_preconditioning.py [--rtol 1e-6] [--n 200]

Two quadratics of dimension n: the prototype's outlier spectrum (1e4, 3e3, 1e3 above a bulk
in [1, 10]) and a uniform spectrum in [1, 100] with no outliers. Every method starts at the
same point and stops at ||grad|| <= rtol ||grad_0||. Rows: GD with step 1/lambda_max (it is
told L), the symmetric-polynomial preconditioner for each degree (exact, Hutchinson and Hutch++
traces), Chebyshev (told [lambda_min, lambda_max]), the fast variant, the adaptive Krylov
search, and SciPy's conjugate gradient on B x = b as the reference (the best any Krylov method
of the gradient can do). "matvecs" counts gradients, products and trace probes.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse.linalg as spla

import workbench as wb
from workbench.optim.polynomial_preconditioning import PolynomialPreconditionedGD as PPGD


def spectra(n):
    return {"outliers 1e4,3e3,1e3 + bulk [1,10]": np.concatenate([[1e4, 3e3, 1e3], np.linspace(1.0, 10.0, n - 3)]),
            "uniform [1,100], no outliers": np.linspace(1.0, 100.0, n)}


def cg_matvecs(prob, rtol):
    count = [0]

    def mv(v):
        count[0] += 1
        return prob.H @ v
    A = spla.LinearOperator(prob.H.shape, matvec=mv, dtype=float)
    g0 = prob.grad(prob.x0)  # the step d from x0 solves H d = -g0; CG's residual is the gradient at x0 + d
    _, info = spla.cg(A, -g0, rtol=rtol, maxiter=100 * prob.dim)
    return count[0] + 1, info  # + the gradient at x0


def row(label, res, t):
    f = res.final
    return (f"{label:34s} {res.status.name:10s} {res.iterations:>9d} {f['matvecs']:>10.0f} "
            f"{f['gamma_tau']:>10.4g} {f['step_condition']:>10.4g} {t:>7.2f}s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    for name, lam in spectra(args.n).items():
        prob = wb.problems.spectrum_quadratic(lam, seed=1)
        print(f"\n== {name}: n = {args.n}, kappa = {lam.max() / lam.min():.4g}, rtol = {args.rtol:g}")
        print(f"{'method':34s} {'status':10s} {'iters':>9s} {'matvecs':>10s} {'gamma_tau':>10s} {'step_cond':>10s}")
        t = time.perf_counter()
        gd = wb.run(wb.optim.GD(lr=1.0 / lam.max()), prob, rtol=args.rtol, max_steps=10**6)
        t = time.perf_counter() - t
        print(f"{'GD, step 1/lambda_max':34s} {gd.status.name:10s} {gd.iterations:>9d} {gd.final['grad_evals']:>10.0f}"
              f" {'':>10s} {lam.max() / lam.min():>10.4g} {t:>7.2f}s")
        settings = [(f"symmetric tau={k}", {"degree": k}) for k in range(5)]
        settings += [(f"symmetric tau={k}, hutchinson 30", {"degree": k, "traces": "hutchinson", "probes": 30})
                     for k in (1, 3)]
        settings += [(f"symmetric tau={k}, hutch++ 30", {"degree": k, "traces": "hutch++", "probes": 30}) for k in (1, 3)]
        settings += [(f"chebyshev tau={k}", {"degree": k, "preconditioner": "chebyshev"}) for k in (1, 2, 3)]
        settings += [(f"fast symmetric tau={k}", {"degree": k, "acceleration": "fast"}) for k in (0, 1, 2, 3)]
        settings += [(f"fast chebyshev tau={k}", {"degree": k, "acceleration": "fast", "preconditioner": "chebyshev"})
                     for k in (1, 2, 3)]
        settings += [(f"adaptive Krylov tau={k}", {"degree": k, "adaptive": True}) for k in (0, 1, 2, 3)]
        for label, kw in settings:
            t = time.perf_counter()
            try:
                res = wb.run(PPGD(**kw), prob, rtol=args.rtol, max_steps=10**6)
            except wb.WorkbenchError as exc:
                print(f"{label:34s} refused: {exc}"[:140])
                continue
            print(row(label, res, time.perf_counter() - t))
        mv, info = cg_matvecs(prob, args.rtol)
        print(f"{'scipy cg (reference)':34s} {'info=' + str(info):10s} {mv - 1:>9d} {mv:>10d}")


if __name__ == "__main__":
    main()
