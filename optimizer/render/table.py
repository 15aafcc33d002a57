"""Terminal table in infracost's style: line items (quantity, unit, monthly cost) under each workload, shared
costs, then OVERALL TOTAL, followed by the budget by category and the solver status."""

from __future__ import annotations

from ..result import Plan
from . import sections as S
from .fmt import delta, pct, qty, unit_usd, usd
from .sections import considered_rows, failover_note, failover_rows

W_NAME, W_QTY, W_UNIT, W_COST = 62, 13, 28, 14


def _row(name: str, q: str = "", unit: str = "", cost: str = "") -> str:
    return f" {name:<{W_NAME}} {q:>{W_QTY}}  {unit:<{W_UNIT}} {cost:>{W_COST}}".rstrip()


def to_table(plan: Plan) -> str:
    out = []
    out.append(f"Plan: {plan.problem}    status: {plan.status}    catalog: {plan.catalog.get('version')}")
    out.append("")
    out.append(_row("Name", "Monthly Qty", "Unit", "Monthly Cost"))
    out.append("")
    for wl in plan.workloads:
        if wl.kind == "serving":
            head = f"{wl.name}  ({wl.category}, {wl.requests_per_month:,.0f} req/mo, peak {wl.peak_rps:,.2f} req/s)"
        else:
            head = f"{wl.name}  ({wl.category}, fixed hours)"
        out.append(" " + head)
        items = []
        for d in plan.deployments:
            if d.workload != wl.name:
                continue
            if d.share is None:
                label = (f"{d.instances}x {d.instance_type} ({d.gpus_per_instance}x {d.gpu}) {d.capacity_type}, "
                         f"{d.cloud} {d.region}")
                items.append((label, qty(d.instances * d.hours_per_month), f"instance-hours ({unit_usd(d.hourly_usd_per_instance)})",
                              usd(d.monthly_cost_usd)))
                continue
            share = f"{pct(d.share, 0)} of traffic" if d.share > 0 else "failover standby"
            shared = f", {pct(d.pool_share, 0)} of pool" if d.pool_share < 0.9995 else ""
            label = (f"{d.model} {d.precision} tp{d.tp} on {d.gpu}: {d.replicas} repl. on {d.instances}x "
                     f"{d.instance_type}, {d.capacity_type}, {d.cloud} {d.region} ({share}{shared})")
            hours = d.instances * d.hours_per_month * d.pool_share
            items.append((label, qty(round(hours, 2)), f"instance-hours ({unit_usd(d.hourly_usd_per_instance)})",
                          usd(d.monthly_cost_usd)))
        for a in plan.api:
            if a.workload != wl.name:
                continue
            mode = " batch" if a.mode == "batch" else ""
            items.append((f"API {a.api_id}{mode} ({pct(a.share, 0)} of traffic)", qty(round(a.requests_per_month)),
                          f"requests ({unit_usd(a.usd_per_request)})", usd(a.monthly_cost_usd)))
        for i, (label, q, unit, cost) in enumerate(items):
            text = f"{'└─' if i == len(items) - 1 else '├─'} {label}"
            if len(text) <= W_NAME:
                out.append(_row(text, q, unit, cost))
            else:  # long labels get a line of their own, numbers below
                out.append(f" {text}")
                out.append(_row("", q, unit, cost))
        out.append(_row("", "", "workload total", usd(wl.monthly_cost_usd)))
        out.append("")
    for f in plan.fixed:
        out.append(_row(f.name, "1", "month", usd(f.monthly_cost_usd)))
    if plan.fixed:
        out.append("")
    out.append(_row("OVERALL TOTAL", "", "", usd(plan.monthly_cost_usd)))
    out.append("")
    if plan.failover:
        out.append(" Failover: " + failover_note(plan))
        for lost, w, target, rps, why in failover_rows(plan):
            if lost == "(standby)":
                out.append(f"   standby: {w} -> {target} ({rps}; {why})")
            else:
                out.append(f"   without {lost}: {w} -> {target} {rps} req/s" + (f" ({why})" if why else ""))
        out.append("")
    if considered_rows(plan):
        out.append(" Considered and not used:")
        for kind, name, w, status, reason in considered_rows(plan):
            out.append(f"   {kind} {name}" + (f" for {w}" if w != "-" else "") + f": {status}"
                       + (f" ({reason})" if reason else ""))
        out.append("")
    out.append(" Budget by category:")
    for c in plan.categories:
        out.append(f"   {c.category:<28} {usd(c.monthly_cost_usd):>14}  {c.percent:5.1f}%")
    out.append("")
    if plan.breakeven:
        out.append(" Breakeven (API vs self-hosting):")
        for b in plan.breakeven:
            naive = ""
            if b.naive and b.naive.breakeven_monthly_requests is not None:
                naive = f"; seed formula: {b.naive.breakeven_monthly_requests:,.0f} requests/month"
            out.append(f"   {b.workload}: {b.verdict}{naive}")
        out.append("")
    unc = S.uncertainty_lines(plan)
    if unc:
        out.append(" Capacity uncertainty:")
        out += [f"   {ln}" for ln in unc]
        out.append("")
    en = S.energy_lines(plan)
    if en:
        out.append(" Energy and carbon:")
        out += [f"   {ln}" for ln in en]
        out += [f"   {r[0]}: {r[2]}, {r[3]} CO2e ({r[4]})" for r in S.energy_rows(plan)]
        out.append("")
    if plan.constraint_costs is not None:
        out.append(" What each constraint costs (re-solved without it):")
        for c in plan.constraint_costs:
            cost = "infeasible without it" if c.monthly_cost_usd is None else (
                f"adds {usd(c.monthly_cost_usd)}/month" if c.binding else "not binding")
            out.append(f"   {c.family:<14} {cost}" + (f"  ({c.note})" if c.note else ""))
        out.append("")
    if plan.alternatives is not None:
        out.append(" Alternatives:")
        for a in plan.alternatives:
            cost = ("infeasible" + (f" (relaxed: {usd(a.relaxed_monthly_cost_usd)})" if a.relaxed_monthly_cost_usd
                                    else "")) if a.monthly_cost_usd is None else (
                f"{usd(a.monthly_cost_usd)} ({delta(a.delta_usd, a.delta_percent, ', ')})")
            out.append(f"   {a.name:<28} {cost}")
        out.append("")
    from .traffic import class_lines, hourly_lines
    if class_lines(plan):
        out.append(" Request classes:")
        out += [f"   {ln}" for ln in class_lines(plan)]
        out.append("")
    from .traffic import technique_lines
    if technique_lines(plan):
        out.append(" Cost techniques (each re-solved without it, or forced on when not used):")
        out += [f"   {ln}" for ln in technique_lines(plan)]
        out.append("")
    if hourly_lines(plan):
        out.append(" Hour by hour (autoscaling, API overflow):")
        out += [f"   {ln}" for ln in hourly_lines(plan)]
        out.append("")
    bound = f", lower bound {usd(plan.lower_bound_usd)}" if plan.lower_bound_usd is not None else ""
    out.append(f" Solver: {plan.solver.name} {plan.solver.seconds:.2f} s, {plan.status} (gap {pct(plan.gap, 2)}{bound})")
    for w in plan.warnings:
        out.append(f" warning: {w}")
    return "\n".join(out) + "\n"
