"""Plan over a horizon: candidates (optimizer/horizon_candidates.py) -> the MILP over all months
(optimizer/model/horizon.py) -> the timeline (this module) -> its independent check (optimizer/verify_horizon.py).
A plan that fails the check is reported `unverified`, never `optimal`."""

from __future__ import annotations

from .catalog import Catalog
from .explain.energy import month_energy
from .errors import InfeasibleError, SolverError
from .horizon_candidates import TERM_MONTHS, HorizonCandidates, build_horizon_candidates
from .horizon_result import Commitment, ConstraintCost, FixedBlock, FleetLine, HorizonPlan, Month, Purchase, ShareLine
from .model.horizon import build_horizon_model, commitment_usd, month_cost
from .model.solve import Status, solve
from .pipeline import SolveOptions
from .problem import Problem
from .result import SolverInfo
from .units import HOURS_PER_MONTH

EPS = 1e-7


def _val(v) -> float:
    x = v.value() if hasattr(v, "value") else v
    return float(x or 0.0)


def _int(v) -> int:
    return int(round(_val(v)))


def plan_horizon(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
                 today=None) -> HorizonPlan:
    from .verify import with_verification
    from .verify_horizon import verify_horizon
    hc = build_horizon_candidates(problem, catalog)
    m = build_horizon_model(problem, hc)
    res = solve(m.prob, options.solver, options.time_limit, options.gap, options.verbose)
    if res.status == Status.INFEASIBLE:
        report = [f"a month's demand (with its spike) cannot be covered by the options allowed: check API rate "
                  f"limits, availability caps and policy.deployment {problem.policy.deployment}"]
        if problem.policy.budget_monthly_usd is not None:
            report.append(f"policy.budget_monthly_usd ${problem.policy.budget_monthly_usd:,.2f} may be below some "
                          f"month's running cost (server purchases are not counted against it): raise it")
        if problem.policy.max_co2e_kg_month is not None:
            report.append(f"policy.max_co2e_kg_month {problem.policy.max_co2e_kg_month:g} kg a month may be below "
                          f"what the cleanest plan emits in some month: raise it, or allow cleaner regions or "
                          f"owned servers on a cleaner grid")
        if hc.owned and not hc.flex and not hc.reserved:
            first = 1 + min(q.lead_time_months for q in hc.owned_quote.values())
            if first > 1:
                report.append(f"owned servers arrive from month {first} (lead time) and nothing else may self-host "
                              f"before: allow an API or the cloud (deployment: cloud) for months 1-{first - 1}")
        raise InfeasibleError("no plan over the horizon meets every constraint", report)
    if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
        raise SolverError(f"{res.solver} stopped with status {res.status.value} after {res.seconds:.1f} s",
                          fix="raise --time-limit, or loosen --gap")
    plan = extract_horizon(problem, hc, m, res, options, catalog)
    return with_verification(plan, verify_horizon(plan, problem, catalog, today=today))


def _fleet_line(p, kind: str, n: int, hc: HorizonCandidates) -> FleetLine:
    if kind == "owned":
        q = hc.owned_quote[p.id]
        return FleetLine(pool=p.id, model=p.model.name, gpu=p.gpu.name, gpus_per_instance=p.gpus_per_instance,
                         precision=p.precision, tp=p.tp, capacity_type="owned", cloud="owned", region=p.offer.region,
                         instances=n, hourly_usd_per_instance=None, monthly_cost_usd=round(n * q.running_usd_month, 2))
    return FleetLine(pool=p.id, model=p.model.name, gpu=p.gpu.name, gpus_per_instance=p.gpus_per_instance,
                     precision=p.precision, tp=p.tp, capacity_type=p.capacity_type, cloud=p.provider,
                     region=p.offer.region, instances=n, hourly_usd_per_instance=p.hourly_usd,
                     monthly_cost_usd=round(n * p.hourly_usd * HOURS_PER_MONTH, 2))


def with_energy(timeline: list, problem: Problem, hc: HorizonCandidates, hp, catalog: Catalog) -> list:
    """Each month with its energy and carbon (`explain.energy.month_energy`), at the candidates' capacities."""
    def api(oid):
        return hc.option(oid).api

    return [mo.model_copy(update={"energy": month_energy(
        mo, catalog=catalog, max_utilization=problem.policy.max_utilization,
        spike_requests={w.name: hp.SP[(w.name, mo.month - 1)] for w in problem.serving},
        capacity=lambda pid, w: hc.option(pid).capacity.get(w), owned_quote=hc.owned_quote.get, api=api,
        cap=problem.policy.max_co2e_kg_month)}) for mo in timeline]


