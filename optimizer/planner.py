"""The pipeline: catalog + problem -> candidates -> model -> solve -> plan (or an infeasibility explanation)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass

from .candidates import FILTERS, Candidates, build_candidates
from .catalog import Catalog
from .errors import InfeasibleError, SolverError
from .model.formulation import FAMILIES, Model, build_model
from .model.solve import SolveResult, Status, solve
from .plan import (ApiLine, CategoryLine, Deployment, FailoverRoute, FixedLine, Plan, PoolLine, SolverInfo,
                   WorkloadLine)
from .problem import Problem
from .units import HOURS_PER_MONTH

log = logging.getLogger("llmplan")
STALE_DAYS = 90
EPS = 1e-7


@dataclass(frozen=True)
class SolveOptions:
    solver: str = "highs"
    time_limit: float | None = None
    gap: float | None = None
    verbose: bool = False


def solve_problem(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
                  relax: frozenset = frozenset(), **cand_kw) -> tuple[Candidates, Model, SolveResult]:
    """Candidates, model and solve; raises InfeasibleError (with its explanation) or SolverError."""
    cands = build_candidates(problem, catalog, **cand_kw)
    precheck(problem, cands)
    if problem.policy.failover is None or "failover_demand" in relax or options.time_limit is not None:
        # under a time limit one model with every scenario gives the best answer in the time: the lazy loop
        # would split the time between solves and can end on a starved one
        model = build_model(problem, cands, relax=relax)
        res = solve(model.prob, options.solver, options.time_limit, options.gap, options.verbose)
    else:
        model, res = _solve_with_lazy_failover(problem, cands, options, relax)
    if res.status == Status.INFEASIBLE:
        raise explain_infeasible(problem, cands, options)
    if res.status in (Status.NO_SOLUTION, Status.ERROR, Status.UNBOUNDED):
        raise SolverError(f"{res.solver} stopped with status {res.status.value} after {res.seconds:.1f} s",
                          fix="raise --time-limit, or loosen --gap")
    return cands, model, res


def carrying_providers(cands: Candidates, model: Model) -> set[str]:
    """Providers that carry traffic in the model's solution."""
    out = set()
    for (w, o), var in model.x.items():
        if (var.value() or 0.0) > EPS:
            out.add(cands.api(o).provider if o.startswith("api:") else cands.pool(o).provider)
    return out


def _solve_with_lazy_failover(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset):
    """Failover scenarios generated lazily, exactly: losing a provider that carries no traffic leaves the normal
    routing intact, so only providers that carry traffic need their scenario. Solve with the scenarios of the
    providers found so far; stop when every provider carrying traffic in the solution has its scenario. Each model
    is a relaxation of the full one, so its bound is valid and the final solution is feasible for the full model."""
    scenarios: frozenset = frozenset()
    t0 = time.perf_counter()
    while True:
        left = None if options.time_limit is None else max(options.time_limit - (time.perf_counter() - t0), 1.0)
        model = build_model(problem, cands, relax=relax, failover_scenarios=scenarios)
        res = solve(model.prob, options.solver, left, options.gap, options.verbose)
        log.debug("failover scenarios %s: %s %.2f s", sorted(scenarios), res.status.value, res.seconds)
        if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
            break
        need = carrying_providers(cands, model) - scenarios
        if not need:
            break
        scenarios = scenarios | need
    # earlier solves only pick scenarios; the last one carries the status, bound and gap
    res = SolveResult(res.status, res.objective, res.bound, res.gap, time.perf_counter() - t0, res.solver)
    return model, res


def plan(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
         today: dt.date | None = None, explain: bool = False) -> Plan:
    """The cheapest plan, with its breakeven per workload; `explain=True` adds what each constraint costs, the
    alternatives and the entry prices of options not chosen (each a re-solve)."""
    from .explain.breakeven import breakevens
    from .explain.references import check_references

    cands, model, res = solve_problem(problem, catalog, options)
    p = extract_plan(problem, catalog, cands, model, res, options, today=today)
    chosen = {}
    for d in sorted(p.deployments, key=lambda d: -(d.share or 0)):
        if d.share and d.workload not in chosen:
            chosen[d.workload] = d.pool
    bes = breakevens(problem, cands, chosen)
    update = {"breakeven": bes}
    if explain:
        from .explain.whatif import alternatives, constraint_costs, entry_prices
        update["constraint_costs"] = constraint_costs(problem, catalog, options, p, cands)
        update["alternatives"] = alternatives(problem, catalog, options, p, cands)
        update["entry_prices"] = entry_prices(problem, options, p, cands)
    update.update(_confidence_cost(problem, catalog, options, p))
    p = p.model_copy(update=update)
    return p.model_copy(update={"references": check_references(problem, p)})


