"""Report sections for traffic shape: request classes and what a mix of GPU types saves (extras['classes'],
extras['class_mix']). Pure functions of the Plan, shared by the table, Markdown and HTML renderers."""

from __future__ import annotations

from ..result import Plan
from .fmt import usd


def class_lines(plan: Plan) -> list[str]:
    """One line per request class (its slice and where it goes), then the mix against one GPU type."""
    classes = plan.extras.get("classes") or {}
    if not classes:
        return []
    out = []
    for w, cls in classes.items():
        for c in cls:
            where = sorted({f"{d.gpu} {d.share:.0%}" for d in plan.deployments if d.workload == c["workload"]
                            and d.share})
            where += sorted({f"API {a.api_id} {a.share:.0%}" for a in plan.api if a.workload == c["workload"]})
            cost = next((x.monthly_cost_usd for x in plan.workloads if x.name == c["workload"]), 0.0)
            out.append(f"{w} class {c['name']}: {c['share']:.1%} of requests, {c['input_tokens']:,} in / "
                       f"{c['output_tokens']:,} out tokens -> {', '.join(where) or '-'} ({usd(cost)})")
    mix = plan.extras.get("class_mix") or {}
    if mix.get("single_gpu_type"):
        out.append(f"GPU types in this plan: {', '.join(mix['mix_gpus']) or 'none'} ({usd(mix['mix_monthly_cost_usd'])})"
                   f"; best single GPU type: {mix['single_gpu_type']} ({usd(mix['single_gpu_monthly_cost_usd'])}); "
                   f"the mix saves {usd(mix['mix_saves_usd'])} ({mix['mix_saves_percent']:.1f}%)")
    elif mix:
        out.append("no single GPU type can serve every class under the problem's constraints")
    return out


COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def hourly_lines(plan: Plan) -> list[str]:
    """Hour by hour (extras['hourly']): instances per pool and API shares per workload, hours 0..23 (UTC)."""
    h = plan.extras.get("hourly")
    if not h:
        return []
    out = ["hours 0..23 (UTC):"]
    for pid, p in h["pools"].items():
        out.append(f"{pid}: instances {' '.join(str(n) for n in p['instances_by_hour'])} (max {p['max_instances']},"
                   f" {p['instance_hours_per_month']:,.0f} instance-h/month, {usd(p['monthly_cost_usd'])})")
    for w, d in h["workloads"].items():
        for api_id, shares in d["api_share_by_hour"].items():
            out.append(f"{w} -> API {api_id}: share {' '.join(f'{100 * s:.0f}%' for s in shares)}")
    return out


def hourly_chart(plan: Plan) -> str:
    """SVG: instances of each pool by hour, and each API's share of its workload (in %) by hour."""
    from .svg import line_chart
    h = plan.extras.get("hourly")
    if not h:
        return ""
    series = []
    for i, (pid, p) in enumerate(h["pools"].items()):
        name = f"{p['gpu']} {p['provider']} {p['capacity_type']} (instances)"
        series.append((name, COLORS[i % len(COLORS)], [(t, float(n)) for t, n in enumerate(p["instances_by_hour"])]))
    charts = [line_chart("Instances running by hour of day", series, [], "hour of day (UTC)", "instances",
                         y_prefix="")] if series else []
    shares = []
    for w, d in h["workloads"].items():
        shares.append((f"{w}: traffic level (x average)", "#999999", [(t, v) for t, v in enumerate(d["level_by_hour"])]))
        for api_id, s in d["api_share_by_hour"].items():
            shares.append((f"{w} -> {api_id} (share)", COLORS[(len(shares)) % len(COLORS)],
                           [(t, v) for t, v in enumerate(s)]))
    charts.append(line_chart("Traffic level and API share by hour of day", shares, [], "hour of day (UTC)",
                             "level / share", y_prefix=""))
    return "\n".join(charts)


def technique_lines(plan: Plan) -> list[str]:
    """One line per cost technique considered (used or not, its saving against the plan without it, where that
    falls in the chapter's range, and with --explain the rate at which an unused one would pay), then the quality
    score of each workload (extras['techniques'])."""
    out = []
    for w, e in (plan.extras.get("techniques") or {}).items():
        for t in e.get("techniques", []):
            name = t["technique"].replace("_", " ")
            s = t.get("saving_usd")
            if s is None:
                save = t.get("note") or "saving not computed"
            elif t["used"]:
                save = f"saves {usd(s)}/month"
            else:
                save = f"not used: forcing it would cost {usd(-s)}/month more" if s < 0 else "not used"
            pct = t.get("saving_percent")
            rng = t.get("chapter_range_percent")
            if pct is not None and rng and t["used"]:
                save += f" ({pct:.1f}% of the workload's cost; chapter: {rng[0]}-{rng[1]}%, {t.get('versus_chapter')})"
            elif rng and not t["used"]:
                save += f"; chapter: {rng[0]}-{rng[1]}% where it pays"
            line = f"{w} {name}: {'USED' if t['used'] else 'rejected'}, {save}"
            if t["used"] and t.get("effect"):
                line += f"; {t['effect']}"
            if t["used"] and t.get("monthly_cost_usd"):
                line += f"; costs {usd(t['monthly_cost_usd'])}/month"
            th = t.get("threshold")
            if th:
                line += (f"; would pay from {th['parameter']} {th['value']:.4g} ({th['method']})" if th.get("value")
                         is not None else f"; {th['method']}")
            out.append(line)
        q = e.get("quality") or {}
        if q.get("min_quality") is not None or q.get("inputs"):
            floor = f" (floor {q['min_quality']:g})" if q.get("min_quality") is not None else ""
            parts = ", ".join(f"{i['option'].split('|')[1] if '|' in i['option'] else i['option']} "
                              f"{i['precision']} tier {i['tier']} on {i['slice']}: {i['score']:.4f} x {i['share']:.1%}"
                              for i in q.get("inputs", []))
            sem = f"; x {q['semantic_factor']:.4f} for semantic-cache errors" if q.get("semantic_factor", 1) < 1 else ""
            out.append(f"{w} quality score {q.get('score', 0):.4f}{floor}: {parts}{sem}")
    return out
