"""Failover models that separate into independent parts, and the exact answer from solving each part alone.

Workloads that share no pool, no API account and no capped offer are linked only by the policy's global rows. Let
G_1..G_m be the connected components of the graph on serving workloads with an edge between two workloads that may
use the same pool (a pool serves the workloads of one model), the same API rate group (an account's RPM and TPM),
or pools on the same offer with an availability cap. Every row of the model but the global ones involves the
variables of one component only: demand, capacity, share links, rate limits, availability, and every failover row
(a scenario's demand row is per workload, its capacity and link rows per pool, its rate rows per API group). The
global rows are the spot cap, the budget and the ops link through the single y. So with them dropped and the ops
overhead K taken out of each part, the model is the sum of independent models M_g (`component`), and

    min  sum_g cost_g + K y  s.t. the global rows   >=   sum_g min cost_g  +  K y_lb

with y_lb = 1 when some workload has no API option (every plan self-hosts): a relaxation, so the parts' proven
bounds add up to a lower bound on the whole. When the parts' optima, put together (`combine`), satisfy the global
rows (`global_violations`), the combined plan is optimal for the whole model: the decomposition is exact. When no
workload forces self-hosting, y is settled by solving each part again with its pools removed (the API-only plan):
the optimum is the cheaper of sum_g cost_g + K and sum_g api_g, and the bound the smaller of their bounds.

Measured on bench/large_problem.py at 24 workloads (failover 0.5, 4,387 pools, 117k routing variables in one
model, 2 cores): 13 components of 1-3 workloads, each proven optimal in 0.01-1.9 s once the pools another one
replaces are left out (`replaced_pools`: 4,387 -> 1,573 pools; 5.8 s of builds and solves one after another, 13.8 s
with every pool); together $3,566,731 against a bound of $3,566,724, where the single model was not proven in 400 s
($3,572,758 against $3,562,684). The spot cap (40%) is not binding there (1.6% spot). At 40 workloads (10
components) the combined plan is proven optimal, $4,719,407, within `--time-limit 60`.

Fixed-hours workloads are components of their own: each takes its cheapest purchase option (`cheapest_blocks`),
and their GPU-hours count in the spot cap checked on the combined plan.

Not decomposed (`why_not`): cost techniques and quality floors (their slices share rows), autoscaled workloads (hour-by-hour rows),
a carbon cap, relaxed families other than the global rows (the elastic model, the what-ifs that drop a
component's rows), and a problem that is one component.
"""

from __future__ import annotations

from dataclasses import replace

import pulp

from ..candidates import Candidates
from ..problem import Problem
from ..units import HOURS_PER_MONTH
from .formulation import Model


def components(problem: Problem, cands: Candidates) -> list[list[str]]:
    """G_1..G_m: serving workloads linked by a pool, an API rate group or a capped offer, each sorted, in order of
    their first workload."""
    parent = {w.name: w.name for w in problem.serving}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def link(ws) -> None:
        ws = [w for w in ws if w in parent]
        for w in ws[1:]:
            parent[find(w)] = find(ws[0])

    capped: dict[str, set] = {}
    for pool in cands.pools:
        link(list(pool.capacity))
        if pool.offer.max_instances is not None:
            capped.setdefault(pool.offer.offer_id, set()).update(pool.capacity)
    groups: dict[str, set] = {}
    for a in cands.apis:
        groups.setdefault(a.rate_group, set()).update(a.usd_per_request)
    for ws in list(capped.values()) + list(groups.values()):
        link(sorted(ws))
    out: dict[str, list[str]] = {}
    for w in parent:
        out.setdefault(find(w), []).append(w)
    return sorted((sorted(ws) for ws in out.values()), key=lambda ws: ws[0])


GLOBAL_ROWS = frozenset({"spot_cap", "budget"})  # the families left out of every component and checked after


def why_not(problem: Problem, cands: Candidates, relax: frozenset) -> str | None:
    """Why the model is not decomposed (None: it is)."""
    from ..families import autoscaled
    from ..techniques import groups
    if relax - GLOBAL_ROWS:
        return "a relaxed model"
    if groups(problem):
        return "cost techniques or a quality floor"
    if autoscaled(problem):
        return "autoscaled workloads"
    if problem.policy.max_co2e_kg_month is not None:
        return "a carbon cap"
    if len(components(problem, cands)) < 2:
        return "one component"
    return None


