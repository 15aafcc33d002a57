"""HTML report: one self-contained file (inline CSS and SVG, no scripts) with the Markdown report's content and
two charts: cost against monthly volume with the breakeven marked, and the budget breakdown."""

from __future__ import annotations

from html import escape

from ..explain.budget import plan_budget
from ..result import Plan
from . import sections as S
from .fmt import usd
from .svg import COLORS, bar_chart, line_chart

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem;font-size:0.9rem}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap}
h1{margin-bottom:0.2rem}.total{font-size:1.3rem;font-weight:bold}.muted{color:#666}.chart{margin:0.5rem 0 1rem}"""


def _table(head: tuple, rows: list[tuple], num_cols: set[int] = frozenset()) -> str:
    h = "".join(f"<th>{escape(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in num_cols else ""}>{escape(str(v))}</td>'
                                     for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def breakeven_chart(plan: Plan, workload: str) -> str:
    b = next(x for x in plan.breakeven if x.workload == workload)
    series = []
    if any(p.api_usd is not None for p in b.curve):
        series.append((f"API ({b.api_option})", COLORS["api"], [(p.requests_per_month, p.api_usd) for p in b.curve]))
    if any(p.self_hosted_usd is not None for p in b.curve):
        series.append(("self-hosted (instances for the peak, plus ops)", COLORS["self"],
                       [(p.requests_per_month, p.self_hosted_usd) for p in b.curve]))
    markers = [(c.requests_per_month, f"breakeven {c.requests_per_month:,.0f}", COLORS["cross"]) for c in b.crossovers]
    if b.naive and b.naive.breakeven_monthly_requests:
        markers.append((b.naive.breakeven_monthly_requests,
                        f"seed formula {b.naive.breakeven_monthly_requests:,.0f}", COLORS["naive"]))
    return line_chart(f"{workload}: monthly cost against monthly volume", series, markers,
                      "requests per month", "USD per month")


def budget_chart(plan: Plan) -> str:
    rows, total = plan_budget(plan)
    items = [(r.name, r.monthly_cost_usd, f"{usd(r.monthly_cost_usd)} ({r.percent:.1f}%)")
             for r in sorted(rows, key=lambda r: -r.monthly_cost_usd)]
    return bar_chart(f"Monthly budget by workload (total {usd(total)})", items)


def to_html(plan: Plan) -> str:
    p = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>llmplan: {escape(plan.problem)}</title>"
         f"<style>{CSS}</style></head><body>", f"<h1>llmplan: {escape(plan.problem)}</h1>"]
    if plan.description:
        p.append(f"<p>{escape(plan.description)}</p>")
    p.append(f'<p class=total>Monthly cost: {usd(plan.monthly_cost_usd)}</p><p class=muted>USD, 730 hours/month. '
             f"Status: {escape(S.status_line(plan))}.</p>")
    p.append("<h2>Plan</h2>" + _table(("Workload", "Line item", "Monthly qty", "Unit", "Monthly cost"),
                                      S.line_items(plan) + [("Total", "", "", "", usd(plan.monthly_cost_usd))], {2, 4}))
    if plan.failover:
        p.append(f"<h2>Failover</h2><p>{escape(S.failover_note(plan))}</p>" + _table(
            ("Lost provider", "Workload", "Re-routed to", "Requests/s at peak", "Why"), S.failover_rows(plan), {3}))
    if S.considered_rows(plan):
        p.append("<h2>Considered and not used</h2>" + _table(("Kind", "Name", "Workload", "Status", "Reason"),
                                                             S.considered_rows(plan)))
    from .traffic import class_lines, hourly_chart, hourly_lines
    if class_lines(plan):
        p.append("<h2>Request classes</h2><ul>" + "".join(f"<li>{escape(ln)}</li>" for ln in class_lines(plan))
                 + "</ul>")
    from .traffic import technique_lines
    if technique_lines(plan):
        p.append("<h2>Cost techniques</h2><ul>" + "".join(f"<li>{escape(ln)}</li>" for ln in technique_lines(plan))
                 + "</ul>")
    if hourly_lines(plan):
        p.append("<h2>Hour by hour</h2>" + hourly_chart(plan) + "<ul>"
                 + "".join(f"<li>{escape(ln)}</li>" for ln in hourly_lines(plan)) + "</ul>")
    p.append("<h2>Budget</h2>" + budget_chart(plan))
    p.append(_table(("Workload", "Category", "Spec", "Monthly cost", "Share"), S.budget_rows(plan), {3, 4}))
    p.append(_table(("Category", "Monthly cost", "Share"),
                    [(c.category, usd(c.monthly_cost_usd), f"{c.percent:.1f}%") for c in plan.categories], {1, 2}))
    p.append("<h2>Breakeven: API vs self-hosting</h2>")
    for w, lines in S.breakeven_lines(plan):
        p.append(f"<h3>{escape(w)}</h3>")
        b = next(x for x in plan.breakeven if x.workload == w)
        if b.curve and len(b.curve) > 1:
            p.append(breakeven_chart(plan, w))
        p.append("<ul>" + "".join(f"<li>{escape(ln)}</li>" for ln in lines) + "</ul>")
    rows = S.uncertainty_rows(plan)
    if rows:
        p.append("<h2>Capacity and its uncertainty</h2><ul>"
                 + "".join(f"<li>{escape(ln)}</li>" for ln in S.uncertainty_lines(plan)) + "</ul>"
                 + _table(("Workload", "Pool", "Engine", "Point estimate", "Planned", "80% band", "Basis"), rows,
                          {3, 4}))
    if S.energy_lines(plan):
        p.append("<h2>Energy and carbon</h2><ul>"
                 + "".join(f"<li>{escape(ln)}</li>" for ln in S.energy_lines(plan)) + "</ul>"
                 + _table(("Line", "Workloads", "Energy a month", "CO2e a month", "Basis"), S.energy_rows(plan),
                          {2, 3}))
    p.append("<h2>What each constraint costs</h2>")
    p.append("<p>Not computed for this plan (run <code>llmplan solve --explain</code>).</p>" if plan.constraint_costs
             is None else _table(("Constraint", "Meaning", "Binding", "Adds per month", "Plan cost without it"),
                                 S.constraint_rows(plan), {3, 4}))
    p.append("<h2>Alternatives</h2>")
    p.append("<p>Not computed for this plan (run <code>llmplan solve --explain</code>).</p>" if plan.alternatives
             is None else _table(("Plan", "Monthly cost", "vs this plan", "What it buys"), S.alternative_rows(plan),
                                 {1, 2}))
    if plan.entry_prices:
        p.append("<h2>Options not chosen: price at which they would enter</h2>"
                 + _table(("Workload", "Option", "Current price", "Enters at or below", "Method"), S.entry_rows(plan)))
    if plan.references:
        p.append("<h2>Reference figures</h2>" + _table(
            ("Reference", "Figure", "Workload", "Value", "Note"),
            [(r.label, r.what, r.workload or "-", f"{r.reference:,.2f}", r.note) for r in plan.references]))
    p.append("<h2>Assumptions and sources</h2><ul>" + "".join(f"<li>{escape(a)}</li>" for a in plan.assumptions)
             + f"<li>Catalog {escape(str(plan.catalog.get('version')))}; prices used in this plan come from:<ul>"
             + "".join(f"<li>{escape(s)}</li>" for s in S.sources(plan)) + "</ul></li></ul>")
    if plan.warnings:
        p.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{escape(w)}</li>" for w in plan.warnings) + "</ul>")
    p.append("</body></html>\n")
    return "\n".join(p)
