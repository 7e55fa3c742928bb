"""Optimizer step overhead, printed as ratios against torch.optim Adam.

    python benchmarks/optim.py [--sizes 2000 1000000] [--steps 200]

The objective is a stub whose gradient is precomputed, so what is timed is the
optimizer's own work per step: for the workbench, ``method.step`` (the update,
the objective call and the gradient norm) and a full ``Runner`` step (plus
metrics and the trace); for torch, ``optimizer.step()`` with ``p.grad`` set, in
the default (foreach) and the fused implementation where the build has one.
Both sides use float64. The last table lists every optimizer's step time at
10 000 parameters against the 20 us target.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from _timing import best_of


def stub_objective(n, seed=0):
    from workbench.problems.objectives import Objective

    g = np.random.default_rng(seed).standard_normal(n) * 1e-3

    class Stub(Objective):
        """f(x) = <g, x>: the gradient costs nothing, so only the optimizer is timed."""

        def value_and_grad(self, x):
            return 0.0, g

        def evaluate(self, x):
            return 0.0, g, {}

    return Stub(np.zeros(n), name=f"stub({n})")


def workbench_step_time(method, problem, steps):
    state = method.init(problem)
    for _ in range(3):
        state = method.step(problem, state)

    def go():
        s = state
        for _ in range(steps):
            s = method.step(problem, s)

    return best_of(go, repeat=5) / steps


def runner_step_time(method, problem, steps):
    import workbench as wb

    def go():
        wb.Runner(method, problem, max_steps=steps, divergence=None).advance()

    return best_of(go, repeat=5) / steps


def torch_step_time(n, steps, **kw):
    import torch

    p = torch.nn.Parameter(torch.zeros(n, dtype=torch.float64))
    p.grad = torch.randn(n, dtype=torch.float64) * 1e-3
    opt = torch.optim.Adam([p], lr=1e-3, **kw)
    for _ in range(3):
        opt.step()

    def go():
        for _ in range(steps):
            opt.step()

    return best_of(go, repeat=5) / steps


def main(argv=None):
    import torch

    import workbench as wb

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 1_000_000])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1: the workbench side is single-threaded too)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); load average {load} "
          f"on {os.cpu_count()} cores (timings are only meaningful on an idle machine)")
    print("times per step, float64\n")
    print(f"{'params':>9} {'torch Adam':>11} {'torch fused':>12} {'wb Adam':>9} {'wb Runner':>10} "
          f"{'ratio step':>11} {'ratio runner':>13}")
    for n in args.sizes:
        steps = max(5, min(args.steps, int(2e8 / max(n, 1) / 10)))
        prob = stub_objective(n)
        t_ref = torch_step_time(n, steps)
        try:
            t_fused = torch_step_time(n, steps, fused=True)
        except (RuntimeError, TypeError):
            t_fused = float("nan")
        t_wb = workbench_step_time(wb.optim.Adam(), prob, steps)
        t_run = runner_step_time(wb.optim.Adam(), prob, steps)
        best = np.nanmin([t_ref, t_fused])
        print(f"{n:>9} {t_ref * 1e6:>9.1f}us {t_fused * 1e6:>10.1f}us {t_wb * 1e6:>7.1f}us "
              f"{t_run * 1e6:>8.1f}us {t_wb / best:>10.2f}x {t_run / best:>12.2f}x")
    print("\nratio = workbench time / fastest torch Adam (lower is better)\n")

    n = 10_000
    prob = stub_objective(n)
    print(f"every optimizer, {n} parameters (target: step <= 20 us)")
    print(f"{'method':>28} {'step':>9} {'runner step':>12}")
    for name in wb.methods(family="optim"):
        if name == "batch_perceptron":
            continue  # needs a classification objective
        method = wb.get_method(name)
        try:
            method.init(prob)
        except wb.WorkbenchError as exc:
            # second-order methods need a Hessian the stub does not have; say so and go on
            print(f"{name:>28} {'-':>9} {'-':>12}  (not timed: {type(exc).__name__})")
            continue
        t = workbench_step_time(method, prob, args.steps)
        r = runner_step_time(wb.get_method(name), prob, args.steps)
        flag = "" if t <= 20e-6 else "  (over target)"
        print(f"{name:>28} {t * 1e6:>7.1f}us {r * 1e6:>10.1f}us{flag}")


if __name__ == "__main__":
    main()
