"""``workbench run METHOD --problem NAME``: one run with a live progress bar."""
from __future__ import annotations

import sys
import time


def register(sub) -> None:
    p = sub.add_parser("run", help="Run one method on one problem with a live progress bar.")
    p.add_argument("method", help="Method name (see `workbench list methods`), e.g. sor.")
    p.add_argument("--problem", default="poisson2d", help="Problem name (default: poisson2d).")
    p.add_argument("--set", dest="method_params", action="append", metavar="KEY=VALUE",
                   help="Parameter of the method or, if the method has none of that name, of the problem; "
                        "repeatable: --set omega=1.8 --set n=64")
    p.add_argument("--problem-set", dest="problem_params", action="append", metavar="KEY=VALUE",
                   help="Problem parameter, when the name clashes with a method parameter: --problem-set seed=3")
    p.add_argument("--rtol", type=float, default=None, help="Relative tolerance (default: the method's).")
    p.add_argument("--atol", type=float, default=0.0, help="Absolute tolerance.")
    p.add_argument("--max-steps", type=int, default=10_000, help="Step limit (default 10000).")
    p.add_argument("--max-seconds", type=float, default=None, help="Wall-time budget in seconds.")
    p.add_argument("--out", default=None, help="Write the result (spec, summary, trace) as JSON here.")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")
    p.set_defaults(func=main)


def main(args) -> int:
    from tqdm import tqdm

    from ..core import InvalidParameter, Runner, get_method, get_method_class, get_problem, get_problem_factory, jsonable
    from ._common import check_output_path, finite_or_none, parse_assignments, write_json

    if args.out:
        check_output_path(args.out)

    method_cls = get_method_class(args.method)
    problem_cls = get_problem_factory(args.problem)
    method_params, problem_params = {}, parse_assignments(args.problem_params)
    for key, value in parse_assignments(args.method_params).items():
        if key in method_cls.param:
            method_params[key] = value
        elif key in problem_cls.param:
            problem_params[key] = value
        else:
            raise InvalidParameter(
                f"neither method {method_cls.registry_name!r} nor problem {problem_cls.registry_name!r} has a "
                f"parameter {key!r}; see `workbench list` for their parameters."
            )
    method = get_method(args.method, **method_params)
    problem = get_problem(args.problem, **problem_params)
    runner = Runner(method, problem, rtol=args.rtol, atol=args.atol, max_steps=args.max_steps,
                    max_seconds=args.max_seconds)
    metric = runner.metric
    # a sequence run takes one step per system: its bar counts to the end of the sequence
    total = min(args.max_steps, len(problem)) if getattr(problem, "kind", None) == "sequence" else args.max_steps
    bar = tqdm(total=total, disable=args.quiet, unit="it", dynamic_ncols=True,
               desc=f"{method.registry_name} on {problem.name}", file=sys.stderr)
    t0 = time.perf_counter()
    import numpy as np

    # A diverging run's overflow warnings would bury its status line; the status
    # (diverged / nonfinite) and its message say what happened.
    interrupted = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            while not runner.done:
                taken = runner.advance(max_seconds=0.1)
                bar.update(taken)
                bar.set_postfix({metric: f"{runner.trace[metric][-1]:.3e}"}, refresh=False)
        except KeyboardInterrupt:
            # Ctrl-C ends the run as the dashboard's Stop does: the iterations finished so far
            # are kept, summarised and written to --out.
            runner.stop("Interrupted (Ctrl-C).")
            interrupted = True
    bar.close()
    wall = time.perf_counter() - t0
    result = runner.result()
    final = result.final
    rate = result.iterations / wall if wall > 0 else float("inf")
    print(f"{result.status.label}: {result.message}")
    print(f"  iterations {result.iterations}   {metric} {final.get(metric, float('nan')):.3e}   "
          f"time {wall:.3g} s ({rate:,.0f} it/s)")
    totals = {k: v for k, v in final.items() if k.startswith("cumulative_")}
    if totals:  # (a sequence run's cost is its running total: matvecs, iterations)
        print("  " + "   ".join(f"{k.removeprefix('cumulative_')} in total {v:,.0f}" for k, v in totals.items()))
    if args.out:
        payload = {"spec": result.spec(), "summary": result.summary(),
                   "trace": {k: jsonable(v) for k, v in result.trace.to_dict().items()}}
        # Strict JSON, as `runs export` writes: a diverged run's infinities become null.
        write_json(args.out, finite_or_none(jsonable(payload)), indent=1, default=str, allow_nan=False)
        print(f"  result written to {args.out}")
    if interrupted:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    return 0 if result.status.label in ("converged", "max_steps", "max_time", "stopped") else 1
