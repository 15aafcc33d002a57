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
        est = api_estimate(a.provider, a.model)
        name = f"{a.api_id} ({a.workload})"
        if est is None:
            lines.append(EnergyLine(kind="api", name=name, workloads=[a.workload],
                                    basis="unknown: the provider publishes no energy figure for this API"))
            continue
        kg = None if est.gco2e_per_request is None else round(a.requests_per_month * est.gco2e_per_request / 1000, 2)
        lines.append(EnergyLine(kind="api", name=name, workloads=[a.workload],
                                kwh=round(a.requests_per_month * est.wh_per_request / 1000, 2), kg_co2e=kg,
                                basis=f"estimate: {est.source}"))
    return PlanEnergy(
        lines=lines, kwh=round(sum(x.kwh for x in lines if x.kwh is not None), 2),
        kg_co2e=round(sum(x.kg_co2e for x in lines if x.kg_co2e is not None), 2),
        unknown_kwh=[x.name for x in lines if x.kwh is None], unknown_co2e=[x.name for x in lines if x.kg_co2e is None],
        max_co2e_kg_month=max_co2e_kg_month, note=NOTE)
