"""Report content shared by the Markdown and HTML renderers: rows of text computed from a Plan only."""

from __future__ import annotations

from ..explain.budget import plan_budget
from ..result import Plan
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


def failover_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """(lost provider, workload, target, requests/s at peak, why) per failover route, then the standby APIs."""
    rows = [(r.lost_provider, r.workload, r.target + (" (batch)" if r.mode == "batch" else ""), f"{r.rps:,.4g}",
             r.reason or "") for r in plan.failover_routes]
    rows += [("(standby)", a.workload, f"API {a.api_id}", "0 normally", "takes traffic only after a loss")
             for a in plan.standby_api]
    return rows


def failover_note(plan: Plan) -> str:
    if not plan.failover:
        return ""
    return (f"After losing any one provider, {plan.failover['fraction']:.0%} of every workload's peak is re-routed as "
            f"below; a workload not listed for a lost provider keeps its normal routing at that fraction.")


def considered_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """(kind, name, workload, status, reason) for every named option the plan does not use."""
    return [(c.kind, c.name, c.workload or "-", c.status, c.reason) for c in plan.considered if c.status != "used"]
def _band(d) -> str:
    """'x/1.52 (80%: 10th-90th percentile)' text of a deployment's band."""
    if d.capacity_sigma is None:
        return "-"
    import math
    return f"x/{math.exp(1.2815516 * d.capacity_sigma):.2f}"


def uncertainty_rows(plan: Plan) -> list[tuple[str, str, str, str, str, str, str]]:
    """Per self-hosted deployment with a capacity band: (workload, pool, engine, point estimate, planned, 80% band,
    basis), model-based ones first by what their uncertainty costs."""
    cost = {p.pool: p.uncertainty_cost_usd or 0.0 for p in plan.pools}
    rows = []
    for d in sorted(plan.deployments, key=lambda d: (-cost.get(d.pool, 0.0), d.workload, d.pool)):
        if d.capacity_point_rps is None:
            continue
        basis = "measured (narrow band)" if d.capacity_source == "measured" else "model"
        rows.append((d.workload, f"{d.gpu} {d.precision} tp{d.tp} ({d.cloud})", d.engine or "-",
                     f"{d.capacity_point_rps:,.2f} req/s", f"{d.capacity_rps:,.2f} req/s", _band(d), basis))
    return rows


def uncertainty_lines(plan: Plan) -> list[str]:
    """The cost of planning at capacity_confidence, and the pools whose uncertainty costs most (what measuring
    them could save at most)."""
    if plan.capacity_confidence is None or not any(d.capacity_point_rps is not None for d in plan.deployments):
        return []
    out = []
    if plan.point_estimate_cost_usd is not None:
        extra = plan.monthly_cost_usd - plan.point_estimate_cost_usd
        out.append(f"Pools are sized at the capacity they reach with {plan.capacity_confidence:.0%} probability: "
                   f"{usd(plan.monthly_cost_usd)}/month; at the point estimates the plan would cost "
                   f"{usd(plan.point_estimate_cost_usd)}/month, so confidence costs {usd(extra)}/month.")
    else:
        out.append(f"Pools are sized at the capacity they reach with {plan.capacity_confidence:.0%} probability.")
    by_pool = {}
    for d in plan.deployments:
        if d.capacity_source == "model" and d.capacity_point_rps is not None:
            by_pool.setdefault(d.pool, []).append(d)
    ranked = sorted((p for p in plan.pools if p.pool in by_pool and (p.uncertainty_cost_usd or 0) > 0.005),
                    key=lambda p: -p.uncertainty_cost_usd)
    for p in ranked[:3]:
        ds = by_pool[p.pool]
        wl = ", ".join(sorted({d.workload for d in ds}))
        why = (f"{p.instances} instance(s) planned, {p.point_instances} at the point estimate"
               if p.point_instances is None or p.point_instances < p.instances else
               f"{p.instances} instance(s) planned, as many at the point estimate: the saving is the share of them "
               f"the point estimate leaves idle, which only a smaller instance type would recover")
        out.append(f"Measuring {p.gpu}/{ds[0].engine} ({p.cloud} {p.instance_type}) for {wl} could save up to "
                   f"{usd(p.uncertainty_cost_usd)}/month ({why}).")
    return out


def _kwh(v) -> str:
    return "unknown" if v is None else f"{v:,.0f} kWh" if v >= 10 else f"{v:.3g} kWh"


def _kg(v) -> str:
    return "unknown" if v is None else f"{v:,.0f} kg" if v >= 10 else f"{v:.3g} kg"


def energy_lines(plan: Plan) -> list[str]:
    """The plan's energy and carbon a month, what is unknown, and the cap."""
    e = plan.energy
    if e is None or not e.lines:
        return []
    n = len(e.lines)
    out = [f"energy {_kwh(e.kwh)} a month ({n - len(e.unknown_kwh)} of {n} lines known); carbon {_kg(e.kg_co2e)} "
           f"CO2e a month ({n - len(e.unknown_co2e)} of {n} lines known)", e.note]
    if e.unknown_co2e:
        out.append(f"carbon unknown for {len(e.unknown_co2e)} of {len(e.lines)} lines: {', '.join(e.unknown_co2e)}")
    if e.max_co2e_kg_month is not None:
        out.append(f"cap (policy.max_co2e_kg_month): {_kg(e.max_co2e_kg_month)} CO2e a month")
    return out


def energy_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """(line, workloads, kWh, kg CO2e, basis in short) per energy line."""
    rows = []
    for x in (plan.energy.lines if plan.energy else []):
        if x.basis.startswith("model:"):
            grid = "grid unknown" if x.gco2e_per_kwh is None else f"grid {x.gco2e_per_kwh:g} g/kWh"
            short = f"{grid}, PUE {x.pue:g}, busy {pct(x.busy_fraction or 0, 0)}"
        else:
            short = x.basis.split(":", 1)[0]
        rows.append((x.name, ", ".join(x.workloads), _kwh(x.kwh), _kg(x.kg_co2e), short))
    return rows
