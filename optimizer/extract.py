"""Plan construction: read a solved model back into the frozen `Plan` (deployments, pools, API lines, fixed
blocks, workloads, categories, failover routes), with every cost recomputed from quantities and unit prices."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from . import clock
from .candidates import UNKNOWN_PROVIDER, Candidates
from .families import FILTERS
from .catalog import Catalog
from .model.formulation import Model
from .model.solve import SolveResult
from .pipeline import EPS, SolveOptions
from .explain.energy import plan_energy
from .perf.encoder import uncalibrated_note
from .result import (ApiLine, CategoryLine, Considered, Deployment, FailoverRoute, FixedLine, Plan, PoolLine, SolverInfo,
                   WorkloadLine)
from .problem import Problem
from .units import HOURS_PER_MONTH

STALE_DAYS = 90
DEPRECATION_WARN_DAYS = 90


def sig(v: float, digits: int = 10) -> float:
    """Round to significant digits (not decimals): a share of a huge volume or the load of a tiny workload keeps
    its precision, so quantities recomputed from plan lines agree with the solution."""
    return float(f"{v:.{digits}g}")


def split_cents(total: float, weights: dict) -> dict:
    """Split `total` USD over `weights` in whole cents that add up exactly to round(total, 2) (largest
    remainder), so that allocated lines never lose or invent a cent."""
    cents = round(total * 100)
    wsum = sum(weights.values())
    raw = {k: cents * v / wsum for k, v in weights.items()}
    out = {k: int(r) for k, r in raw.items()}
    left = cents - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - int(raw[k])), str(k)))[:left]:
        out[k] += 1
    return {k: c / 100 for k, c in out.items()}


def _val(var) -> float:
    return float(var.value() or 0.0) if var is not None else 0.0


def extract_plan(problem: Problem, catalog: Catalog, cands: Candidates, m: Model, res: SolveResult,
                 options: SolveOptions, *, today: dt.date | None = None) -> Plan:
    from .techniques import expand_techniques
    problem = expand_techniques(problem)  # as solve_problem planned it (idempotent)
    serving = {w.name: w for w in problem.serving}
    n = {pid: int(round(_val(v))) for pid, v in m.n.items()}
    if m.hourly is not None:  # the day's maximum (without failover the model's n_c only bounds it)
        from .model.hourly import pool_hours
        n = {pid: max(pool_hours(m.hourly, pid)) for pid in n}
    x = {k: (_val(v) if _val(v) > EPS else 0.0) for k, v in m.x.items()}
    y_on = _val(m.y) > 0.5 if m.y is not None else False

    deployments, pools_out, api_lines, fixed_lines = [], [], [], []
    per_workload: dict[str, float] = defaultdict(float)
    pool_cost: dict[str, float] = {}

    z_share = {k: v for k, v in ((k, _val(v)) for k, v in m.z.items()) if v > EPS}
    z = {(p, w, o): v * serving[w].peak for (p, w, o), v in z_share.items()}  # requests/s at peak
    hourly = m.hourly  # hour by hour: instances are the day's maximum, cost the instance-hours run
    billed_h: dict[str, float] = {}
    for pool in cands.pools:
        k = n.get(pool.id, 0)
        if hourly is not None:
            from .model.hourly import pool_month
            k, billed_h[pool.id], _ = pool_month(hourly, pool)
        if k <= 0:
            continue
        loads = {w: x.get((w, pool.id), 0.0) * serving[w].peak / cap for w, cap in pool.capacity.items()}
        total = sum(loads.values())
        if any(x.get((w, pool.id), 0.0) > 0 for w in pool.capacity):
            weights = loads
        else:  # bought only as failover standby: allocate by the failover traffic it would take
            weights = {w: max((z.get((p, w, pool.id), 0.0) / cap for p in cands.providers()), default=0.0)
                       for w, cap in pool.capacity.items()}
            if sum(weights.values()) <= 0:
                weights = {w: 1.0 for w in pool.capacity}
        hours = billed_h.get(pool.id, k * HOURS_PER_MONTH)  # instance-hours a month
        cost = hours * pool.hourly_usd
        served = [w for w in pool.capacity if weights[w] > 0 or x.get((w, pool.id), 0.0) > 0]
        if sum(weights[w] for w in served) <= 0:
            weights = {w: 1.0 for w in served}
        alloc = split_cents(cost, {w: weights[w] for w in served})
        wsum = sum(weights[w] for w in served)
        need, shrink, basis, engines = _point_instances(pool, cands, z, x, serving)
        pools_out.append(PoolLine(
            pool=pool.id, model=pool.model.name, gpu=pool.gpu.name, instance_type=pool.offer.instance_type,
            cloud=pool.provider, region=pool.offer.region, precision=pool.precision, tp=pool.tp,
            capacity_type=pool.capacity_type, instances=k, replicas=k * pool.replicas_per_instance,
            hourly_usd_per_instance=pool.hourly_usd, monthly_cost_usd=round(cost, 2),
            utilization=round(total / k, 4), workloads=served, engine=engines, capacity_basis=basis,
            point_instances=min(need, k), uncertainty_cost_usd=round(max(k - need, k * (1 - shrink)) * pool.hourly_usd
                                                                     * HOURS_PER_MONTH, 2)))
        pool_cost[pool.id] = cost
        for w in served:
            pt = pool.points.get(w)
            per_workload[w] += alloc[w]
            deployments.append(Deployment(
                workload=w, pool=pool.id, model=pool.model.name, gpu=pool.gpu.name, gpus_per_replica=pool.tp,
                replicas=k * pool.replicas_per_instance, instances=k, instance_type=pool.offer.instance_type,
                gpus_per_instance=pool.gpus_per_instance, precision=pool.precision, tp=pool.tp,
                capacity_type=pool.capacity_type, cloud=pool.provider, region=pool.offer.region,
                jurisdiction=pool.jurisdiction, hourly_usd_per_replica=round(pool.hourly_usd / pool.replicas_per_instance, 6),
                hourly_usd_per_instance=pool.hourly_usd, hours_per_month=round(hours / k, 4),
                share=sig(x.get((w, pool.id), 0.0)), pool_share=round(weights[w] / wsum, 6),
                monthly_cost_usd=alloc[w], capacity_rps=round(k * pool.capacity[w], 4),
                load_rps=sig(x.get((w, pool.id), 0.0) * serving[w].peak),
                ttft_ms=round(pt.ttft_ms, 1) if pt else None, tpot_ms=round(pt.tpot_ms, 2) if pt else None,
                batch=pt.batch if pt else None, capacity_source="measured" if w in pool.measured else "model",
                price_source=f"{pool.offer.source_of(pool.capacity_type)} (checked {pool.offer.checked})",
                quality_tier=pool.model.quality_tier, hf_id=pool.model.hf_id, **_band_fields(pool, w, k)))

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
            per_workload[f.name] += round(q.monthly_usd, 2)
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

    tech_lines, tech_section = _techniques(problem, m, deployments, api_lines)
    fixed_lines += tech_lines
    total = round(sum(per_workload.values()) + sum(f.monthly_cost_usd for f in fixed_lines), 2)
    warnings = []
    unlimited = sorted({a.api_id for a in api_lines if a.mode == "realtime" and not a.rpm_limit and not a.tpm_limit})
    if unlimited:
        warnings.append(f"no rate limit is known for {', '.join(unlimited)} (none published for the catalog's "
                        f"account tier): the plan assumes none; check your account's limits")
    soon = sorted({(a.api_id, c.deprecation_date) for a in api_lines + standby_api
                   for c in catalog.apis if c.api_id == a.api_id and c.deprecation_date is not None
                   and (c.deprecation_date - (today or clock.today())).days <= DEPRECATION_WARN_DAYS})
    for api_id, when in soon:
        warnings.append(f"{api_id} is deprecated on {when} (within {DEPRECATION_WARN_DAYS} days): plan its "
                        f"replacement")
    if res.objective is not None and abs(total - res.objective) > 1.0:
        warnings.append(f"recomputed cost ${total:,.2f} differs from the solver objective ${res.objective:,.2f}")
    workloads = []
    from .techniques import SEP, quality_assumption
    carried = {d.workload for d in deployments} | {a.workload for a in api_lines}
    for w in problem.workloads:
        if SEP in w.name and w.name not in carried:
            continue  # a technique slice the plan does not use
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

    today = today or clock.today()
    oldest = catalog.oldest_price_date()
    age = (today - oldest).days
    if age > STALE_DAYS:
        warnings.append(f"catalog prices are up to {age} days old (oldest checked {oldest}); refresh the catalog "
                        f"(see catalogs/README.md)")
    assumptions = [
        f"money is USD per month at {HOURS_PER_MONTH:.0f} hours; serving pools run all month and are sized for peak",
        f"self-hosted capacity is planned at max_utilization {problem.policy.max_utilization:.0%} of the modelled "
        f"throughput under each workload's TTFT/TPOT target, TTFT including the queueing delay at that "
        f"utilisation ({_wait_words(problem)}); each pool is sized at the capacity it reaches with {problem.policy.capacity_confidence:.0%} "
        f"probability (policy.capacity_confidence, from the model's cross-validated error band)",
        "API rate limits apply at peak to realtime traffic; batch-API traffic is not rate-limited in the model",
    ]
    for pid, f in sorted(cands.derated.items()):
        if n.get(pid):
            assumptions.append(f"pool {pid} is shared by workloads of different lengths that wait in one queue: it "
                               f"is planned at {f:.1%} of the capacity each would have alone, so that every one "
                               f"meets its TTFT target at that mix")
    if tech_section:
        assumptions.append(quality_assumption())
    price_assumptions, price_warnings = _price_assumptions(catalog, cands, n, m)
    assumptions += price_assumptions
    warnings += price_warnings
    encoders = sorted({d.model for d in deployments if d.share and d.capacity_source != "measured"
                       and cands.pool(d.pool).model.kind == "embedding"})
    if encoders:
        warnings.append(f"{', '.join(encoders)}: {uncalibrated_note()}")
    if problem.policy.failover:
        assumptions.append(f"failover: after losing any one provider the rest can serve "
                           f"{problem.policy.failover.fraction:.0%} of every serving workload's peak")
    gap = res.gap
    energy = plan_energy({"deployments": deployments, "api": api_lines, "workloads": workloads}, catalog,
                         problem.policy.max_utilization, problem.policy.max_co2e_kg_month)
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
        failover_routes=_failover_routes(problem, cands, x, z, n),
        considered=_considered(problem, catalog, cands, deployments, api_lines, standby_api),
        standby_api=standby_api, max_utilization=problem.policy.max_utilization,
        assumptions=assumptions, warnings=warnings, energy=energy,
        extras={"techniques": tech_section} if tech_section else {},
        candidates={"pools": len(cands.pools), "pruned_pools": cands.pruned, "api_options": len(cands.apis),
                    "fixed_options": sum(len(v) for v in cands.fixed.values()),
                    "excluded": {w: dict(c) for w, c in cands.excluded.items() if c}},
    )


def _techniques(problem: Problem, m: Model, deployments, api_lines) -> tuple[list, dict]:
    """Fixed lines for the techniques in use and extras['techniques']: per workload with techniques or a quality
    floor, each technique (used or not, its cost and effect) and the blended quality score with its inputs."""
    from .techniques import TECHNIQUES, groups, quality_score, technique_costs, technique_line_name
    lines, section = [], {}
    for g in groups(problem):
        on = {t: _val(m.tech.get((g.name, t))) > 0.5 for t in TECHNIQUES}
        served = [(d.workload, d.pool, d.share, d.quality_tier, d.precision) for d in deployments
                  if d.share and d.workload in g.slices]
        on["quantization"] = any(prec != "fp16" for _, _, _, _, prec in served)
        served += [(a.workload, a.api_id, a.share, a.quality_tier, "fp16") for a in api_lines if a.workload in g.slices]
        shares = defaultdict(float)
        for s, _, share, _, _ in served:
            shares[s] += share
        costs = technique_costs(g, on, shares)
        for t, (usd, _) in costs.items():
            if usd > 0:
                lines.append(FixedLine(name=technique_line_name(t, g.name), monthly_cost_usd=round(usd, 2),
                                       note=f"cost technique of workload {g.name} (docs/cost-techniques.md)"))
        section[g.name] = {
            "slices": list(g.slices),
            "techniques": [{"technique": t, "used": on[t], "monthly_cost_usd": round(costs[t][0], 2) if t in costs
                            else 0.0, "effect": costs[t][1] if t in costs else ""}
                           for t in _considered_techniques(g)],
            "quality": quality_score(g, served, on["semantic_cache"])}
    return lines, section


def _considered_techniques(g) -> list[str]:
    """The techniques a workload offers the solver (quantization: when it may self-host below 16 bits)."""
    t, out = g.t, []
    if t is not None and t.cache and t.cache.exact_hit_rate > 0:
        out.append("exact_cache")
    if t is not None and t.cache and t.cache.semantic_hit_rate > 0:
        out.append("semantic_cache")
    if t is not None and t.prompt_compression:
        out.append("prompt_compression")
    if t is not None and t.cascade:
        out.append("cascade")
    if any(p != "fp16" for p in g.workload.precisions) and (g.workload.models or g.workload.min_quality_tier):
        out.append("quantization")
    return out


def _wait_words(problem: Problem) -> str:
    q = problem.policy.ttft_quantile
    head = ("the mean wait, policy.ttft_quantile null" if q is None
            else f"the wait's {q * 100:g}th percentile, policy.ttft_quantile")
    bursty = sorted({f"{w.name.split('/')[0]} {w.arrival_cv2:g}" for w in problem.serving if w.arrival_cv2 != 1.0})
    tail = (f"; Poisson arrivals except arrival_cv2 {', '.join(bursty)}" if bursty else "; Poisson arrivals")
    return head + tail


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


def _point_instances(pool, cands: Candidates, z: dict, x: dict, serving: dict) -> tuple:
    """Instances the pool's normal load and each failover scenario's load need at the point estimate of its
    capacity (routing unchanged), the smallest planned / point capacity ratio of its modelled workloads (the
    fraction of the pool the point estimate would need if it could shrink continuously), the basis of its
    capacities and its engine(s). `z` holds failover routes in requests/s."""
    point_cap = {}
    for w, cap in pool.capacity.items():
        b = pool.bands.get(w)
        point_cap[w] = cap * (b.point_rps / b.planned_rps if b and b.planned_rps > 0 else 1.0)
    loads = [sum(x.get((w, pool.id), 0.0) * serving[w].peak / c for w, c in point_cap.items())]
    for p in cands.providers():
        loads.append(sum(z.get((p, w, pool.id), 0.0) / c for w, c in point_cap.items()))
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
        share=sig(share), requests_per_month=round(wl.requests_per_month * share, 2),
        usd_per_request=usd, monthly_cost_usd=round(wl.requests_per_month * share * usd, 2),
        peak_rpm=round(60 * wl.peak * share, 2), rpm_limit=a.api.rpm, tpm_limit=a.api.tpm,
        jurisdictions=list(a.api.jurisdictions), price_source=f"{a.api.source} (checked {a.api.checked})",
        ttft_ms=a.api.ttft_ms, tpot_ms=a.api.tpot_ms, quality_tier=a.api.quality_tier,
        provider_model_id=a.api.provider_model_id)


def _failover_routes(problem: Problem, cands: Candidates, x: dict, z: dict, n: dict) -> list[FailoverRoute]:
    """The re-routing after losing each provider the plan uses (losing an unused one changes nothing).

    For a workload with traffic on the lost provider the routes are the solver's z_pwo (reason "re-routed"). A
    workload without traffic there keeps its normal routing at the failover fraction whenever that fits beside the
    re-routed traffic (then it is not listed); only when the solver had to move it to make room are its routes
    listed (reason "moved to make room"). Ties between equally cheap re-routings are thereby broken toward the
    plan's own routing, so routes are stable and nothing moves without a reason."""
    if problem.policy.failover is None:
        return []
    phi = problem.policy.failover.fraction
    serving = {w.name: w for w in problem.serving}
    used = {cands.option(o).failover_provider for (w, o), v in x.items() if v > 0}
    used |= {p for (p, w, o) in z}
    normal: dict[str, dict] = defaultdict(dict)
    for (w, o), v in x.items():
        if v > 0:
            normal[w][o] = phi * v * serving[w].peak
    routes = []
    for prov in sorted(used):
        solver: dict[str, dict] = defaultdict(dict)
        for (p, w, o), v in z.items():
            if p == prov:
                solver[w][o] = v
        affected = {w for w, opts in normal.items()
                    if any(cands.option(o).failover_provider in (prov, UNKNOWN_PROVIDER) for o in opts)}
        trial = {w: (solver.get(w, {}) if w in affected else normal.get(w, {})) for w in serving}
        keep_normal = _routes_fit(problem, cands, trial, n)
        for w in sorted(serving):
            if w in affected:
                reason = "re-routed"
            elif keep_normal or _same(solver.get(w, {}), normal.get(w, {})):
                continue
            else:
                reason = "moved to make room"
            for o, rps in sorted(solver.get(w, {}).items()):
                opt = cands.option(o)
                if o.startswith("api:"):
                    routes.append(FailoverRoute(lost_provider=prov, workload=w, kind="api", target=opt.api.api_id,
                                                mode=opt.mode, rps=float(f"{rps:.9g}"), reason=reason))
                else:
                    routes.append(FailoverRoute(lost_provider=prov, workload=w, kind="pool", target=o,
                                                rps=float(f"{rps:.9g}"), reason=reason))
    return routes


