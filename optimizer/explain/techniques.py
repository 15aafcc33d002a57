"""What each cost technique is worth: re-solve without it (or with it forced on), and the rate at which an unused
one would start to pay.

For every technique a workload offers (extras['techniques'], see extract.py):
- used: the plan re-solved with it off; saving = that plan's cost - this plan's cost;
- not used: the plan re-solved with it forced on (`use: on`); saving = this plan's cost - that one (negative: what
  using it would cost), or None when no plan meets the constraints with it (the quality floor, typically);
- saving_percent = saving / the workload's monthly cost in the plan without the technique, placed against the
  chapter's range for it (Exercise 33.5.4: exact cache 50-80%, semantic 20-40%, quantization 30-50%,
  compression 20-30%, cascade 40-60%).
With `--explain`, an unused technique (use: auto) gets the rate at which it would enter the plan:
- exact cache on an all-API workload, closed form: the cache pays when h V u >= M, so h* = M / (V u), with u the
  plan's cost per request served (APIs, compression and router): exact there because that cost is linear in the
  requests served (the shares scale with the fresh traffic; every technique row is homogeneous in it);
- otherwise bisection on the rate (hit rate, input reduction, routable share), each step a re-solve.
"""

from __future__ import annotations

from ..errors import InfeasibleError, SolverError
from ..extract import extract_plan
from ..pipeline import SolveOptions, solve_problem
from ..problem import Problem, ServingWorkload
from ..result import Plan
from ..techniques import CHAPTER_RANGE, SEP, groups, technique_line_name

BISECT_STEPS = 9  # rate within 0.99 / 2^9 ~ 0.002


def unexpand(problem: Problem) -> Problem:
    """The problem without technique slices (solve_problem expands it again after a change)."""
    owners = {g.name for g in groups(problem) if g.t is not None}
    keep = tuple(w for w in problem.workloads if not (SEP in w.name and w.name.split(SEP, 1)[0] in owners))
    return problem.model_copy(update={"workloads": keep})


def _set(problem: Problem, workload: str, technique: str, **fields) -> Problem:
    """The problem with fields of one technique of one workload changed."""
    part = {"exact_cache": "cache", "semantic_cache": "cache"}.get(technique, technique)
    ws = []
    for w in problem.workloads:
        if isinstance(w, ServingWorkload) and w.name == workload:
            t = w.techniques
            sub = getattr(t, part).model_copy(update=fields)
            w = w.model_copy(update={"techniques": t.model_copy(update={part: sub})})
        ws.append(w)
    return problem.model_copy(update={"workloads": tuple(ws)})


def _fp16_only(problem: Problem, workload: str) -> Problem:
    """The problem with the workload self-hosting at 16 bits only (what quantization `use: off` does)."""
    ws = tuple(w.model_copy(update={"precisions": ("fp16",)}) if isinstance(w, ServingWorkload) and
               w.name == workload else w for w in problem.workloads)
    return problem.model_copy(update={"workloads": ws})


def _use_field(technique: str) -> str:
    return "semantic_use" if technique == "semantic_cache" else "use"


def _solve(problem: Problem, catalog, options: SolveOptions):
    try:
        cands, model, res = solve_problem(problem, catalog, options)
    except (InfeasibleError, SolverError):
        return None
    return extract_plan(problem, catalog, cands, model, res, options)


def workload_cost(plan: Plan, workload: str, slices) -> float:
    """The workload's monthly cost in a plan: its slices' lines and its technique lines."""
    cost = sum(w.monthly_cost_usd for w in plan.workloads if w.name in slices)
    return cost + sum(f.monthly_cost_usd for f in plan.fixed if f.name.startswith("technique:")
                      and f.name.endswith(f"({workload})"))


def _used(plan: Plan, workload: str, technique: str) -> bool:
    entry = (plan.extras.get("techniques") or {}).get(workload, {})
    return any(t["technique"] == technique and t["used"] for t in entry.get("techniques", []))


def technique_report(problem: Problem, catalog, options: SolveOptions, plan: Plan, explain: bool) -> dict:
    """extras['techniques'] with each technique's saving, its place in the chapter's range and (explain) the rate
    at which an unused one would pay."""
    section = plan.extras.get("techniques") or {}
    if not section:
        return section
    base = unexpand(problem)
    out = {}
    for g in groups(problem):
        entry = dict(section[g.name])
        rows = []
        for row in entry["techniques"]:
            rows.append({**row, **_saving(base, catalog, options, plan, g, row)})
            if explain and not row["used"]:
                rows[-1]["threshold"] = _threshold(base, catalog, options, plan, g, row["technique"])
        entry["techniques"] = rows
        out[g.name] = entry
    return out


