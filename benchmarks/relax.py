"""Learning-to-Relax benchmarks: how fast a sequence run goes, and against what.

    python benchmarks/relax.py [--instances 5000] [--m 10]

* the headline: 5000 instances at n = 100, Tsallis-INF choosing omega and SOR
  solving each instance through the ``learning_to_relax`` method and the core
  Runner (target: at most 60 s on the 2-core machine);
* per-solve cost of the compiled "SOR until tolerance" kernel vs the readable
  reference ``wb.run(wb.linear.SOR(omega, kernel="pyamg"), instance)`` (PyAMG's
  C++ sweep driven one step at a time by the Runner), as a ratio;
* the full-information cost table (20 omegas x T instances) per instance.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv=None):
    import workbench as wb
    from workbench.tuning.kernels import sor_iterations

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=int, default=5000)
    ap.add_argument("--m", type=int, default=10, help="grid side (n = m^2 unknowns)")
    ap.add_argument("--setting", default="high", choices=["high", "low"])
    args = ap.parse_args(argv)
    seq = wb.problems.shifted_laplacian_sequence(args.setting, m=args.m, instances=args.instances, seed=0)
    n = args.m ** 2

    # warm up the compiled kernels (numba compiles once, then loads from its cache)
    inst = seq.instance(0)
    sor_iterations(inst.A, inst.b, 1.5)

    # 1. the headline: the whole sequence through the protocol
    rows = []
    method = wb.get_method("learning_to_relax", policy="tsallis_inf", solver="sor")
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    res = wb.run(method, seq, max_steps=len(seq))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    iters = int(res.state.iterations.sum())
    print(f"Tsallis-INF + SOR over {len(seq)} instances at n = {n} ({args.setting} variance): "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU, {iters:,} SOR iterations, status {res.status.label} "
          f"(target <= 60 s: {'met' if wall <= 60 else 'NOT met'})")

    # 2. per-solve: compiled kernel vs the protocol reference on the same instances
    ts = np.linspace(0, len(seq) - 1, 40).astype(int)
    omegas = [1.0, 1.5, 1.8]
    t_ref = t_fast = 0.0
    for t in ts:
        p = seq.instance(int(t))
        for w in omegas:
            t1 = time.perf_counter()
            k_ref = wb.run(wb.linear.SOR(omega=w), p, rtol=1e-8).iterations
            t2 = time.perf_counter()
            k_fast = sor_iterations(p.A, p.b, w)[0]
            t3 = time.perf_counter()
            assert k_ref == k_fast, (t, w, k_ref, k_fast)
            t_ref += t2 - t1
            t_fast += t3 - t2
    solves = len(ts) * len(omegas)
    rows.append(("SOR solve to 1e-8 (same counts)", "wb.run(SOR, kernel=pyamg)", f"{t_ref / solves * 1e3:.2f} ms",
                 f"numba kernel {t_fast / solves * 1e3:.3f} ms", t_ref / t_fast))

    # 3. the cost table, per instance (20 omegas, threads = cores)
    sub = wb.problems.shifted_laplacian_sequence(args.setting, m=args.m, instances=500, seed=1)
    t0 = time.perf_counter()
    wb.tuning.cost_table(sub, instance_optimal=False)
    t_table = (time.perf_counter() - t0) / len(sub)
    rows.append(("cost table row (20 omegas)", "20 x wb.run(SOR)", f"{20 * t_ref / solves * 1e3:.1f} ms (est.)",
                 f"batch kernel, {os.cpu_count()} threads {t_table * 1e3:.2f} ms", 20 * t_ref / solves / t_table))

    print()
    print(f"{'benchmark':<34}{'reference':<28}{'reference time':>16}   {'workbench':<40}{'speed-up':>9}")
    for name, ref, ref_t, ours, ratio in rows:
        print(f"{name:<34}{ref:<28}{ref_t:>16}   {ours:<40}{ratio:>8.1f}x")


if __name__ == "__main__":
    main()
