"""The MILP over a horizon of months (issue 12). One model for all months, built from the single-month
candidates (`optimizer/horizon_candidates.py`).

Sets
    t in 0..T-1  months (month t+1 in the output)    W  serving workloads    A  API options
    Cf  on-demand/spot pools    Cr  reserved pools (term L_c = 12 or 36 months)    Co  owned-server pools
Parameters
    V_wt  requests in month t          lam_wt  peak requests/s in month t (the peak scales with the volume)
    sig_w spike factor                 S      spike hours a month (horizon.spike_hours_per_month)
    SP_wt = (sig_w - 1) lam_wt 3600 S  spike requests beyond the peak in month t
    kap_cw  requests/s one instance of c serves for w      a_cwt = lam_wt / kap_cw
    h_c   USD/hour per instance (flex, reserved)           H = 730 hours
    pi_wa USD per request of w on API a                    K  ops overhead per month
    owned c: price P_c, lead time D_c, load/idle cost per month E1_c / E0_c, staff F_c, book value BV_c(age)
    d_t = 1 / (1 + r_m)^t with r_m = (1 + r)^(1/12) - 1    (r = horizon.discount_rate_annual)
Variables
    n_ct in Z+    instances of flex pool c in month t
    r_cs in Z+    reserved instances of c committed from month s for L_c months (active while s <= t < s + L_c)
    b_cs in Z+    owned servers of c ordered in month s, delivered in month s + D_c
    u_ct in Z+    owned servers of c serving in month t (<= delivered)
    N_ct          instances of c available in month t: n_ct | sum_{s <= t < s+L_c} r_cs | u_ct
    x_wot in [0,1] share of w's traffic on option o in month t
    g_wot in [0,1] share of w's spike excess (sig_w - 1) lam_wt on o in month t (pool headroom or API overflow)
    y_t in {0,1}  self-hosting runs in month t (ops overhead); y_t >= y_{t-1}: once self-hosting starts, the team
                  stays
    e_ct in {0,1} owned servers of c are on site in month t (their staff cost)
    v_fqt in {0,1} fixed-hours workload f rents block q in month t (on-demand or spot; cost_q = instances x $/h x
                  hours)
Constraints
    sum_o x_wot = 1;  sum_o g_wot = 1 (when sig_w > 1)                    demand and spike cover
    sum_w a_cwt (x_wct + (sig_w - 1) g_wct) <= N_ct                       capacity at the spike
    x_wct <= N_ct, g_wct <= N_ct                                          a share buys an instance
    sum 60 lam_wt (x_wat + (sig_w - 1) g_wat) / RPM <= 1 (and TPM)        API limits at the spike
    N_ct <= U_c y_t;  y_t >= y_{t-1}                                      ops overhead
    u_ct <= sum_{s <= t - D_c} b_cs = k_ct;  k_ct <= U_c e_ct             owned servers
    sum_q v_fqt = 1                                                       a block for each fixed-hours workload
    spot GPU-hours_t <= s_max GPU-hours_t (pools and blocks);  availability caps per month
    kg CO2e of month t <= CO2max (policy.max_co2e_kg_month; `month_carbon`)
    operating cost of month t (all but owned_capex) <= B (policy.budget_monthly_usd)
Objective (NPV, USD)
    sum_t d_t [ H sum_Cf h_c n_ct + H sum_Cr h_c sum_active r_cs + sum_{w,a} pi_wa (V_wt x_wat + SP_wt g_wat)
                + K y_t + sum_Co (E1_c u_ct + E0_c (k_ct - u_ct) + F_c e_ct + P_c b_ct) + sum_{f,q} cost_q v_fqt ]
    + sum_Cr sum_s sum_{t >= T, t < s + L_c} d_t H h_c r_cs        commitment months past the horizon, in full
    - sum_Co sum_s d_T BV_c(T - s - D_c) b_cs                       owned servers' book value at the horizon end

Commitments that run past the horizon are charged in full (every remaining month, discounted): a 1-year
commitment made in month 5 of a 6-month horizon is a contract for 12 months, and the plan says so instead of
pro-rating it away. Owned servers are credited their straight-line book value at the end of the horizon (what the
balance sheet keeps; an assumption about what they would sell for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pulp

from ..horizon_candidates import TERM_MONTHS, HorizonCandidates
from ..horizon_spec import peak, spike_requests, volume
from ..perf.energy import api_estimate, busy_hours_per_request
from ..problem import Problem
from ..units import HOURS_PER_MONTH
from .formulation import _name, coef


@dataclass
class HorizonParams:
    T: int
    disc: list  # d_t for t = 0..T (T: the end of the horizon)
    V: dict  # (w, t) -> requests
    lam: dict  # (w, t) -> peak requests/s
    sig: dict  # w -> spike factor
    SP: dict  # (w, t) -> spike requests beyond the peak
    U: dict  # pool id -> upper bound on instances in any month
    rm: float = 0.0  # monthly discount rate

    def d(self, t: int) -> float:
        """Discount factor of month index t (any t >= 0, past the horizon too)."""
        return 1 / (1 + self.rm) ** t


@dataclass
class HorizonModel:
    prob: pulp.LpProblem
    hp: HorizonParams
    n: dict = field(default_factory=dict)  # (pool, t) -> var (flex)
    r: dict = field(default_factory=dict)  # (pool, s) -> var (reserved commitments)
    b: dict = field(default_factory=dict)  # (pool, s) -> var (owned purchases)
    u: dict = field(default_factory=dict)  # (pool, t) -> var (owned in use)
    e: dict = field(default_factory=dict)  # (pool, t) -> var (owned on site)
    x: dict = field(default_factory=dict)  # (w, o, t) -> var
    g: dict = field(default_factory=dict)  # (w, o, t) -> var
    y: dict = field(default_factory=dict)  # t -> var
    fx: dict = field(default_factory=dict)  # (fixed workload, option id, t) -> var (the block bought in month t)
    registry: dict = field(default_factory=dict)
    N: dict = field(default_factory=dict)  # (pool, t) -> expression of instances available


def horizon_params(problem: Problem, hc: HorizonCandidates) -> HorizonParams:
    h = problem.horizon
    T = h.months
    disc = [h.discount(t) for t in range(T + 1)]
    V, lam, SP, sig = {}, {}, {}, {}
    for w in problem.serving:
        sig[w.name] = w.spike_factor
        for t in range(T):
            V[(w.name, t)] = volume(w, h, t)
            lam[(w.name, t)] = peak(w, h, t)
            SP[(w.name, t)] = spike_requests(w, h, t)
    U = {}
    for p in hc.pools:
        need = max(sum(sig[w] * lam[(w, t)] / k for w, k in p.capacity.items() if k > 0) for t in range(T))
        ub = max(1, math.ceil(need - 1e-9))
        if p.offer.max_instances is not None:
            ub = min(ub, p.offer.max_instances)
        U[p.id] = ub
    return HorizonParams(T, disc, V, lam, sig, SP, U, h.monthly_rate)


def term_months(pool) -> int:
    return TERM_MONTHS[pool.capacity_type]


def commitment_usd(pool, s: int, hp: HorizonParams) -> tuple[float, float]:
    """(discounted cost of the commitment months inside the horizon, of those past it), per reserved instance
    committed in month s: sum_{t=s}^{s+L-1} d_t H h_c, split at T."""
    inside = past = 0.0
    for t in range(s, s + term_months(pool)):
        usd = hp.d(t) * HOURS_PER_MONTH * pool.hourly_usd
        if t < hp.T:
            inside += usd
        else:
            past += usd
    return inside, past


def add_fleet(m: HorizonModel, hc: HorizonCandidates, integer: bool) -> None:
    """n_ct, r_cs, b_cs, u_ct and N_ct (instances available in month t)."""
    cat = "Integer" if integer else "Continuous"
    hp, prob = m.hp, m.prob
    for p in hc.flex:
        for t in range(hp.T):
            m.n[(p.id, t)] = prob.add_variable(_name("n", p.id, t), lowBound=0, upBound=hp.U[p.id], cat=cat)
            m.N[(p.id, t)] = m.n[(p.id, t)]
    for p in hc.reserved:
        L = term_months(p)
        for s in range(hp.T):
            m.r[(p.id, s)] = prob.add_variable(_name("r", p.id, s), lowBound=0, upBound=hp.U[p.id], cat=cat)
        for t in range(hp.T):
            m.N[(p.id, t)] = pulp.lpSum(m.r[(p.id, s)] for s in range(max(0, t - L + 1), t + 1))
            m.registry[("reserved_max", (p.id, t))] = m.N[(p.id, t)] <= hp.U[p.id]
            prob += m.registry[("reserved_max", (p.id, t))], _name("resmax", p.id, t)
    for p in hc.owned:
        q = hc.owned_quote[p.id]
        for s in range(hp.T - q.lead_time_months):
            m.b[(p.id, s)] = prob.add_variable(_name("b", p.id, s), lowBound=0, upBound=hp.U[p.id], cat=cat)
        for t in range(hp.T):
            m.u[(p.id, t)] = prob.add_variable(_name("u", p.id, t), lowBound=0, upBound=hp.U[p.id], cat=cat)
            m.e[(p.id, t)] = prob.add_variable(_name("e", p.id, t), lowBound=0, upBound=1,
                                               cat="Binary" if integer else cat)
            k = delivered(m, p.id, q, t)
            reg(m, "owned_in_use", (p.id, t), m.u[(p.id, t)] <= k)
            reg(m, "owned_on_site", (p.id, t), k <= hp.U[p.id] * m.e[(p.id, t)])
            m.N[(p.id, t)] = m.u[(p.id, t)]


def delivered(m: HorizonModel, pid: str, q, t: int):
    """k_ct = sum_{s <= t - D_c} b_cs: owned servers on site in month t."""
    return pulp.lpSum(m.b[(pid, s)] for s in range(0, t - q.lead_time_months + 1) if (pid, s) in m.b)


def reg(m: HorizonModel, family: str, key, con) -> None:
    m.registry[(family, key)] = con
    m.prob += con, _name(family, len(m.registry))


def add_shares(m: HorizonModel, problem: Problem, hc: HorizonCandidates) -> None:
    """sum_o x_wot = 1 and, for a workload with spikes, sum_o g_wot = 1."""
    for w in problem.serving:
        for t in range(m.hp.T):
            for o in hc.eligible[w.name]:
                m.x[(w.name, o, t)] = m.prob.add_variable(_name("x", w.name, o, t), lowBound=0, upBound=1)
                if m.hp.sig[w.name] > 1:
                    m.g[(w.name, o, t)] = m.prob.add_variable(_name("g", w.name, o, t), lowBound=0, upBound=1)
            reg(m, "demand", (w.name, t), pulp.lpSum(m.x[(w.name, o, t)] for o in hc.eligible[w.name]) == 1)
            if m.hp.sig[w.name] > 1:
                reg(m, "spike", (w.name, t), pulp.lpSum(m.g[(w.name, o, t)] for o in hc.eligible[w.name]) == 1)


def add_fixed(m: HorizonModel, hc: HorizonCandidates, integer: bool) -> None:
    """sum_q v_fqt = 1 for every fixed-hours workload f and month t: one block (GPUs x hours) rented each month,
    on-demand or spot (no commitment: a block may move month by month)."""
    for f, opts in hc.fixed.items():
        for t in range(m.hp.T):
            for q in opts:
                m.fx[(f, q.id, t)] = m.prob.add_variable(_name("v", q.id, t), lowBound=0, upBound=1,
                                                         cat="Binary" if integer else "Continuous")
            reg(m, "fixed_choice", (f, t), pulp.lpSum(m.fx[(f, q.id, t)] for q in opts) == 1)


def _load(m: HorizonModel, w: str, o: str, t: int, per: float):
    """(x_wot + (sig_w - 1) g_wot) x per: the option's load at the spike."""
    e = per * m.x[(w, o, t)]
    if (w, o, t) in m.g:
        e = e + per * (m.hp.sig[w] - 1) * m.g[(w, o, t)]
    return e


