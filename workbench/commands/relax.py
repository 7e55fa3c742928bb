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
    if args.m is not None and args.m < 2:
        raise InvalidParameter(f"--m must be at least 2 grid points per side, got {args.m}.")
    if args.setting == "heat":
        return problems.heat_sequence(m=24 if args.m is None else args.m, instances=args.instances)
    return problems.shifted_laplacian_sequence(args.setting, m=10 if args.m is None else args.m,
                                               instances=args.instances, seed=args.seed, alpha=args.alpha,
                                               beta=args.beta)


def check_context_range(seq, methods, args) -> None:
    """Refuse contextual policies on a sequence whose contexts span no interval, in the CLI's terms.

    The method's own refusal names its ``context_low``/``context_high`` settings, which the
    command does not have (a one-instance heat sequence has a single diffusivity).
    """
    from ..core import InvalidParameter
    from ..tuning import POLICIES

    contextual = [text for text, m in methods if POLICIES[m.policy].contextual]
    lo, hi = getattr(seq, "context_range", (0.0, 1.0))
    if contextual and not hi > lo:
        raise InvalidParameter(
            f"the contextual polic{'y' if len(contextual) == 1 else 'ies'} {', '.join(contextual)} "
            f"learn{'s' if len(contextual) == 1 else ''} omega as a function of the context, and this sequence's "
            f"contexts span no interval (all {lo:g}, with --instances {args.instances}); run more instances "
            "or drop the contextual policies from --policies.")


def parse_policies(text: str) -> list[tuple[str, str, dict]]:
    """``--policies`` as ``(text, name, params)`` triples; refuses an empty list and repeats."""
    from ..core import InvalidParameter
    from ..tuning import parse_policy

    from ..core import get_method_class

    specs = [s for s in (x.strip() for x in text.split(",")) if s]
    if not specs:
        raise InvalidParameter("--policies is empty; name at least one, e.g. --policies tsallis,fixed:1.8.")
    default_omega = get_method_class("learning_to_relax").param["omega"].default
    parsed, seen = [], {}
    for spec in specs:
        name, params = parse_policy(spec)
        # a bare `fixed` is fixed at the method's default omega: the same policy as fixed:<that>
        settings = {"omega": default_omega, **params} if name == "fixed" else params
        key = (name, tuple(sorted(settings.items())))
        if key in seen:
            raise InvalidParameter(f"{spec!r} names the same policy as {seen[key]!r}; list each policy once.")
        seen[key] = spec
        parsed.append((spec, name, params))
    return parsed


def _blanked(values, done: int, fill) -> list:
    """``values[:done]`` as a list, then ``fill`` for each instance not solved."""
    return [*values[:done].tolist(), *([fill] * (len(values) - done))]


def _record(method, runner, wall_time: float) -> dict:
    """One policy's run as the JSON record ``--out`` writes."""
    state = runner.state
    done = 0 if state is None else state.t
    return {
        "policy": method.policy, "status": runner.status.label, "message": runner.message,
        "instances_done": done,
        "total_iterations": 0 if state is None else int(state.iterations[:done].sum()),
        "capped_instances": 0 if state is None else int(state.capped),
        "wall_time": wall_time, "method": method.spec(),
        # one entry per instance of the sequence (as its contexts): null omega, 0 iterations and
        # arm -1 for those not solved (a failed or interrupted policy; an instance cut by Ctrl-C
        # mid-step may have written its entries without being counted: they are blanked too)
        "per_instance": {} if state is None else {
            "omega": _blanked(state.omega, done, None), "iterations": _blanked(state.iterations, done, 0),
            "arm": _blanked(state.arm, done, -1)},
    }


