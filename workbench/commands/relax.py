"""``workbench relax``: run Learning-to-Relax policies over a sequence of linear systems.

Example::

    workbench relax --setting high --instances 5000 --policies tsallis,chebcb,fixed:1.8 --out results.json

Each policy is one run of the ``learning_to_relax`` method through the core
Runner (one step = one instance). When a comparator needs it (``best``) or
``--table`` is given, the full cost table (every grid omega on every
instance) is computed first with the compiled kernels; the policies then read
their costs from it instead of solving again (same numbers, much faster).
"""
from __future__ import annotations

import json
import sys
import time

DEFAULT_POLICIES = "tsallis,chebcb,binned,gs,best,opt"


def register(sub) -> None:
    p = sub.add_parser("relax", help="Learn SOR's omega across a sequence of linear systems (bandits vs comparators).",
                       description="Run Learning-to-Relax policies (Tsallis-INF, ChebCB, ...) over a sequence of "
                                   "linear systems and print a summary table.")
    p.add_argument("--setting", default="high", choices=["high", "low", "custom", "heat"],
                   help="Shifted-Laplacian shift distribution (high: Beta(0.5,1.5), low: Beta(2,6), custom: "
                        "--alpha/--beta) or the heat-equation sequence (default high).")
    p.add_argument("--alpha", type=float, default=0.5, help="Beta's first parameter for --setting custom.")
    p.add_argument("--beta", type=float, default=1.5, help="Beta's second parameter for --setting custom.")
    p.add_argument("--m", type=int, default=None, help="Grid points per side (default 10: n = 100; heat: 24).")
    p.add_argument("--instances", type=int, default=5000, help="Number of systems T (default 5000).")
    p.add_argument("--seed", type=int, default=0, help="Seed of the sequence (default 0).")
    p.add_argument("--policies", default=DEFAULT_POLICIES,
                   help="Comma-separated: tsallis, chebcb, binned, gs, best, opt, fixed:OMEGA "
                        f"(default {DEFAULT_POLICIES}).")
    p.add_argument("--policy-seed", type=int, default=0, help="Seed of the policies' random choices.")
    p.add_argument("--solver", default="sor", choices=["sor", "ssor_pcg"], help="Solver of each instance.")
    p.add_argument("--rtol", type=float, default=1e-8, help="Per-instance tolerance ||r|| / ||b|| (default 1e-8).")
    p.add_argument("--max-iterations", type=int, default=10_000, help="Iteration cap per instance.")
    p.add_argument("--omega-min", type=float, default=1.0, help="Smallest grid omega (default 1).")
    p.add_argument("--omega-max", type=float, default=1.95, help="Largest grid omega (default 1.95).")
    p.add_argument("--arms", type=int, default=20, help="Number of grid omegas (default 20).")
    p.add_argument("--degree", type=int, default=5, help="ChebCB's Chebyshev degree (default 5).")
    p.add_argument("--bins", type=int, default=5, help="Binned Tsallis-INF's number of bins (default 5).")
    p.add_argument("--normaliser", default="exact", choices=["exact", "reference"],
                   help="Tsallis-INF's Newton start (exact, or the reference code's 20 steps from -1).")
    p.add_argument("--table", action="store_true",
                   help="Compute the full cost table even if no comparator needs it (adds best/GS columns).")
    p.add_argument("--out", default=None, help="Write per-instance records and the summary as JSON here.")
    p.add_argument("--quiet", action="store_true", help="No progress bars.")
    p.set_defaults(func=main)


def build_sequence(args):
    from ..core import InvalidParameter
    from .. import problems

    if args.instances < 1:
        raise InvalidParameter("--instances must be at least 1.")
    if args.setting == "heat":
        return problems.heat_sequence(m=args.m or 24, instances=args.instances)
    return problems.shifted_laplacian_sequence(args.setting, m=args.m or 10, instances=args.instances,
                                               seed=args.seed, alpha=args.alpha, beta=args.beta)


