"""Second-order methods against SciPy's Newton-type minimizers, printed as ratios.

    python benchmarks/second_order.py [--tol 1e-8]

Each method minimises the same logistic regressions to a gradient norm of ``tol``
from the same start. The workbench's DampedNewton (pure Newton and AICN) and
LazyNewton are compared with ``scipy.optimize.minimize`` using ``trust-exact`` (a
dense Hessian each iteration) and ``Newton-CG`` (Hessian-vector products), both given
the objective's exact Hessian. The table gives iterations, Hessians (or products),
wall time and the time ratio against trust-exact; the work a Hessian costs
(``dim`` gradients) is why LazyNewton can win on time while it takes more steps.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.optimize

import workbench as wb


def problems():
    return [wb.problems.logistic_regression(),
            wb.problems.logistic_regression(dataset="breast_cancer"),
            wb.problems.logistic_regression(n=4000, d=200, seed=1)]


def scipy_run(prob, method, tol):
    counts = {"hess": 0, "hessp": 0}

    def hess(x):
        counts["hess"] += 1
        return prob.hessian(x)

    def hessp(x, v):
        counts["hessp"] += 1
        return prob.hvp(x, v)

    kw = {"hess": hess} if method == "trust-exact" else {"hessp": hessp}
    options = {"gtol": tol} if method == "trust-exact" else {"xtol": 1e-14}
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(prob.value_and_grad, prob.x0, jac=True, method=method, options=options, **kw)
    elapsed = time.perf_counter() - t0
    gnorm = float(np.linalg.norm(prob.grad(res.x)))
    return res.nit, counts["hess"] or counts["hessp"], elapsed, gnorm


def workbench_run(prob, method, tol):
    t0 = time.perf_counter()
    res = wb.run(method, prob, atol=tol, max_steps=5000)
    elapsed = time.perf_counter() - t0
    extra = res.final.get("hessian_evals", 0.0)
    return res.iterations, int(extra), elapsed, float(res.final["grad_norm"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-8)
    args = parser.parse_args(argv)
    print(f"gradient norm tolerance {args.tol:g}; time ratio = this method's time / scipy trust-exact's\n")
    header = f"{'problem':46s} {'method':24s} {'iters':>6s} {'hess/hvp':>9s} {'time (ms)':>10s} {'ratio':>7s} {'|g| end':>9s}"
    print(header)
    print("-" * len(header))
    for prob in problems():
        rows = [("scipy trust-exact", *scipy_run(prob, "trust-exact", args.tol)),
                ("scipy Newton-CG (hvp)", *scipy_run(prob, "Newton-CG", args.tol)),
                ("wb DampedNewton fixed", *workbench_run(prob, wb.optim.DampedNewton(step_rule="fixed"), args.tol)),
                ("wb DampedNewton AICN", *workbench_run(prob, wb.optim.DampedNewton(), args.tol)),
                ("wb LazyNewton (m = d)", *workbench_run(prob, wb.optim.LazyNewton(), args.tol))]
        base = rows[0][3]
        for name, it, hess, elapsed, gnorm in rows:
            print(f"{prob.name:46s} {name:24s} {it:6d} {hess:9d} {1e3 * elapsed:10.2f} {elapsed / base:7.2f} "
                  f"{gnorm:9.1e}")
        print()


if __name__ == "__main__":
    main()