def _same(a: dict, b: dict, tol: float = 1e-6) -> bool:
    return all(abs(a.get(k, 0.0) - b.get(k, 0.0)) <= tol * max(1.0, abs(b.get(k, 0.0))) for k in set(a) | set(b))


def _routes_fit(problem: Problem, cands: Candidates, routes: dict, n: dict) -> bool:
    """True when the routes (workload -> option -> requests/s) fit the bought pools and the APIs' limits."""
    serving = {w.name: w for w in problem.serving}
    load: dict[str, float] = defaultdict(float)
    rpm: dict[str, float] = defaultdict(float)
    tpm: dict[str, float] = defaultdict(float)
    for w, opts in routes.items():
        for o, rps in opts.items():
            opt = cands.option(o)
            if o.startswith("api:"):
                if opt.mode == "realtime":
                    rpm[opt.rate_group] += 60 * rps
                    tpm[opt.rate_group] += 60 * rps * (serving[w].input_tokens + serving[w].output_tokens)
            else:
                load[o] += rps / opt.capacity[w]
    if any(v > n.get(o, 0) * (1 + 1e-6) + 1e-9 for o, v in load.items()):
        return False
    for g in rpm:
        api = next(a.api for a in cands.apis if a.rate_group == g)
        if (api.rpm and rpm[g] > api.rpm * (1 + 1e-6)) or (api.tpm and tpm[g] > api.tpm * (1 + 1e-6)):
            return False
    return True


