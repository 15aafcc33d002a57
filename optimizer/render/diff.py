"""Diffs in infracost's style: `~` changed, `+` added, `-` removed, each with `+$amount ($old -> $new)`, ending
with `Amount: -$420 ($743 -> $322)` and `Percent: -57%`. Pure functions of `PlanDiff` and `CatalogDiff`; the JSON
renderers are their serialization (with the derived amount and percent written out)."""

from __future__ import annotations

import json

from ..catalog.diff import CatalogDiff, FieldChange
from ..explain.diff import LineDiff, PlanDiff


def money(v: float) -> str:
    """Whole dollars from $100 up (infracost's diff), cents below."""
    v = abs(v)
    if v < 0.005:
        return "$0"
    return f"${v:,.0f}" if v >= 100 else f"${v:,.2f}"


def signed(v: float) -> str:
    if abs(v) < 0.005:
        return "$0"
    return ("+" if v > 0 else "-") + money(v)


def amount_line(old: float, new: float) -> str:
    return f"{signed(new - old)} ({money(old)} -> {money(new)})"


def percent_text(old: float, new: float) -> str:
    if not old:
        return "n/a (old cost $0)"
    p = 100.0 * (new - old) / old
    return f"{p:+.0f}%" if abs(p) >= 0.5 else "0%"


# --- plan diff -----------------------------------------------------------------------------------------------

def _line(out: list[str], ln: LineDiff, indent: str) -> None:
    out.append(f"{indent}{ln.change} {ln.label}")
    out.append(f"{indent}  {amount_line(ln.old_cost, ln.new_cost)}")
    for d in ln.details:
        out.append(f"{indent}  {d}")


def plan_diff_to_text(d: PlanDiff) -> str:
    out = []
    name = d.new_problem if d.new_problem == d.old_problem else f"{d.old_problem} -> {d.new_problem}"
    cat = d.new_catalog if d.old_catalog == d.new_catalog else f"{d.old_catalog} -> {d.new_catalog}"
    out.append(f"Plan diff: {name}    catalog: {cat}")
    out.append("")
    for w in d.workloads:
        out.append(f"{w.change} {w.name}")
        out.append(f"  {amount_line(w.old_cost, w.new_cost)}")
        for det in w.details:
            out.append(f"  {det}")
        for ln in w.lines:
            out.append("")
            _line(out, ln, "    ")
        out.append("")
    if d.shared:
        old = sum(s.old_cost for s in d.shared)
        new = sum(s.new_cost for s in d.shared)
        out.append("~ shared costs")
        out.append(f"  {amount_line(old, new)}")
        for ln in d.shared:
            out.append("")
            _line(out, ln, "    ")
        out.append("")
    if d.fleet:
        out.append("Fleet (GPUs by type and capacity type):")
        for f in d.fleet:
            out.append(f"  {f.change} {f.gpu} {f.capacity_type}: {f.old_gpus} -> {f.new_gpus}")
        out.append("")
    out.append("Why:")
    if d.reasons:
        for r in d.reasons:
            sign = "+" if r.old is None and r.new is not None else "-" if r.new is None and r.old is not None \
                else "~"
            out.append(f"  {sign} {r.text}  [{r.evidence}]")
    else:
        out.append("  no price or demand change found in what either plan uses")
    for n in d.notes:
        out.append(f"  note: {n}")
    out.append("")
    if d.unchanged_workloads:
        out.append(f"{len(d.unchanged_workloads)} workload(s) unchanged: {', '.join(d.unchanged_workloads)}")
        out.append("")
    out.append(f"Monthly cost change for {d.new_problem}")
    out.append(f"Amount:  {amount_line(d.old_total, d.new_total)}")
    out.append(f"Percent: {percent_text(d.old_total, d.new_total)}")
    return "\n".join(out) + "\n"


def plan_diff_dict(d: PlanDiff) -> dict:
    doc = d.model_dump()
    doc["amount_usd"] = round(d.amount, 2)
    doc["percent"] = round(d.percent, 2) if d.percent is not None else None
    for r, rd in zip(d.reasons, doc["reasons"]):
        rd["percent"] = round(r.percent, 2) if r.percent is not None else None
    return doc


def plan_diff_to_json(d: PlanDiff) -> str:
    return json.dumps(plan_diff_dict(d), indent=2) + "\n"


# --- catalog diff --------------------------------------------------------------------------------------------

def _value(f: FieldChange, v) -> str:
    if v is None:
        return "-"
    if f.is_price:
        return f"${v:,.3f}"
    return str(v)


def _field(f: FieldChange) -> str:
    text = f"{f.field}  {_value(f, f.old)} -> {_value(f, f.new)}"
    if f.amount is not None:
        pct = f", {f.percent:+.1f}%" if f.percent is not None else ""
        text += f"  ({'+' if f.amount > 0 else '-'}${abs(f.amount):,.3f}{pct})"
    return text


def catalog_diff_to_text(d: CatalogDiff, limit: int | None = None) -> str:
    out = [f"Catalog diff: {d.old_version} -> {d.new_version}"]
    if d.filters:
        out[0] += "    (" + "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}"
                                     for k, v in d.filters.items()) + ")"
    for kind, c in d.counts.items():
        out.append(f"  {kind:<7} {c.old:>6,} -> {c.new:<6,}  +{c.added} added  -{c.removed} removed  {c.changed} "
                   f"changed (prices: {c.prices_down} down, {c.prices_up} up, {c.prices_added} added, "
                   f"{c.prices_removed} removed)  {c.rechecked} re-checked unchanged")
    out.append("")
    shown = d.changes if not limit else d.changes[:limit]
    for ch in shown:
        kind = ch.kind[:-1]
        if ch.change == "~":
            out.append(f"~ {kind} {ch.key}  ({ch.label})")
            out += [f"    {_field(f)}" for f in ch.fields]
        else:
            prices = ", ".join(f"{f.field} {_value(f, f.new if ch.change == '+' else f.old)}" for f in ch.fields)
            out.append(f"{ch.change} {kind} {ch.key}  ({ch.label})" + (f": {prices}" if prices else ""))
    if len(shown) < len(d.changes):
        out.append(f"... {len(d.changes) - len(shown)} more changes (raise --limit, or --limit 0 for all)")
    if not d.changes:
        out.append("no changes")
    return "\n".join(out) + "\n"


def catalog_diff_to_json(d: CatalogDiff) -> str:
    doc = d.model_dump()
    for ch, cd in zip(d.changes, doc["changes"]):
        for f, fd in zip(ch.fields, cd["fields"]):
            fd["amount"] = round(f.amount, 6) if f.amount is not None else None
            fd["percent"] = round(f.percent, 3) if f.percent is not None else None
    return json.dumps(doc, indent=2, default=str) + "\n"
