"""Benchmark: a 24-month, 10-workload horizon (issue 12) solved to proven optimality, or an honest gap.

Run from the repository root:  python bench/bench_horizon.py [--months 24] [--workloads 10] [--time-limit 300]
        [--solver highs|cbc]

The problem is the first 10 workloads of bench/large_problem.py (9 models, four token shapes, three latency tiers,
five jurisdiction sets) without failover (not planned over a horizon yet), each growing at its own monthly rate
(-2% to +15%) with a 2-4x spike, on-demand, spot and 1-year reserved capacity, and one owned 8x H100 server quote.
Reported: candidates, variables and rows, solve seconds, status, gap, NPV, and the same model's LP relaxation time
as the baseline measured in the same run (the ratio compares across machines).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from large_problem import large_problem  # noqa: E402

from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.horizon_candidates import build_horizon_candidates  # noqa: E402
from optimizer.horizon_plan import extract_horizon  # noqa: E402
from optimizer.model.horizon import build_horizon_model  # noqa: E402
from optimizer.model.solve import solve  # noqa: E402
from optimizer.pipeline import SolveOptions  # noqa: E402
from optimizer.problem import parse_problem  # noqa: E402
from optimizer.verify_horizon import verify_horizon  # noqa: E402

OWNED = {"kind": "owned", "name": "bench-8x-h100", "gpu": "H100-SXM", "gpus_per_instance": 8,
         "server_price_usd": 300000, "lead_time_months": 3, "depreciation_months": 48, "residual_value_usd": 30000,
         "power_kw_load": 10.2, "power_kw_idle": 2.0, "electricity_usd_per_kwh": 0.12, "pue": 1.3,
         "facility_usd_per_kw_month": 150, "staff_usd_month": 4000, "jurisdiction": "us",
         "source": "bench assumption (not a quote)", "checked": "2026-12-03"}


def horizon_problem(months: int, n: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    base = large_problem(seed, n)
    for w in base["workloads"]:
        w["growth"] = {"monthly_rate": rng.choice([-0.02, 0.0, 0.05, 0.1, 0.15])}
        w["spike_factor"] = rng.choice([2.0, 3.0, 4.0])
    base["policy"].pop("failover")
    base["policy"]["capacity_types"] = ["on_demand", "spot", "reserved_1y"]
    base["horizon"] = {"months": months, "discount_rate_annual": 0.08}
    base["quotes"] = [OWNED]
    base["name"] = f"bench-horizon-{months}m-{n}w"
    return base


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--workloads", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=300)
    ap.add_argument("--solver", default="highs")
    a = ap.parse_args()
    cat = load_catalog(ROOT / "catalogs" / "2026-12-03")
    prob = parse_problem(horizon_problem(a.months, a.workloads))
    t0 = time.perf_counter()
    hc = build_horizon_candidates(prob, cat)
    t_cand = time.perf_counter() - t0
    lp = build_horizon_model(prob, hc, integer=False)
    rl = solve(lp.prob, a.solver, a.time_limit)
    t0 = time.perf_counter()
    m = build_horizon_model(prob, hc)
    t_build = time.perf_counter() - t0
    res = solve(m.prob, a.solver, a.time_limit)
    plan = extract_horizon(prob, hc, m, res, SolveOptions(solver=a.solver, time_limit=a.time_limit))
    v = verify_horizon(plan, prob, cat)
    nint = sum(1 for v_ in m.prob.variables() if v_.cat == "Integer")
    print(f"horizon {a.months} months x {a.workloads} workloads ({a.solver}): pools {len(hc.flex)} flex, "
          f"{len(hc.reserved)} reserved, {len(hc.owned)} owned, {len(hc.apis)} APIs")
    print(f"  model: {len(m.prob.variables()):,} variables ({nint:,} integer), {len(m.prob.constraints):,} rows; "
          f"candidates {t_cand:.2f} s, build {t_build:.2f} s")
    print(f"  LP relaxation (baseline): {rl.seconds:.2f} s, {rl.objective:,.2f}")
    print(f"  MILP: {res.status.value} in {res.seconds:.2f} s ({res.seconds / max(rl.seconds, 1e-9):.1f}x the LP), "
          f"NPV {res.objective:,.2f}, bound {res.bound if res.bound is None else f'{res.bound:,.2f}'}, "
          f"gap {res.gap if res.gap is None else f'{res.gap:.4%}'}")
    print(f"  verify: {v.checks} checks, {len(v.violations)} violations; commitments {len(plan.commitments)}, "
          f"purchases {len(plan.purchases)}, decisions {len(plan.decisions)}")
    for d in plan.decisions[:12]:
        print(f"    {d}")


if __name__ == "__main__":
    main()