def energy_totals(timeline: list) -> dict:
    """kWh and kg CO2e over the horizon (the lines whose figures are known)."""
    return {"kwh": round(sum(mo.energy.kwh for mo in timeline if mo.energy), 2),
            "kg_co2e": round(sum(mo.energy.kg_co2e for mo in timeline if mo.energy), 2)}


def extract_horizon(problem: Problem, hc: HorizonCandidates, m, res, options: SolveOptions,
                    catalog: Catalog) -> HorizonPlan:
    hp, h = m.hp, problem.horizon
    T = hp.T
    commitments, purchases = [], []
    for p in hc.reserved:
        L = TERM_MONTHS[p.capacity_type]
        for s in range(T):
            k = _int(m.r[(p.id, s)])
            if k:
                past = max(0, s + L - T)
                commitments.append(Commitment(
                    pool=p.id, capacity_type=p.capacity_type, start_month=s + 1, term_months=L, instances=k,
                    hourly_usd_per_instance=p.hourly_usd, monthly_usd=round(k * p.hourly_usd * HOURS_PER_MONTH, 2),
                    months_past_horizon=past, cost_past_horizon_usd=round(past * k * p.hourly_usd * HOURS_PER_MONTH, 2)))
    for p in hc.owned:
        q = hc.owned_quote[p.id]
        for s in range(T):
            k = _int(m.b[(p.id, s)]) if (p.id, s) in m.b else 0
            if k:
                purchases.append(Purchase(pool=p.id, server=q.name, order_month=s + 1,
                                          delivery_month=s + 1 + q.lead_time_months, servers=k,
                                          price_usd=q.server_price_usd,
                                          book_value_end_usd=round(q.book_value(T - s - q.lead_time_months), 2)))
    timeline = []
    for t in range(T):
        fleet = []
        for p in hc.flex:
            n = _int(m.n[(p.id, t)])
            if n:
                fleet.append(_fleet_line(p, p.capacity_type, n, hc))
        for p in hc.reserved:
            n = sum(c.instances for c in commitments if c.pool == p.id and c.start_month <= t + 1 < c.start_month
                    + c.term_months)
            if n:
                fleet.append(_fleet_line(p, p.capacity_type, n, hc))
        delivered = {}
        for p in hc.owned:
            k = sum(c.servers for c in purchases if c.pool == p.id and c.delivery_month <= t + 1)
            if k:
                delivered[p.id] = k
            n = _int(m.u[(p.id, t)])
            if n:
                fleet.append(_fleet_line(p, "owned", n, hc))
        shares, api_share = [], {}
        for w in problem.serving:
            api_share[w.name] = 0.0
            for o in hc.eligible[w.name]:
                x = _val(m.x[(w.name, o, t)])
                g = _val(m.g[(w.name, o, t)]) if (w.name, o, t) in m.g else 0.0
                if x > EPS or g > EPS:
                    shares.append(ShareLine(workload=w.name, option=o, share=round(x, 9), spike_share=round(g, 9)))
                    if o.startswith("api:"):
                        api_share[w.name] += x
            api_share[w.name] = round(api_share[w.name], 6)
        blocks = [FixedBlock(workload=f, option=q.id, gpu=q.gpu, gpus_per_instance=q.gpus_per_instance,
                             instances=q.instances, hours=q.hours, capacity_type=q.capacity_type, cloud=q.provider,
                             region=q.region, hourly_usd_per_instance=q.hourly_usd, monthly_cost_usd=round(q.monthly_usd, 2))
                  for f, qs in hc.fixed.items() for q in qs if _val(m.fx[(f, q.id, t)]) > 0.5]
        cost = {k: round(_val(e), 2) for k, e in month_cost(m, problem, hc, t).items()}
        timeline.append(Month(month=t + 1, requests={w.name: round(hp.V[(w.name, t)], 2) for w in problem.serving},
                              peak_rps={w.name: round(hp.lam[(w.name, t)], 6) for w in problem.serving},
                              fleet=fleet, shares=shares, api_share=api_share, cost_usd=cost,
                              total_usd=round(sum(cost.values()), 2), discount_factor=hp.disc[t],
                              owned_delivered=delivered, self_hosting=bool(t in m.y and _val(m.y[t]) > 0.5),
                              fixed=blocks))
    timeline = with_energy(timeline, problem, hc, hp, catalog)
    tail_npv = sum(commitment_usd(hc.option(c.pool), c.start_month - 1, hp)[1] * c.instances for c in commitments)
    resid = sum(c.book_value_end_usd * c.servers for c in purchases)
    total = sum(mo.total_usd for mo in timeline)
    npv = sum(mo.total_usd * mo.discount_factor for mo in timeline) + tail_npv - resid * hp.disc[T]
    status = res.status.value
    plan = HorizonPlan(
        problem=problem.name, status=status, months=T, discount_rate_annual=h.discount_rate_annual,
        spike_hours_per_month=h.spike_hours_per_month, deployment=problem.policy.deployment,
        npv_usd=round(npv, 2), total_usd=round(total, 2),
        committed_past_horizon_usd=round(sum(c.cost_past_horizon_usd for c in commitments), 2),
        committed_past_horizon_npv_usd=round(tail_npv, 2), residual_value_usd=round(resid, 2),
        residual_value_npv_usd=round(resid * hp.disc[T], 2), **energy_totals(timeline),
        lower_bound_usd=None if res.bound is None else round(res.bound, 2), gap=res.gap,
        solver=SolverInfo(name=res.solver, seconds=round(res.seconds, 3), time_limit_s=options.time_limit,
                          gap_requested=options.gap),
        timeline=timeline, commitments=commitments, purchases=purchases,
        assumptions=assumptions(problem, hc))
    return plan.model_copy(update={"decisions": decisions(plan)})