def _confidence_cost(problem: Problem, catalog: Catalog, options: SolveOptions, p: Plan) -> dict:
    """The policy's capacity_confidence and, when modelled pools were sized above their point estimate, the cost
    of the same problem re-solved at confidence 0.5 (the point estimates): what the uncertainty costs."""
    conf = problem.policy.capacity_confidence
    out = {"capacity_confidence": conf}
    if conf == 0.5 or not any(d.capacity_source == "model" for d in p.deployments):
        return out
    at_point = problem.model_copy(update={"policy": problem.policy.model_copy(update={"capacity_confidence": 0.5})})
    try:
        _, _, res = solve_problem(at_point, catalog, options)
    except (InfeasibleError, SolverError):
        return out
    if res.objective is not None:
        out["point_estimate_cost_usd"] = round(res.objective, 2)
        # no single pool can save more than the whole plan does at the point estimates
        cap = max(p.monthly_cost_usd - res.objective, 0.0)
        out["pools"] = [q.model_copy(update={"uncertainty_cost_usd": round(min(q.uncertainty_cost_usd, cap), 2)})
                        if q.uncertainty_cost_usd is not None else q for q in p.pools]
    return out


# --- infeasibility -----------------------------------------------------------------------------------------

_FILTER_FIX = {
    "residency": "allow more jurisdictions for the workload, or add offers/APIs in its jurisdictions to the catalog",
    "latency_tier": "relax ttft_ms/tpot_ms (or use a slower latency_tier), allow more precisions, or add faster "
                    "GPUs/APIs",
    "vram_fit": "allow a lower precision (fp8, int8, int4) or use GPUs with more memory / more GPUs per instance",
    "spot_allowed": "set spot: true for the workload, or allow on_demand/reserved capacity types in the policy",
    "context_length": "use an API with a longer context window or shorten the requests",
    "precision": "allow more precisions for the workload",
}


def precheck(problem: Problem, cands: Candidates) -> None:
    """Name the culprit before solving when a workload has no option at all."""
    report = []
    for w in problem.serving:
        if cands.eligible[w.name]:
            continue
        ex = cands.excluded[w.name]
        if not ex:
            report.append(f"workload '{w.name}': nothing in the catalog matches its models {list(w.models)} / apis "
                          f"{list(w.apis)} (min_quality_tier {w.min_quality_tier})")
            continue
        parts = ", ".join(f"{fam} removed {n}" for fam, n in ex.most_common())
        top = ex.most_common(1)[0][0]
        report.append(f"workload '{w.name}' has no eligible option: {parts}. Largest cause: {FILTERS[top]}; fix: "
                      f"{_FILTER_FIX[top]}")
    for f in problem.fixed:
        if cands.fixed[f.name]:
            continue
        ex = cands.excluded[f.name]
        parts = ", ".join(f"{fam} removed {n}" for fam, n in ex.most_common()) or "no offer has that GPU"
        report.append(f"fixed workload '{f.name}' ({f.gpu_count}x {f.gpu or f'>= {f.min_vram_gib} GiB'}) has no "
                      f"eligible offer: {parts}")
    if report:
        raise InfeasibleError("some workloads have no way to be served", report,
                              fix="change the workloads named above")


def explain_infeasible(problem: Problem, cands: Candidates, options: SolveOptions) -> InfeasibleError:
    """Re-solve with penalised slacks on every relaxable family and report the smallest relaxation."""
    m = build_model(problem, cands, elastic=True)
    res = solve(m.prob, options.solver, options.time_limit, None, False)
    report = []
    if res.status in (Status.OPTIMAL, Status.FEASIBLE):
        for (fam, key), (var, scale, unit) in sorted(m.slacks.items(), key=lambda kv: -(kv[1][0].value() or 0)
                                                     / kv[1][1]):
            v = var.value() or 0.0
            if v <= 1e-6 * max(scale, 1):
                continue
            report.append(_slack_text(problem, cands, fam, key, v, scale, unit))
    if not report:
        report.append("no single constraint family explains it (the elastic model did not solve); run with "
                      "--verbose to see the solver log")
    return InfeasibleError("no plan meets every constraint", report)