def _categories(workloads: list[WorkloadLine], fixed: list[FixedLine], total: float) -> list[CategoryLine]:
    by: dict[str, float] = defaultdict(float)
    for w in workloads:
        by[w.category] += w.monthly_cost_usd
    for f in fixed:
        by["techniques" if f.name.startswith("technique:") else "shared (ops overhead)"] += f.monthly_cost_usd
    return [CategoryLine(category=c, monthly_cost_usd=round(v, 2), percent=round(100 * v / total, 1) if total else 0.0)
            for c, v in sorted(by.items(), key=lambda kv: -kv[1])]


def _reasons(counter) -> str:
    """'latency_tier: typical TTFT 770 ms > ...' or, for counted filter families, 'vram_fit on 12 configurations'."""
    parts = []
    for key, k in counter.most_common():
        if ":" in key:
            parts.append(key)
        else:
            parts.append(f"{key} ({FILTERS[key].meaning}) on {k} configuration{'s' if k != 1 else ''}")
    return "; ".join(parts)


def _considered(problem: Problem, catalog: Catalog, cands: Candidates, deployments, api_lines, standby) -> list:
    """Every model, API, provider, GPU and jurisdiction the problem names: used, not chosen, or excluded (why)."""
    out = []
    used_models = {(d.workload, d.model) for d in deployments if d.share}
    used_apis = {(a.workload, a.api_id) for a in api_lines} | {(a.workload, a.api_id) for a in standby}
    eligible_models = {(w, cands.pool(o).model.name) for w, opts in cands.eligible.items() for o in opts
                       if not o.startswith("api:")}
    eligible_apis = {(w, cands.api(o).api.api_id) for w, opts in cands.eligible.items() for o in opts
                     if o.startswith("api:")}
    for w in problem.serving:
        for kind, names, used, eligible in (("model", cands.named.get("models", {}).get(w.name, []), used_models,
                                             eligible_models),
                                            ("api", cands.named.get("apis", {}).get(w.name, []), used_apis,
                                             eligible_apis)):
            for name in names:
                if (w.name, name) in used:
                    status, reason = "used", ""
                elif (w.name, name) in eligible:
                    status, reason = "not chosen", "eligible, but the optimum is cheaper without it"
                else:
                    why = cands.why_not.get((w.name, kind, name))
                    status = "excluded"
                    reason = _reasons(why) if why else "no configuration of it was offered (no offer passed the policy)"
                out.append(Considered(kind=kind, name=name, workload=w.name, status=status, reason=reason))
    pol = problem.policy
    gpus_used = {d.gpu for d in deployments}
    for g in pol.include_gpus or ():
        name = catalog.gpu_names.get(g) or g
        out.append(Considered(kind="gpu", name=name, workload=None, status="used" if name in gpus_used else
                              "not chosen", reason="" if name in gpus_used else "allowed, but not in the optimum"))
    providers_used = {d.cloud for d in deployments} | {a.provider for a in api_lines}
    for p in pol.include_providers or ():
        out.append(Considered(kind="provider", name=p, workload=None,
                              status="used" if p in providers_used else "not chosen",
                              reason="" if p in providers_used else "allowed, but not in the optimum"))
    for p in pol.exclude_providers:
        out.append(Considered(kind="provider", name=p, workload=None, status="excluded",
                              reason="policy.exclude_providers"))
    for w in problem.workloads:
        if "any" in w.jurisdictions:
            continue
        used_j = {d.jurisdiction for d in deployments if d.workload == w.name} | {
            j for a in api_lines if a.workload == w.name for j in a.jurisdictions}
        for j in w.jurisdictions:
            out.append(Considered(kind="jurisdiction", name=j, workload=w.name,
                                  status="used" if j in used_j else "not chosen",
                                  reason="" if j in used_j else "allowed, but the optimum runs elsewhere"))
    return out