def add_capacity(m: HorizonModel, hc: HorizonCandidates) -> None:
    """sum_w a_cwt (x_wct + (sig_w - 1) g_wct) <= N_ct;  x_wct <= N_ct;  g_wct <= N_ct."""
    for p in hc.pools:
        for t in range(m.hp.T):
            load = pulp.lpSum(_load(m, w, p.id, t, coef(m.hp.lam[(w, t)] / k)) for w, k in p.capacity.items())
            reg(m, "capacity", (p.id, t), load <= m.N[(p.id, t)])
            for w in p.capacity:
                reg(m, "share_link", (w, p.id, t), m.x[(w, p.id, t)] <= m.N[(p.id, t)])
                if (w, p.id, t) in m.g:
                    reg(m, "spike_link", (w, p.id, t), m.g[(w, p.id, t)] <= m.N[(p.id, t)])


def add_rate_limits(m: HorizonModel, problem: Problem, hc: HorizonCandidates) -> None:
    """Per month and rate-limit group: sum 60 lam_wt (x + (sig - 1) g) / RPM <= 1 (and tokens / TPM)."""
    tokens = {w.name: w.input_tokens + w.output_tokens for w in problem.serving}
    groups: dict[str, list] = {}
    for a in hc.apis:
        if a.mode == "realtime":
            groups.setdefault(a.rate_group, []).append(a)
    for gname, opts in groups.items():
        api = opts[0].api
        for t in range(m.hp.T):
            if api.rpm:
                reg(m, "rate_limit_rpm", (gname, t), pulp.lpSum(
                    _load(m, w, a.id, t, coef(60 * m.hp.lam[(w, t)] / api.rpm)) for a in opts
                    for w in a.usd_per_request if (w, a.id, t) in m.x) <= 1)
            if api.tpm:
                reg(m, "rate_limit_tpm", (gname, t), pulp.lpSum(
                    _load(m, w, a.id, t, coef(60 * m.hp.lam[(w, t)] * tokens[w] / api.tpm)) for a in opts
                    for w in a.usd_per_request if (w, a.id, t) in m.x) <= 1)


