"""Report sections for traffic shape: request classes and what a mix of GPU types saves (extras['classes'],
extras['class_mix']). Pure functions of the Plan, shared by the table, Markdown and HTML renderers."""

from __future__ import annotations

from ..plan import Plan
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
