"""Verify a plan over a horizon against its problem, independently of the MILP: every number is recomputed from
the plan's lines, the problem and the catalog, never from the model's variables.

- demand and spike cover: each month, a workload's shares add up to 1 (and its spike shares, when it spikes);
- capacity: each month, each pool's load at the spike (sum over workloads of (share + (spike_factor - 1) x
  spike_share) x peak / capacity of one instance, the capacity recomputed from the performance model or the
  problem's measured figure) fits its instances; a positive share has at least one instance;
- commitments: each reserved pool's instances in a month equal the commitments active then; every commitment runs
  its full term (12 or 36 months) and so never shrinks before it ends; its price is the catalog's;
- owned servers: servers in use never exceed those delivered (order month + lead time);
- API rate limits (RPM, TPM) each month at the spike;
- energy and carbon: each month's kWh and kg CO2e recomputed (`explain.energy.month_energy`), and the carbon cap;
- the monthly budget: each month's recomputed running cost (all but server purchases);
- fixed-hours blocks: one a month per workload, meeting it, at the catalog's price; the spot cap with them;
- policy: deployment (no API when air-gapped, no cloud offer unless cloud), capacity types allowed;
- costs: each month's cost by kind recomputed from the lines and prices; totals, commitments past the horizon,
  residual value and the NPV recomputed; the status agrees with the gap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .candidates import api_usd_per_request, instance_capacity, quoted_offers, replica_point
from .catalog import Catalog
from .catalog.inline import with_problem_models
from .explain.energy import month_energy
from .horizon_candidates import OWNED_PROVIDER, TERM_MONTHS, owned_as_quote
from .horizon_result import HorizonPlan
from .horizon_spec import peak, spike_requests, volume
from .problem import Problem
from .units import HOURS_PER_MONTH
from .verify import CENT, REL, Violation  # the same tolerances and violation records as single-month plans


@dataclass
class HorizonVerification:
    checks: int = 0
    violations: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


class _Checker:
    def __init__(self, plan: HorizonPlan, problem: Problem, catalog: Catalog):
        self.plan, self.problem = plan, problem
        self.catalog = with_problem_models(catalog, problem)
        self.v = HorizonVerification()
        self.serving = {w.name: w for w in problem.serving}
        rented = problem.model_copy(update={"quotes": problem.rented_quotes})
        owned = problem.model_copy(update={"quotes": tuple(owned_as_quote(q) for q in problem.owned_quotes)})
        self.offers = {o.offer_id: o for o in (*self.catalog.offers, *quoted_offers(rented, self.catalog))}
        self.owned_offers = {o.offer_id: o for o in quoted_offers(owned, self.catalog)}
        self.owned_quote = {q.name: q for q in problem.owned_quotes}
        self.measured = {}
        for m in problem.measured:
            self.measured[(m.workload, self.catalog.model(m.model).name, self.catalog.gpu(m.gpu).name, m.precision,
                           m.tp)] = m.rps
        self.apis = {f"api:{a.api_id}": a for a in self.catalog.apis}
        self.cap: dict = {}

    def check(self, ok: bool, check: str, line: str, message: str) -> bool:
        self.v.checks += 1
        if not ok:
            self.v.violations.append(Violation(check, line, message))
        return ok

    def disc(self, t: int) -> float:
        return 1 / (1 + self.problem.horizon.monthly_rate) ** t

    def offer(self, pool_id: str):
        oid = pool_id.rsplit("|", 4)[0]
        return self.owned_offers.get(oid) if oid.startswith(OWNED_PROVIDER + ":") else self.offers.get(oid)

    def delivered(self, month: int) -> dict:
        """Owned servers on site in `month` by pool, from the plan's purchases (order month + lead time)."""
        out: dict = {}
        for b in self.plan.purchases:
            if b.delivery_month <= month:
                out[b.pool] = out.get(b.pool, 0) + b.servers
        return out

    def capacity(self, pool_id: str, w: str, line: str) -> float | None:
        if (pool_id, w) in self.cap:
            return self.cap[(pool_id, w)]
        offer_id, model_name, precision, tp_s, ct = pool_id.rsplit("|", 4)
        offer = self.offer(pool_id)
        model = self.catalog.models.get(model_name)
        if not self.check(offer is not None and model is not None, "catalog", line, "offer or model not found"):
            return None
        gpu = self.catalog.gpus[offer.gpu]
        tp = int(tp_s.removeprefix("tp"))
        wl = self.serving[w]
        key = (w, model.name, gpu.name, precision, tp)
        if key in self.measured:
            rps = self.measured[key]
        else:
            rps, why, _ = replica_point(model, gpu, precision, tp, wl, self.problem.policy)
            if not self.check(rps is not None, why or "capacity", line, f"cannot serve {w} ({why})"):
                return None
        self.cap[(pool_id, w)] = instance_capacity(rps, offer, tp, ct, self.problem.policy)
        return self.cap[(pool_id, w)]

    def run(self) -> HorizonVerification:
        p, prob = self.plan, self.problem
        h = prob.horizon
        self.check(p.months == h.months and len(p.timeline) == h.months, "horizon", "plan",
                   f"{len(p.timeline)} months planned for a horizon of {h.months}")
        ops_started = False
        npv = total = 0.0
        for mo in p.timeline:
            t = mo.month - 1
            fleet = {f.pool: f for f in mo.fleet}
            self._shares(mo, t)
            self._capacity(mo, t, fleet)
            self._commitments(mo, fleet)
            self._owned(mo, fleet)
            self._rate_limits(mo, t)
            self._energy(mo, t)
            cost = self._costs(mo, t, fleet)
            cost["fixed"] = self._fixed(mo)
            self._spot_cap(mo, fleet)
            self_hosted = bool(mo.fleet)
            ops_started = ops_started or self_hosted
            K = prob.policy.ops_overhead_monthly_usd
            self.check(abs(mo.cost_usd.get("ops", 0.0) - (K if ops_started else 0.0)) <= CENT, "ops", f"month {mo.month}",
                       f"ops overhead {mo.cost_usd.get('ops', 0.0):.2f}, expected {K if ops_started else 0.0:.2f} "
                       f"(runs from the month self-hosting starts)")
            cost["ops"] = mo.cost_usd.get("ops", 0.0) if ops_started else 0.0
            for k, val in cost.items():
                self.check(abs(mo.cost_usd.get(k, 0.0) - val) <= CENT + REL * abs(val), "cost", f"month {mo.month}",
                           f"{k} {mo.cost_usd.get(k, 0.0):.2f} recomputed {val:.2f}")
            B = prob.policy.budget_monthly_usd
            if B is not None:
                run = sum(v for k, v in cost.items() if k != "owned_capex")
                self.check(run <= B * (1 + REL) + CENT, "budget", f"month {mo.month}",
                           f"running cost ${run:,.2f} > policy.budget_monthly_usd ${B:,.2f}")
            self.check(abs(sum(mo.cost_usd.values()) - mo.total_usd) <= CENT * len(mo.cost_usd), "sum",
                       f"month {mo.month}", "cost by kind does not add up to the month's total")
            self.check(abs(mo.discount_factor - self.disc(t)) <= 1e-9, "discount", f"month {mo.month}",
                       f"discount factor {mo.discount_factor} != {self.disc(t)}")
            npv += sum(cost.values()) * self.disc(t)
            total += sum(cost.values())
        tail = tail_npv = 0.0
        for c in p.commitments:
            L = TERM_MONTHS.get(c.capacity_type)
            self.check(L == c.term_months, "commitment", c.pool, f"term {c.term_months} months for {c.capacity_type}")
            offer = self.offer(c.pool)
            price = offer.hourly_usd(c.capacity_type) if offer else None
            self.check(price is not None and abs(price - c.hourly_usd_per_instance) <= REL * price, "price", c.pool,
                       f"commitment at {c.hourly_usd_per_instance}/h, catalog {price}")
            for tt in range(c.start_month - 1, c.start_month - 1 + (L or 0)):
                if tt >= h.months:
                    usd = c.instances * c.hourly_usd_per_instance * HOURS_PER_MONTH
                    tail += usd
                    tail_npv += usd * self.disc(tt)
        resid = 0.0
        for b in p.purchases:
            q = self.owned_quote.get(b.server)
            if not self.check(q is not None, "owned", b.pool, f"no owned quote '{b.server}'"):
                continue
            self.check(b.delivery_month == b.order_month + q.lead_time_months, "owned", b.pool,
                       f"delivered month {b.delivery_month}, ordered {b.order_month} + lead {q.lead_time_months}")
            self.check(abs(b.price_usd - q.server_price_usd) <= CENT, "price", b.pool, "server price differs")
            resid += q.book_value(h.months - (b.order_month - 1) - q.lead_time_months) * b.servers
        npv += tail_npv - resid * self.disc(h.months)
        self.check(abs(p.total_usd - total) <= CENT * (1 + h.months), "total", "plan",
                   f"total {p.total_usd:.2f} recomputed {total:.2f}")
        self.check(abs(p.committed_past_horizon_usd - tail) <= CENT * (1 + len(p.commitments)), "commitment", "plan",
                   f"past the horizon {p.committed_past_horizon_usd:.2f} recomputed {tail:.2f}")
        # each purchase's book value per server is rounded to the cent, then multiplied by its servers
        self.check(abs(p.residual_value_usd - resid) <= CENT * (1 + sum(b.servers for b in p.purchases)), "owned", "plan",
                   f"residual value {p.residual_value_usd:.2f} recomputed {resid:.2f}")
        self.check(abs(p.npv_usd - npv) <= CENT * (2 + h.months) + REL * abs(npv), "npv", "plan",
                   f"NPV {p.npv_usd:.2f} recomputed {npv:.2f}")
        if p.status == "optimal":
            self.check(p.gap is None or p.gap <= 1e-4 + 1e-9, "status", "plan", f"optimal with gap {p.gap}")
        return self.v

    def _shares(self, mo, t: int) -> None:
        dep = self.problem.policy.deployment
        for w in self.problem.serving:
            lines = [s for s in mo.shares if s.workload == w.name]
            tot = sum(s.share for s in lines)
            self.check(abs(tot - 1) <= 1e-6, "demand", f"month {mo.month} {w.name}", f"shares add up to {tot:.9f}")
            if w.spike_factor > 1:
                sp = sum(s.spike_share for s in lines)
                self.check(abs(sp - 1) <= 1e-6, "spike", f"month {mo.month} {w.name}",
                           f"spike shares add up to {sp:.9f}")
            for s in lines:
                if s.option.startswith("api:"):
                    self.check(dep != "air_gapped", "deployment", f"month {mo.month} {s.option}",
                               "an API in an air-gapped deployment")
                    self.check(s.option.removesuffix(":batch") in self.apis, "catalog", s.option, "unknown API")
            api = sum(s.share for s in lines if s.option.startswith("api:"))
            self.check(abs(mo.api_share.get(w.name, 0.0) - api) <= 1e-5, "api_share", f"month {mo.month} {w.name}",
                       f"api_share {mo.api_share.get(w.name)} recomputed {api}")

    def _capacity(self, mo, t: int, fleet: dict) -> None:
        dep = self.problem.policy.deployment
        loads: dict = {}
        for s in mo.shares:
            if s.option.startswith("api:"):
                continue
            w = self.serving[s.workload]
            f = fleet.get(s.option)
            line = f"month {mo.month} {s.workload} on {s.option}"
            if not self.check(f is not None and f.instances >= 1, "capacity", line, "a share on a pool with no "
                              "instance this month"):
                continue
            cap = self.capacity(s.option, s.workload, line)
            if cap is None:
                continue
            load = (s.share + (w.spike_factor - 1) * s.spike_share) * peak(w, self.problem.horizon, t) / cap
            loads[s.option] = loads.get(s.option, 0.0) + load
        for pid, f in fleet.items():
            ld = loads.get(pid, 0.0)
            self.check(ld <= f.instances * (1 + REL) + 1e-6, "capacity", f"month {mo.month} {pid}",
                       f"load at the spike needs {ld:.6f} instances, the plan has {f.instances}")
            kind = f.capacity_type
            self.check(kind == "owned" or (dep == "cloud" and kind in self.problem.policy.capacity_types),
                       "capacity_type", f"month {mo.month} {pid}", f"{kind} not allowed (deployment {dep}, "
                       f"capacity_types {list(self.problem.policy.capacity_types)})")

    def _commitments(self, mo, fleet: dict) -> None:
        for pid, f in fleet.items():
            if not f.capacity_type.startswith("reserved"):
                continue
            active = sum(c.instances for c in self.plan.commitments if c.pool == pid and c.start_month <= mo.month
                         < c.start_month + TERM_MONTHS[c.capacity_type])
            self.check(active == f.instances, "commitment", f"month {mo.month} {pid}",
                       f"{f.instances} reserved instances, {active} committed")
        for c in self.plan.commitments:
            if c.start_month <= mo.month < c.start_month + c.term_months:
                self.check(c.pool in fleet and fleet[c.pool].instances >= c.instances, "commitment",
                           f"month {mo.month} {c.pool}", "a commitment shrinks before its term ends")

    def _owned(self, mo, fleet: dict) -> None:
        for pid, f in fleet.items():
            if f.capacity_type != "owned":
                continue
            k = self.delivered(mo.month).get(pid, 0)
            self.check(f.instances <= k, "owned", f"month {mo.month} {pid}",
                       f"{f.instances} servers in use, {k} delivered")

    def _rate_limits(self, mo, t: int) -> None:
        use: dict = {}
        for s in mo.shares:
            a = self.apis.get(s.option)
            if a is None:
                continue
            w = self.serving[s.workload]
            r = (s.share + (w.spike_factor - 1) * s.spike_share) * peak(w, self.problem.horizon, t) * 60
            g = use.setdefault(a.rate_group if hasattr(a, "rate_group") else a.api_id, [a, 0.0, 0.0])
            g[1] += r
            g[2] += r * (w.input_tokens + w.output_tokens)
        for gname, (a, rpm, tpm) in use.items():
            if a.rpm:
                self.check(rpm <= a.rpm * (1 + 1e-6), "rate_limit_rpm", f"month {mo.month} {gname}",
                           f"{rpm:,.1f} requests/min at the spike > limit {a.rpm:,}")
            if a.tpm:
                self.check(tpm <= a.tpm * (1 + 1e-6), "rate_limit_tpm", f"month {mo.month} {gname}",
                           f"{tpm:,.0f} tokens/min at the spike > limit {a.tpm:,}")

    def _energy(self, mo, t: int) -> None:
        """kWh and kg CO2e of the month recomputed with `month_energy` from the recomputed volumes, capacities and
        deliveries (not the plan's); every month under policy.max_co2e_kg_month is within it with no unknown line.
        A plan of schema 1.0 (no energy) is checked only against the cap."""
        h, cap = self.problem.horizon, self.problem.policy.max_co2e_kg_month
        delivered = self.delivered(mo.month)
        quote = {b.pool: self.owned_quote.get(b.server) for b in self.plan.purchases}
        fresh = mo.model_copy(update={"owned_delivered": delivered,
                                      "requests": {w.name: volume(w, h, t) for w in self.problem.serving}})
        spike = {w.name: spike_requests(w, h, t) for w in self.problem.serving}
        e = month_energy(fresh, catalog=self.catalog, max_utilization=self.problem.policy.max_utilization,
                         spike_requests=spike, capacity=lambda pid, w: self.capacity(pid, w, f"month {mo.month} {pid}"),
                         owned_quote=quote.get, api=self.apis.get, cap=cap)
        line = f"month {mo.month}"
        if mo.energy is not None:
            tol = CENT * (1 + len(e.lines))
            self.check(abs(mo.energy.kwh - e.kwh) <= tol + REL * e.kwh, "energy", line,
                       f"{mo.energy.kwh:,.2f} kWh, recomputed {e.kwh:,.2f}")
            self.check(abs(mo.energy.kg_co2e - e.kg_co2e) <= tol + REL * e.kg_co2e, "energy", line,
                       f"{mo.energy.kg_co2e:,.2f} kg CO2e, recomputed {e.kg_co2e:,.2f}")
        if cap is not None:
            self.check(not e.unknown_co2e, "carbon", line, f"carbon unknown for {', '.join(e.unknown_co2e)} under "
                       f"policy.max_co2e_kg_month")
            self.check(e.kg_co2e <= cap * (1 + REL) + CENT, "carbon", line,
                       f"{e.kg_co2e:,.2f} kg CO2e > policy.max_co2e_kg_month {cap:,.2f}")

    def _fixed(self, mo) -> float:
        """Each fixed-hours workload rents exactly one block a month that meets it (GPUs, single instance, GPU type
        or VRAM, jurisdiction, capacity type and spot), at the catalog's (or the quoted) price; returns the month's
        recomputed cost of the blocks."""
        pol, total = self.problem.policy, 0.0
        for f in self.problem.fixed:
            line = f"month {mo.month} fixed workload {f.name}"
            blocks = [b for b in mo.fixed if b.workload == f.name]
            if not self.check(len(blocks) == 1, "fixed_choice", line, f"{len(blocks)} blocks rented, not 1"):
                continue
            b = blocks[0]
            ok = self.check(b.instances * b.gpus_per_instance >= f.gpu_count, "fixed_choice", line,
                            f"{b.instances} x {b.gpus_per_instance} GPUs < gpu_count {f.gpu_count}")
            self.check(not f.single_instance or b.instances == 1, "fixed_choice", line,
                       f"single_instance but {b.instances} instances")
            self.check(b.capacity_type in ("on_demand", "spot") and b.capacity_type in pol.capacity_types,
                       "capacity_type", line, f"{b.capacity_type}: a block rents on-demand or spot capacity allowed "
                                              f"by policy.capacity_types")
            self.check(b.capacity_type != "spot" or f.spot, "spot_allowed", line, "spot for a block without spot: true")
            self.check(abs(b.hours - f.hours_per_month) <= 1e-9, "fixed_choice", line,
                       f"{b.hours} h a month, the workload needs {f.hours_per_month}")
            if b.option == f"{f.name}|quoted":
                per = f.gpu_count if f.single_instance else 1
                price, jur = per * (f.price_per_gpu_hour_usd or 0.0), f.price_jurisdiction
                if jur is None:
                    self.check("any" in f.jurisdictions, "residency", line, "a quote of unknown location")
            else:
                offer = self.offers.get(b.option.split("|")[1]) if b.option.count("|") == 2 else None
                if not self.check(offer is not None and offer.gpu == b.gpu and offer.gpus_per_instance
                                  == b.gpus_per_instance, "catalog", line, f"offer of {b.option} not found"):
                    continue
                price, jur = offer.hourly_usd(b.capacity_type), offer.jurisdiction
                if f.gpu is not None:
                    self.check(b.gpu == self.catalog.gpu(f.gpu).name, "fixed_choice", line, f"GPU {b.gpu} != {f.gpu}")
                elif f.min_vram_gib is not None:
                    self.check(self.catalog.gpus[b.gpu].vram_gib >= f.min_vram_gib, "vram_fit", line,
                               f"{b.gpu} has less than {f.min_vram_gib} GiB")
            if jur is not None:
                self.check(f.allows((jur,)), "residency", line, f"jurisdiction {jur} is outside {list(f.jurisdictions)}")
            ok = self.check(price is not None and abs(price - b.hourly_usd_per_instance) <= REL * price + 1e-9,
                            "price", line, f"{b.hourly_usd_per_instance}/h, catalog {price}") and ok
            usd = b.instances * (price or 0.0) * f.hours_per_month
            self.check(abs(b.monthly_cost_usd - usd) <= CENT, "cost", line, f"${b.monthly_cost_usd:,.2f} recomputed "
                                                                             f"${usd:,.2f}")
            total += usd
        return total

    def _spot_cap(self, mo, fleet: dict) -> None:
        """Spot GPU-hours (pools and blocks) within policy.max_spot_share of all GPU-hours, every month."""
        s = self.problem.policy.max_spot_share
        if s >= 1:
            return
        hours = [(f.capacity_type == "spot", HOURS_PER_MONTH * f.gpus_per_instance * f.instances) for f in fleet.values()]
        hours += [(b.capacity_type == "spot", b.instances * b.gpus_per_instance * b.hours) for b in mo.fixed]
        spot, total = sum(h for sp, h in hours if sp), sum(h for _, h in hours)
        self.check(spot <= s * total * (1 + REL) + 1e-6, "spot_cap", f"month {mo.month}",
                   f"spot {spot:,.0f} of {total:,.0f} GPU-hours > policy.max_spot_share {s}")

    def _costs(self, mo, t: int, fleet: dict) -> dict:
        h = self.problem.horizon
        cost = {"on_demand": 0.0, "spot": 0.0, "reserved": 0.0, "owned_capex": 0.0, "owned_opex": 0.0, "api": 0.0}
        for pid, f in fleet.items():
            if f.capacity_type == "owned":
                continue
            offer = self.offer(pid)
            price = offer.hourly_usd(f.capacity_type) if offer else None
            if not self.check(price is not None and abs(price - (f.hourly_usd_per_instance or 0)) <= REL * price,
                              "price", f"month {mo.month} {pid}", f"{f.hourly_usd_per_instance}/h, catalog {price}"):
                continue
            kind = "reserved" if f.capacity_type.startswith("reserved") else f.capacity_type
            cost[kind] += f.instances * price * HOURS_PER_MONTH
        for s in mo.shares:
            a = self.apis.get(s.option.removesuffix(":batch"))
            if a is None:
                continue
            w = self.serving[s.workload]
            mode = "batch" if s.option.endswith(":batch") else "realtime"
            pi = api_usd_per_request(a, w, mode)
            cost["api"] += pi * (volume(w, h, t) * s.share + spike_requests(w, h, t) * s.spike_share)
        staffed = set()
        for b in self.plan.purchases:
            q = self.owned_quote.get(b.server)
            if q is None:
                continue
            if b.order_month == mo.month:
                cost["owned_capex"] += q.server_price_usd * b.servers
        for pid, k in self.delivered(mo.month).items():
            q = next(self.owned_quote[b.server] for b in self.plan.purchases if b.pool == pid)
            used = fleet[pid].instances if pid in fleet else 0
            cost["owned_opex"] += q.running_usd_month * used + q.idle_usd_month * (k - used)
            if k and pid not in staffed:
                cost["owned_opex"] += q.staff_usd_month
                staffed.add(pid)
        return cost


def verify_horizon(plan: HorizonPlan, problem: Problem, catalog: Catalog, *,
                   today: dt.date | None = None) -> HorizonVerification:
    return _Checker(plan, problem, catalog).run()


__all__ = ["HorizonVerification", "Violation", "verify_horizon"]
