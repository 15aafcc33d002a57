"""A plan over a horizon as text (table, Markdown), JSON and a self-contained HTML report with a chart of the
cost by month stacked by kind (inline SVG, no scripts, like optimizer/render/html.py). Pure functions of a
`HorizonPlan`."""

from __future__ import annotations

import json
from html import escape

from ..horizon_result import COST_KINDS, HorizonPlan
from .fmt import usd
from .svg import BAR_COLORS, _nice_ticks, _short

KIND_LABEL = {"on_demand": "on-demand", "spot": "spot", "reserved": "reserved (commitments)",
              "owned_capex": "owned: purchases", "owned_opex": "owned: power, facility, staff", "api": "APIs",
              "ops": "ops overhead", "fixed": "fixed-hours blocks"}


def to_json(plan: HorizonPlan) -> str:
    return json.dumps(plan.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


def _fleet(mo) -> str:
    lines = [f"{f.instances}x {f.gpu}{'' if f.gpus_per_instance == 1 else f' ({f.gpus_per_instance} GPUs)'} "
             f"{f.capacity_type}{'' if f.capacity_type == 'owned' else ' ' + f.cloud}" for f in mo.fleet]
    lines += [f"{b.workload}: {b.instances}x {b.gpu}{'' if b.gpus_per_instance == 1 else f' ({b.gpus_per_instance} GPUs)'} "
              f"{b.capacity_type} {b.cloud} {b.hours:g} h" for b in mo.fixed]
    return "; ".join(lines) or "-"


def _api(mo) -> str:
    return ", ".join(f"{w} {s:.0%}" for w, s in mo.api_share.items())


def _energy(mo) -> str:
    """'1,234 kWh, 56.7 kg' for the lines whose figures are known, '+2 unknown' for those whose carbon is not."""
    e = mo.energy
    if e is None:
        return "-"
    if e.lines and len(e.unknown_kwh) == len(e.lines):
        return "unknown"
    if e.unknown_co2e and len(e.unknown_co2e) == len(e.lines):
        return f"{e.kwh:,.0f} kWh, CO2e unknown"
    unknown = f" (+{len(e.unknown_co2e)} unknown)" if e.unknown_co2e else ""
    return f"{e.kwh:,.0f} kWh, {e.kg_co2e:,.1f} kg{unknown}"


HEAD = ("Month", "Fleet", "API share", "Cost", "Discount", "Energy, CO2e")


def rows(plan: HorizonPlan) -> list[tuple]:
    return [(str(mo.month), _fleet(mo), _api(mo), usd(mo.total_usd), f"{mo.discount_factor:.4f}", _energy(mo))
            for mo in plan.timeline]


def energy_line(plan: HorizonPlan) -> str | None:
    """Energy and carbon over the horizon, and the lines whose carbon is unknown (named once, whatever the month)."""
    if plan.kwh is None:
        return None
    unknown = sorted({n for mo in plan.timeline if mo.energy for n in mo.energy.unknown_co2e})
    more = f"; carbon unknown for {len(unknown)} line{'s' if len(unknown) > 1 else ''}: {', '.join(unknown[:3])}" \
        + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "") if unknown else ""
    cap = plan.timeline[0].energy.max_co2e_kg_month if plan.timeline and plan.timeline[0].energy else None
    capped = f"; cap {cap:,.1f} kg CO2e a month (policy.max_co2e_kg_month)" if cap is not None else ""
    return (f"Energy over the horizon: {plan.kwh:,.0f} kWh, {plan.kg_co2e:,.1f} kg CO2e (lines whose figures are "
            f"known{more}){capped}; model in docs/energy.md")


