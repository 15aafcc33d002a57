"""Plan construction: read a solved model back into the frozen `Plan` (deployments, pools, API lines, fixed
blocks, workloads, categories, failover routes), with every cost recomputed from quantities and unit prices."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from .candidates import UNKNOWN_PROVIDER, Candidates
from .catalog import Catalog
from .model.formulation import Model
from .model.solve import SolveResult
from .pipeline import EPS, SolveOptions
from .plan import (ApiLine, CategoryLine, Deployment, FailoverRoute, FixedLine, Plan, PoolLine, SolverInfo,
                   WorkloadLine)
from .problem import Problem
from .units import HOURS_PER_MONTH

STALE_DAYS = 90


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
        k = n[pool.id]
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
        pools_out.append(PoolLine(
            pool=pool.id, model=pool.model.name, gpu=pool.gpu.name, instance_type=pool.offer.instance_type,
            cloud=pool.provider, region=pool.offer.region, precision=pool.precision, tp=pool.tp,
            capacity_type=pool.capacity_type, instances=k, replicas=k * pool.replicas_per_instance,
            hourly_usd_per_instance=pool.hourly_usd, monthly_cost_usd=round(cost, 2),
            utilization=round(total / k, 4), workloads=served))
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
                share=round(x.get((w, pool.id), 0.0), 6), pool_share=round(weights[w] / wsum, 6),
                monthly_cost_usd=alloc[w], capacity_rps=round(k * pool.capacity[w], 4),
                load_rps=round(x.get((w, pool.id), 0.0) * serving[w].peak, 6),
                ttft_ms=round(pt.ttft_ms, 1) if pt else None, tpot_ms=round(pt.tpot_ms, 2) if pt else None,
                batch=pt.batch if pt else None, capacity_source="measured" if w in pool.measured else "model",
                price_source=f"{pool.offer.source_of(pool.capacity_type)} (checked {pool.offer.checked})",
                quality_tier=pool.model.quality_tier, hf_id=pool.model.hf_id))

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

    total = round(sum(per_workload.values()) + sum(f.monthly_cost_usd for f in fixed_lines), 2)
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
        f"throughput under each workload's TTFT/TPOT target",
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
        failover_routes=_failover_routes(problem, cands, x, z, n),
        standby_api=standby_api, max_utilization=problem.policy.max_utilization,
        assumptions=assumptions, warnings=warnings,
        candidates={"pools": len(cands.pools), "pruned_pools": cands.pruned, "api_options": len(cands.apis),
                    "fixed_options": sum(len(v) for v in cands.fixed.values()),
                    "excluded": {w: dict(c) for w, c in cands.excluded.items() if c}},
    )


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
                                                mode=opt.mode, rps=round(rps, 6), reason=reason))
                else:
                    routes.append(FailoverRoute(lost_provider=prov, workload=w, kind="pool", target=o,
                                                rps=round(rps, 6), reason=reason))
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
        by["shared (ops overhead)"] += f.monthly_cost_usd
    return [CategoryLine(category=c, monthly_cost_usd=round(v, 2), percent=round(100 * v / total, 1) if total else 0.0)
            for c, v in sorted(by.items(), key=lambda kv: -kv[1])]