def add_ops(m: HorizonModel, problem: Problem, hc: HorizonCandidates, integer: bool) -> None:
    """N_ct <= U_c y_t;  y_t >= y_{t-1} (the ops overhead runs from the month self-hosting starts)."""
    if not hc.pools:
        return
    for t in range(m.hp.T):
        m.y[t] = m.prob.add_variable(_name("y", t), lowBound=0, upBound=1, cat="Binary" if integer else "Continuous")
        for p in hc.pools:
            reg(m, "ops_link", (p.id, t), m.N[(p.id, t)] <= m.hp.U[p.id] * m.y[t])
        if t:
            reg(m, "ops_stays", t, m.y[t] >= m.y[t - 1])


def add_spot_and_availability(m: HorizonModel, problem: Problem, hc: HorizonCandidates) -> None:
    """Per month: spot GPU-hours <= s_max x all GPU-hours; sum of instances on a capped offer <= its cap."""
    s = problem.policy.max_spot_share
    by_offer: dict[str, list] = {}
    for p in hc.pools:
        if p.offer.max_instances is not None:
            by_offer.setdefault(p.offer.offer_id, []).append(p)
    has_spot = any(p.capacity_type == "spot" for p in hc.flex) or any(
        q.capacity_type == "spot" for qs in hc.fixed.values() for q in qs)
    for t in range(m.hp.T):
        if s < 1 and has_spot:
            reg(m, "spot_cap", t, gpu_hours(m, hc, t, True) <= s * gpu_hours(m, hc, t, False))
        for oid, pools in by_offer.items():
            reg(m, "availability", (oid, t), pulp.lpSum(m.N[(p.id, t)] for p in pools) <= pools[0].offer.max_instances)


