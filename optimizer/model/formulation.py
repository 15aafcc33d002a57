"""The MILP. `build_model` reads like a table of contents; each `add_*` states its algebra in its docstring.

Sets
    W        serving workloads            F      fixed-hours workloads      Q(f)  purchase options of f
    C        pools (replica configs)      A      API options                O(w)  options eligible for w (C u A)
    G        API rate-limit groups (an API offer: every workload and mode on it shares the account's limits)
    P        providers (clouds and API vendors); C(p), A(p) their options
Parameters
    lam_w    peak requests/s              V_w    requests/month             T_w   tokens per request
    kap_cw   requests/s one instance of c serves for w (after max_utilization)
    h_c      USD/hour per instance        g_c    GPUs per instance          U_c   upper bound on n_c
    pi_aw    USD per request of w on a    RPM_g, TPM_g  rate limits        H = 730 hours/month
    phi      failover fraction            s      max spot share             B     monthly budget   K  ops overhead
Variables
    n_c in Z+   instances of pool c       x_wo in [0,1]  share of w's traffic on option o
    y in {0,1}  self-hosting used         u_fq in {0,1}  fixed workload f bought through option q
    cost techniques (cache layers, compression, cascade) and the quality floor: binaries and rows of
    optimizer/model/techniques.py, over the workloads' slices (optimizer/techniques.py)
    z_pwo in [0,1]  share of w's peak on o after provider p is lost (failover only)
Objective
    min  sum_c H h_c n_c + sum_{w,a} V_w pi_aw x_wa + K y + sum_{f,q} cost_fq u_fq

Every constraint is registered as `registry[(family, key)]`; binding analysis, duals and infeasibility reports
read constraints through the registry, never by parsing PuLP's names. The families themselves (meaning,
relaxable or not, infeasibility text) are described once in `optimizer/families.py`.

Scaling. Rows are written so that the solver's feasibility tolerance (about 1e-6 to 1e-7) cannot hide a violation
that matters: load coefficients a_cw = lam_w / kap_cw below `COEF_MIN` are rounded *up* to it (conservative: the
modelled load is never below the true one), rate-limit rows are divided by their limit, and failover routes are
shares of peak (not requests/s), so tiny workloads have well-scaled rows. Logic rows x_wc <= n_c (share_link) make
any positive share on a pool buy at least one instance, whatever the load coefficient: without them a workload of a
few requests a month can ride on zero instances within tolerance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import pulp

from ..candidates import UNKNOWN_PROVIDER, Candidates
from ..families import FAMILIES
from ..perf.energy import api_estimate, busy_hours_per_request
from ..problem import Problem
from ..units import HOURS_PER_MONTH

COEF_MIN = 1e-6  # smallest load coefficient written into a row (rounded up to this: conservative)


def coef(v: float) -> float:
    """A positive row coefficient, rounded up to COEF_MIN (see Scaling)."""
    return max(v, COEF_MIN) if v > 0 else 0.0


@dataclass
class Model:
    prob: pulp.LpProblem
    n: dict  # pool id -> var
    x: dict  # (workload, option id) -> var
    y: pulp.LpVariable | None
    u: dict  # (fixed workload, option id) -> var
    z: dict  # (provider, workload, option id) -> var (share of the workload's peak)
    registry: dict  # (family, key) -> constraint
    slacks: dict = field(default_factory=dict)  # (family, key) -> (var, scale, unit)
    cost_terms: dict = field(default_factory=dict)  # name -> LpAffineExpression
    upper: dict = field(default_factory=dict)  # pool id -> U_c
    hourly: object = None  # hourly.Hourly when some workload autoscales (hour-by-hour rows and variables)
    tech: dict = field(default_factory=dict)  # (workload, technique) -> binary (model/techniques.py)


_NOT_NAME = re.compile(r"[^0-9A-Za-z]")


@lru_cache(maxsize=1 << 16)
def _safe(part: str) -> str:
    """One part of a name with every character but ASCII letters and digits as '_' (parts recur: pool ids,
    workloads and providers appear in thousands of names, so each is rewritten once)."""
    return _NOT_NAME.sub("_", part)


def _name(*parts) -> str:
    """A solver-safe name: every character but ASCII letters and digits becomes '_' (at most 200 characters).
    The parts are rewritten one by one (`_safe`; a counter's digits need no rewriting) and joined by '_', the
    same string as rewriting the joined parts, since '_' stays '_'."""
    return "_".join([str(p) if type(p) is int and p >= 0 else _safe(str(p)) for p in parts])[:200]


def row(terms, sense: int, rhs: float | None = None) -> pulp.LpConstraint:
    """The row sum_i a_i v_i <sense> rhs from (v_i, a_i) pairs in order, built as one dictionary. The same row
    as PuLP's operators write for lpSum(a_i * v_i) <sense> rhs, without an expression object per term: terms
    with a_i = 0 are left out (as a_i * v_i leaves them out), a variable on the right-hand side enters as
    (v, -1), and each variable appears once."""
    return pulp.LpConstraint(pulp.LpAffineExpression([(v, a) for v, a in terms if a != 0]), sense, rhs=rhs)


class _Builder:
    def __init__(self, problem: Problem, cands: Candidates, *, integer: bool, elastic: bool, relax: frozenset,
                 scenarios: frozenset | None = None):
        self.p, self.c, self.integer, self.elastic, self.relax = problem, cands, integer, elastic, relax
        self.scenarios = scenarios
        self.m = Model(pulp.LpProblem("llmplan", pulp.LpMinimize), {}, {}, None, {}, {}, {})
        self.lam = {w.name: w.peak for w in problem.serving}
        self.serving = {w.name: w for w in problem.serving}
        self._k = 0

    def reg(self, family: str, key, con):
        self._k += 1
        name = f"{_safe(family)}_{self._k}"[:200]  # _name(family, k), k's digits need no rewriting
        if isinstance(con, pulp.LpConstraint):
            self.m.prob.addConstraint(con, name)  # what `prob += con, name` does for a row
        else:
            self.m.prob += con, name
        self.m.registry[(family, key)] = con

    def slack(self, family: str, key, scale: float, unit: str):
        """An elastic slack for a relaxable family (elastic mode only), in units of the row's right-hand side
        `scale` (1 = the whole limit); returns 0 otherwise. The violation in `unit` is value x scale."""
        if not self.elastic or not FAMILIES[family].relaxable:
            return 0
        v = self.m.prob.add_variable(_name("s", family, len(self.m.slacks)), lowBound=0)
        self.m.slacks[(family, key)] = (v, max(scale, 1e-9), unit)
        return v


def add_variables(b: _Builder) -> None:
    """n_c in Z+ with n_c <= U_c = ceil(sum_w lam_w / kap_cw) (enough for every workload it may serve);
    x_wo in [0,1]; y, u_fq binary."""
    cat = "Integer" if b.integer else "Continuous"
    for pool in b.c.pools:
        need = sum(b.lam[w] / k for w, k in pool.capacity.items() if k > 0)
        ub = max(1, math.ceil(need - 1e-9))
        if pool.offer.max_instances is not None and "availability" not in b.relax and not b.elastic:
            ub = min(ub, pool.offer.max_instances)
        b.m.upper[pool.id] = ub
        b.m.n[pool.id] = b.m.prob.add_variable(_name("n", pool.id), lowBound=0, upBound=ub, cat=cat)
    for w, opts in b.c.eligible.items():
        for o in opts:
            b.m.x[(w, o)] = b.m.prob.add_variable(_name("x", w, o), lowBound=0, upBound=1)
    if b.c.pools:
        b.m.y = b.m.prob.add_variable("self_hosting_used", lowBound=0, upBound=1, cat="Binary" if b.integer else cat)
    for f, opts in b.c.fixed.items():
        for q in opts:
            b.m.u[(f, q.id)] = b.m.prob.add_variable(_name("u", q.id), lowBound=0, upBound=1,
                                               cat="Binary" if b.integer else cat)


def add_demand_cover(b: _Builder) -> None:
    """sum_{o in O(w)} x_wo = 1   for every serving workload w (a workload with techniques or a quality floor:
    its slices share one row, `technique_demand` in model/techniques.py)."""
    from ..techniques import groups
    grouped = {s for g in groups(b.p) for s in g.slices}
    for w, opts in b.c.eligible.items():
        if w not in grouped:
            b.reg("demand", w, pulp.lpSum(b.m.x[(w, o)] for o in opts) == 1)


def load_coef(b: _Builder, pool, w: str) -> float:
    """a_cw = lam_w / kap_cw: instances of c that all of w's peak would need (rounded up to COEF_MIN)."""
    return coef(b.lam[w] / pool.capacity[w])


def add_pool_capacity(b: _Builder) -> None:
    """sum_w a_cw x_wc <= n_c   for every pool c (shared pools add their workloads' loads)."""
    for pool in b.c.pools:
        load = pulp.lpSum(load_coef(b, pool, w) * b.m.x[(w, pool.id)] for w in pool.capacity)
        b.reg("capacity", pool.id, load <= b.m.n[pool.id])


def add_share_link(b: _Builder) -> None:
    """x_wc <= n_c   for every pool c and workload w it may serve: a positive share buys at least one instance
    (valid because x_wc <= 1 <= n_c whenever n_c >= 1)."""
    for pool in b.c.pools:
        for w in pool.capacity:
            b.reg("share_link", (w, pool.id), b.m.x[(w, pool.id)] <= b.m.n[pool.id])


def _groups(b: _Builder) -> dict:
    groups: dict[str, list] = {}
    for a in b.c.apis:
        if a.mode == "realtime":
            groups.setdefault(a.rate_group, []).append(a)
    return groups


def _tokens(b: _Builder, w: str) -> int:
    return b.serving[w].input_tokens + b.serving[w].output_tokens


def add_rate_limits(b: _Builder) -> None:
    """sum_{w, a in g} 60 lam_w x_wa / RPM_g <= 1  and  sum 60 lam_w T_w x_wa / TPM_g <= 1   (realtime modes;
    batch queues have their own limits and are not modelled). Rows are divided by their limit (scaling)."""
    if {"rate_limit_rpm", "rate_limit_tpm"} <= b.relax:
        return
    for g, opts in _groups(b).items():
        api = opts[0].api
        if api.rpm and "rate_limit_rpm" not in b.relax:
            rpm = pulp.lpSum(coef(60 * b.lam[w] / api.rpm) * b.m.x[(w, a.id)] for a in opts for w in a.usd_per_request)
            b.reg("rate_limit_rpm", g, rpm <= 1 + b.slack("rate_limit_rpm", g, api.rpm, "RPM"))
        if api.tpm and "rate_limit_tpm" not in b.relax:
            tpm = pulp.lpSum(coef(60 * b.lam[w] * _tokens(b, w) / api.tpm) * b.m.x[(w, a.id)]
                             for a in opts for w in a.usd_per_request)
            b.reg("rate_limit_tpm", g, tpm <= 1 + b.slack("rate_limit_tpm", g, api.tpm, "TPM"))


def add_ops_link(b: _Builder) -> None:
    """n_c <= U_c y   for every pool c: any self-hosted instance switches on the ops overhead."""
    if b.m.y is None:
        return
    for pool in b.c.pools:
        b.reg("ops_link", pool.id, b.m.n[pool.id] <= b.m.upper[pool.id] * b.m.y)


def _gpu_hours(b: _Builder, spot_only: bool):
    terms = [pool.gpus_per_instance * HOURS_PER_MONTH * b.m.n[pool.id] for pool in b.c.pools
             if not spot_only or pool.capacity_type == "spot"]
    for f, opts in b.c.fixed.items():
        terms += [q.gpu_hours * b.m.u[(f, q.id)] for q in opts if not spot_only or q.capacity_type == "spot"]
    return pulp.lpSum(terms)


def add_spot_cap(b: _Builder) -> None:
    """sum_{spot} GPU-hours <= s * sum_all GPU-hours   (serving pools count 730 h, fixed blocks their hours)."""
    s = b.p.policy.max_spot_share
    if s >= 1 or "spot_cap" in b.relax:
        return
    has_spot = any(p.capacity_type == "spot" for p in b.c.pools) or any(
        q.capacity_type == "spot" for qs in b.c.fixed.values() for q in qs)
    if has_spot:
        scale = max(sum(pool.gpus_per_instance * HOURS_PER_MONTH for pool in b.c.pools), 1.0)
        b.reg("spot_cap", "all", _gpu_hours(b, True) <= s * _gpu_hours(b, False)
              + scale * b.slack("spot_cap", "all", scale, "GPU-hours"))


def add_availability(b: _Builder) -> None:
    """sum_{c on offer o} n_c <= cap_o   for every offer with an availability cap."""
    if "availability" in b.relax:
        return
    by_offer: dict[str, list] = {}
    for pool in b.c.pools:
        if pool.offer.max_instances is not None:
            by_offer.setdefault(pool.offer.offer_id, []).append(pool)
    for oid, pools in by_offer.items():
        cap = pools[0].offer.max_instances
        b.reg("availability", oid, pulp.lpSum(b.m.n[p.id] for p in pools) <= cap
              + cap * b.slack("availability", oid, cap, "instances"))


def add_failover(b: _Builder) -> None:
    """For every provider p and workload w, with z_pwo the share of w's peak on o once p is lost:
    sum_{o in O(w), o survives p} z_pwo = phi;  for every surviving pool c: sum_w a_cw z_pwc <= n_c and
    sum_w z_pwc <= |W_c| n_c (failover_link: failover traffic needs an instance; one row per pool and scenario,
    the same integer solutions as z_pwc <= n_c for each w, since z <= 1 <= n whenever n >= 1);  for every
    surviving API group g: sum 60 lam_w z_pwa / RPM_g <= 1 (and TPM_g).
    An option survives p when its failover provider is known and is not p (`Pool.failover_provider`).
    These are most of a failover model's rows, so they are written with `row` (one dictionary per row)."""
    fo = b.p.policy.failover
    if fo is None or "failover_demand" in b.relax:
        return
    phi = fo.fraction
    LE, EQ = pulp.LpConstraintLE, pulp.LpConstraintEQ
    owner = _failover_owners(b)
    loads = {pool.id: [(w, load_coef(b, pool, w)) for w in pool.capacity] for pool in b.c.pools}
    suffix = {(w, o): f"{_safe(w)}_{_safe(o)}" for w, opts in b.c.eligible.items() for o in opts}
    for prov in (b.c.providers() if b.scenarios is None else sorted(b.scenarios)):
        z = {}
        head = f"z_{_safe(prov)}_"  # z names: _name("z", prov, w, o), the parts rewritten once
        for w, opts in b.c.eligible.items():
            surv = [o for o in opts if owner[o] != prov and owner[o] != UNKNOWN_PROVIDER]
            zs = [(b.m.prob.add_variable((head + suffix[(w, o)])[:200], lowBound=0, upBound=1), 1) for o in surv]
            z.update(((w, o), v) for o, (v, _) in zip(surv, zs))
            slack = b.slack("failover_demand", (prov, w), phi, "share of peak")
            b.reg("failover_demand", (prov, w), row(zs + _slack_term(slack, phi), EQ, phi))
        for pool in b.c.pools:
            keys = [(z[(w, pool.id)], a) for w, a in loads[pool.id] if (w, pool.id) in z]
            if not keys:
                continue
            n = b.m.n[pool.id]
            b.reg("failover_capacity", (prov, pool.id), row(keys + [(n, -1)], LE))
            b.reg("failover_link", (prov, pool.id), row([(v, 1) for v, _ in keys] + [(n, -len(keys))], LE))
        b.m.z.update(((prov, w, o), v) for (w, o), v in z.items())
        for g, opts in _groups(b).items():
            api = opts[0].api
            keys = [(w, a.id) for a in opts for w in a.usd_per_request if (w, a.id) in z]
            if not keys:
                continue
            if api.rpm:
                slack = b.slack("failover_rpm", (prov, g), api.rpm, "RPM")
                b.reg("failover_rpm", (prov, g), row([(z[k], coef(60 * b.lam[k[0]] / api.rpm)) for k in keys]
                                                     + _slack_term(slack, -1), LE, 1))
            if api.tpm:
                slack = b.slack("failover_tpm", (prov, g), api.tpm, "TPM")
                b.reg("failover_tpm", (prov, g), row([(z[k], coef(60 * b.lam[k[0]] * _tokens(b, k[0]) / api.tpm))
                                                      for k in keys]
                                                     + _slack_term(slack, -1), LE, 1))


def _slack_term(slack, a: float) -> list:
    """[(slack, a)] for an elastic slack variable, [] for the 0 that `_Builder.slack` gives otherwise."""
    return [(slack, a)] if isinstance(slack, pulp.LpVariable) else []


def _failover_owners(b: _Builder) -> dict:
    """Option id -> its failover provider (the provider whose loss takes it down), looked up once per build."""
    return {o: b.c.option(o).failover_provider for opts in b.c.eligible.values() for o in opts}


def add_fixed_choice(b: _Builder) -> None:
    """sum_q u_fq = 1   for every fixed-hours workload f."""
    for f, opts in b.c.fixed.items():
        b.reg("fixed_choice", f, pulp.lpSum(b.m.u[(f, q.id)] for q in opts) == 1)


def cost_terms(b: _Builder) -> dict:
    m = b.m
    terms = {
        "pools": pulp.lpSum(pool.monthly_usd_per_instance * m.n[pool.id] for pool in b.c.pools),
        "apis": pulp.lpSum(b.serving[w].requests_per_month * a.usd_per_request[w] * m.x[(w, a.id)]
                           for a in b.c.apis for w in a.usd_per_request),
        "ops": (b.p.policy.ops_overhead_monthly_usd * m.y) if m.y is not None else pulp.LpAffineExpression(),
        "fixed": pulp.lpSum(q.monthly_usd * m.u[(f, q.id)] for f, qs in b.c.fixed.items() for q in qs),
    }
    m.cost_terms = terms
    return terms


def add_budget(b: _Builder, total) -> None:
    """total monthly cost <= B."""
    B = b.p.policy.budget_monthly_usd
    if B is None or "budget" in b.relax:
        return
    b.reg("budget", "all", total <= B + B * b.slack("budget", "all", B, "USD/month"))


def carbon_terms(b: _Builder) -> list:
    """(coefficient in kg CO2e/month, variable) of every option whose carbon the plan counts
    (optimizer/perf/energy.py):
    pool c:   gco2e_c/1000 x (H kw_idle_c n_c + sum_w V_w (mu / (3600 kap_cw)) kw_busy_c x_wc)
    fixed q:  gco2e_q/1000 x instances_q hours_q (kw_idle_q + kw_busy_q) u_fq   (busy the whole block)
    API a:    V_w gco2e_per_request_a / 1000 x x_wa
    Options of unknown carbon never reach a capped model (filter `carbon_unknown`)."""
    mu = b.p.policy.max_utilization
    out = []
    for pool in b.c.pools:
        e = pool.energy
        g = e.gco2e_per_kwh / 1000.0
        out.append((g * HOURS_PER_MONTH * e.kw_idle, b.m.n[pool.id]))
        for w, kap in pool.capacity.items():
            out.append((g * b.serving[w].requests_per_month * busy_hours_per_request(kap, mu) * e.kw_busy,
                        b.m.x[(w, pool.id)]))
    for f, qs in b.c.fixed.items():
        for q in qs:
            e = q.energy
            out.append((e.gco2e_per_kwh / 1000.0 * q.instances * q.hours * (e.kw_idle + e.kw_busy), b.m.u[(f, q.id)]))
    for a in b.c.apis:
        est = api_estimate(a.api.provider, a.api.model)
        for w in a.usd_per_request:
            out.append((b.serving[w].requests_per_month * est.gco2e_per_request / 1000.0, b.m.x[(w, a.id)]))
    return out


def add_carbon_cap(b: _Builder) -> None:
    """sum of carbon_terms <= CO2max, divided by CO2max (scaling; a zero cap is written unscaled)."""
    cap = b.p.policy.max_co2e_kg_month
    if cap is None or "carbon" in b.relax:
        return
    scale = cap if cap > 0 else 1.0
    lhs = pulp.lpSum(coef(k / scale) * v for k, v in carbon_terms(b) if k > 0)
    rhs = (1 if cap > 0 else 0) + b.slack("carbon", "all", scale, "kg CO2e/month")
    b.reg("carbon", "all", lhs <= rhs)


ELASTIC_PENALTY = 1e7  # per unit of normalised violation; large against any plan's cost


def add_objective(b: _Builder, total) -> None:
    """min total cost (+ a large penalty on slacks, each in units of its row's limit, in elastic mode)."""
    pen = pulp.lpSum(ELASTIC_PENALTY * v for v, _, _ in b.m.slacks.values())
    b.m.prob += total + pen


def build_model(problem: Problem, cands: Candidates, *, integer: bool = True, elastic: bool = False,
                relax: frozenset = frozenset(), failover_scenarios: frozenset | None = None) -> Model:
    """Formulate the plan. `integer=False` gives the LP relaxation; `elastic=True` adds penalised slacks to every
    relaxable family (used to explain infeasibility); `relax` drops whole constraint families;
    `failover_scenarios` limits the failover constraints to the loss of these providers (None = every provider)."""
    from .hourly import RowHelpers, add_hourly, hourly_params, pools_cost
    from .techniques import add_techniques
    b = _Builder(problem, cands, integer=integer, elastic=elastic, relax=relax, scenarios=failover_scenarios)
    hp = b.m.hourly = hourly_params(problem, cands)
    add_variables(b)
    add_demand_cover(b)
    if hp is None:
        add_pool_capacity(b)
    add_share_link(b)
    if hp is None:
        add_rate_limits(b)
    else:
        add_hourly(b, hp, RowHelpers(load_coef, _groups, _tokens, coef, _name))  # hour by hour: replaces the peak capacity and rate-limit rows (model/hourly.py)
    add_ops_link(b)
    add_availability(b)
    add_failover(b)
    add_fixed_choice(b)
    terms = cost_terms(b)
    terms["techniques"] = add_techniques(b)
    if hp is not None:
        terms["pools"] = pools_cost(hp)
    total = pulp.lpSum(terms.values())
    add_spot_cap(b)
    add_carbon_cap(b)
    add_budget(b, total)
    add_objective(b, total)
    return b.m