def self_hosting_forced(cands: Candidates) -> bool:
    """y_lb: some workload has no API option, so every plan self-hosts and pays the ops overhead."""
    apis = {a.id for a in cands.apis}
    return any(not any(o in apis for o in opts) for opts in cands.eligible.values())


def component(problem: Problem, cands: Candidates, workloads: list[str],
              api_only: bool = False) -> tuple[Problem, Candidates]:
    """M_g: the problem and candidates of the workloads of one component, without the global rows (no spot cap,
    budget or carbon cap) and without the ops overhead; `api_only` leaves out every pool. Pools that one
    no-dearer pool replaces (`replaced_pools`) are left out: the optimum is the same."""
    ws = set(workloads)
    policy = problem.policy.model_copy(update={"max_spot_share": 1.0, "budget_monthly_usd": None,
                                               "ops_overhead_monthly_usd": 0.0})
    sub = problem.model_copy(update={"workloads": [w for w in problem.workloads if w.name in ws], "policy": policy})
    pools = [] if api_only else [p for p in cands.pools if set(p.capacity) <= ws]
    replaced = replaced_pools(sub, pools)
    pools = [p for p in pools if p.id not in replaced]
    kept = {p.id for p in pools} | {a.id for a in cands.apis}
    return sub, replace(cands, pools=pools, apis=[a for a in cands.apis if set(a.usd_per_request) <= ws],
                        fixed={}, eligible={w: [o for o in opts if o in kept]
                                            for w, opts in cands.eligible.items() if w in ws})


def replaced_pools(problem: Problem, pools: list) -> set[str]:
    """Pools that a no-dearer pool replaces, so that the model's optimum is the same without them (a component's,
    or a whole failover model's in `pipeline.failover_search`).
    Pool a replaces pool b when
        h_a <= h_b (ties: the smaller id replaces),  a serves every workload b serves (W_b within W_a),
        a is on b's failover provider, a's offer has no availability cap, every other trait the pruning keeps
        apart (`families.active_traits`) allows the swap, and either
        (i)  kap_aw >= kap_bw for every w in W_b              (instance for instance: k = n_b), or
        (ii) sum_{w in W_b} a_aw <= 1, a_aw = lam_w / kap_aw as the capacity rows write it (`formulation.coef`)
             (one instance of a carries the whole peak of b's workloads: k = 1).
    Proof: in any plan with n_b >= 1, move b's traffic (x_wb) and its failover routes (z_pwb) onto a and set
    n_a' = min(n_a + k, U_a) <= n_a + n_b, n_b' = 0. Each capacity row of a (normal, and each scenario a survives,
    the same as b's) gains at most the load b carried (i) or at most 1 instance's worth (ii); when n_a' = U_a, a
    carries the whole peak of its workloads anyway. n_a' >= 1 keeps the share and failover links; API rows are
    untouched; the cost changes by at most (n_a' - n_a) h_a - n_b h_b <= 0.
    The global rows: the budget sees the cost, which does not rise. The spot cap sees GPU-hours: case (i) is the
    candidates' own pruning (`candidates._dominates`), which keeps more GPUs per non-spot instance for it (the
    gpus_per_instance trait); case (ii) buys fewer instances, so under a spot cap it replaces only a spot pool (one
    with no fewer GPUs per instance, the same trait: spot GPU-hours do not rise), never a non-spot one, whose
    GPU-hours the cap may need. A component has no global row (the combined plan is checked against them,
    `global_violations`), so there every pool may go. Where rows see more than capacity, price and GPUs (a carbon
    cap: energy per request; autoscaling: hour by hour; cost techniques and quality floors: slices sharing rows)
    nothing is left out. Case (ii) is what a component of small workloads offers most: at 24 workloads of
    bench/large_problem.py, 4,387 pools -> 1,573 and the components' builds and solves 13.8 -> 7.5 s one after
    another, the same optima."""
    from ..families import autoscaled
    from ..techniques import groups as technique_groups
    if problem.policy.max_co2e_kg_month is not None or autoscaled(problem) or technique_groups(problem):
        return set()
    import numpy as np

    from ..candidates import capacity_matrix
    from ..families import active_traits
    from .formulation import COEF_MIN
    lam = {w.name: w.peak for w in problem.serving}
    spot_cap = problem.policy.max_spot_share < 1
    traits = [t for t in active_traits(problem) if t.name not in ("provider", "offer_cap")]
    exact = [t for t in traits if t.replaces is None]  # equal values only: pools are grouped by them
    other = [t for t in traits if t.replaces is not None]
    groups: dict = {}
    for p in sorted(pools, key=lambda p: (p.hourly_usd, p.id)):
        groups.setdefault((p.failover_provider, *(t.value(p) for t in exact)), []).append(p)
    out = set()
    for members in groups.values():  # by price: every pool that may replace b comes before it
        ws, cap = capacity_matrix(members)
        col = {w: j for j, w in enumerate(ws)}
        with np.errstate(divide="ignore"):  # a_aw as the rows write it; inf where a does not serve w
            load = np.where(cap > 0, np.maximum(np.array([lam[w] for w in ws]) / cap, COEF_MIN), np.inf)
        uncapped = np.array([p.offer.max_instances is None for p in members])
        for i, b in enumerate(members):
            s = [col[w] for w in b.capacity]
            a = cap[:i][:, s]
            one = load[:i][:, s].sum(axis=1) <= 1 if not spot_cap or b.capacity_type == "spot" else False
            ok = uncapped[:i] & (((a >= cap[i, s]) & (a > 0)).all(axis=1) | one)
            if ok.any() and any(all(t.ok(members[j], b) for t in other) for j in np.flatnonzero(ok)):
                out.add(b.id)
    return out