def summary_lines(plan: HorizonPlan) -> list[str]:
    out = [f"NPV over {plan.months} months: {usd(plan.npv_usd)} (discount {plan.discount_rate_annual:.1%}/year)",
           f"Total inside the horizon (undiscounted): {usd(plan.total_usd)}"]
    if plan.committed_past_horizon_usd:
        out.append(f"Commitments running past the horizon (charged in full): {usd(plan.committed_past_horizon_usd)} "
                   f"(NPV {usd(plan.committed_past_horizon_npv_usd)})")
    if plan.residual_value_usd:
        out.append(f"Owned servers' book value at the end (credited): {usd(plan.residual_value_usd)} "
                   f"(NPV {usd(plan.residual_value_npv_usd)})")
    if energy_line(plan):
        out.append(energy_line(plan))
    gap = "" if plan.gap is None else f", gap {plan.gap:.2%}"
    ver = plan.verification or {}
    out.append(f"Status: {plan.status}{gap} ({plan.solver.name}, {plan.solver.seconds:.2f} s); verification: "
               f"{ver.get('checks', 0)} checks, {len(ver.get('violations', []))} violations")
    return out


def cost_lines(plan: HorizonPlan) -> list[str]:
    """--explain: what each policy constraint costs over the horizon (NPV)."""
    out = []
    for c in plan.constraint_costs:
        if c.costs_npv_usd is None:
            out.append(f"{c.field} ({c.limit}): the problem has no plan without it either")
        elif c.costs_npv_usd <= 0.005:
            out.append(f"{c.field} ({c.limit}): not binding (NPV without it {usd(c.npv_without_usd)})")
        else:
            out.append(f"{c.field} ({c.limit}): costs {usd(c.costs_npv_usd)} of NPV (without it "
                       f"{usd(c.npv_without_usd)})")
    return out