def _slack_text(problem, cands, fam, key, v, scale, unit) -> str:
    desc = FAMILIES[fam][0]
    if fam in ("rate_limit_rpm", "rate_limit_tpm", "failover_rpm", "failover_tpm"):
        g = key[1] if isinstance(key, tuple) else key
        lim = "RPM" if "rpm" in fam else "TPM"
        tail = f" when provider '{key[0]}' is lost" if fam.startswith("failover") else ""
        return (f"{fam}: API '{g}' needs {scale + v:,.0f} {lim} at peak{tail} but its limit is {scale:,.0f} "
                f"(short by {v:,.0f}, {v / scale:.0%}); fix: raise the account tier, add another provider for the "
                f"workload, or allow self-hosting")
    if fam == "failover_demand":
        prov, w = key
        others = sorted({(cands.pool(o).provider if not o.startswith('api:') else cands.api(o).provider)
                         for o in cands.eligible[w]})
        return (f"failover_demand: after losing '{prov}', workload '{w}' can serve only {scale - v:.2f} of the "
                f"{scale:.2f} req/s required ({desc}); providers that can serve it: {others}; fix: allow options "
                f"from another provider for it, or lower policy.failover.fraction")
    if fam == "budget":
        return (f"budget: the cheapest plan costs ${scale + v:,.2f}/month, ${v:,.2f} over the "
                f"${scale:,.2f} budget; fix: raise budget_monthly_usd to at least ${scale + v:,.0f} or relax "
                f"other requirements")
    if fam == "spot_cap":
        return (f"spot_cap: needs {v:,.0f} more spot GPU-hours than max_spot_share allows; fix: raise "
                f"policy.max_spot_share")
    if fam == "availability":
        return (f"availability: offer '{key}' needs {scale + v:.0f} instances, cap is {scale:.0f}; fix: raise "
                f"max_instances or allow other offers")
    return f"{fam} ({key}): violated by {v:,.3f} {unit}; {desc}"


# --- extraction --------------------------------------------------------------------------------------------

def _val(var) -> float:
    return float(var.value() or 0.0) if var is not None else 0.0


