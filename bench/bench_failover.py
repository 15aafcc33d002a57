"""Benchmark (issue 16): failover plans at scale under `solve --time-limit T`, side by side in one run.

For the synthetic large problem (bench/large_problem.py: failover 0.5, spot cap) at 24, 40 and 80 workloads, run
`llmplan solve PROBLEM --time-limit T --format json` as a user does, twice:

- "rounded": the method before the restricted-MIP heuristic (one model with every scenario, started from the
  rounded LP relaxation: `pipeline.rounded_relaxation_start`), emulated in-process by switching the heuristic off;
- "restricted": the shipped code (LP relaxation, then the MIP restricted to the LP's support and the cheapest pool
  per workload and provider, whose plan starts the full model: `pipeline.neighbourhood_start`).

and report the wall time of the whole process against T (target: never above T + 10% plus process start, the
baseline `python -c 'import optimizer.cli'` measured in the same run), the status, the plan's cost, the lower
bound and the gap.

    python bench/bench_failover.py [--sizes 24 40 80] [--time-limit 10 30 60] [--skip-before]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from large_problem import large_problem  # noqa: E402

# run in a child process: the method before the restricted MIP (the rounded LP relaxation as the only start)
BEFORE = r"""
import sys
import optimizer.pipeline as pl
pl.neighbourhood_start = lambda problem, cands, model, options, limit: pl.FailoverStart(
    *pl.rounded_relaxation_start(model, limit), None, True)
from optimizer.cli import main
sys.exit(main())
"""


def run(problem: Path, limit: float, before: bool, out: Path) -> tuple[float, dict | None, str]:
    cmd = ([sys.executable, "-c", BEFORE] if before else [sys.executable, "cli.py"]) + [
        "solve", str(problem), "--time-limit", f"{limit:g}", "--format", "json", "-o", str(out)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return wall, None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
    return wall, json.loads(out.read_text()), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 40, 80])
    ap.add_argument("--time-limit", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    ap.add_argument("--skip-before", action="store_true", help="only the shipped code")
    args = ap.parse_args()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import optimizer.cli"], cwd=ROOT, check=True)
    start = time.perf_counter() - t0
    print(f"machine: {os.cpu_count()} CPUs; process start (import optimizer.cli): {start:.2f} s")
    print(f"{'workloads':>9} {'T s':>5} {'method':<10} {'wall s':>7} {'wall/T':>6} {'status':<9} {'cost $/month':>14} "
          f"{'bound':>14} {'gap':>8}")
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            prob = Path(d) / f"large{n}.yaml"
            prob.write_text(yaml.safe_dump(large_problem(n=n)))
            for limit in args.time_limit:
                for before in ([False] if args.skip_before else [True, False]):
                    wall, plan, err = run(prob, limit, before, Path(d) / "plan.json")
                    label = "rounded" if before else "restricted"
                    if plan is None:
                        print(f"{n:>9} {limit:>5g} {label:<10} {wall:7.1f} {wall / limit:6.2f} error: {err}")
                        continue
                    gap = "-" if plan["gap"] is None else f"{plan['gap']:.2%}"
                    bound = "-" if plan["lower_bound_usd"] is None else f"{plan['lower_bound_usd']:,.0f}"
                    print(f"{n:>9} {limit:>5g} {label:<10} {wall:7.1f} {wall / limit:6.2f} {plan['status']:<9} "
                          f"{plan['monthly_cost_usd']:>14,.0f} {bound:>14} {gap:>8}", flush=True)


if __name__ == "__main__":
    main()
