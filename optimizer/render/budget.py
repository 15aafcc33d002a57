"""Text for `llmplan budget`: the breakdown by workload (the seed's compute_budget layout) and by category."""

from __future__ import annotations

from ..explain.budget import plan_budget
from ..result import Plan
from .fmt import usd


def budget_text(plan: Plan) -> str:
    rows, total = plan_budget(plan)
    out = [f"Total monthly compute: {usd(total)}", ""]
    w = max([len(r.name) for r in rows] + [10])
    for r in rows:
        out.append(f"  {r.name:<{w}}  {r.spec[:40]:<40}  {usd(r.monthly_cost_usd):>12}/mo  ({r.percent:5.1f}%)")
    out += ["", "By category:"]
    for c in plan.categories:
        out.append(f"  {c.category:<{w}}  {usd(c.monthly_cost_usd):>12}/mo  ({c.percent:5.1f}%)")
    refs = [r for r in plan.references if r.what in ("monthly_cost_usd", "workload_percent",
                                                     "workload_monthly_cost_usd")]
    if refs:
        out += ["", "Reference figures:"]
        for r in refs:
            what = r.what.replace("_", " ") + (f" of {r.workload}" if r.workload else "")
            out.append(f"  {r.label} {what} {r.reference:,.2f}: {r.note}")
    return "\n".join(out) + "\n"