def extract_plan(problem: Problem, catalog: Catalog, cands: Candidates, m: Model, res: SolveResult,
                 options: SolveOptions, *, today: dt.date | None = None) -> Plan:
    serving = {w.name: w for w in problem.serving}
    n = {pid: int(round(_val(v))) for pid, v in m.n.items()}
    x = {k: (_val(v) if _val(v) > EPS else 0.0) for k, v in m.x.items()}
    y_on = _val(m.y) > 0.5 if m.y is not None else False

    deployments, pools_out, api_lines, fixed_lines = [], [], [], []
    per_workload: dict[str, float] = defaultdict(float)

    for pool in cands.pools:
        k = n[pool.id]
        if k <= 0:
            continue
        loads = {w: x.get((w, pool.id), 0.0) * serving[w].peak / cap for w, cap in pool.capacity.items()}
        total = sum(loads.values())
        if total > EPS:
            weights = loads
        else:  # bought only as failover standby: allocate by the failover traffic it would take
            weights = {w: max((_val(m.z.get((p, w, pool.id))) / cap for p in cands.providers()), default=0.0)
                       for w, cap in pool.capacity.items()}
            if sum(weights.values()) <= EPS:
                weights = {w: 1.0 for w in pool.capacity}
        wsum = sum(weights.values())
        cost = k * pool.hourly_usd * HOURS_PER_MONTH
        served = [w for w in pool.capacity if weights[w] > EPS]
        need, shrink, basis, engines = _point_instances(pool, cands, m, x, serving)
        pools_out.append(PoolLine(
            pool=pool.id, model=pool.model.name, gpu=pool.gpu.name, instance_type=pool.offer.instance_type,
            cloud=pool.provider, region=pool.offer.region, precision=pool.precision, tp=pool.tp,
            capacity_type=pool.capacity_type, instances=k, replicas=k * pool.replicas_per_instance,
            hourly_usd_per_instance=pool.hourly_usd, monthly_cost_usd=round(cost, 2),
            utilization=round(total / k, 4), workloads=served, engine=engines, capacity_basis=basis,
            point_instances=min(need, k), uncertainty_cost_usd=round(max(k - need, k * (1 - shrink)) * pool.hourly_usd
                                                                     * HOURS_PER_MONTH, 2)))
        for w in served:
            pt = pool.points.get(w)
            share_cost = cost * weights[w] / wsum
            per_workload[w] += share_cost
            deployments.append(Deployment(
                workload=w, pool=pool.id, model=pool.model.name, gpu=pool.gpu.name, gpus_per_replica=pool.tp,
                replicas=k * pool.replicas_per_instance, instances=k, instance_type=pool.offer.instance_type,
                gpus_per_instance=pool.gpus_per_instance, precision=pool.precision, tp=pool.tp,
                capacity_type=pool.capacity_type, cloud=pool.provider, region=pool.offer.region,
                jurisdiction=pool.jurisdiction, hourly_usd_per_replica=round(pool.hourly_usd / pool.replicas_per_instance, 6),
                hourly_usd_per_instance=pool.hourly_usd, hours_per_month=HOURS_PER_MONTH,
                share=round(x.get((w, pool.id), 0.0), 6), pool_share=round(weights[w] / wsum, 6),
                monthly_cost_usd=round(share_cost, 2), capacity_rps=round(k * pool.capacity[w], 4),
                load_rps=round(x.get((w, pool.id), 0.0) * serving[w].peak, 4),
                ttft_ms=round(pt.ttft_ms, 1) if pt else None, tpot_ms=round(pt.tpot_ms, 2) if pt else None,
                batch=pt.batch if pt else None, capacity_source="measured" if w in pool.measured else "model",
                price_source=f"{pool.offer.source_of(pool.capacity_type)} (checked {pool.offer.checked})",
                quality_tier=pool.model.quality_tier, hf_id=pool.model.hf_id, **_band_fields(pool, w, k)))

    z = {k: _val(v) for k, v in m.z.items()}
    z = {k: v for k, v in z.items() if v > EPS}
    standby_api = []
    for a in cands.apis:
        for w, usd in a.usd_per_request.items():
            share = x.get((w, a.id), 0.0)
            if share <= EPS:
                if any(v > EPS for (p, ww, o), v in z.items() if ww == w and o == a.id):
                    standby_api.append(_api_line(a, serving[w], 0.0, usd))
                continue
            line = _api_line(a, serving[w], share, usd)
            per_workload[w] += line.monthly_cost_usd
            api_lines.append(line)

    for f in problem.fixed:
        chosen = [q for q in cands.fixed[f.name] if _val(m.u.get((f.name, q.id))) > 0.5]
        for q in chosen:
            per_workload[f.name] += q.monthly_usd
            deployments.append(Deployment(
                workload=f.name, pool=q.id, model="-", gpu=q.gpu, gpus_per_replica=q.gpus_per_instance,
                replicas=q.instances, instances=q.instances, instance_type=q.instance_type,
                gpus_per_instance=q.gpus_per_instance, precision="-", tp=1, capacity_type=q.capacity_type,
                cloud=q.provider, region=q.region, jurisdiction=q.jurisdiction,
                hourly_usd_per_replica=q.hourly_usd, hourly_usd_per_instance=q.hourly_usd,
                hours_per_month=q.billed_hours, share=None, pool_share=1.0, monthly_cost_usd=round(q.monthly_usd, 2),
                capacity_rps=None, load_rps=None,
                price_source=q.source + (f" (checked {q.checked})" if q.checked else "")))

    if y_on and problem.policy.ops_overhead_monthly_usd > 0:
        fixed_lines.append(FixedLine(name="ops overhead (self-hosting)",
                                     monthly_cost_usd=round(problem.policy.ops_overhead_monthly_usd, 2),
                                     note="policy.ops_overhead_monthly_usd, charged once any self-hosted pool runs"))

    total = sum(per_workload.values()) + sum(f.monthly_cost_usd for f in fixed_lines)
    warnings = []
    unlimited = sorted({a.api_id for a in api_lines if a.mode == "realtime" and not a.rpm_limit and not a.tpm_limit})
    if unlimited:
        warnings.append(f"no rate limit is known for {', '.join(unlimited)} (none published for the catalog's "
                        f"account tier): the plan assumes none; check your account's limits")
    if res.objective is not None and abs(total - res.objective) > 1.0:
        warnings.append(f"recomputed cost ${total:,.2f} differs from the solver objective ${res.objective:,.2f}")
    workloads = []
    for w in problem.workloads:
        c = per_workload.get(w.name, 0.0)
        sw = serving.get(w.name)
        workloads.append(WorkloadLine(
            name=w.name, category=w.category, kind="serving" if sw else "fixed-hours", monthly_cost_usd=round(c, 2),
            requests_per_month=sw.requests_per_month if sw else None, peak_rps=round(sw.peak, 4) if sw else None,
            usd_per_1k_requests=round(1000 * c / sw.requests_per_month, 4) if sw else None,
            input_tokens=sw.input_tokens if sw else None, output_tokens=sw.output_tokens if sw else None,
            latency_tier=sw.latency_tier if sw else None, ttft_target_ms=sw.ttft_target_ms if sw else None,
            tpot_target_ms=sw.tpot_target_ms if sw else None, jurisdictions=list(w.jurisdictions)))
    categories = _categories(workloads, fixed_lines, total)

    today = today or dt.date.today()
    oldest = catalog.oldest_price_date()
    age = (today - oldest).days
    if age > STALE_DAYS:
        warnings.append(f"catalog prices are up to {age} days old (oldest checked {oldest}); refresh the catalog "
                        f"(see catalogs/README.md)")
    assumptions = [
        f"money is USD per month at {HOURS_PER_MONTH:.0f} hours; serving pools run all month and are sized for peak",
        f"self-hosted capacity is planned at max_utilization {problem.policy.max_utilization:.0%} of the modelled "
        f"throughput under each workload's TTFT/TPOT target, TTFT including the queueing delay at that "
        f"utilisation; each pool is sized at the capacity it reaches with {problem.policy.capacity_confidence:.0%} "
        f"probability (policy.capacity_confidence, from the model's cross-validated error band)",
        "API rate limits apply at peak to realtime traffic; batch-API traffic is not rate-limited in the model",
    ]
    price_assumptions, price_warnings = _price_assumptions(catalog, cands, n, m)
    assumptions += price_assumptions
    warnings += price_warnings
    if problem.policy.failover:
        assumptions.append(f"failover: after losing any one provider the rest can serve "
                           f"{problem.policy.failover.fraction:.0%} of every serving workload's peak")
    gap = res.gap
    return Plan(
        problem=problem.name, description=problem.description, status=res.status.value, monthly_cost_usd=round(total, 2),
        lower_bound_usd=round(res.bound, 2) if res.bound is not None else None,
        gap=round(gap, 6) if gap is not None else None,
        solver=SolverInfo(name=res.solver, seconds=round(res.seconds, 3), time_limit_s=options.time_limit,
                          gap_requested=options.gap),
        catalog={"version": catalog.version, "path": str(catalog.root), "oldest_price_checked": oldest.isoformat(),
                 "age_days": age},
        deployments=deployments, pools=pools_out, api=api_lines, fixed=fixed_lines, workloads=workloads,
        categories=categories,
        failover={"fraction": problem.policy.failover.fraction, "providers": cands.providers()}
        if problem.policy.failover else None,
        failover_routes=_failover_routes(cands, z, pools_out, api_lines, standby_api),
        standby_api=standby_api, max_utilization=problem.policy.max_utilization,
        assumptions=assumptions, warnings=warnings,
        candidates={"pools": len(cands.pools), "pruned_pools": cands.pruned, "api_options": len(cands.apis),
                    "fixed_options": sum(len(v) for v in cands.fixed.values()),
                    "excluded": {w: dict(c) for w, c in cands.excluded.items() if c}},
    )


