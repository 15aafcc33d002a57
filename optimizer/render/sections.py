"""Report content shared by the Markdown and HTML renderers: rows of text computed from a Plan only."""

from __future__ import annotations

from ..explain.budget import plan_budget
from ..plan import Plan
from .fmt import delta, pct, qty, unit_usd, usd


def line_items(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """(workload, item, monthly qty, unit, monthly cost) per plan line."""
    rows = []
    for w in plan.workloads:
        for d in plan.deployments:
            if d.workload != w.name:
                continue
            if d.share is None:
                item = f"{d.instances}x {d.instance_type} ({d.gpus_per_instance}x {d.gpu}), {d.capacity_type}, {d.cloud} {d.region}"
                rows.append((w.name, item, qty(d.instances * d.hours_per_month),
                             f"instance-hours at {unit_usd(d.hourly_usd_per_instance)}", usd(d.monthly_cost_usd)))
                continue
            role = f"{pct(d.share, 0)} of traffic" if d.share > 0 else "failover standby"
            if d.pool_share < 0.9995:
                role += f", {pct(d.pool_share, 0)} of a shared pool"
            item = (f"{d.model} {d.precision} tp{d.tp} on {d.gpu}: {d.replicas} replica(s) on {d.instances}x "
                    f"{d.instance_type}, {d.capacity_type}, {d.cloud} {d.region} ({role})")
            rows.append((w.name, item, qty(round(d.instances * d.hours_per_month * d.pool_share, 2)),
                         f"instance-hours at {unit_usd(d.hourly_usd_per_instance)}", usd(d.monthly_cost_usd)))
        for a in plan.api:
            if a.workload == w.name:
                rows.append((w.name, f"API {a.api_id}{' (batch)' if a.mode == 'batch' else ''} ({pct(a.share, 0)} of traffic)",
                             qty(round(a.requests_per_month)), f"requests at {unit_usd(a.usd_per_request)}",
                             usd(a.monthly_cost_usd)))
    for f in plan.fixed:
        rows.append(("(shared)", f.name, "1", "month", usd(f.monthly_cost_usd)))
    return rows


def budget_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    rows, _ = plan_budget(plan)
    return [(r.name, r.category, r.spec, usd(r.monthly_cost_usd), f"{r.percent:.1f}%") for r in rows]


def breakeven_lines(plan: Plan) -> list[tuple[str, list[str]]]:
    """(workload, bullet lines) per workload."""
    out = []
    for b in plan.breakeven:
        lines = [f"Capacity-aware: {b.verdict}.", f"Why: {b.reason}."]
        if b.api_option:
            lines.append(f"API option: {b.api_option} at {unit_usd(b.api_usd_per_request)} per request"
                         + (f" (its rate limit caps API-only service at {b.api_max_requests_per_month:,.0f} "
                            f"requests/month)" if b.api_max_requests_per_month else ""))
        for c in b.crossovers:
            lines.append(f"Crossover at {c.requests_per_month:,.0f} requests/month ({c.requests_per_minute:,.1f}/min "
                         f"average): {'self-hosting' if c.cheaper_above.startswith('self-hosted') else 'the API'} is "
                         f"cheaper above it ({c.self_hosted_option}).")
        n = b.naive
        if n is not None:
            be = "never" if n.breakeven_monthly_requests is None else (
                f"{n.breakeven_monthly_requests:,.0f} requests/month (~{n.breakeven_requests_per_day:,.0f}/day, "
                f"{n.breakeven_requests_per_minute:,.1f}/min)")
            lines.append(f"Seed formula (naive): {be} = (${n.gpu_cost_per_hour:,.2f}/h x 730 x {n.gpu_count} + "
                         f"${n.ops_overhead_monthly:,.0f} ops) / ${n.api_cost_per_request:.6f} per request. It assumes "
                         f"one fixed fleet serves any volume; the capacity-aware figure buys the instances the volume "
                         f"needs at peak.")
            if b.naive_vs_capacity:
                lines.append(f"Why the answers differ: {b.naive_vs_capacity}.")
        out.append((b.workload, lines))
    return out


def constraint_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for c in plan.constraint_costs or []:
        adds = "-" if c.monthly_cost_usd is None else usd(c.monthly_cost_usd)
        rows.append((c.family, c.description, "yes" if c.binding else "no", adds,
                     usd(c.relaxed_cost_usd) if c.relaxed_cost_usd is not None else "infeasible"))
    return rows


def alternative_rows(plan: Plan) -> list[tuple[str, str, str, str]]:
    rows = [("this plan (optimal)" if plan.status == "optimal" else f"this plan ({plan.status})",
             usd(plan.monthly_cost_usd), "-", "")]
    for a in plan.alternatives or []:
        if a.monthly_cost_usd is None:
            relaxed = "-" if a.relaxed_monthly_cost_usd is None else f"({usd(a.relaxed_monthly_cost_usd)} relaxed)"
            rows.append((a.name, "infeasible", relaxed, a.summary))
        else:
            rows.append((a.name, usd(a.monthly_cost_usd), delta(a.delta_usd, a.delta_percent), a.summary))
    return rows


def entry_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for e in plan.entry_prices or []:
        entry = "never" if e.entry_price is None else unit_usd(e.entry_price)
        rows.append((e.workload, e.option, f"{unit_usd(e.current_price)} {e.unit}", entry, e.method))
    return rows


def sources(plan: Plan) -> list[str]:
    seen = []
    for s in [d.price_source for d in plan.deployments] + [a.price_source for a in plan.api]:
        if s not in seen:
            seen.append(s)
    return seen


def status_line(plan: Plan) -> str:
    bound = f", lower bound {usd(plan.lower_bound_usd)}" if plan.lower_bound_usd is not None else ""
    return (f"{plan.status} (gap {pct(plan.gap, 2)}{bound}); solver {plan.solver.name}; catalog "
            f"{plan.catalog.get('version')} (oldest price checked {plan.catalog.get('oldest_price_checked')})")