def cheapest_blocks(cands: Candidates) -> dict:
    """Each fixed-hours workload's cheapest purchase option (ties by id): its own component, since it shares only
    the global rows (sum_q u_fq = 1 and a cost per option)."""
    return {f: min(opts, key=lambda q: (q.monthly_usd, q.id)) for f, opts in cands.fixed.items() if opts}


def combine(models: list[Model], self_hosting: bool, cands: Candidates, blocks: dict) -> Model:
    """One model holding the parts' plans (their variables, values and rows), for extracting and checking the
    combined plan; its `prob` has the summed objective and no rows: it is never solved. y is a new variable set to
    `self_hosting` (each part has its own); u_fq (named as the formulation names them) is 1 for the chosen
    `blocks` (fixed workload -> option)."""
    from .formulation import _name
    prob = pulp.LpProblem("llmplan_components", pulp.LpMinimize)
    y = prob.add_variable("self_hosting_used", lowBound=0, upBound=1, cat="Binary")
    y.varValue = 1.0 if self_hosting else 0.0
    u = {}
    for f, opts in cands.fixed.items():
        for q in opts:
            var = u[(f, q.id)] = prob.add_variable(_name("u", q.id), lowBound=0, upBound=1, cat="Binary")
            var.varValue = 1.0 if blocks.get(f) is q else 0.0
    prob.setObjective(pulp.lpSum(m.prob.objective for m in models if m.prob.objective is not None)
                      + pulp.lpSum(q.monthly_usd * u[(f, q.id)] for f, q in blocks.items()))
    out = Model(prob=prob, n={}, x={}, y=y, u=u, z={}, registry={})
    for m in models:
        out.n.update(m.n)
        out.x.update(m.x)
        out.z.update(m.z)
        out.upper.update(m.upper)
        out.registry.update(m.registry)
    return out


def global_violations(problem: Problem, cands: Candidates, model: Model, cost: float,
                      relax: frozenset = frozenset(), blocks: dict | None = None) -> list[str]:
    """The global rows the combined plan breaks: the spot cap (spot GPU-hours over the share of all, fixed-hours
    `blocks` included) and the budget (`cost`, the plan's monthly cost, over it), unless `relax` relaxes them."""
    out = []
    s = problem.policy.max_spot_share
    if s < 1 and "spot_cap" not in relax:
        spot = total = 0.0
        for pool in cands.pools:
            var = model.n.get(pool.id)
            k = round(var.value() or 0.0) if var is not None else 0
            hours = k * pool.gpus_per_instance * HOURS_PER_MONTH
            total += hours
            spot += hours if pool.capacity_type == "spot" else 0.0
        for q in (blocks or {}).values():
            total += q.gpu_hours
            spot += q.gpu_hours if q.capacity_type == "spot" else 0.0
        if spot > s * total + 1e-6:
            out.append(f"spot cap: {spot:,.0f} spot GPU-hours of {total:,.0f} (cap {s:.0%})")
    B = problem.policy.budget_monthly_usd
    if B is not None and "budget" not in relax and cost > B * (1 + 1e-9):
        out.append(f"budget: ${cost:,.2f} over ${B:,.2f}")
    return out