def _band_fields(pool, w: str, k: int) -> dict:
    """The optional capacity-uncertainty fields of a Deployment."""
    b = pool.bands.get(w)
    if b is None:
        return {}
    pt = pool.points.get(w)
    ratio = b.point_rps / b.planned_rps if b.planned_rps > 0 else 1.0
    return dict(engine=b.engine, capacity_point_rps=round(k * pool.capacity[w] * ratio, 4),
                capacity_sigma=b.sigma, capacity_confidence=b.confidence,
                queue_ms=round(pt.queue_ms, 1) if pt is not None else None)


def _point_instances(pool, cands: Candidates, m: Model, x: dict, serving: dict) -> tuple[int, float, str | None,
                                                                                      str | None]:
    """Instances the pool's normal load and each failover scenario's load need at the point estimate of its
    capacity (routing unchanged), the smallest planned / point capacity ratio of its modelled workloads (the
    fraction of the pool the point estimate would need if it could shrink continuously), the basis of its
    capacities and its engine(s)."""
    point_cap = {}
    for w, cap in pool.capacity.items():
        b = pool.bands.get(w)
        point_cap[w] = cap * (b.point_rps / b.planned_rps if b and b.planned_rps > 0 else 1.0)
    loads = [sum(x.get((w, pool.id), 0.0) * serving[w].peak / c for w, c in point_cap.items())]
    for p in cands.providers():
        loads.append(sum(_val(m.z.get((p, w, pool.id))) / c for w, c in point_cap.items()))
    need = math.ceil(max(loads) - 1e-6)
    ratios = [b.planned_rps / b.point_rps for b in pool.bands.values() if b.basis == "model" and b.point_rps > 0]
    shrink = max(ratios) if ratios else 1.0
    bases = sorted({b.basis for b in pool.bands.values()})
    engines = sorted({b.engine for b in pool.bands.values()})
    return need, shrink, "+".join(bases) or None, "+".join(engines) or None