def gpu_hours(m: HorizonModel, hc: HorizonCandidates, t: int, spot_only: bool):
    """GPU-hours of month t: pools H g_c N_ct, fixed-hours blocks their GPUs x hours (spot ones only, or all)."""
    terms = [HOURS_PER_MONTH * p.gpus_per_instance * m.N[(p.id, t)] for p in hc.pools
             if not spot_only or p.capacity_type == "spot"]
    terms += [q.gpu_hours * m.fx[(f, q.id, t)] for f, qs in hc.fixed.items() for q in qs
              if not spot_only or q.capacity_type == "spot"]
    return pulp.lpSum(terms)


def month_cost(m: HorizonModel, problem: Problem, hc: HorizonCandidates, t: int) -> dict:
    """Undiscounted cost of month t by kind (expressions): rented, reserved, api, ops, owned_capex, owned_opex."""
    hp = m.hp
    out = {
        "on_demand": pulp.lpSum(HOURS_PER_MONTH * p.hourly_usd * m.n[(p.id, t)] for p in hc.flex
                                if p.capacity_type != "spot"),
        "spot": pulp.lpSum(HOURS_PER_MONTH * p.hourly_usd * m.n[(p.id, t)] for p in hc.flex
                           if p.capacity_type == "spot"),
        "reserved": pulp.lpSum(HOURS_PER_MONTH * p.hourly_usd * m.N[(p.id, t)] for p in hc.reserved),
        "api": pulp.lpSum(a.usd_per_request[w] * (hp.V[(w, t)] * m.x[(w, a.id, t)]
                                                 + (hp.SP[(w, t)] * m.g[(w, a.id, t)] if (w, a.id, t) in m.g else 0))
                          for a in hc.apis for w in a.usd_per_request if (w, a.id, t) in m.x),
        "ops": problem.policy.ops_overhead_monthly_usd * m.y[t] if t in m.y else pulp.LpAffineExpression(),
        "fixed": pulp.lpSum(q.monthly_usd * m.fx[(f, q.id, t)] for f, qs in hc.fixed.items() for q in qs),
    }
    capex, opex = [], []
    for p in hc.owned:
        q = hc.owned_quote[p.id]
        if (p.id, t) in m.b:
            capex.append(q.server_price_usd * m.b[(p.id, t)])
        k = delivered(m, p.id, q, t)
        opex += [q.running_usd_month * m.u[(p.id, t)], q.idle_usd_month * (k - m.u[(p.id, t)]),
                 q.staff_usd_month * m.e[(p.id, t)]]
    out["owned_capex"] = pulp.lpSum(capex)
    out["owned_opex"] = pulp.lpSum(opex)
    return out


