"""What-if analyses by re-solving: what each binding constraint costs, the alternatives, and entry prices.

- Constraint costs: for each family that restricts the problem, re-solve with the family relaxed as its descriptor
  says (`Family.whatif` in optimizer/families.py: residency: every jurisdiction allowed; latency tier: no TTFT/TPOT
  target; spot allowed everywhere; spot cap, rate limits, failover, availability caps, budget: dropped). The family's monthly cost is plan cost - relaxed cost; it binds
  when that is positive. Both costs are recomputed from plan lines.
- Alternatives: the cheapest all-API plan, all-self-hosted plan and single-GPU-type plan (every self-hosted pool
  on one GPU type; APIs and fixed-hours blocks as in the problem), each against the optimum.
- Entry prices: for the cheapest API and the cheapest pool not in the plan, the highest price at which the
  optimizer would use it. With the option forced in, the plan's cost F(price) is concave and piecewise linear in
  the option's price (a minimum of linear functions), so Newton steps from its current price reach the price where
  F equals the plan's cost in a few re-solves.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..candidates import Candidates
from ..catalog import Catalog
from ..errors import InfeasibleError, SolverError
from ..extract import extract_plan
from ..families import priced_whatifs
from ..model.formulation import build_model
from ..model.solve import Status, solve
from ..pipeline import solve_limit, solve_problem
from ..result import Alternative, ConstraintCost, EntryPrice, Plan
from ..problem import Problem
from ..units import HOURS_PER_MONTH

EPS_USD = 0.01


def _cost(problem: Problem, catalog: Catalog, options, relax=frozenset(), **kw) -> tuple[float | None, Plan | None,
                                                                                           str]:
    try:
        cands, model, res = solve_problem(problem, catalog, options, relax=relax, **kw)
    except InfeasibleError as e:
        return None, None, "; ".join(e.report) or e.message
    except SolverError as e:
        return None, None, e.message
    p = extract_plan(problem, catalog, cands, model, res, options)
    note = "" if res.status.value == "optimal" else f"relaxed solve {res.status.value} (gap {res.gap:.2%})"
    return p.monthly_cost_usd, p, note


def constraint_costs(problem: Problem, catalog: Catalog, options, plan: Plan, cands: Candidates) -> list[ConstraintCost]:
    pol = problem.policy
    fams = []
    for name, whatif in priced_whatifs():
        relaxed = whatif(problem, catalog, cands)
        if relaxed is not None:
            fams.append((name, *relaxed))
    out = []
    for fam, desc, prob, relax in fams:
        cost, _, note = _cost(prob, catalog, options, relax=relax)
        delta = None if cost is None else round(plan.monthly_cost_usd - cost, 2)
        binding = delta is not None and delta > EPS_USD
        if fam == "budget" and not binding:
            note = note or (f"not binding: the plan is ${pol.budget_monthly_usd - plan.monthly_cost_usd:,.2f} under "
                            f"budget")
        out.append(ConstraintCost(family=fam, description=desc, relaxed_cost_usd=cost, monthly_cost_usd=delta,
                                  binding=binding, note=note))
    return out


def _alt(name: str, base: float, cost: float | None, p: Plan | None, note: str) -> Alternative:
    if cost is None:
        return Alternative(name=name, monthly_cost_usd=None, delta_usd=None, delta_percent=None,
                           summary=f"infeasible: {note}")
    fleet = sorted({f"{d.gpus_per_instance * d.instances}x {d.gpu} ({d.cloud})" for d in p.deployments
                    if d.share is not None})
    apis = sorted({f"{a.api_id} {a.share:.0%} of {a.workload}" for a in p.api})
    summary = "; ".join(x for x in (", ".join(fleet), ", ".join(apis)) if x) or "fixed blocks only"
    return Alternative(name=name, monthly_cost_usd=cost, delta_usd=round(cost - base, 2),
                       delta_percent=round(100 * (cost - base) / base, 2) if base else None,
                       summary=summary + (f" ({note})" if note else ""))


POLICY_FAMILIES = frozenset({"rate_limit_rpm", "rate_limit_tpm", "failover_rpm", "failover_tpm", "availability"})


def _alternative(name: str, problem: Problem, catalog: Catalog, options, base: float, **kw) -> Alternative:
    """An alternative under the problem's constraints; when that is infeasible, also its cost with the policy
    constraints (failover, rate limits, availability, spot cap, budget) relaxed, so it can still be compared."""
    a = _alt(name, base, *_cost(problem, catalog, options, **kw))
    if a.monthly_cost_usd is not None:
        return a
    loose = problem.model_copy(update={"policy": problem.policy.model_copy(
        update={"failover": None, "budget_monthly_usd": None, "max_spot_share": 1.0})})
    cost, _, _ = _cost(loose, catalog, options, relax=POLICY_FAMILIES, **kw)
    if cost is None:
        return a
    reason = a.summary.removeprefix("infeasible: ").split("; ")[0]
    return a.model_copy(update={
        "relaxed_monthly_cost_usd": cost,
        "summary": f"infeasible under this problem's constraints ({reason}); without failover, rate limits, "
                   f"availability caps, spot cap and budget it would cost ${cost:,.2f}/month "
                   f"({100 * (cost - base) / base:+.1f}% against this plan)"})


def alternatives(problem: Problem, catalog: Catalog, options, plan: Plan, cands: Candidates) -> list[Alternative]:
    base = plan.monthly_cost_usd
    out = [_alternative("all-API", problem, catalog, options, base, self_host=False),
           _alternative("all-self-hosted", problem, catalog, options, base, apis_allowed=False)]
    best = None
    for gpu in sorted({p.gpu.name for p in cands.pools}):
        cost, p, note = _cost(problem, catalog, options, gpu=gpu)
        if cost is not None and (best is None or cost < best[0]):
            best = (cost, p, note, gpu)
    if best is None:
        out.append(Alternative(name="single-GPU-type", monthly_cost_usd=None, delta_usd=None, delta_percent=None,
                               summary="infeasible: no single GPU type serves every self-hosted need"))
    else:
        a = _alt(f"single-GPU-type ({best[3]})", base, best[0], best[1], best[2])
        out.append(a)
    return out


def _forced_cost(problem: Problem, cands: Candidates, options, w: str, oid: str, price: float):
    """Cheapest plan cost when option `oid` is used for workload `w` at `price`, and how much it is used
    (d cost / d price)."""

    if oid.startswith("api:"):
        a = cands.api(oid)
        new = replace(a, usd_per_request={**a.usd_per_request, w: price})
        c2 = replace(cands, apis=[new if x.id == oid else x for x in cands.apis])
    else:
        p = cands.pool(oid)
        c2 = replace(cands, pools=[replace(p, hourly_usd=price) if x.id == oid else x for x in cands.pools])
    m = build_model(problem, c2)
    m.prob += (m.x[(w, oid)] >= FORCED_SHARE) if oid.startswith("api:") else (m.n[oid] >= 1)
    res = solve(m.prob, options.solver, solve_limit(options), options.gap)
    if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
        return None, 0.0
    wl = next(x for x in problem.serving if x.name == w)
    use = (wl.requests_per_month * (m.x[(w, oid)].value() or 0.0) if oid.startswith("api:")
           else round(m.n[oid].value() or 0.0) * HOURS_PER_MONTH)
    return res.objective, use


FORCED_SHARE = 0.01


def _entry(problem, cands, options, w, oid, price0, base) -> tuple[float | None, str]:
    """Highest price at which the option enters the plan: Newton steps on the concave cost-when-forced curve
    F(price) until F = the plan's cost (each step a re-solve; converges from below in a few steps)."""
    f, use = _forced_cost(problem, cands, options, w, oid, price0)
    if f is None:
        return None, "cannot be used at all (another constraint excludes it)"
    if f <= base + EPS_USD:
        return price0, "already as cheap as the plan (a tie)"
    h = price0
    for _ in range(6):
        if use <= 0:
            break
        h = h - (f - base) / use
        if h <= 0:
            f0, _ = _forced_cost(problem, cands, options, w, oid, 0.0)
            if f0 is None or f0 > base - EPS_USD:
                return None, ("not cheaper even at price 0: the plan's own capacity already covers what it could "
                              "take, or its other costs (instances, ops, constraints) are higher")
            h = 0.0
        f, use = _forced_cost(problem, cands, options, w, oid, h)
        if f is None:
            return None, "cannot be used at all (another constraint excludes it)"
        if abs(f - base) <= 1.0:
            break
    if h < 0.01 * price0:  # an entry price of ~0: check that it enters at all, even free
        f0, _ = _forced_cost(problem, cands, options, w, oid, 0.0)
        if f0 is None or f0 > base - EPS_USD:
            return None, ("not cheaper even at price 0: the plan's own capacity already covers what it could take, "
                          "or its other costs (instances, ops, constraints) are higher")
    return h, f"re-solved with the option forced in (taking >= {FORCED_SHARE:.0%} of the traffic for an API, one " \
              f"instance for a pool)"


