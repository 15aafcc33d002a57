"""Hour by hour: autoscaling pools and API overflow over a typical day (opt-in: `policy.autoscale` or a
workload's `autoscale`).

One traffic share cannot hold at the average and at the peak when pools scale with the day, so every serving
workload gets a share per hour. The day repeats D = 730 / 24 times a month.

Sets and parameters (besides the notation of formulation.py)
    T = {0..23}   hours of the day           L_wt  daily-profile level of w in hour t (mean 1; 1 when flat)
    r_wt = L_wt / max_t L_wt for an autoscaled workload (hour t's peak over w's peak), 1 otherwise (sized for
           its peak all day, as today)
    v_wt = L_wt / 24   w's share of its monthly volume in hour t
    m      policy.autoscale_min_instances    M   policy.autoscale_max_instances (or U_c)
    e_c    billed warm-up hours per start: the provider's billing (optimizer/billing.py) of the warm-up minutes
Variables
    x_wot in [0,1]  share of w's traffic on o in hour t     n_ct in Z+  instances of pool c running in hour t
    s_ct >= 0       instances started at the start of hour t     u_c in {0,1}  pool c in use (when m > 0)
    n_c             the pool's maximum (formulation.py's n_c: failover, availability caps and quotas read it)
Rows (family: algebra)
    hourly_demand:    sum_o x_wot = 1;   x_wo = sum_t v_wt x_wot   (x_wo: the month's share, priced by the API
                      cost term and read by failover and the plan)
    hourly_capacity:  sum_w a_cw r_wt x_wct <= n_ct
    hourly_link:      x_wct <= n_ct
    autoscale_bounds: n_ct <= n_c <= min(M, U_c);  n_ct >= m u_c,  n_c <= U_c u_c (m > 0);  with failover also
                      n_c <= n_ct + U_c (1 - b_ct), sum_t b_ct = 1 (b binary: n_c is the day's maximum, so the
                      capacity failover counts on is capacity the pool really scales to)
    autoscale_starts: s_ct >= n_ct - n_c,t-1   (hour -1 is hour 23)
    rate_limit_rpm/tpm (per hour): sum 60 lam_w r_wt x_wat / RPM_g <= 1, and with tokens / TPM_g
Cost of a pool: reserved capacity is paid all month, 730 h_c n_c; otherwise D h_c (sum_t n_ct + e_c sum_t s_ct).
Within an hour the router splits traffic by that hour's shares (the API takes the overflow above what the running
instances serve at the hour's peak). The spot cap still counts pools at their maximum all month (conservative
for the spot share only when spot pools scale less than the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulp

from ..billing import billing_of
from ..families import autoscaled
from ..units import HOURS_PER_MONTH

HOURS = range(24)
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0


@dataclass
class Hourly:
    scaled: frozenset  # autoscaled workloads
    r: dict  # (w, t) -> hour t's peak over w's peak
    v: dict  # (w, t) -> share of w's monthly volume in hour t
    warmup_h: dict  # pool id -> billed warm-up hours per start
    n: dict = field(default_factory=dict)  # (pool, t) -> var
    s: dict = field(default_factory=dict)  # (pool, t) -> var
    x: dict = field(default_factory=dict)  # (w, option, t) -> var
    cost: dict = field(default_factory=dict)  # pool id -> LpAffineExpression (USD/month)


def hourly_params(problem, cands) -> Hourly | None:
    scaled = frozenset(autoscaled(problem))
    if not scaled:
        return None
    r, v = {}, {}
    for w in problem.serving:
        lv = w.hour_levels()
        top = max(lv)
        for t in HOURS:
            r[(w.name, t)] = lv[t] / top if w.name in scaled and top > 0 else 1.0
            v[(w.name, t)] = lv[t] / 24.0
    warm_s = problem.policy.autoscale_warmup_min * 60.0
    warmup = {p.id: billing_of(p.offer.provider).billed_hours(warm_s) for p in cands.pools}
    return Hourly(scaled, r, v, warmup)


@dataclass(frozen=True)
class RowHelpers:
    """The formulation's row helpers (passed in, so this module does not import the formulation)."""

    load_coef: object  # (builder, pool, w) -> a_cw
    groups: object  # builder -> {rate group: [ApiOption]}
    tokens: object  # (builder, w) -> tokens per request
    coef: object  # v -> v rounded up to COEF_MIN
    name: object  # parts -> a PuLP-safe name


