"""Neighbourhoods of a failover model: small sets of pools whose restricted MIP is quick to build and to solve.

A failover model is large: one routing variable z_pwo per (lost provider, workload, surviving option), 117k of
them for 4,387 pools on the 24-workload benchmark (bench/large_problem.py), 6-10 s to build and hand over before
any solve, and HiGHS needs minutes to prove it. Restricted to a neighbourhood N of the pools, the same model has a
few hundred pools: built in a fraction of a second, often proven in seconds. It is a restriction (n_c = 0 for every
c not in N), so each of its plans is feasible for the full model (a provider with no pool in N carries no traffic,
and its scenario keeps the normal routing at the failover fraction) and its optimum is an upper bound on the full
optimum, never a lower one. `pipeline.failover_search` solves a ladder of them:

    N0(k) = { argmin_{c in C(w, p)} h_c a_cw,  argmin_{c in C(w, p)} h_c  :  every w, p in P_k(w) }

with C(w, p) the pools of provider p that may serve w, h_c the monthly cost of an instance, a_cw = lam_w / kap_cw
the instances all of w's peak needs, and P_k(w) the k providers whose cheapest pool per unit of w's peak is cheapest
(all of them for k = None): per workload and provider, the cheapest pool per unit of peak (what a large workload
wants) and the cheapest instance (what a small workload or a standby wants). Once the full model's LP relaxation
is known, each later rung adds its support (RINS-like, "relaxation induced neighbourhood"):

    N1(k) = N0(k)  u  { c : n-bar_c > 0 }

Measured at 40 workloads (2 cores, HiGHS, MIP gap 0.1%): N0(2) has 113 pools and proves its optimum, 1.7% above the
LP bound, in 2.8 s; N0(3) (163 pools) reaches $4,739,202 in 3 s and N0(5) (270) $4,733,317 in 20 s, where N0(None)
(427 pools) has $4,749,894 after 11 s. Small neighbourhoods prove fast, larger ones start from their plans.
"""

from __future__ import annotations

from dataclasses import replace

from ..candidates import Candidates
from .formulation import Model


def unit_costs(cands: Candidates, peaks: dict[str, float]):
    """(w, pool c, h_c a_cw) for every pool and workload it may serve (positive capacity, w in `peaks`): the
    monthly cost of all of w's peak on c, instances counted fractionally."""
    for pool in cands.pools:
        h = pool.monthly_usd_per_instance
        for w, kap in pool.capacity.items():
            if kap > 0 and w in peaks:
                yield w, pool, h * peaks[w] / kap


def cheapest_pools(cands: Candidates, peaks: dict[str, float], providers: int | None = None) -> set[str]:
    """N0(k): per workload, its `providers` (k; None: all) providers with the cheapest pools per unit of its peak,
    and of each the pool with the least h_c a_cw and the pool with the least h_c (ties by id)."""
    per_unit: dict[tuple[str, str], tuple[float, str]] = {}
    per_instance: dict[tuple[str, str], tuple[float, str]] = {}
    for w, pool, usd in unit_costs(cands, peaks):
        key = (w, pool.failover_provider)
        unit = (usd, pool.id)
        if key not in per_unit or unit < per_unit[key]:
            per_unit[key] = unit
        inst = (pool.monthly_usd_per_instance, pool.id)
        if key not in per_instance or inst < per_instance[key]:
            per_instance[key] = inst
    ranked: dict[str, list] = {}
    for (w, prov), unit in per_unit.items():
        ranked.setdefault(w, []).append((unit, prov))
    keep = set()
    for w, offers in ranked.items():
        for _, prov in sorted(offers)[:providers]:
            keep |= {per_unit[(w, prov)][1], per_instance[(w, prov)][1]}
    return keep


def lp_neighbourhood(model: Model, lp_values: dict[str, float], also: set[str]) -> set[str]:
    """N1: the pools of the LP relaxation's support, plus `also` (N0)."""
    return {pid for pid, var in model.n.items() if lp_values.get(var.name, 0.0) > 1e-9} | set(also)


def infeasible_rows(model: Model, values: dict[str, float], tol: float = 1e-7) -> int:
    """How many of the model's rows `values` (variable name -> value; absent: 0) violates by more than `tol`."""
    bad = 0
    for con in model.prob.constraints():
        v = sum(a * values.get(var.name, 0.0) for var, a in con.items()) + con.constant
        bad += (con.sense <= 0 and v > tol) or (con.sense >= 0 and v < -tol)
    return bad


def subset(cands: Candidates, keep: set[str]) -> Candidates:
    """The candidates with only the pools in `keep` (every API option stays): the restricted model is
    `build_model(problem, subset(cands, keep))`, the same rows as the full model with n_c = 0 outside `keep`,
    and the same variable names, so a plan of one is a MIP start for the other."""
    pool_ids = {p.id for p in cands.pools}
    return replace(cands, pools=[p for p in cands.pools if p.id in keep],
                   eligible={w: [o for o in opts if o in keep or o not in pool_ids]
                             for w, opts in cands.eligible.items()})


def scenario_routes(cands: Candidates) -> int:
    """The number of z variables of the full failover model: each option of each workload, once per provider
    whose loss it survives (every provider but its own). The full model's build time is about proportional to it."""
    providers = len(cands.providers())
    return sum(len(opts) for opts in cands.eligible.values()) * max(providers - 1, 0)


def demand_bound(problem, cands: Candidates) -> float:
    """A lower bound on any plan's monthly cost that needs no solve: every ungrouped serving workload w pays at
    least its cheapest option per unit of its peak,

        cost >= sum_w min( min_c h_c a_cw,  min_a V_w pi_aw )

    since sum_o x_wo = 1 and each pool's cost h_c n_c >= sum_w h_c a_cw x_wc (its capacity row); every other
    constraint and cost term only adds. Workloads with techniques (their slices share one demand row) count 0.
    Far below the LP relaxation, but it gives a plan found without the full model an honest gap."""
    from ..techniques import groups
    grouped = {s for g in groups(problem) for s in g.slices}
    peaks = {w.name: w.peak for w in problem.serving}
    volume = {w.name: w.requests_per_month for w in problem.serving}
    cheapest: dict[str, float] = {}
    for w, _, usd in unit_costs(cands, peaks):
        cheapest[w] = min(cheapest.get(w, float("inf")), usd)
    for a in cands.apis:
        for w, usd in a.usd_per_request.items():
            if w in volume:
                cheapest[w] = min(cheapest.get(w, float("inf")), volume[w] * usd)
    return sum(v for w, v in cheapest.items() if w not in grouped and v != float("inf"))