def main(args) -> int:
    from tqdm import tqdm

    from ..core import Runner, get_method, jsonable
    from ..tuning import cost_table, last_quarter_ratio, last_quarter_start

    from ._common import check_output_path, finite_or_none, write_json

    if args.out:
        check_output_path(args.out)
    parsed = parse_policies(args.policies)
    common = dict(solver=args.solver, rtol=args.rtol, max_iterations=args.max_iterations,
                  omega_min=args.omega_min, omega_max=args.omega_max, arms=args.arms, degree=args.degree,
                  bins=args.bins, normaliser=args.normaliser, seed=args.policy_seed)
    methods = []
    for text, name, params in parsed:
        # Through the registry, so a bad option is a one-line InvalidParameter (exit 2).
        method = get_method("learning_to_relax", policy=name, **{**common, **params})
        method.grid()  # validates the grid before any long computation
        methods.append((text, method))
    seq = build_sequence(args)
    T = len(seq)
    check_context_range(seq, methods, args)

    table = None
    if args.table or any(m.policy == "best_fixed" for _, m in methods):
        t0 = time.perf_counter()
        table = cost_table(seq, methods[0][1].grid(), args.solver, args.rtol, args.max_iterations,
                           progress=not args.quiet)
        table_time = time.perf_counter() - t0
        for _, method in methods:
            method.costs = table

    # Every run is set up (and its settings checked against the sequence) before any is
    # advanced, so a refused policy stops the command before, not after, long runs.
    runners = [(text, method, Runner(method, seq, max_steps=T)) for text, method in methods]
    results = {}
    bar = tqdm(total=T * len(methods), disable=args.quiet, unit="instance", dynamic_ncols=True, file=sys.stderr)
    interrupted = None
    for text, method, runner in runners:
        bar.set_description(text)
        t0 = time.perf_counter()
        try:
            while not runner.done:
                bar.update(runner.advance(max_seconds=0.2))
        except KeyboardInterrupt:
            # Ctrl-C keeps what is finished: the policies run so far, and this one up to its
            # last whole instance (state.t counts an instance only once its step is done).
            runner.stop("Interrupted (Ctrl-C).")
            interrupted = text
        results[text] = _record(method, runner, time.perf_counter() - t0)
        if interrupted:
            break
    bar.close()
    not_run = [text for text, _, _ in runners if text not in results]

    best = gs = None
    print(f"\n{seq.name}: {T} instance{'' if T == 1 else 's'}, solver {args.solver}, rtol {args.rtol:g}")
    if table is not None:
        best = table.best_fixed()
        gs = table.summary()["gauss_seidel_total"]
        print(f"best fixed omega in hindsight: {best[1]:.3f} ({best[2]} iterations); cost table {table_time:.1f} s")
    width = max(16, *(len(t) + 2 for t in results))
    header = (f"{'policy':<{width}}{'total iters':>14}{'per instance':>14}{'vs best fixed':>15}"
              f"{'last quarter':>14}{'vs GS':>9}{'wall s':>9}")
    print(header)
    print("-" * len(header))
    for text, rec in results.items():
        if rec["status"] == "stopped":
            print(f"{text:<{width}}interrupted after {rec['instances_done']} of {T} instances")
            continue
        if rec["status"] != "converged":
            print(f"{text:<{width}}failed after {rec['instances_done']} of {T} instances: {rec['message']}")
            continue
        total = rec["total_iterations"]
        vs_best = f"{total / best[2]:.3f}x" if best and best[2] else "-"
        vs_gs = f"{total / gs:.3f}x" if gs else "-"
        vs_late = "-"
        if table is not None:
            late = last_quarter_ratio(rec["per_instance"]["iterations"], table.iterations)
            rec["last_quarter_vs_best_fixed"] = late
            vs_late = f"{late:.3f}x" if late == late else "-"
        print(f"{text:<{width}}{total:>14d}{total / T:>14.1f}{vs_best:>15}{vs_late:>14}{vs_gs:>9}"
              f"{rec['wall_time']:>9.2f}")
    if table is not None:
        print(f"last quarter: instances {last_quarter_start(T) + 1}-{T} against the best fixed omega on those "
              "instances; wall s of grid policies is the time to read the cost table")
    else:
        # (the comparators need every grid omega solved on every instance: about 20x one policy's time)
        print("vs best fixed, last quarter and vs GS need the cost table: add best to --policies, or pass "
              "--table")
    if args.solver == "ssor_pcg" and any(m.policy == "instance_optimal" for _, m in methods):
        print("note: instance_optimal uses Young's omega*, the optimal parameter of SOR; for SSOR-PCG it is "
              "a heuristic, not the best omega of each instance")
    capped = {t: r["capped_instances"] for t, r in results.items() if r["capped_instances"]}
    if capped:
        listed = ", ".join(f"{t} {n}" for t, n in capped.items())
        print(f"warning: instances stopped at the iteration cap {args.max_iterations} without reaching rtol "
              f"({listed}); their cost is the cap. Raise --max-iterations or loosen --rtol.")
    if table is not None and table.capped():
        print(f"warning: {table.capped()} of {table.iterations.size} cost-table cells stopped at the cap "
              f"{args.max_iterations}; the comparators count them at the cap.")
    if interrupted:
        print(f"interrupted during {interrupted}" + (f"; not run: {', '.join(not_run)}" if not_run else ""))
    if args.out:
        payload = {"sequence": jsonable(seq.spec()), "instances": T, "contexts": jsonable(seq.contexts),
                   "solver": args.solver, "rtol": args.rtol, "policies": results,
                   "interrupted": bool(interrupted), "not_run": not_run,
                   "comparators": None if table is None else jsonable(table.summary())}
        write_json(args.out, finite_or_none(jsonable(payload)), allow_nan=False)
        print(f"wrote {args.out}")
    if interrupted:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    failed = [t for t, r in results.items() if r["status"] != "converged"]
    if failed:
        print(f"{len(failed)} of {len(results)} policies failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
