"""Markdown report: what gets pasted into a procurement review. A pure function of the Plan."""

from __future__ import annotations

from ..result import Plan
from . import sections as S
from .fmt import usd


def _table(head: tuple, rows: list[tuple]) -> list[str]:
    esc = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(esc(v) for v in r) + " |" for r in rows]
    return out + [""]


def to_markdown(plan: Plan) -> str:
    out = [f"# llmplan: {plan.problem}", ""]
    if plan.description:
        out += [plan.description, ""]
    out += [f"**Monthly cost: {usd(plan.monthly_cost_usd)}** (USD, 730 hours/month). Status: {S.status_line(plan)}.", ""]
    out += ["## Plan", ""]
    out += _table(("Workload", "Line item", "Monthly qty", "Unit", "Monthly cost"), S.line_items(plan)
                  + [("**Total**", "", "", "", f"**{usd(plan.monthly_cost_usd)}**")])
    if plan.failover:
        out += ["## Failover", "", S.failover_note(plan), ""]
        out += _table(("Lost provider", "Workload", "Re-routed to", "Requests/s at peak", "Why"), S.failover_rows(plan))
    if S.considered_rows(plan):
        out += ["## Considered and not used", ""]
        out += _table(("Kind", "Name", "Workload", "Status", "Reason"), S.considered_rows(plan))
    from .traffic import class_lines, hourly_lines
    if class_lines(plan):
        out += ["## Request classes", ""] + [f"- {ln}" for ln in class_lines(plan)] + [""]
    from .traffic import technique_lines
    if technique_lines(plan):
        out += ["## Cost techniques", ""] + [f"- {ln}" for ln in technique_lines(plan)] + [""]
    if hourly_lines(plan):
        out += ["## Hour by hour", ""] + [f"- {ln}" for ln in hourly_lines(plan)] + [""]
    out += ["## Budget", ""]
    out += _table(("Workload", "Category", "Spec", "Monthly cost", "Share"), S.budget_rows(plan))
    out += _table(("Category", "Monthly cost", "Share"),
                  [(c.category, usd(c.monthly_cost_usd), f"{c.percent:.1f}%") for c in plan.categories])
    out += ["## Breakeven: API vs self-hosting", ""]
    for w, lines in S.breakeven_lines(plan):
        out += [f"### {w}", ""] + [f"- {ln}" for ln in lines] + [""]
    rows = S.uncertainty_rows(plan)
    if rows:
        out += ["## Capacity and its uncertainty", ""] + [f"- {ln}" for ln in S.uncertainty_lines(plan)] + [""]
        out += _table(("Workload", "Pool", "Engine", "Point estimate", "Planned", "80% band", "Basis"), rows)
    if S.energy_lines(plan):
        out += ["## Energy and carbon", ""] + [f"- {ln}" for ln in S.energy_lines(plan)] + [""]
        out += _table(("Line", "Workloads", "Energy a month", "CO2e a month", "Basis"), S.energy_rows(plan))
    out += ["## What each constraint costs", ""]
    if plan.constraint_costs is None:
        out += ["Not computed for this plan (run `llmplan solve --explain`).", ""]
    else:
        out += _table(("Constraint", "Meaning", "Binding", "Adds per month", "Plan cost without it"),
                      S.constraint_rows(plan))
    out += ["## Alternatives", ""]
    if plan.alternatives is None:
        out += ["Not computed for this plan (run `llmplan solve --explain`).", ""]
    else:
        out += _table(("Plan", "Monthly cost", "vs this plan", "What it buys"), S.alternative_rows(plan))
    if plan.entry_prices:
        out += ["## Options not chosen: price at which they would enter", ""]
        out += _table(("Workload", "Option", "Current price", "Enters at or below", "Method"), S.entry_rows(plan))
    if plan.references:
        out += ["## Reference figures", ""]
        out += _table(("Reference", "Figure", "Workload", "Value", "Note"),
                      [(r.label, r.what, r.workload or "-", f"{r.reference:,.2f}", r.note) for r in plan.references])
    out += ["## Assumptions and sources", ""]
    out += [f"- {a}" for a in plan.assumptions]
    out += [f"- Catalog {plan.catalog.get('version')}; prices used in this plan come from:"]
    out += [f"  - {s}" for s in S.sources(plan)] + [""]
    if plan.warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in plan.warnings] + [""]
    return "\n".join(out)