def assumptions(problem: Problem, hc: HorizonCandidates) -> list[str]:
    h = problem.horizon
    out = [f"costs discounted at {h.discount_rate_annual:.1%} a year ({h.monthly_rate:.4%} a month), month 1 "
           f"undiscounted; NPV = sum of discounted monthly costs + commitment months past the horizon - owned servers' "
           f"book value at its end",
           "commitments running past the horizon are charged in full (every remaining month), not pro-rated: the "
           "contract is owed whatever the horizon",
           "the peak scales with the volume; pools and API limits are sized for the spike (spike_factor x peak) "
           "whose excess goes to pool headroom or API overflow"]
    if any(w.spike_factor > 1 for w in problem.serving):
        out.append(f"spikes last {h.spike_hours_per_month:g} hours a month (horizon.spike_hours_per_month, an "
                   f"assumption): API overflow pays for (spike_factor - 1) x peak x that many hours")
    if hc.owned:
        out.append("owned servers: straight-line depreciation from delivery; idle servers draw idle power; facility "
                   "cost per kW of load power whether serving or not; a server is bought for one configuration "
                   "(model, precision, TP)")
    if problem.policy.capacity_types and any(t.startswith("reserved") for t in problem.policy.capacity_types):
        out.append("reserved prices are those of the catalog (most are documented discounts, i.e. assumptions); "
                   "the seed chapter warns against multi-year commitments on one price snapshot")
    return out


def _inst(f) -> str:
    """An instance in words: 'L40S' for one GPU, '(4x L40S)' for an instance of four."""
    return f.gpu if f.gpus_per_instance == 1 else f"({f.gpus_per_instance}x {f.gpu})"


def _fleet_words(lines) -> str:
    return ", ".join(f"{n}x {gpu}" for gpu, n in lines)


MAX_CHANGES = 3  # fleet changes written one by one in a month; more are summed up in one line


def fleet_changes(month: int, changes: list[tuple[int, str]]) -> list[str]:
    """A month's on-demand and spot changes in words: each one when there are at most MAX_CHANGES, otherwise one
    line with the count, the GPUs added and removed and the largest changes (the JSON timeline has every pool), so
    that a big plan's decision points stay readable."""
    if len(changes) <= MAX_CHANGES:
        return [f"month {month}: {w}" for _, w in changes]
    up = sum(g for g, _ in changes if g > 0)
    down = -sum(g for g, _ in changes if g < 0)
    top = sorted(changes, key=lambda c: -abs(c[0]))[:2]
    return [f"month {month}: {len(changes)} on-demand/spot changes, +{up} and -{down} GPUs (net {up - down:+d}); "
            f"largest: {'; '.join(w for _, w in top)}"]


