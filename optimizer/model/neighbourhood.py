"""A primal heuristic for failover models under a time limit: the MIP restricted to a small neighbourhood of pools.

Measured on bench/large_problem.py (24 workloads, failover 0.5, 4,387 pools, 2 cores; see bench/bench_failover.py):
the LP relaxation is $3,537,781 and the best plan known $3,568,690, so the root bound is within 0.9% of the optimum
and the gap that time-limited runs reported (3.4-4.8%) was the incumbent's, not the bound's. HiGHS on the full model
needs 38 s before its sub-MIP heuristic finds a plan within 1%; the LP rounding (`rounded_relaxation_start`) is 2-5%
above it. The restricted MIP below, over 187 of the 4,387 pools, solves to optimality in about 4 s at 1.0% above the
LP bound: a RINS-like ("relaxation induced neighbourhood") heuristic whose plan is then the full model's MIP start.
`solve --time-limit T` with it (bench/bench_failover.py, one run, shared 2-core machine): 24 workloads $3,576,720 at
0.76% (T = 30) and $3,568,696 at 0.28% (T = 60), against $3,731,836 at 4.83% / 4.59% from the rounded LP start;
40 workloads 2.99% / 2.53% (3.93% / 3.70%; most of what is left is the shared-queue scale-up after the solve);
80 workloads 0.88% at T = 60 (3.44%).

Algebra. With n-bar the LP relaxation's instances and, for workload w and provider p, C(w, p) the pools of p that
may serve w, the neighbourhood is

    N = { c : n-bar_c > 0 }  u  { argmin_{c in C(w, p)} h_c a_cw : every w, every p with C(w, p) non-empty }

(the LP's support, plus the cheapest pool per unit of w's peak on each provider, so each failover scenario keeps a
cheap surviving pool for each workload). The restricted MIP is the full model with n_c <= 0 for every c not in N:
a restriction (only upper bounds tighten), so each of its plans is feasible for the full model and its optimum is an
upper bound on the full optimum, never a lower one.
"""

from __future__ import annotations

from .formulation import Model


def lp_neighbourhood(model: Model, cands, peaks: dict[str, float], lp_values: dict[str, float]) -> set[str]:
    """N: the pools of the LP relaxation's support, plus the cheapest pool per (workload, provider) by
    h_c a_cw = monthly cost x lam_w / kap_cw (see the module docstring)."""
    keep = {pid for pid, var in model.n.items() if lp_values.get(var.name, 0.0) > 1e-9}
    best: dict[tuple[str, str], tuple[float, str]] = {}
    for pool in cands.pools:
        if pool.id not in model.n:
            continue
        for w, kap in pool.capacity.items():
            if kap <= 0 or w not in peaks:
                continue
            key, cost = (w, pool.failover_provider), pool.monthly_usd_per_instance * peaks[w] / kap
            if key not in best or (cost, pool.id) < best[key]:
                best[key] = (cost, pool.id)
    return keep | {pid for _, pid in best.values()}


def restricted(model: Model, keep: set[str], solve_fn):
    """Solve `model` with n_c fixed to 0 for every pool c not in `keep` (upper bounds only; restored afterwards)
    by `solve_fn(prob)`; returns (its SolveResult, variable name -> value of its plan, or None without a plan)."""
    saved = {pid: var.upBound for pid, var in model.n.items() if pid not in keep}
    try:
        for pid in saved:
            model.n[pid].upBound = 0
        res = solve_fn(model.prob)
        values = None
        if res.objective is not None:
            values = {v.name: v.value() for v in model.prob.variables() if v.value() is not None}
    finally:
        for pid, ub in saved.items():
            model.n[pid].upBound = ub
    return res, values
