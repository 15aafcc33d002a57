"""Compute budget by workload and category.

`seed_compute_budget` reproduces the seed chapter's `compute_budget` (Code Fragment 33.5.3) exactly, rounding
included. `plan_budget` gives the same breakdown for any plan, recomputed from its lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..result import Plan


def seed_compute_budget(workloads: list[tuple[str, str, int, float, float]]) -> dict:
    """(name, gpu_type, gpu_count, hours_per_month, cost_per_gpu_hour) rows -> the chapter's summary dict."""
    costs = [(n, g, c, h, p, c * h * p) for n, g, c, h, p in workloads]
    total = sum(x[-1] for x in costs)
    breakdown = {n: {"monthly_cost": round(cost), "pct_of_total": round(cost / total * 100, 1),
                     "gpu_spec": f"{c}x {g}"} for n, g, c, h, p, cost in costs}
    return {"total_monthly": round(total), "workloads": breakdown}


@dataclass(frozen=True)
class BudgetRow:
    name: str
    category: str
    spec: str
    monthly_cost_usd: float
    percent: float


def plan_budget(plan: Plan) -> tuple[list[BudgetRow], float]:
    """One row per workload plus one per shared cost, each with its percent of the total; recomputed from lines."""
    total = sum(d.monthly_cost_usd for d in plan.deployments) + sum(a.monthly_cost_usd for a in plan.api) + sum(
        f.monthly_cost_usd for f in plan.fixed)
    rows = []
    for w in plan.workloads:
        cost = sum(d.monthly_cost_usd for d in plan.deployments if d.workload == w.name) + sum(
            a.monthly_cost_usd for a in plan.api if a.workload == w.name)
        # a shared pool's GPUs are split by the workload's share of the pool's load: never counted in full twice
        specs = [f"{d.gpus_per_instance * d.instances}x {d.gpu}" if d.pool_share >= 0.9995 else
                 f"{d.pool_share * d.gpus_per_instance * d.instances:.2g} of {d.gpus_per_instance * d.instances}x "
                 f"{d.gpu} (shared pool)" for d in plan.deployments if d.workload == w.name]
        specs += [f"API {a.api_id} {a.share:.0%}" for a in plan.api if a.workload == w.name]
        rows.append(BudgetRow(w.name, w.category, ", ".join(specs) or "-", cost, 100 * cost / total if total else 0))
    for f in plan.fixed:
        rows.append(BudgetRow(f.name, "shared", "-", f.monthly_cost_usd,
                              100 * f.monthly_cost_usd / total if total else 0))
    return rows, total