def _saving(base: Problem, catalog, options, plan: Plan, g, row: dict) -> dict:
    t = row["technique"]
    lo, hi = CHAPTER_RANGE[t]
    out = {"chapter_range_percent": [lo, hi]}
    if t == "quantization":
        if not row["used"]:
            return {**out, "saving_usd": 0.0, "note": "no pool below 16 bits is cheaper under the constraints"}
        alt = _fp16_only(base, g.name)
    else:
        use = getattr(g.t.cache if "cache" in t else getattr(g.t, t), _use_field(t))
        if use != "auto":
            return {**out, "saving_usd": None, "note": f"use: {use} (not decided by the solver)"} if use == "off" \
                else {**out, **_off(base, catalog, options, plan, g, t)}
        alt = _set(base, g.name, t, **{_use_field(t): "off" if row["used"] else "on"})
    other = _solve(alt, catalog, options)
    if other is None:
        return {**out, "saving_usd": None, "note": "no plan meets the constraints " + (
            "without it" if row["used"] else "with it (the quality floor or another constraint)")}
    if row["used"]:
        saving = other.monthly_cost_usd - plan.monthly_cost_usd
        wcost = workload_cost(other, g.name, g.slices)
        note = "re-solved without it"
    else:
        saving = plan.monthly_cost_usd - other.monthly_cost_usd
        wcost = workload_cost(plan, g.name, g.slices)
        note = "re-solved with it forced on: what using it would cost"
    pct = 100 * saving / wcost if wcost > 0 else None
    # where the saving falls in the chapter's range: for a technique the plan uses (a forced one costs money)
    where = None if pct is None or not row["used"] else ("below" if pct < lo else "above" if pct > hi else "within")
    return {**out, "saving_usd": round(saving, 2), "saving_percent": None if pct is None else round(pct, 1),
            "versus_chapter": where, "alternative_cost_usd": other.monthly_cost_usd, "note": note}


def _off(base, catalog, options, plan, g, t) -> dict:
    """A technique forced on by the user: what turning it off would change."""
    other = _solve(_set(base, g.name, t, **{_use_field(t): "off"}), catalog, options)
    if other is None:
        return {"saving_usd": None, "note": "use: on; no plan meets the constraints without it"}
    saving = other.monthly_cost_usd - plan.monthly_cost_usd
    wcost = workload_cost(other, g.name, g.slices)
    lo, hi = CHAPTER_RANGE[t]
    pct = 100 * saving / wcost if wcost > 0 else None
    return {"saving_usd": round(saving, 2), "saving_percent": None if pct is None else round(pct, 1),
            "versus_chapter": None if pct is None else ("below" if pct < lo else "above" if pct > hi else "within"),
            "alternative_cost_usd": other.monthly_cost_usd, "note": "use: on; re-solved without it"}


RATE = {"exact_cache": "exact_hit_rate", "semantic_cache": "semantic_hit_rate",
        "prompt_compression": "input_reduction", "cascade": "share_routable"}


def closed_form_cache_threshold(plan: Plan, g, monthly_cost_usd: float) -> float | None:
    """h* = M / (V u), u the plan's cost per served request of the workload (all-API workloads only)."""
    if any(d.workload in g.slices and d.share for d in plan.deployments):
        return None
    served = sum(a.share for a in plan.api if a.workload in g.slices)
    if served <= 0:
        return None
    V = g.workload.requests_per_month
    var = sum(a.monthly_cost_usd for a in plan.api if a.workload in g.slices) + sum(
        f.monthly_cost_usd for f in plan.fixed
        if f.name in (technique_line_name("prompt_compression", g.name), technique_line_name("cascade", g.name)))
    u = var / (V * served)
    return monthly_cost_usd / (V * u) if u > 0 else None


def _threshold(base: Problem, catalog, options, plan: Plan, g, t: str) -> dict | None:
    if t == "quantization":
        return None
    use = getattr(g.t.cache if "cache" in t else getattr(g.t, t), _use_field(t))
    if use != "auto":
        return None
    param = RATE[t]
    if t == "exact_cache" and not any(r["used"] for r in plan.extras["techniques"][g.name]["techniques"]
                                      if r["technique"] == "semantic_cache"):
        h = closed_form_cache_threshold(plan, g, g.t.cache.monthly_cost_usd)
        if h is not None:
            return {"parameter": param, "value": round(h, 4), "method": "closed form: hit rate x volume x cost "
                    "per served request = the cache's monthly cost", "pays": h <= 0.99 - g.t.cache.semantic_hit_rate}
    part = g.t.cache if "cache" in t else getattr(g.t, t)
    hi = (0.99 - part.semantic_hit_rate if t == "exact_cache" else 0.99 - part.exact_hit_rate
          if t == "semantic_cache" else 0.95 if t == "prompt_compression" else 0.99)
    lo = 0.01 if t in ("prompt_compression", "cascade") else 0.0
    current = getattr(part, param)

    def pays(rate: float) -> bool:
        other = _solve(_set(base, g.name, t, **{param: rate}), catalog, options)
        return other is not None and _used(other, g.name, t)

    if hi <= current or not pays(hi):
        return {"parameter": param, "value": None, "method": f"bisection by re-solve: does not enter the plan even "
                f"at {param} {hi:g}", "pays": False}
    lo = max(lo, current)
    for _ in range(BISECT_STEPS):
        mid = (lo + hi) / 2
        if pays(mid):
            hi = mid
        else:
            lo = mid
    return {"parameter": param, "value": round(hi, 4), "method": "bisection by re-solve (the smallest rate found "
            f"at which the solver uses it, within {(hi - lo):.4f})", "pays": True}