def main(args) -> int:
    from tqdm import tqdm

    from ..core import Runner, jsonable
    from ..tuning import LearningToRelax, cost_table, last_quarter_ratio, last_quarter_start, parse_policy

    specs = [s for s in (x.strip() for x in args.policies.split(",")) if s]
    if not specs:
        from ..core import InvalidParameter

        raise InvalidParameter("--policies is empty; name at least one, e.g. --policies tsallis,fixed:1.8.")
    parsed = [(text, *parse_policy(text)) for text in specs]
    common = dict(solver=args.solver, rtol=args.rtol, max_iterations=args.max_iterations,
                  omega_min=args.omega_min, omega_max=args.omega_max, arms=args.arms, degree=args.degree,
                  bins=args.bins, normaliser=args.normaliser, seed=args.policy_seed)
    methods = []
    for text, name, params in parsed:
        method = LearningToRelax(policy=name, **common, **params)
        method.grid()  # validates the grid before any long computation
        methods.append((text, method))
    seq = build_sequence(args)
    T = len(seq)

    table = None
    if args.table or any(m.policy == "best_fixed" for _, m in methods):
        t0 = time.perf_counter()
        table = cost_table(seq, methods[0][1].grid(), args.solver, args.rtol, args.max_iterations,
                           progress=not args.quiet)
        table_time = time.perf_counter() - t0
        for _, method in methods:
            method.costs = table

    results = {}
    bar = tqdm(total=T * len(methods), disable=args.quiet, unit="instance", dynamic_ncols=True, file=sys.stderr)
    for text, method in methods:
        bar.set_description(text)
        runner = Runner(method, seq, max_steps=T)
        t0 = time.perf_counter()
        while not runner.done:
            bar.update(runner.advance(max_seconds=0.2))
        state = runner.state
        results[text] = {
            "policy": method.policy, "status": runner.status.label, "message": runner.message,
            "total_iterations": int(state.iterations.sum()), "wall_time": time.perf_counter() - t0,
            "method": method.spec(),
            "per_instance": {"omega": state.omega.tolist(), "iterations": state.iterations.tolist(),
                             "arm": state.arm.tolist()},
        }
    bar.close()

    best = gs = None
    print(f"\n{seq.name}: {T} instances, solver {args.solver}, rtol {args.rtol:g}")
    if table is not None:
        best = table.best_fixed()
        gs = table.summary()["gauss_seidel_total"]
        print(f"best fixed omega in hindsight: {best[1]:.3f} ({best[2]} iterations); cost table {table_time:.1f} s")
    header = (f"{'policy':<16}{'total iters':>14}{'per instance':>14}{'vs best fixed':>15}"
              f"{'last quarter':>14}{'vs GS':>9}{'wall s':>9}")
    print(header)
    print("-" * len(header))
    for text, rec in results.items():
        total = rec["total_iterations"]
        vs_best = f"{total / best[2]:.3f}x" if best else "-"
        vs_gs = f"{total / gs:.3f}x" if gs else "-"
        vs_late = "-"
        if table is not None:
            rec["last_quarter_vs_best_fixed"] = last_quarter_ratio(rec["per_instance"]["iterations"],
                                                                   table.iterations)
            vs_late = f"{rec['last_quarter_vs_best_fixed']:.3f}x"
        print(f"{text:<16}{total:>14d}{total / T:>14.1f}{vs_best:>15}{vs_late:>14}{vs_gs:>9}{rec['wall_time']:>9.2f}")
    if table is not None:
        print(f"last quarter: instances {last_quarter_start(T) + 1}-{T} against the best fixed omega on those instances")
    if args.out:
        payload = {"sequence": jsonable(seq.spec()), "instances": T, "contexts": jsonable(seq.contexts),
                   "solver": args.solver, "rtol": args.rtol, "policies": results,
                   "comparators": None if table is None else jsonable(table.summary())}
        with open(args.out, "w") as fh:
            json.dump(payload, fh)
        print(f"wrote {args.out}")
    failed = [t for t, r in results.items() if r["status"] != "converged"]
    return 1 if failed else 0
