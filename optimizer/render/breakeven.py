"""Text for `llmplan breakeven`: the seed's naive figure beside the capacity-aware answer and its reason."""

from __future__ import annotations

from ..result import Breakeven, ReferenceCheck
from .fmt import unit_usd


def breakeven_text(bes: list[Breakeven], method: str = "both", refs: list[ReferenceCheck] = ()) -> str:
    out = []
    for b in bes:
        out.append(f"{b.workload}")
        n = b.naive
        if method in ("both", "naive"):
            if n is None:
                out.append("  naive (seed formula): not applicable (needs both a self-hosted pool and a realtime API)")
            else:
                be = ("never (the API costs nothing)" if n.breakeven_monthly_requests is None else
                      f"{n.breakeven_monthly_requests:,.0f} requests/month (~{n.breakeven_requests_per_day:,.0f}/day, "
                      f"{n.breakeven_requests_per_minute:,.1f}/min)")
                out.append(f"  naive (seed formula): breakeven at {be}")
                out.append(f"    API cost per request: ${n.api_cost_per_request:.5f} ({n.avg_input_tokens} in x "
                           f"${n.api_input_per_million}/M + {n.avg_output_tokens} out x ${n.api_output_per_million}/M)")
                out.append(f"    self-hosted fixed cost: ${n.gpu_cost_per_hour:,.2f}/GPU-hour x 730 x {n.gpu_count} + "
                           f"${n.ops_overhead_monthly:,.0f} ops = "
                           f"${n.gpu_cost_per_hour * 730 * n.gpu_count + n.ops_overhead_monthly:,.2f}/month, for any "
                           f"volume")
                if b.self_hosted_usd_per_request_at_volume is not None:
                    out.append(f"    self-hosted cost per request at this workload's volume: "
                               f"${b.self_hosted_usd_per_request_at_volume:.5f}")
                for r in refs:
                    if r.what == "breakeven_requests_per_month" and r.workload == b.workload:
                        out.append(f"    {r.label} {r.reference:,.0f}: {r.note}")
        if method in ("both", "capacity"):
            out.append(f"  capacity-aware: {b.verdict}")
            out.append(f"    why: {b.reason}")
            if b.naive_vs_capacity and method == "both":
                out.append(f"    why the answers differ: {b.naive_vs_capacity}")
            if b.api_option:
                out.append(f"    API: {b.api_option} at {unit_usd(b.api_usd_per_request)}/request"
                           + (f"; alone it is rate-limited above {b.api_max_requests_per_month:,.0f} requests/month"
                              if b.api_max_requests_per_month else ""))
            for c in b.crossovers:
                who = "self-hosting" if c.cheaper_above.startswith("self-hosted") else "the API"
                out.append(f"    crossover: {c.requests_per_month:>16,.0f} requests/month ({c.requests_per_minute:,.1f}"
                           f"/min): {who} cheaper above")
            out.append(f"    (examined up to {b.volume_examined_max:,.0f} requests/month, peak/average "
                       f"{b.peak_to_average:.2f}, ops ${b.ops_overhead_monthly_usd:,.0f}/month)")
        out.append("")
    return "\n".join(out)
