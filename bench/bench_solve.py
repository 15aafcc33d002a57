"""Benchmark: solve time per example, whole-process time, and a synthetic large problem, HiGHS against CBC.

Run from the repository root:  python bench/bench_solve.py [--runs 5] [--time-limit 30]

Figures are reported with a baseline measured in the same run, so they compare across machines:
- whole-process time against a process that only imports the dependencies (the floor of any CLI call);
- CBC against HiGHS on the same model.
Targets (issue 2): each example under 1.0 s for the whole process on a 2-core machine; the large problem proven
within 0.1% of optimal in under 30 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from large_problem import large_problem  # noqa: E402

from optimizer.candidates import build_candidates  # noqa: E402
from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.planner import SolveOptions, solve_problem  # noqa: E402
from optimizer.problem import load_problem, parse_problem  # noqa: E402
from timing import median_process  # noqa: E402




def pipeline(prob, cat, solver, time_limit=None, gap=None):
    """What `llmplan solve` runs (`solve_problem`: candidates, model(s), solve(s)). Returns the candidates, the
    seconds to build them, the seconds of the whole `solve_problem` call, and its solve result (seconds: handing
    the model to the solver and solving; every iteration for lazy failover)."""
    t0 = time.perf_counter()
    cands = build_candidates(prob, cat)
    t1 = time.perf_counter()
    _, _, res = solve_problem(prob, cat, SolveOptions(solver=solver, time_limit=time_limit, gap=gap))
    return cands, t1 - t0, time.perf_counter() - t1, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=30.0)
    args = ap.parse_args()
    cat = load_catalog(ROOT / "catalogs" / "2026-12-03")
    py = sys.executable
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    base = median_process([py, "-c", "import pandas, pulp, pydantic, yaml, click"], args.runs, ROOT)
    print(f"baseline (python -c 'import pandas, pulp, pydantic, yaml, click'): {base:.3f} s\n")
    print(f"{'example':<18} {'solve s':>8} {'cbc/highs':>9} {'pipeline s':>10} {'process s':>9} {'x base':>7} "
          f"{'objective':>12}")
    for f in sorted((ROOT / "problems").glob("*.yaml")):
        prob = load_problem(f)
        hs, cs, pipes, obj = [], [], [], None
        for _ in range(args.runs):
            _, _, whole, r = pipeline(prob, cat, "highs")
            pipes.append(whole)
            hs.append(r.seconds)
            obj = r.objective
            cs.append(pipeline(prob, cat, "cbc")[3].seconds)
        proc = median_process([py, "cli.py", "solve", str(f.relative_to(ROOT)), "--format", "json"], args.runs, ROOT)
        h, c = statistics.median(hs), statistics.median(cs)
        print(f"{f.stem:<18} {h:8.3f} {c / h:9.1f} {statistics.median(pipes):10.3f} {proc:9.3f} {proc / base:7.2f} "
              f"{obj:12,.2f}")

    for label, variant in (("large", large_problem()), ("large+failover", None)):
        if variant is None:
            variant = large_problem()
            variant["policy"] = dict(variant["policy"], failover={"fraction": 0.5})
        else:
            variant["policy"] = {k: v for k, v in variant["policy"].items() if k != "failover"}
        prob = parse_problem(variant, label)
        print(f"\n{label}: {len(prob.serving)} workloads")
        for solver in ("highs", "cbc"):
            cands, tc, tb, r = pipeline(prob, cat, solver, args.time_limit)
            gap = f"{100 * r.gap:.3f}%" if r.gap is not None else "-"
            print(f"  {solver:<5} candidates generated {len(cands.pools) + cands.pruned:,} -> kept {len(cands.pools):,} "
                  f"pools + {len(cands.apis)} API options; candidates {tc:.2f} s, whole pipeline {tb:.2f} s, "
                  f"solver {r.seconds:.2f} s: {r.status.value}, gap {gap}, objective {r.objective:,.2f}")


if __name__ == "__main__":
    main()
