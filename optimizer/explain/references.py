"""Compare a plan with reference figures given in the problem (a spreadsheet's, or a source's printed figure)."""

from __future__ import annotations

from ..result import Plan, ReferenceCheck
from ..problem import Problem


def _computed(plan: Plan, what: str, workload: str | None) -> float | None:
    total = plan.monthly_cost_usd
    if what == "monthly_cost_usd":
        return total
    wl = next((w for w in plan.workloads if w.name == workload), None)
    if what == "workload_monthly_cost_usd":
        if wl is None:  # a workload with request classes: the sum of its classes (`workload/class`)
            parts = [w.monthly_cost_usd for w in plan.workloads if w.name.startswith(f"{workload}/")]
            return round(sum(parts), 2) if parts else None
        return wl.monthly_cost_usd
    if what == "workload_percent":
        return round(100 * wl.monthly_cost_usd / total, 1) if wl and total else None
    if what == "breakeven_requests_per_month":
        be = next((b for b in plan.breakeven if b.workload == workload), None)
        return be.naive.breakeven_monthly_requests if be and be.naive else None
    return None


def check_references(problem: Problem, plan: Plan) -> list[ReferenceCheck]:
    out = []
    for r in problem.references:
        got = _computed(plan, r.what, r.workload)
        if got is None:
            note = "not computable from this plan"
        elif abs(got - r.value) <= (0.05 if "percent" in r.what else 0.5):  # references are rounded figures
            note = "matches what the inputs give"
        else:
            rel = f", {(got - r.value) / r.value:+.1%}" if r.value else ""  # no percent of a zero reference
            note = f"does not follow from the inputs: they give {got:,.2f} ({got - r.value:+,.2f}{rel})"
        out.append(ReferenceCheck(label=r.label, what=r.what, workload=r.workload, reference=r.value, computed=got,
                                  note=note))
    return out