def _price_assumptions(catalog: Catalog, cands: Candidates, n: dict, m: Model) -> tuple[list, list]:
    """(assumptions, warnings) naming the assumed figures a plan rests on: spot availability (an assumption line)
    and reserved prices derived from documented discounts (a warning: the plan would commit money on them)."""
    offers = {o.offer_id: o for o in catalog.offers}
    used = [(p.offer, p.capacity_type) for p in cands.pools if n.get(p.id, 0) > 0]
    used += [(offers[q.offer_id], q.capacity_type) for qs in cands.fixed.values() for q in qs
             if q.offer_id in offers and _val(m.u.get((q.workload, q.id))) > 0.5]
    out = []
    reserved = {}
    for o, ct in used:
        if ct.startswith("reserved") and o.price_basis_of(ct) == "assumption":
            reserved.setdefault(o.provider, o)
    warnings = [f"{provider} reserved prices in this plan are assumptions (documented discounts off on-demand, not "
                f"quotes; see each line's price_source): confirm them before committing, or leave reserved_1y/"
                f"reserved_3y out of policy.capacity_types" for provider in sorted(reserved)]
    spot = {o.offer_id: o for o, ct in used if ct == "spot" and o.spot_interruption_rate}
    for oid, o in sorted(spot.items()):
        out.append(f"spot capacity on {oid} counted at {o.spot_availability:.0%} expected availability "
                   f"({o.spot_interruption_source})")
    return out, warnings


def _api_line(a, wl, share: float, usd: float) -> ApiLine:
    return ApiLine(
        workload=wl.name, provider=a.provider, model=a.api.model, api_id=a.api.api_id, mode=a.mode,
        share=round(share, 6), requests_per_month=round(wl.requests_per_month * share, 2),
        usd_per_request=usd, monthly_cost_usd=round(wl.requests_per_month * share * usd, 2),
        peak_rpm=round(60 * wl.peak * share, 2), rpm_limit=a.api.rpm, tpm_limit=a.api.tpm,
        jurisdictions=list(a.api.jurisdictions), price_source=f"{a.api.source} (checked {a.api.checked})",
        ttft_ms=a.api.ttft_ms, tpot_ms=a.api.tpot_ms, quality_tier=a.api.quality_tier,
        provider_model_id=a.api.provider_model_id)


def _failover_routes(cands: Candidates, z: dict, pools: list[PoolLine], apis: list[ApiLine],
                     standby: list[ApiLine]) -> list[FailoverRoute]:
    """The solver's re-routing z_pwo for every provider the plan uses (losing an unused one changes nothing)."""
    used = {p.cloud for p in pools} | {a.provider for a in apis} | {a.provider for a in standby}
    bought = {p.pool for p in pools}
    routes = []
    for (prov, w, o), v in sorted(z.items()):
        if prov not in used:
            continue
        if o.startswith("api:"):
            a = cands.api(o)
            routes.append(FailoverRoute(lost_provider=prov, workload=w, kind="api", target=a.api.api_id,
                                        mode=a.mode, rps=round(v, 4)))
        elif o in bought:
            routes.append(FailoverRoute(lost_provider=prov, workload=w, kind="pool", target=o, rps=round(v, 4)))
    return routes


def _categories(workloads: list[WorkloadLine], fixed: list[FixedLine], total: float) -> list[CategoryLine]:
    by: dict[str, float] = defaultdict(float)
    for w in workloads:
        by[w.category] += w.monthly_cost_usd
    for f in fixed:
        by["shared (ops overhead)"] += f.monthly_cost_usd
    return [CategoryLine(category=c, monthly_cost_usd=round(v, 2), percent=round(100 * v / total, 1) if total else 0.0)
            for c, v in sorted(by.items(), key=lambda kv: -kv[1])]