def to_table(plan: HorizonPlan) -> str:
    head = tuple(h.upper() for h in HEAD)
    body = rows(plan)
    widths = [max(len(head[i]), *(len(r[i]) for r in body)) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i in (1, 2, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()  # noqa: E731
    out = [f"Plan over {plan.months} months: {plan.problem} (deployment {plan.deployment})", "", fmt(head),
           *(fmt(r) for r in body), ""]
    kinds = [k for k in COST_KINDS if any(mo.cost_usd.get(k) for mo in plan.timeline)]
    if kinds:
        out.append("Cost by kind: " + ", ".join(f"{KIND_LABEL[k]} {usd(sum(mo.cost_usd.get(k, 0) for mo in plan.timeline))}"
                                                for k in kinds))
    out += summary_lines(plan)
    if plan.decisions:
        out += ["", "Decision points:", *(f"  {d}" for d in plan.decisions)]
    if plan.constraint_costs:
        out += ["", "What each constraint costs (NPV over the horizon):", *(f"  {c}" for c in cost_lines(plan))]
    if plan.assumptions:
        out += ["", "Assumptions:", *(f"  - {a}" for a in plan.assumptions)]
    out += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(out) + "\n"


def to_markdown(plan: HorizonPlan) -> str:
    out = [f"# llmplan: {plan.problem} over {plan.months} months", "",
           *(f"- {s}" for s in summary_lines(plan)), "", f"| {' | '.join(HEAD)} |",
           "|---:|---|---|---:|---:|---|", *(f"| {' | '.join(r)} |" for r in rows(plan)), ""]
    if plan.decisions:
        out += ["## Decision points", "", *(f"- {d}" for d in plan.decisions), ""]
    if plan.constraint_costs:
        out += ["## What each constraint costs (NPV over the horizon)", "", *(f"- {c}" for c in cost_lines(plan)), ""]
    if plan.commitments:
        out += ["## Commitments", "", "| Pool | Start | Term | Instances | $/month | Past horizon |", "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {c.pool} | {c.start_month} | {c.term_months} | {c.instances} | {usd(c.monthly_usd)} | "
                f"{usd(c.cost_past_horizon_usd)} |" for c in plan.commitments]
        out.append("")
    if plan.purchases:
        out += ["## Purchases", "", "| Server | Ordered | Delivered | Servers | Price | Book value at end |",
                "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {b.server} | {b.order_month} | {b.delivery_month} | {b.servers} | {usd(b.price_usd)} | "
                f"{usd(b.book_value_end_usd)} |" for b in plan.purchases]
        out.append("")
    if plan.assumptions:
        out += ["## Assumptions", "", *(f"- {a}" for a in plan.assumptions), ""]
    return "\n".join(out)


def stacked_chart(plan: HorizonPlan, width: int = 720, height: int = 360) -> str:
    """Cost by month, one bar per month stacked by kind of cost (COST_KINDS), with a legend."""
    kinds = [k for k in COST_KINDS if any(mo.cost_usd.get(k, 0) > 0 for mo in plan.timeline)]
    left, right, top, bottom = 70, 20, 40, 70
    ymax = max((sum(max(mo.cost_usd.get(k, 0), 0) for k in kinds) for mo in plan.timeline), default=1.0) * 1.05 or 1.0
    n = max(len(plan.timeline), 1)
    slot = (width - left - right) / n
    sy = lambda y: (height - top - bottom) * y / ymax  # noqa: E731
    title = f"Cost by month, stacked by kind (NPV {usd(plan.npv_usd)})"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" class="chart">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for v in _nice_ticks(ymax):
        y = height - bottom - sy(v)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">${_short(v)}</text>')
    for i, mo in enumerate(plan.timeline):
        x = left + i * slot + slot * 0.15
        base = height - bottom
        for j, k in enumerate(kinds):
            v = max(mo.cost_usd.get(k, 0), 0)
            if v <= 0:
                continue
            hgt = sy(v)
            base -= hgt
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{hgt:.1f}" '
                       f'fill="{BAR_COLORS[j % len(BAR_COLORS)]}"><title>month {mo.month}: {escape(KIND_LABEL[k])} '
                       f'{escape(usd(v))}</title></rect>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                   f'font-size="11">{mo.month}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - bottom + 30}" text-anchor="middle" '
               f'font-size="12">month</text>')
    lx = left
    for j, k in enumerate(kinds):
        out.append(f'<rect x="{lx}" y="{height - 22}" width="10" height="10" fill="{BAR_COLORS[j % len(BAR_COLORS)]}"/>'
                   f'<text x="{lx + 14}" y="{height - 13}" font-size="11">{escape(KIND_LABEL[k])}</text>')
        lx += 14 + 7 * len(KIND_LABEL[k]) + 16
    out.append("</svg>")
    return "".join(out)


def to_html(plan: HorizonPlan) -> str:
    from .html import CSS, _table
    p = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>llmplan: {escape(plan.problem)}</title>"
         f"<style>{CSS}</style></head><body>", f"<h1>llmplan: {escape(plan.problem)} over {plan.months} months</h1>",
         f'<p class=total>NPV: {usd(plan.npv_usd)}</p>',
         "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in summary_lines(plan)) + "</ul>",
         stacked_chart(plan), "<h2>Timeline</h2>",
         _table(HEAD, rows(plan), {0, 3, 4})]
    if plan.decisions:
        p.append("<h2>Decision points</h2><ul>" + "".join(f"<li>{escape(d)}</li>" for d in plan.decisions) + "</ul>")
    if plan.constraint_costs:
        p.append("<h2>What each constraint costs (NPV over the horizon)</h2><ul>"
                 + "".join(f"<li>{escape(c)}</li>" for c in cost_lines(plan)) + "</ul>")
    if plan.assumptions:
        p.append("<h2>Assumptions</h2><ul>" + "".join(f"<li>{escape(a)}</li>" for a in plan.assumptions) + "</ul>")
    if plan.warnings:
        p.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{escape(w)}</li>" for w in plan.warnings) + "</ul>")
    p.append("</body></html>")
    return "\n".join(p) + "\n"


def render_horizon(plan: HorizonPlan, fmt: str) -> str:
    return {"json": to_json, "markdown": to_markdown, "html": to_html}.get(fmt, to_table)(plan)
