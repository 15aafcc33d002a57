"""Energy and carbon of a plan, recomputed from its lines (never from solver variables): kWh and kg CO2e a month for
every self-hosted pool and fixed-hours block, and for APIs a labelled estimate or "unknown". The power model is
`optimizer/perf/energy.py`; `verify` calls `plan_energy` on a saved plan and checks the cap with it.

A pool's busy instance-hours are the sum over its lines of requests/month x share x busy hours per request
(max_utilization / (3600 x capacity per instance)), capped at its instance-hours; a fixed-hours block is busy for
every hour it runs.
"""

from __future__ import annotations

from collections import defaultdict

from ..catalog import Catalog
from ..perf.energy import api_estimate, busy_hours_per_request, pool_energy
from ..result import EnergyLine, PlanEnergy
from ..units import HOURS_PER_MONTH

NOTE = ("power at the wall = PUE x GPUs x TDP x (0.2 idle + 0.3 host + 0.8 x busy share); carbon = kWh x the "
        "region's location-based grid intensity; APIs: provider-published per-prompt estimates or unknown "
        "(docs/energy.md)")


def _gpu(catalog: Catalog, name: str):
    try:
        return catalog.gpu(name)
    except KeyError:
        return None


def _pool_line(kind, name, workloads, inst_h, busy_h, gpu, gpus, cloud, region, catalog) -> EnergyLine:
    if gpu is None:
        return EnergyLine(kind=kind, name=name, workloads=workloads, instance_hours=round(inst_h, 2),
                          basis="unknown: the GPU is not in the catalog")
    e = pool_energy(gpu, gpus, cloud, region, catalog)
    busy = min(busy_h, inst_h)
    frac = round(busy / inst_h, 4) if inst_h > 0 else 0.0
    if e is None:
        why = "the GPU has no tdp_w" if gpu.tdp_w is None else "the catalog has no grid.csv"
        return EnergyLine(kind=kind, name=name, workloads=workloads, instance_hours=round(inst_h, 2),
                          busy_fraction=frac, basis=f"unknown: {why}")
    kwh = e.kwh(inst_h, busy)
    kg = e.kg(kwh)
    return EnergyLine(kind=kind, name=name, workloads=workloads, instance_hours=round(inst_h, 2), busy_fraction=frac,
                      kwh=round(kwh, 2), kg_co2e=None if kg is None else round(kg, 2), gco2e_per_kwh=e.gco2e_per_kwh,
                      pue=e.pue, basis=f"model: {e.basis}")


def plan_energy(plan_parts: dict, catalog: Catalog, max_utilization: float,
                max_co2e_kg_month: float | None = None) -> PlanEnergy:
    """`plan_parts`: the plan's `deployments`, `api` and `workloads` lines (objects with the Plan's fields)."""
    volume = {w.name: w.requests_per_month or 0.0 for w in plan_parts["workloads"]}
    pools: dict[str, dict] = {}
    busy: dict[str, float] = defaultdict(float)
    for d in plan_parts["deployments"]:
        if d.share is None:  # a fixed-hours block: busy all its hours
            pools[d.pool] = {"kind": "fixed", "d": d, "workloads": [d.workload]}
            busy[d.pool] += d.instances * d.hours_per_month
            continue
        entry = pools.setdefault(d.pool, {"kind": "pool", "d": d, "workloads": []})
        entry["workloads"].append(d.workload)
        if d.capacity_rps and d.instances:
            busy[d.pool] += volume.get(d.workload, 0.0) * d.share * busy_hours_per_request(
                d.capacity_rps / d.instances, max_utilization)
    lines = []
    for pid, entry in pools.items():
        d = entry["d"]
        lines.append(_pool_line(entry["kind"], pid, entry["workloads"], d.instances * d.hours_per_month, busy[pid],
                                _gpu(catalog, d.gpu), d.gpus_per_instance, d.cloud, d.region, catalog))
    for a in plan_parts["api"]:
        lines.append(api_line(f"{a.api_id} ({a.workload})", a.workload, a.requests_per_month, a.provider, a.model))
    return _total(lines, max_co2e_kg_month)


