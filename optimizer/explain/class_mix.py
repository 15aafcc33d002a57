"""What a mix of GPU types saves: the plan beside the best plan that self-hosts on one GPU type only.

For a problem with request classes the interesting question is whether different request lengths want different
GPUs (the Melange result). The best single-GPU-type plan is found by re-solving the same problem once per GPU type
among the candidates, with self-hosted pools restricted to that type (APIs and fixed-hours blocks as in the
problem); the mix saves (its cost - the plan's cost).
"""

from __future__ import annotations

from ..candidates import Candidates
from ..catalog import Catalog
from ..result import Plan
from ..problem import Problem
from .whatif import _cost


def class_mix(problem: Problem, catalog: Catalog, options, plan: Plan, cands: Candidates) -> dict:
    used = sorted({d.gpu for d in plan.deployments if d.share is not None and d.share > 0})
    best = None
    for gpu in sorted({p.gpu.name for p in cands.pools}):
        if used == [gpu]:  # the plan itself is a single-GPU-type plan
            cost, summary = plan.monthly_cost_usd, "this plan"
        else:
            cost, p, _ = _cost(problem, catalog, options, gpu=gpu)
            if cost is None:
                continue
            lines = {f"{d.instances}x {d.instance_type} ({d.cloud})" for d in p.deployments if d.share}
            lines |= {f"{a.workload}: API {a.api_id} {a.share:.0%}" for a in p.api}
            summary = "; ".join(sorted(lines))
        if best is None or cost < best[1] - 1e-9:
            best = (gpu, cost, summary)
    out = {"mix_gpus": used, "mix_monthly_cost_usd": plan.monthly_cost_usd, "single_gpu_type": None}
    if best is not None:
        saves = round(best[1] - plan.monthly_cost_usd, 2)
        out.update({"single_gpu_type": best[0], "single_gpu_monthly_cost_usd": round(best[1], 2),
                    "single_gpu_summary": best[2], "mix_saves_usd": saves,
                    "mix_saves_percent": round(100 * saves / best[1], 2) if best[1] else None})
    return out