def month_carbon(m: HorizonModel, problem: Problem, hc: HorizonCandidates, t: int) -> list:
    """(kg CO2e coefficient, variable or expression) of month t, the linear form of the report's `month_energy`
    (optimizer/explain/energy.py; power model in optimizer/perf/energy.py):
    rented c:  gco2e_c/1000 x (H kw_idle_c N_ct + sum_w (V_wt x_wct + SP_wt g_wct) mu / (3600 kap_cw) kw_busy_c)
    owned c:   G_c/1000 x PUE_c H (kwL_c u_ct + kwI_c (k_ct - u_ct))       (the quote's power and site grid)
    block q:   gco2e_q/1000 x instances_q hours_q (kw_idle_q + kw_busy_q) v_fqt   (busy all its hours)
    API a:     gco2e_a/1000 x (V_wt x_wat + SP_wt g_wat)
    Options of unknown carbon never reach a capped model (filtered in optimizer/horizon_candidates.py). Busy hours
    need no cap at the instance-hours: the capacity row at the spike keeps them below H N_ct."""
    hp, mu = m.hp, problem.policy.max_utilization
    out = []

    def served(w, o, k):
        out.append((k * hp.V[(w, t)], m.x[(w, o, t)]))
        if (w, o, t) in m.g:
            out.append((k * hp.SP[(w, t)], m.g[(w, o, t)]))

    for p in (*hc.flex, *hc.reserved):
        e = p.energy
        g = e.gco2e_per_kwh / 1000.0
        out.append((g * HOURS_PER_MONTH * e.kw_idle, m.N[(p.id, t)]))
        for w, kap in p.capacity.items():
            served(w, p.id, g * busy_hours_per_request(kap, mu) * e.kw_busy)
    for p in hc.owned:
        q = hc.owned_quote[p.id]
        g = q.grid_gco2e_per_kwh / 1000.0 * q.pue * HOURS_PER_MONTH
        out.append((g * (q.power_kw_load - q.power_kw_idle), m.u[(p.id, t)]))
        out.append((g * q.power_kw_idle, delivered(m, p.id, q, t)))
    for f, qs in hc.fixed.items():
        for q in qs:
            e = q.energy
            out.append((e.gco2e_per_kwh / 1000.0 * q.instances * q.hours * (e.kw_idle + e.kw_busy),
                        m.fx[(f, q.id, t)]))
    for a in hc.apis:
        est = api_estimate(a.api.provider, a.api.model)
        for w in a.usd_per_request:
            if (w, a.id, t) in m.x:
                served(w, a.id, est.gco2e_per_request / 1000.0)
    return out