def owned_line(name: str, workloads: list, in_use: int, delivered: int, quote) -> EnergyLine:
    """Owned servers over a month, with the quote's own power figures (as the horizon model prices them): in use
    at `power_kw_load`, delivered but idle at `power_kw_idle`, times the site's PUE and 730 h; carbon from the
    quote's `grid_gco2e_per_kwh` (unknown without it)."""
    hours = delivered * HOURS_PER_MONTH
    kwh = (in_use * quote.power_kw_load + (delivered - in_use) * quote.power_kw_idle) * quote.pue * HOURS_PER_MONTH
    g = quote.grid_gco2e_per_kwh
    grid = (f"site grid {g:g} gCO2e/kWh (quote '{quote.name}')" if g is not None
            else "site grid unknown (the quote gives no grid_gco2e_per_kwh)")
    return EnergyLine(kind="owned", name=name, workloads=workloads, instance_hours=round(hours, 2),
                      busy_fraction=round(in_use / delivered, 4) if delivered else 0.0, kwh=round(kwh, 2),
                      kg_co2e=None if g is None else round(kwh * g / 1000, 2), gco2e_per_kwh=g, pue=quote.pue,
                      basis=f"quote: {in_use} of {delivered} servers in use at {quote.power_kw_load:g} kW, idle at "
                            f"{quote.power_kw_idle:g} kW, PUE {quote.pue:g}; {grid}")


def api_line(name: str, workload: str, requests: float, provider: str, model: str) -> EnergyLine:
    est = api_estimate(provider, model)
    if est is None:
        return EnergyLine(kind="api", name=name, workloads=[workload],
                          basis="unknown: the provider publishes no energy figure for this API")
    kg = None if est.gco2e_per_request is None else round(requests * est.gco2e_per_request / 1000, 2)
    return EnergyLine(kind="api", name=name, workloads=[workload], kwh=round(requests * est.wh_per_request / 1000, 2),
                      kg_co2e=kg, basis=f"estimate: {est.source}")


def _total(lines: list, cap: float | None) -> PlanEnergy:
    return PlanEnergy(
        lines=lines, kwh=round(sum(x.kwh for x in lines if x.kwh is not None), 2),
        kg_co2e=round(sum(x.kg_co2e for x in lines if x.kg_co2e is not None), 2),
        unknown_kwh=[x.name for x in lines if x.kwh is None], unknown_co2e=[x.name for x in lines if x.kg_co2e is None],
        max_co2e_kg_month=cap, note=NOTE)


def month_energy(month, *, catalog: Catalog, max_utilization: float, spike_requests: dict, capacity, owned_quote,
                 api, cap: float | None = None) -> PlanEnergy:
    """Energy and carbon of one month of a plan over a horizon, from its lines (`horizon_result.Month`): a rented
    pool's busy instance-hours count the month's requests on it and its share of the spike excess
    (`spike_requests[w]` requests beyond the peak), at `capacity(pool, w)` requests/s per instance; owned servers
    use their quote's power figures (`owned_line`); API lines their provider's estimate. `owned_quote(pool)` and
    `api(option)` look up the quote and the API (None when unknown). A fixed-hours block is busy every hour it
    runs."""
    busy: dict[str, float] = defaultdict(float)
    served: dict[str, list] = defaultdict(list)
    lines = []
    for s in month.shares:
        req = month.requests.get(s.workload, 0.0) * s.share + spike_requests.get(s.workload, 0.0) * s.spike_share
        if s.option.startswith("api:"):
            a = api(s.option)
            if req > 0:
                lines.append(api_line(f"{s.option.removeprefix('api:')} ({s.workload})", s.workload, req,
                                      a.provider if a else "", a.model if a else ""))
            continue
        served[s.option].append(s.workload)
        kap = capacity(s.option, s.workload)
        if kap:
            busy[s.option] += req * busy_hours_per_request(kap, max_utilization)
    for f in month.fleet:
        if f.capacity_type == "owned":
            continue
        lines.append(_pool_line("pool", f.pool, served.get(f.pool, []), f.instances * HOURS_PER_MONTH,
                                busy[f.pool], _gpu(catalog, f.gpu), f.gpus_per_instance, f.cloud, f.region, catalog))
    for b in month.fixed:  # a fixed-hours block: busy every hour it runs
        hours = b.instances * b.hours
        lines.append(_pool_line("fixed", b.option, [b.workload], hours, hours, _gpu(catalog, b.gpu),
                                b.gpus_per_instance, b.cloud, b.region, catalog))
    in_use = {f.pool: f.instances for f in month.fleet if f.capacity_type == "owned"}
    for pid in sorted(set(in_use) | set(month.owned_delivered)):
        q = owned_quote(pid)
        delivered = max(month.owned_delivered.get(pid, 0), in_use.get(pid, 0))
        if q is None:
            lines.append(EnergyLine(kind="owned", name=pid, workloads=served.get(pid, []),
                                    basis="unknown: no owned quote for this pool"))
        else:
            lines.append(owned_line(pid, served.get(pid, []), in_use.get(pid, 0), delivered, q))
    return _total(lines, cap)