def entry_prices(problem: Problem, options, plan: Plan, cands: Candidates) -> list[EntryPrice]:
    """For each serving workload: the cheapest API and the cheapest pool not in the plan, and the price at which
    each would enter it."""
    out = []
    for w in problem.serving:
        used = {d.pool for d in plan.deployments if d.workload == w.name} | {
            "api:" + a.api_id + (":batch" if a.mode == "batch" else "") for a in plan.api if a.workload == w.name}
        apis = sorted((cands.api(o) for o in cands.eligible[w.name] if o.startswith("api:") and o not in used),
                      key=lambda a: (a.usd_per_request[w.name], a.id))
        pools = sorted((cands.pool(o) for o in cands.eligible[w.name] if not o.startswith("api:") and o not in used),
                       key=lambda p: (math.ceil(w.peak / p.capacity[w.name] - 1e-12) * p.hourly_usd, p.id))
        for kind, opt in (("api", apis[0] if apis else None), ("pool", pools[0] if pools else None)):
            if opt is None:
                continue
            price0 = opt.usd_per_request[w.name] if kind == "api" else opt.hourly_usd
            h, note = _entry(problem, cands, options, w.name, opt.id, price0, plan.monthly_cost_usd)
            out.append(EntryPrice(workload=w.name, option=opt.id.removeprefix("api:"), kind=kind, current_price=price0,
                                  entry_price=h, unit="USD/request" if kind == "api" else "USD/instance-hour",
                                  method=note))
    return out