def add_carbon_cap(m: HorizonModel, problem: Problem, hc: HorizonCandidates) -> None:
    """Every month: sum of month_carbon <= CO2max (policy.max_co2e_kg_month), divided by CO2max (scaling)."""
    cap = problem.policy.max_co2e_kg_month
    if cap is None:
        return
    scale = cap if cap > 0 else 1.0
    for t in range(m.hp.T):
        terms = [(coef(k / scale), v) for k, v in month_carbon(m, problem, hc, t) if k > 0]
        reg(m, "carbon", t, pulp.lpSum(k * v for k, v in terms) <= (1 if cap > 0 else 0))


def add_budget(m: HorizonModel, problem: Problem, hc: HorizonCandidates) -> None:
    """Every month: its operating cost (every kind but owned_capex) <= B (policy.budget_monthly_usd), divided by B.
    A server purchase is capital spending, not a month's running cost: it is reported, never capped by B."""
    B = problem.policy.budget_monthly_usd
    if B is None:
        return
    for t in range(m.hp.T):
        run = [e for k, e in month_cost(m, problem, hc, t).items() if k != "owned_capex"]
        reg(m, "budget", t, pulp.lpSum(run) * (1.0 / B) <= 1)


def tail_and_residual(m: HorizonModel, hc: HorizonCandidates):
    """(discounted commitment months past the horizon, discounted book value of owned servers at its end)."""
    hp = m.hp
    tail = pulp.lpSum(commitment_usd(p, s, hp)[1] * m.r[(p.id, s)] for p in hc.reserved for s in range(hp.T))
    resid = pulp.lpSum(hp.disc[hp.T] * hc.owned_quote[p.id].book_value(hp.T - s - hc.owned_quote[p.id].lead_time_months)
                       * m.b[(p.id, s)] for p in hc.owned for s in range(hp.T) if (p.id, s) in m.b)
    return tail, resid


def build_horizon_model(problem: Problem, hc: HorizonCandidates, *, integer: bool = True) -> HorizonModel:
    hp = horizon_params(problem, hc)
    m = HorizonModel(pulp.LpProblem("llmplan_horizon", pulp.LpMinimize), hp)
    add_fleet(m, hc, integer)
    add_shares(m, problem, hc)
    add_fixed(m, hc, integer)
    add_capacity(m, hc)
    add_rate_limits(m, problem, hc)
    add_ops(m, problem, hc, integer)
    add_spot_and_availability(m, problem, hc)
    add_carbon_cap(m, problem, hc)
    add_budget(m, problem, hc)
    tail, resid = tail_and_residual(m, hc)
    npv = pulp.lpSum(hp.disc[t] * pulp.lpSum(month_cost(m, problem, hc, t).values()) for t in range(hp.T))
    m.prob += npv + tail - resid
    return m
