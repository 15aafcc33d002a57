"""Verify a plan against its problem by recomputing every constraint from the plan's lines and the catalog rows.

This module never reads the formulation or the solver's variables: it takes a `Plan` (as saved in JSON), the
`Problem` and the `Catalog`, and recomputes, line by line:

- demand: every serving workload's shares (pools + APIs) add up to 1;
- capacity: each pool's load at peak (sum over workloads of load_rps / capacity of one instance) fits its
  instances, with the instance capacity recomputed from the performance model (or the problem's measured figure);
- allow/deny lists and names: models, APIs (an exact `provider/model` spelling admits that provider only),
  providers, GPUs, precisions, capacity types;
- residency, spot eligibility, context windows, latency tiers (catalog TTFT/TPOT for APIs, the operating point for
  pools), deprecated APIs;
- API rate limits (RPM, TPM) at peak, per rate-limit group;
- spot cap, availability caps, budget;
- energy and carbon: each line's kWh and kg CO2e recomputed from its instances, load and the catalog's TDP, PUE
  and grid rows (explain/energy.py), and the plan's kg CO2e within policy.max_co2e_kg_month, with no line of
  unknown carbon under the cap;
- failover: for each provider the plan uses, the re-routed traffic (listed routes, else the normal routing scaled
  to the failover fraction) carries the fraction of every workload's peak, never on the lost provider, within
  pool capacity and API limits;
- prices and sums: each line's unit price equals the catalog's, line costs equal quantity x price, pool lines add
  up to the pool, everything adds up to the total, and the status agrees with the gap and the bound.

Each violation names the check, the line it concerns, and the numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from . import clock
from .candidates import (UNKNOWN_PROVIDER, api_usd_per_request, failover_provider_of, instance_capacity,
                         quoted_offers, replica_point)
from .catalog import Catalog
from .catalog.inline import with_problem_models
from .classes import expand_classes
from .techniques import expand_techniques
from .perf.queueing import mixed_headroom
from .result import Plan
from .problem import Problem, ServingWorkload
from .units import HOURS_PER_MONTH

REL = 1e-6  # relative tolerance of recomputed quantities
CENT = 0.011  # money compares to the cent (plus float noise)


@dataclass(frozen=True)
class Violation:
    check: str
    line: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.line}: {self.message}"


class _Checker:
    def __init__(self, plan: Plan, problem: Problem, catalog: Catalog, today: dt.date | None):
        catalog = with_problem_models(catalog, problem)  # models the problem defines inline
        problem = expand_classes(problem)  # a workload with request classes is planned as one workload per class
        problem = expand_techniques(problem)  # ... and one per technique slice (optimizer/techniques.py)
        self.plan, self.problem, self.catalog = plan, problem, catalog
        self.today = today or clock.today()
        self.out: list[Violation] = []
        self.checks = 0
        self.serving = {w.name: w for w in problem.serving}
        self.offers = {o.offer_id: o for o in catalog.offers}
        self.offers.update({o.offer_id: o for o in quoted_offers(problem, catalog)})
        self.apis = {a.api_id: a for a in catalog.apis}
        self.measured = {(m.workload, catalog.model(m.model).name, catalog.gpu(m.gpu).name, m.precision, m.tp): m.rps
                         for m in problem.measured}
        self.cap: dict[tuple, float] = {}  # (pool id, workload) -> requests/s of one instance
        self.point: dict[tuple, object] = {}  # (pool id, workload) -> ServingPoint per replica (None: measured)
        self.hourly = (plan.extras or {}).get("hourly") or {}
        self.autoscaled = {w for w, h in self.hourly.get("workloads", {}).items() if h.get("autoscaled")}

    def check(self, ok: bool, check: str, line: str, message: str) -> bool:
        self.checks += 1
        if not ok:
            self.out.append(Violation(check, line, message))
        return ok

    # --- pools -------------------------------------------------------------------------------------------------
    def pools(self) -> None:
        pol = self.problem.policy
        by_pool = defaultdict(list)
        for d in self.plan.deployments:
            if d.share is not None:
                by_pool[d.pool].append(d)
        for p in self.plan.pools:
            line = f"pool {p.pool}"
            offer_id, model_name, precision, _, ct = p.pool.rsplit("|", 4)
            offer = self.offers.get(offer_id)
            if not self.check(offer is not None, "catalog", line, f"offer '{offer_id}' is not in the catalog"):
                continue
            self.check(abs(p.hourly_usd_per_instance - (offer.hourly_usd(ct) or -1)) <= 1e-9, "price", line,
                       f"${p.hourly_usd_per_instance}/h but the catalog's {ct} price is {offer.hourly_usd(ct)}")
            # an always-on pool runs 730 h a month; an autoscaled one (hour by hour) the instance-hours its lines say
            hours = next((d.hours_per_month for d in by_pool.get(p.pool, [])), HOURS_PER_MONTH)
            self.check(hours <= HOURS_PER_MONTH + 1e-6, "cost", line, f"{hours} hours per instance in a month")
            self.check(abs(p.monthly_cost_usd - p.instances * p.hourly_usd_per_instance * hours) <= CENT + 1e-4 * hours,
                       "cost", line, f"${p.monthly_cost_usd} != {p.instances} x ${p.hourly_usd_per_instance}/h x "
                                     f"{hours:g} h")
            self.check(p.instances >= 1, "share_link", line, "a pool in the plan has no instance")
            self.check(ct in pol.capacity_types, "capacity_type", line,
                       f"capacity type {ct} is not in policy.capacity_types {list(pol.capacity_types)}")
            self._provider_allowed(offer.provider, line)
            if pol.include_gpus is not None:
                allowed = {self.catalog.gpu(g).name for g in pol.include_gpus}
                self.check(offer.gpu in allowed, "include_gpus", line, f"GPU {offer.gpu} is not in policy.include_gpus")
            lines = by_pool.get(p.pool, [])
            self.check(abs(sum(d.monthly_cost_usd for d in lines) - p.monthly_cost_usd) <= CENT or not lines,
                       "cost", line, f"its workload lines add up to ${sum(d.monthly_cost_usd for d in lines):,.2f}, "
                                     f"not the pool's ${p.monthly_cost_usd:,.2f}")
            load = 0.0
            for d in lines:
                w = self.serving.get(d.workload)
                dl = f"{line} / workload {d.workload}"
                if not self.check(w is not None, "names", dl, "not a serving workload of the problem"):
                    continue
                self._model_allowed(w, model_name, precision, dl)
                self.check(w.allows((offer.jurisdiction,)), "residency", dl,
                           f"jurisdiction {offer.jurisdiction} is outside {list(w.jurisdictions)}")
                self.check(ct != "spot" or w.spot, "spot_allowed", dl, "spot capacity for a workload without spot: true")
                self.check(d.jurisdiction == offer.jurisdiction and d.cloud == offer.provider, "catalog", dl,
                           f"line says {d.cloud}/{d.jurisdiction}, the offer is {offer.provider}/{offer.jurisdiction}")
                cap = self.capacity(p.pool, w.name, dl)
                if cap is None:
                    continue
                # plan lines keep shares and loads to 10 significant digits
                self.check(abs(d.load_rps - d.share * w.peak) <= REL * w.peak + 1e-12, "demand", dl,
                           f"load {d.load_rps} req/s != share {d.share} x peak {w.peak:.6g}")
                if w.name not in self.autoscaled:  # hour by hour: checked in `hourly`
                    load += d.share * w.peak / cap
            self.check(load <= p.instances * (1 + REL) + 1e-9, "capacity", line,
                       f"peak load needs {load:.6g} instances, the plan has {p.instances}")
            self._shared_queue(p, offer, lines, load)

    def _shared_queue(self, p, offer, lines, load: float) -> None:
        """Workloads of different lengths on one pool share its queue (mixing.py): at the plan's loads the pool
        may use at most the headroom d of its planned capacity at which every workload's TTFT (service plus the
        wait at policy.ttft_quantile, perf/queueing.mixed_wait_s) meets its target. Peak lines of workloads that
        are not autoscaled, with modelled capacities (a measured one is the real system's)."""
        live = [d for d in lines if d.workload in self.serving and d.workload not in self.autoscaled
                and d.share * self.serving[d.workload].peak > 0]
        if len(live) < 2 or p.instances < 1:
            return
        tp = int(p.pool.rsplit("|", 4)[3].removeprefix("tp"))
        rpi = max(1, offer.gpus_per_instance // tp)
        classes, ca2 = [], 0.0
        for d in live:
            w = self.serving[d.workload]
            cap, pt = self.cap.get((p.pool, w.name)), self.point.get((p.pool, w.name))
            if not cap or pt is None:
                return
            classes.append((d.share * w.peak, cap / rpi, pt.batch, pt.slot_s,
                            (w.ttft_target_ms - pt.service_ttft_ms) / 1000.0))
            ca2 = max(ca2, w.arrival_cv2)
        head = mixed_headroom(classes, self.problem.policy.ttft_quantile, ca2)
        if head >= 1.0:
            return  # the capacity check above covers it
        self.check(load <= head * p.instances * (1 + REL) + 1e-9, "capacity", f"pool {p.pool}",
                   f"{len(live)} workloads share its queue: at this mix it may run at {head:.4g} of its planned "
                   f"capacity, the plan runs it at {load / p.instances:.4g}")

    def capacity(self, pool_id: str, workload: str, line: str) -> float | None:
        """Requests/s one instance of the pool gives the workload, recomputed (None, with a violation, if it
        cannot serve it at all)."""
        if (pool_id, workload) in self.cap:
            return self.cap[(pool_id, workload)]
        offer_id, model_name, precision, tp_s, ct = pool_id.rsplit("|", 4)
        offer, w = self.offers.get(offer_id), self.serving[workload]
        model = self.catalog.models.get(model_name)
        gpu = self.catalog.gpus.get(offer.gpu) if offer else None
        if not self.check(model is not None and gpu is not None, "catalog", line, "model or GPU not in the catalog"):
            return None
        tp = int(tp_s.removeprefix("tp"))
        key = (w.name, model.name, gpu.name, precision, tp)
        if key in self.measured:
            rps = self.measured[key]
        else:
            rps, why, _ = replica_point(model, gpu, precision, tp, w, self.problem.policy)
            if not self.check(rps is not None, why or "capacity", line,
                              f"{model.name} {precision} tp{tp} on {gpu.name} cannot serve it ({why})"):
                return None
            self.point[(pool_id, workload)] = why  # the operating point behind the capacity
        self.cap[(pool_id, workload)] = instance_capacity(rps, offer, tp, ct, self.problem.policy)
        return self.cap[(pool_id, workload)]

    def _model_allowed(self, w: ServingWorkload, model_name: str, precision: str, line: str) -> None:
        named = set()
        for m in w.models:
            try:
                named.add(self.catalog.model(m).name)
            except KeyError:
                pass
        tier_ok = w.min_quality_tier is not None and self.catalog.models[model_name].quality_tier >= w.min_quality_tier
        self.check(model_name in named or tier_ok, "models", line,
                   f"model {model_name} is neither in the workload's models {list(w.models)} nor of its quality tier")
        self.check(precision in w.precisions, "precision", line,
                   f"precision {precision} is not in the workload's precisions {list(w.precisions)}")

    def _provider_allowed(self, provider: str, line: str) -> None:
        pol = self.problem.policy
        self.check(provider not in pol.exclude_providers, "provider", line,
                   f"provider {provider} is in policy.exclude_providers")
        if pol.include_providers is not None:
            self.check(provider in pol.include_providers, "provider", line,
                       f"provider {provider} is not in policy.include_providers")

    # --- APIs --------------------------------------------------------------------------------------------------
    def apis_(self) -> None:
        rpm, tpm = defaultdict(float), defaultdict(float)
        for a in self.plan.api:
            line = f"API {a.api_id} ({a.mode}) / workload {a.workload}"
            api = self.apis.get(a.api_id)
            w = self.serving.get(a.workload)
            if not self.check(api is not None and w is not None, "catalog", line, "API or workload unknown"):
                continue
            self._provider_allowed(api.provider, line)
            self._api_named(w, a.api_id, line)
            self.check(w.allows(api.jurisdictions), "residency", line,
                       f"jurisdictions {list(api.jurisdictions)} are outside {list(w.jurisdictions)}")
            if api.max_context:
                self.check(w.input_tokens + w.output_tokens <= api.max_context, "context_length", line,
                           f"{w.input_tokens + w.output_tokens} tokens > context {api.max_context}")
            if api.deprecation_date is not None:
                self.check(api.deprecation_date > self.today, "deprecated", line,
                           f"deprecated since {api.deprecation_date}")
            if a.mode == "realtime":
                self.check(api.ttft_ms <= w.ttft_target_ms and api.tpot_ms <= w.tpot_target_ms, "latency_tier", line,
                           f"typical TTFT {api.ttft_ms:g} ms / TPOT {api.tpot_ms:g} ms > target "
                           f"{w.ttft_target_ms:g} / {w.tpot_target_ms:g} ms")
                if w.name not in self.autoscaled:  # hour by hour: checked in `hourly`
                    rpm[a.api_id] += 60 * w.peak * a.share
                    tpm[a.api_id] += 60 * w.peak * a.share * (w.input_tokens + w.output_tokens)
            else:
                self.check(w.latency_tier == "batch", "latency_tier", line, "batch API for a non-batch workload")
            usd = api_usd_per_request(api, w, a.mode)
            self.check(abs(a.usd_per_request - usd) <= 1e-12 + REL * usd, "price", line,
                       f"${a.usd_per_request}/request but the catalog gives ${usd}")
            self.check(abs(a.monthly_cost_usd - w.requests_per_month * a.share * usd) <= CENT, "cost", line,
                       f"${a.monthly_cost_usd} != {w.requests_per_month:g} x {a.share} x ${usd}")
        for g, v in rpm.items():
            api = self.apis[g]
            if api.rpm:
                self.check(v <= api.rpm * (1 + REL), "rate_limit_rpm", f"API {g}",
                           f"{v:,.1f} requests/min at peak > RPM limit {api.rpm:,}")
            if api.tpm:
                self.check(tpm[g] <= api.tpm * (1 + REL), "rate_limit_tpm", f"API {g}",
                           f"{tpm[g]:,.0f} tokens/min at peak > TPM limit {api.tpm:,}")

    def _api_named(self, w: ServingWorkload, api_id: str, line: str) -> None:
        api = self.apis[api_id]
        ok = w.min_quality_tier is not None and api.quality_tier >= w.min_quality_tier
        for name in w.apis:
            exact = [a for a in self.catalog.apis if name in (a.api_id, f"{a.provider}/{a.model}")]
            logical = {a.model for a in self.catalog.apis} & {name, self.catalog.model_names.get(name)}
            if exact:
                ok = ok or api in exact
            elif logical:
                ok = ok or api.model in logical
            else:
                ok = ok or api.provider_model_id == name
        self.check(ok, "apis", line, f"API {api_id} is not one the workload names ({list(w.apis)})")

    # --- workloads, fixed blocks, totals ---------------------------------------------------------------------
    def demand(self) -> None:
        share = defaultdict(float)
        for d in self.plan.deployments:
            if d.share is not None:
                share[d.workload] += d.share
        for a in self.plan.api:
            share[a.workload] += a.share
        from .techniques import groups
        grouped = {s for g in groups(self.problem) for s in g.slices}  # checked in `techniques_`
        for w in self.problem.serving:
            if w.name in grouped:
                continue
            self.check(abs(share[w.name] - 1.0) <= 1e-5, "demand", f"workload {w.name}",
                       f"shares add up to {share[w.name]:.6f}, not 1 (part of its traffic is unserved)")
        names = {w.name for w in self.problem.workloads}
        for wl in self.plan.workloads:
            self.check(wl.name in names, "names", f"workload {wl.name}", "not in the problem")

    def fixed(self) -> None:
        pol = self.problem.policy
        for f in self.problem.fixed:
            lines = [d for d in self.plan.deployments if d.workload == f.name and d.share is None]
            line = f"fixed workload {f.name}"
            if not self.check(len(lines) == 1, "fixed_choice", line, f"{len(lines)} blocks bought, not 1"):
                continue
            d = lines[0]
            self.check(d.instances * d.gpus_per_instance >= f.gpu_count, "fixed_choice", line,
                       f"{d.instances} x {d.gpus_per_instance} GPUs < gpu_count {f.gpu_count}")
            self.check(not f.single_instance or d.instances == 1, "fixed_choice", line,
                       f"single_instance but {d.instances} instances")
            self.check(d.capacity_type in pol.capacity_types, "capacity_type", line,
                       f"capacity type {d.capacity_type} is not in policy.capacity_types")
            self.check(d.capacity_type != "spot" or f.spot, "spot_allowed", line, "spot for a block without spot: true")
            if d.jurisdiction != "unknown (quoted)":
                self.check(f.allows((d.jurisdiction,)), "residency", line,
                           f"jurisdiction {d.jurisdiction} is outside {list(f.jurisdictions)}")
            else:
                self.check("any" in f.jurisdictions, "residency", line, "a quote of unknown location")
            if f.gpu is not None:
                want = self.catalog.gpu_names.get(f.gpu) or f.gpu  # a quote may name a GPU the catalog lacks
                self.check(d.gpu == want, "fixed_choice", line, f"GPU {d.gpu} != {want}")
            elif d.gpu in self.catalog.gpus:
                self.check(self.catalog.gpus[d.gpu].vram_gib >= f.min_vram_gib, "vram_fit", line,
                           f"{d.gpu} has less than {f.min_vram_gib} GiB")
            hours = HOURS_PER_MONTH if d.capacity_type.startswith("reserved") else f.hours_per_month
            self.check(abs(d.monthly_cost_usd - d.instances * d.hourly_usd_per_instance * hours) <= CENT, "cost", line,
                       f"${d.monthly_cost_usd} != {d.instances} x ${d.hourly_usd_per_instance}/h x {hours:g} h")

    def totals(self) -> None:
        p = self.plan
        lines = sum(d.monthly_cost_usd for d in p.deployments) + sum(a.monthly_cost_usd for a in p.api) + sum(
            f.monthly_cost_usd for f in p.fixed)
        n_lines = len(p.deployments) + len(p.api) + len(p.fixed) + 1
        self.check(abs(lines - p.monthly_cost_usd) <= CENT, "cost", "total",
                   f"lines add up to ${lines:,.2f}, the plan says ${p.monthly_cost_usd:,.2f}")
        wsum = sum(w.monthly_cost_usd for w in p.workloads) + sum(f.monthly_cost_usd for f in p.fixed)
        self.check(abs(wsum - p.monthly_cost_usd) <= CENT, "cost", "total",
                   f"workloads add up to ${wsum:,.2f}, the plan says ${p.monthly_cost_usd:,.2f}")
        self_hosted = any(d.share is not None for d in p.deployments)
        ops = sum(f.monthly_cost_usd for f in p.fixed if f.name.startswith("ops overhead"))
        want_ops = self.problem.policy.ops_overhead_monthly_usd if self_hosted else 0.0
        self.check(abs(ops - want_ops) <= CENT, "ops_link", "ops overhead", f"${ops:,.2f} charged, ${want_ops:,.2f} due")
        B = self.problem.policy.budget_monthly_usd
        if B is not None:
            self.check(p.monthly_cost_usd <= B + CENT, "budget", "total",
                       f"${p.monthly_cost_usd:,.2f} > budget ${B:,.2f}")
        if p.lower_bound_usd is not None:
            self.check(p.monthly_cost_usd >= p.lower_bound_usd - 0.005 * n_lines, "status", "total",
                       f"cost ${p.monthly_cost_usd:,.2f} is below the solver's lower bound ${p.lower_bound_usd:,.2f}")
        if p.status == "optimal":
            self.check(p.gap is not None and p.gap <= 1e-4 + 1e-9, "status", "status",
                       f"reported optimal with gap {p.gap}")

    def spot_and_availability(self) -> None:
        pol = self.problem.policy
        gh = spot = 0.0
        per_offer = defaultdict(int)
        for p in self.plan.pools:
            offer = self.offers.get(p.pool.rsplit("|", 4)[0])
            g = (offer.gpus_per_instance if offer else 1) * p.instances * HOURS_PER_MONTH
            gh += g
            spot += g if p.capacity_type == "spot" else 0.0
            if offer is not None:
                per_offer[offer.offer_id] += p.instances
        for d in self.plan.deployments:
            if d.share is None:
                hours = d.instances * d.gpus_per_instance * next(
                    (f.hours_per_month for f in self.problem.fixed if f.name == d.workload), 0.0)
                gh += hours
                spot += hours if d.capacity_type == "spot" else 0.0
        if pol.max_spot_share < 1:
            self.check(spot <= pol.max_spot_share * gh * (1 + REL) + 1e-6, "spot_cap", "fleet",
                       f"{spot:,.0f} spot GPU-hours > {pol.max_spot_share:.0%} of {gh:,.0f}")
        for oid, k in per_offer.items():
            cap = self.offers[oid].max_instances
            if cap is not None:
                self.check(k <= cap, "availability", f"offer {oid}", f"{k} instances > cap {cap}")

    def hourly_(self) -> None:
        """Autoscaled workloads, hour by hour: shares add up to 1, the self-hosted part fits the instances running
        that hour (at the best instance capacity among the workload's pools: a necessary condition, exact for a
        workload on one pool), and API traffic stays within RPM/TPM."""
        pools = self.hourly.get("pools", {})
        lines = defaultdict(list)
        for d in self.plan.deployments:
            if d.share is not None:
                lines[d.workload].append(d.pool)
        load = defaultdict(lambda: [0.0] * 24)
        rpm, tpm = defaultdict(lambda: [0.0] * 24), defaultdict(lambda: [0.0] * 24)
        for name in sorted(self.autoscaled):
            h, w = self.hourly["workloads"][name], self.serving.get(name)
            if w is None:
                continue
            level, own = h.get("level_by_hour", [1.0] * 24), h.get("self_hosted_share_by_hour", [0.0] * 24)
            apis = h.get("api_share_by_hour", {})
            caps = [c for c in (self.capacity(pid, name, f"pool {pid} / workload {name}") for pid in lines[name]) if c]
            for hr in range(24):
                total = own[hr] + sum(v[hr] for v in apis.values())
                self.check(abs(total - 1) <= 1e-5, "demand", f"workload {name} hour {hr}",
                           f"shares add up to {total:.6f}, not 1")
                rate = w.average_rps * level[hr]
                if own[hr] > 1e-9:
                    if self.check(bool(caps), "capacity", f"workload {name} hour {hr}", "self-hosted share, no pool"):
                        key = tuple(sorted(lines[name]))
                        load[key][hr] += rate * own[hr] / max(caps)
                for api_id, sh in apis.items():
                    rpm[api_id][hr] += 60 * rate * sh[hr]
                    tpm[api_id][hr] += 60 * rate * sh[hr] * (w.input_tokens + w.output_tokens)
        for key, by_hour in load.items():
            for hr, v in enumerate(by_hour):
                inst = sum(pools.get(pid, {}).get("instances_by_hour", [0] * 24)[hr] for pid in key)
                self.check(v <= inst * (1 + REL) + 1e-9, "capacity", f"pools {', '.join(key)} hour {hr}",
                           f"load needs {v:.6g} instances, {inst} run that hour")
        for api_id, by_hour in rpm.items():
            api = self.apis.get(api_id)
            for hr, v in enumerate(by_hour):
                if api and api.rpm:
                    self.check(v <= api.rpm * (1 + REL), "rate_limit_rpm", f"API {api_id} hour {hr}",
                               f"{v:,.1f} requests/min > RPM {api.rpm:,}")
                if api and api.tpm:
                    self.check(tpm[api_id][hr] <= api.tpm * (1 + REL), "rate_limit_tpm", f"API {api_id} hour {hr}",
                               f"{tpm[api_id][hr]:,.0f} tokens/min > TPM {api.tpm:,}")

    def failover(self) -> None:
        fo = self.problem.policy.failover
        if fo is None:
            return
        phi = fo.fraction
        option_provider, normal = {}, defaultdict(dict)
        for p in self.plan.pools:
            option_provider[p.pool] = failover_provider_of(self.offers[p.pool.rsplit("|", 4)[0]])
        for d in self.plan.deployments:
            if d.share:
                normal[d.workload][("pool", d.pool)] = phi * d.share * self.serving[d.workload].peak
        for a in [*self.plan.api, *self.plan.standby_api]:
            option_provider[a.api_id] = a.provider
            if a.share:
                normal[a.workload][("api", a.api_id, a.mode)] = phi * a.share * self.serving[a.workload].peak
        used = {option_provider[k[1]] for routes in normal.values() for k in routes}
        for prov in sorted(used):
            routes = defaultdict(dict)
            for r in self.plan.failover_routes:
                if r.lost_provider == prov:
                    key = ("pool", r.target) if r.kind == "pool" else ("api", r.target, r.mode or "realtime")
                    routes[r.workload][key] = routes[r.workload].get(key, 0.0) + r.rps
            for w in self.problem.serving:
                use = routes.get(w.name) or normal.get(w.name, {})
                line = f"failover without {prov} / workload {w.name}"
                total = sum(use.values())
                self.check(total >= phi * w.peak * (1 - 1e-5) - 1e-9, "failover_demand", line,
                           f"{total:.6g} req/s re-routed, {phi:.0%} of peak is {phi * w.peak:.6g}")
                for key in use:
                    tp = option_provider.get(key[1])
                    self.check(tp is not None and tp not in (prov, UNKNOWN_PROVIDER), "failover_demand", line,
                               f"routed to {key[1]}, which is lost with {prov} or has no known provider")
                routes[w.name] = use
            load = defaultdict(float)
            rpm, tpm = defaultdict(float), defaultdict(float)
            for w, use in routes.items():
                wl = self.serving[w]
                for key, rps in use.items():
                    if key[0] == "pool":
                        cap = self.capacity(key[1], w, f"failover without {prov} / {key[1]} / workload {w}")
                        if cap is not None:
                            load[key[1]] += rps / cap
                    elif key[2] == "realtime":
                        rpm[key[1]] += 60 * rps
                        tpm[key[1]] += 60 * rps * (wl.input_tokens + wl.output_tokens)
            inst = {p.pool: p.instances for p in self.plan.pools}
            for pid, v in load.items():
                self.check(v <= inst.get(pid, 0) * (1 + REL) + 1e-9, "failover_capacity",
                           f"failover without {prov} / pool {pid}", f"needs {v:.6g} instances, has {inst.get(pid, 0)}")
            for g, v in rpm.items():
                api = self.apis.get(g)
                if api and api.rpm:
                    self.check(v <= api.rpm * (1 + REL), "failover_rpm", f"failover without {prov} / API {g}",
                               f"{v:,.1f} requests/min > RPM {api.rpm:,}")
                if api and api.tpm:
                    self.check(tpm[g] <= api.tpm * (1 + REL), "failover_tpm", f"failover without {prov} / API {g}",
                               f"{tpm[g]:,.0f} tokens/min > TPM {api.tpm:,}")

    def techniques_(self) -> None:
        _check_techniques(self)


    # --- energy and carbon ---------------------------------------------------------------------------------------
    def energy(self) -> None:
        from .explain.energy import plan_energy
        p, cap = self.plan, self.problem.policy.max_co2e_kg_month
        parts = {"deployments": p.deployments, "api": p.api, "workloads": p.workloads}
        e = plan_energy(parts, self.catalog, self.problem.policy.max_utilization, cap)
        if p.energy is not None:
            mine = {x.name: x for x in e.lines}
            for x in p.energy.lines:
                y = mine.get(x.name)
                if not self.check(y is not None, "energy", f"energy {x.name}", "no such line in the plan"):
                    continue
                for fld in ("kwh", "kg_co2e"):
                    a, b = getattr(x, fld), getattr(y, fld)
                    self.check((a is None) == (b is None) and (a is None or abs(a - b) <= 0.011 + REL * abs(b)),
                               "energy", f"energy {x.name}", f"{fld} {a} but its lines give {b}")
            self.check(len(p.energy.lines) == len(e.lines), "energy", "energy",
                       f"{len(p.energy.lines)} energy lines for {len(e.lines)} pools, blocks and APIs")
        if cap is not None:
            unknown = e.unknown_co2e
            self.check(not unknown, "carbon", "total", f"carbon of {unknown} is unknown under "
                                                        f"policy.max_co2e_kg_month")
            self.check(e.kg_co2e <= cap * (1 + 1e-6) + 0.011, "carbon", "total",
                       f"{e.kg_co2e:,.2f} kg CO2e/month > cap {cap:,.2f}")


@dataclass(frozen=True)
class Verification:
    checks: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def _check_techniques(c: _Checker) -> None:
    """Cost techniques and quality floors, recomputed from the plan's lines: the slices' shares plus the cache
    hits of the layers the plan says are on cover the workload; compressed slices carry all fresh traffic or none;
    the small slices carry share_routable of it or none; a technique is on only if its `use` allows it (and is on
    when `use: on`); each technique's cost line equals its cost recomputed; the blended quality score (recomputed
    from each line's tier and precision) keeps the floor."""
    from .techniques import SMALL, groups, quality_score, slice_flags, technique_costs, technique_line_name
    section = (c.plan.extras or {}).get("techniques") or {}
    fixed = {f.name: f.monthly_cost_usd for f in c.plan.fixed}
    for g in groups(c.problem):
        line = f"workload {g.name}"
        entry = section.get(g.name)
        if not c.check(entry is not None, "techniques", line, "the plan has no techniques section for it"):
            continue
        on = {t["technique"]: bool(t["used"]) for t in entry.get("techniques", [])}
        served, shares = [], defaultdict(float)
        for d in c.plan.deployments:
            if d.share and d.workload in g.slices:
                served.append((d.workload, d.pool, d.share, c.catalog.models[d.model].quality_tier
                               if d.model in c.catalog.models else 1, d.precision))
        for a in c.plan.api:
            if a.workload in g.slices:
                api = c.apis.get(a.api_id)
                served.append((a.workload, a.api_id, a.share, api.quality_tier if api else 1, "fp16"))
        for s, _, share, _, _ in served:
            shares[s] += share
        bad = set(shares) - set(g.slices)
        c.check(not bad, "techniques", line, f"lines on unknown slices {sorted(bad)}")
        t = g.t
        he, hs = g.cache_rates()
        uses = {"exact_cache": t.cache.use if t and t.cache else "off",
                "semantic_cache": t.cache.semantic_use if t and t.cache else "off",
                "prompt_compression": t.prompt_compression.use if t and t.prompt_compression else "off",
                "cascade": t.cascade.use if t and t.cascade else "off",
                "quantization": t.quantization.use if t else "auto"}
        for name, used in on.items():
            c.check(not (used and uses[name] == "off"), "techniques", line, f"{name} is used but its use is off")
            c.check(used or uses[name] != "on", "techniques", line, f"{name} is not used but its use is on")
        below16 = any(p != "fp16" for *_, p in served)
        c.check(on.get("quantization", False) == below16 or ("quantization" not in on and not below16), "techniques",
                line, f"quantization said {'used' if on.get('quantization') else 'unused'}, but pools below 16 bits "
                      f"{'carry' if below16 else 'carry no'} traffic")
        fresh = 1 - (he if on.get("exact_cache") else 0) - (hs if on.get("semantic_cache") else 0)
        total = sum(shares.values())
        c.check(abs(total - fresh) <= 1e-5, "demand", line,
                f"shares add up to {total:.6f}, but {fresh:.6f} of the traffic is left after the cache hits")
        comp = sum(v for s, v in shares.items() if slice_flags(s)[1])
        small = sum(v for s, v in shares.items() if slice_flags(s)[0])
        c.check(abs(comp - (fresh if on.get("prompt_compression") else 0)) <= 1e-5, "compression_slices", line,
                f"{comp:.6f} of the traffic is compressed, expected {'all fresh' if on.get('prompt_compression') else 'none'}")
        want_small = t.cascade.share_routable * fresh if on.get("cascade") else 0.0
        c.check(abs(small - want_small) <= 1e-5, "cascade_share", line,
                f"{small:.6f} of the traffic goes to the small ({SMALL}) slices, expected {want_small:.6f}")
        costs = technique_costs(g, on, shares)
        for name in ("exact_cache", "semantic_cache", "prompt_compression", "cascade"):
            want = round(costs[name][0], 2) if name in costs else 0.0
            got = fixed.get(technique_line_name(name, g.name), 0.0)
            c.check(abs(got - want) <= CENT, "cost", line, f"{name} costs ${got:,.2f} in the plan, recomputed "
                                                           f"${want:,.2f}")
        if g.workload.min_quality is not None:
            q = quality_score(g, served, on.get("semantic_cache", False))["score"]
            c.check(q >= g.workload.min_quality - 1e-5, "quality", line,
                    f"blended quality score {q:.4f} < min_quality {g.workload.min_quality}")


def with_verification(plan, v):
    """`plan` (a single-month or a horizon plan) with its verification attached: a plan that fails it is
    `unverified` (never `optimal`), each violation among its warnings."""
    update = {"verification": {"checks": v.checks, "violations": [str(x) for x in v.violations]}}
    if not v.ok:
        update["status"] = "unverified"
        update["warnings"] = [*plan.warnings, *(f"verification failed: {x}" for x in v.violations)]
    return plan.model_copy(update=update)


def verify_plan(plan: Plan, problem: Problem, catalog: Catalog, *, today: dt.date | None = None) -> Verification:
    """Recompute every constraint of `problem` from `plan`'s lines and `catalog`'s rows."""
    c = _Checker(plan, problem, catalog, today)
    c.demand()
    c.pools()
    c.apis_()
    c.fixed()
    c.spot_and_availability()
    c.hourly_()
    c.failover()
    c.techniques_()
    c.totals()
    c.energy()
    return Verification(c.checks, tuple(c.out))
