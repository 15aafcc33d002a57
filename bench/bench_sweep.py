"""Benchmark: `llmplan sweep` throughput on problems/portfolio.yaml, in scenarios per second, with 1 local worker
(solves in this process: the baseline), 2 local worker processes and a local Dask cluster of 2 worker processes,
all in the same run over the same scenarios.

Run from the repository root:  python bench/bench_sweep.py [--scenarios 1000] [--configs local1,local2,dask2]

The scenarios are Monte Carlo draws (seed 0): chat volume lognormal 10M..40M a month, embeddings volume x0.5..x2,
AWS prices x0.8..x1.2. Each configuration's rows are checked to be identical to the baseline's (all columns but
`solve_s`); ratios are against the 1-worker rate measured in the same run. The machine's CPU count and load
average are printed: on a shared machine the figures move with other users' load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.planner import SolveOptions  # noqa: E402
from optimizer.problem import load_problem  # noqa: E402
from optimizer.sweep import build_sweep, run_sweep  # noqa: E402

VARY = ["workloads.chat.requests_per_month=10M:40M", "workloads.embeddings.requests_per_month=x0.5:x2"]
PRICES = ["provider=aws=0.8:1.2"]


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "solve_s"} for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=1000)
    ap.add_argument("--configs", default="local1,local2,dask2")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    cat = load_catalog(ROOT / "catalogs" / "2026-11-24")
    prob = load_problem(ROOT / "problems" / "portfolio.yaml")
    spec = build_sweep(prob, cat, VARY, PRICES, samples=args.scenarios, distributions=[
        "lognormal", "workloads.embeddings.requests_per_month=uniform", "provider=aws=uniform"], seed=0)
    opts = SolveOptions(time_limit=args.time_limit)
    print(f"{args.scenarios} scenarios of portfolio.yaml; {os.cpu_count()} CPUs; load average at start "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'configuration':<46} {'seconds':>9} {'scen/s':>8} {'vs 1 worker':>12} {'same rows':>10} {'load':>6}",
          flush=True)
    base_rows, base_rate = None, None
    for cfg in args.configs.split(","):
        cluster = None
        if cfg.startswith("dask"):
            from distributed import LocalCluster
            n = int(cfg[4:])
            t = time.perf_counter()
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            startup = time.perf_counter() - t
            label = f"dask LocalCluster, {n} workers"
            res, stats = run_sweep(prob, cat, spec, opts, cluster=cluster.scheduler_address, base=False)
            cluster.close()
            label += f" (+{startup:.1f} s start)"
        else:
            n = int(cfg[5:])
            label = f"{n} local worker{'s' if n > 1 else ''}" + (" (in process)" if n == 1 else "")
            res, stats = run_sweep(prob, cat, spec, opts, workers=n, base=False)
        rows = _strip(res.rows)
        if base_rows is None:
            base_rows, base_rate = rows, stats.per_second
        same = "yes" if rows == base_rows else "NO"
        statuses = {}
        for r in rows:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        print(f"{label:<46} {stats.seconds:>9.1f} {stats.per_second:>8.2f} {stats.per_second / base_rate:>11.2f}x "
              f"{same:>10} {os.getloadavg()[0]:>6.1f}   {statuses}", flush=True)


if __name__ == "__main__":
    main()