def add_hourly(b, hp: Hourly, rows: RowHelpers) -> None:
    """Every hourly row (see the module docstring); replaces the peak capacity and rate-limit rows."""
    load_coef = rows.load_coef
    m, pol = b.m, b.p.policy
    cat = "Integer" if b.integer else "Continuous"
    for (w, o), xv in m.x.items():
        for t in HOURS:
            hp.x[(w, o, t)] = m.prob.add_variable(rows.name("xh", w, o, t), lowBound=0, upBound=1)
    for w, opts in b.c.eligible.items():
        for t in HOURS:
            b.reg("hourly_demand", (w, t), pulp.lpSum(hp.x[(w, o, t)] for o in opts) == 1)
        for o in opts:
            b.reg("hourly_demand", ("mean", w, o),
                  m.x[(w, o)] == pulp.lpSum(hp.v[(w, t)] * hp.x[(w, o, t)] for t in HOURS))
    minimum = pol.autoscale_min_instances
    failover = b.p.policy.failover is not None and "failover_demand" not in b.relax
    for pool in b.c.pools:
        pid, U = pool.id, m.upper[pool.id]
        cap = min(U, pol.autoscale_max_instances) if pol.autoscale_max_instances else U
        for t in HOURS:
            hp.n[(pid, t)] = m.prob.add_variable(rows.name("nh", pid, t), lowBound=0, upBound=U, cat=cat)
            hp.s[(pid, t)] = m.prob.add_variable(rows.name("sh", pid, t), lowBound=0)
        for t in HOURS:
            n_t = hp.n[(pid, t)]
            load = pulp.lpSum(load_coef(b, pool, w) * hp.r[(w, t)] * hp.x[(w, pid, t)] for w in pool.capacity)
            b.reg("hourly_capacity", (pid, t), load <= n_t)
            for w in pool.capacity:
                b.reg("hourly_link", (w, pid, t), hp.x[(w, pid, t)] <= n_t)
            b.reg("autoscale_bounds", ("max", pid, t), n_t <= m.n[pid])
            b.reg("autoscale_starts", (pid, t), hp.s[(pid, t)] >= n_t - hp.n[(pid, (t - 1) % 24)])
        if cap < U:
            b.reg("autoscale_bounds", ("quota", pid), m.n[pid] <= cap)
        if minimum > 0:
            used = m.prob.add_variable(rows.name("used", pid), lowBound=0, upBound=1,
                                       cat="Binary" if b.integer else "Continuous")
            b.reg("autoscale_bounds", ("used", pid), m.n[pid] <= U * used)
            for t in HOURS:
                b.reg("autoscale_bounds", ("min", pid, t), hp.n[(pid, t)] >= minimum * used)
        if failover:
            pick = {t: m.prob.add_variable(rows.name("top", pid, t), lowBound=0, upBound=1,
                                           cat="Binary" if b.integer else "Continuous") for t in HOURS}
            b.reg("autoscale_bounds", ("top", pid), pulp.lpSum(pick.values()) == 1)
            for t in HOURS:
                b.reg("autoscale_bounds", ("peak", pid, t), m.n[pid] <= hp.n[(pid, t)] + U * (1 - pick[t]))
        if pool.capacity_type.startswith("reserved"):
            hp.cost[pid] = pool.monthly_usd_per_instance * m.n[pid]
        else:
            hp.cost[pid] = DAYS_PER_MONTH * pool.hourly_usd * pulp.lpSum(
                hp.n[(pid, t)] + hp.warmup_h[pid] * hp.s[(pid, t)] for t in HOURS)
    _hourly_rate_limits(b, hp, rows)


def _hourly_rate_limits(b, hp: Hourly, rows: RowHelpers) -> None:
    coef, _tokens = rows.coef, rows.tokens
    for g, opts in rows.groups(b).items():
        api = opts[0].api
        for t in HOURS:
            keys = [(w, a.id) for a in opts for w in a.usd_per_request]
            if api.rpm and "rate_limit_rpm" not in b.relax:
                rpm = pulp.lpSum(coef(60 * b.lam[w] * hp.r[(w, t)] / api.rpm) * hp.x[(w, o, t)] for w, o in keys)
                key = f"{g}@{t:02d}h"
                b.reg("rate_limit_rpm", key, rpm <= 1 + b.slack("rate_limit_rpm", key, api.rpm, "RPM"))
            if api.tpm and "rate_limit_tpm" not in b.relax:
                tpm = pulp.lpSum(coef(60 * b.lam[w] * hp.r[(w, t)] * _tokens(b, w) / api.tpm) * hp.x[(w, o, t)]
                                 for w, o in keys)
                key = f"{g}@{t:02d}h"
                b.reg("rate_limit_tpm", key, tpm <= 1 + b.slack("rate_limit_tpm", key, api.tpm, "TPM"))