def decisions(plan: HorizonPlan) -> list[str]:
    """Decision points in words, from the timeline: self-hosting starts/stops, fleet changes per pool, commitments,
    purchases, API shares crossing, the block each fixed-hours workload rents (when it changes)."""
    out = []
    prev: dict = {}
    prev_api: dict = {}
    prev_spike: set = set()
    prev_fixed: dict = {}
    started = False
    for mo in plan.timeline:
        now = {}
        for f in mo.fleet:
            now[f.pool] = f
        if mo.self_hosting and not started:
            wl = sorted({s.workload for s in mo.shares if not s.option.startswith("api:") and s.share > 1e-6})
            gpus = {}
            for f in mo.fleet:
                gpus[f.gpu] = gpus.get(f.gpu, 0) + f.instances * f.gpus_per_instance
            out.append(f"month {mo.month}: start self-hosting {', '.join(wl) or 'spike headroom'} on "
                       f"{_fleet_words(sorted(gpus.items()))}")
            started = True
        for c in plan.commitments:
            if c.start_month == mo.month:
                f = now.get(c.pool)
                where = f"{f.cloud} {f.region}" if f else c.pool
                gpu = f.gpu if f else ""
                out.append(f"month {mo.month}: commit {c.term_months // 12} year{'s' if c.term_months > 12 else ''} "
                           f"to {c.instances}x {_inst(f) if f else gpu} in "
                           f"{where} at ${c.monthly_usd:,.2f}/month"
                           + (f", {c.months_past_horizon} months past the horizon" if c.months_past_horizon else ""))
        for pch in plan.purchases:
            if pch.order_month == mo.month:
                out.append(f"month {mo.month}: order {pch.servers}x {pch.server} (${pch.price_usd * pch.servers:,.0f}), "
                           f"delivered month {pch.delivery_month}")
        changes = []  # (GPUs added or removed, words)
        for pid, f in now.items():
            if f.capacity_type in ("on_demand", "spot"):
                before = prev.get(pid).instances if pid in prev else 0
                if f.instances != before and (started and mo.month > 1 or before):
                    verb = "add" if f.instances > before else "remove"
                    changes.append(((f.instances - before) * f.gpus_per_instance,
                                    f"{verb} {abs(f.instances - before)}x {_inst(f)} {f.capacity_type} in {f.cloud} "
                                    f"{f.region} ({f.instances} running)"))
        for pid, f in prev.items():
            if pid not in now and f.capacity_type in ("on_demand", "spot"):
                changes.append((-f.instances * f.gpus_per_instance,
                                f"stop {f.instances}x {_inst(f)} {f.capacity_type} in {f.cloud} {f.region}"))
        out += fleet_changes(mo.month, changes)
        for w, a in mo.api_share.items():
            b = prev_api.get(w)
            if b is not None and abs(a - b) > 0.005 and (a < 1e-6 or b > 1 - 1e-6 or a > 1 - 1e-6 or b < 1e-6):
                out.append(f"month {mo.month}: {w} API share {b:.0%} -> {a:.0%}")
        spike_api = {s.workload for s in mo.shares if s.option.startswith("api:") and s.spike_share > 0.5}
        if spike_api and spike_api != prev_spike:
            out.append(f"month {mo.month}: spikes of {', '.join(sorted(spike_api))} overflow to the API")
        for b in mo.fixed:
            if prev_fixed.get(b.workload) != b.option:
                verb = "rent" if b.workload not in prev_fixed else "move to"
                where = "at the quoted price" if b.cloud == "quoted" else f"in {b.cloud} {b.region}"
                out.append(f"month {mo.month}: {b.workload} {verb} {b.instances}x {_inst(b)} {b.capacity_type} "
                           f"{where} for {b.hours:g} h (${b.monthly_cost_usd:,.2f}/month)")
        prev_fixed = {b.workload: b.option for b in mo.fixed}
        prev, prev_api, prev_spike = now, dict(mo.api_share), spike_api
    if not started and plan.timeline:
        out.insert(0, f"months 1-{plan.months}: stay on the API; self-hosting does not pay within the horizon")
    return out


def relaxable(problem: Problem) -> list[tuple[str, str, dict]]:
    """The policy constraints of a horizon problem that `constraint_costs` prices: (field, as stated, the policy
    update that removes it)."""
    pol, out = problem.policy, []
    if pol.max_co2e_kg_month is not None:
        out.append(("policy.max_co2e_kg_month", f"{pol.max_co2e_kg_month:g} kg CO2e a month",
                    {"max_co2e_kg_month": None}))
    if pol.budget_monthly_usd is not None:
        out.append(("policy.budget_monthly_usd", f"${pol.budget_monthly_usd:,.2f} a month",
                    {"budget_monthly_usd": None}))
    if pol.max_spot_share < 1:
        out.append(("policy.max_spot_share", f"{pol.max_spot_share:g} of GPU-hours", {"max_spot_share": 1.0}))
    if pol.deployment != "cloud":
        out.append(("policy.deployment", pol.deployment, {"deployment": "cloud"}))
    return out


def constraint_costs(problem: Problem, catalog: Catalog, options: SolveOptions, plan: HorizonPlan) -> list:
    """What each policy constraint costs over the horizon (`--explain`): re-solve without it; the NPV difference is
    its price (0 when it does not bind). A re-solve that finds no plan is reported as such, never guessed."""
    out = []
    for field, limit, update in relaxable(problem):
        free = problem.model_copy(update={"policy": problem.policy.model_copy(update=update)})
        try:
            other = plan_horizon(free, catalog, options)
        except (InfeasibleError, SolverError):
            out.append(ConstraintCost(field=field, limit=limit, npv_without_usd=None, costs_npv_usd=None))
            continue
        out.append(ConstraintCost(field=field, limit=limit, npv_without_usd=other.npv_usd,
                                  costs_npv_usd=round(max(plan.npv_usd - other.npv_usd, 0.0), 2)))
    return out