def pools_cost(hp: Hourly):
    return pulp.lpSum(hp.cost.values())


# --- reading the solution -------------------------------------------------------------------------------------

def _val(v) -> float:
    return float(v.value() or 0.0)


def pool_hours(hp: Hourly, pid: str) -> list[int]:
    return [int(round(_val(hp.n[(pid, t)]))) for t in HOURS]


def pool_month(hp: Hourly, pool) -> tuple[int, float, float]:
    """(maximum instances, billed instance-hours a month, USD a month) of a pool, recomputed from the hourly
    instance counts (not from the objective)."""
    n = pool_hours(hp, pool.id)
    top = max(n)
    if pool.capacity_type.startswith("reserved"):
        hours = top * HOURS_PER_MONTH
    else:
        starts = sum(max(0, n[t] - n[(t - 1) % 24]) for t in HOURS)
        hours = DAYS_PER_MONTH * (sum(n) + hp.warmup_h[pool.id] * starts)
    return top, hours, hours * pool.hourly_usd


def hourly_section(problem, cands, hp: Hourly) -> dict:
    """extras['hourly'] of a plan: instances per pool per hour, each workload's hourly shares by API and
    self-hosted, and the billing rules used."""
    pools = {}
    for p in cands.pools:
        n = pool_hours(hp, p.id)
        if max(n) > 0:
            top, hours, usd = pool_month(hp, p)
            bill = billing_of(p.offer.provider)
            pools[p.id] = {"gpu": p.gpu.name, "provider": p.provider, "capacity_type": p.capacity_type,
                           "instances_by_hour": n, "max_instances": top, "instance_hours_per_month": round(hours, 2),
                           "monthly_cost_usd": round(usd, 2), "warmup_billed_hours": round(hp.warmup_h[p.id], 6),
                           "billing": {"increment_s": bill.increment_s, "minimum_s": bill.minimum_s,
                                       "source": bill.source, "assumed": bill.assumed}}
    workloads = {}
    for w in problem.serving:
        apis: dict[str, list] = {}
        self_hosted = [0.0] * 24
        for o in cands.eligible[w.name]:
            shares = [_val(hp.x[(w.name, o, t)]) for t in HOURS]
            if max(shares) <= 1e-7:
                continue
            if o.startswith("api:"):
                apis[o.removeprefix("api:")] = [round(v, 6) for v in shares]
            else:
                self_hosted = [a + b for a, b in zip(self_hosted, shares)]
        workloads[w.name] = {"autoscaled": w.name in hp.scaled,
                             "level_by_hour": [round(v, 4) for v in w.hour_levels()],
                             "self_hosted_share_by_hour": [round(v, 6) for v in self_hosted],
                             "api_share_by_hour": apis}
    return {"days_per_month": round(DAYS_PER_MONTH, 6),
            "warmup_min": problem.policy.autoscale_warmup_min,
            "min_instances": problem.policy.autoscale_min_instances,
            "pools": pools, "workloads": workloads}


def hourly_assumptions(problem, section: dict) -> list[str]:
    pol = problem.policy
    out = [f"money is USD per month at {HOURS_PER_MONTH:.0f} hours; planned hour by hour over a typical day "
           f"repeated {DAYS_PER_MONTH:.2f} times a month: autoscaled workloads follow their daily_profile "
           f"(the peak falls in the busiest hour), others are sized for their peak every hour; a pool in use runs "
           f"at least {pol.autoscale_min_instances} instance(s) every hour and pays the instance-hours it runs "
           f"plus {pol.autoscale_warmup_min:g} min of billed warm-up per instance started (reserved pools: all "
           f"month)"]
    assumed = sorted({p["provider"] for p in section["pools"].values() if p["billing"]["assumed"]})
    if assumed:
        out.append(f"billing increments of {', '.join(assumed)} are not in the table (optimizer/billing.py): "
                   f"per started hour assumed")
    return out
