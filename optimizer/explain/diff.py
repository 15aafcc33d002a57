"""What changed between two plans, and why: `llmplan diff OLD NEW` and `llmplan solve --compare-to OLD`.

Lines are matched across the plans by what they buy, never by position:
- a self-hosted line by its pool (offer, model, precision, TP, capacity type) within its workload;
- a fixed-hours block by its pool id (offer or quoted price, capacity type) within its workload;
- an API line by (api_id, mode) within its workload; a shared cost by its name.
A matched line whose cost, instances or traffic share differ is changed (`~`); a line only in the new plan is
added (`+`), one only in the old plan removed (`-`). Unchanged lines and workloads are left out (infracost's diff).

The *why* is recomputed from inputs:
- prices both plans carry: a line in both plans at a different hourly price or price per request;
- prices both catalogs carry (when the old and new catalogs are given): every offer and API either plan uses,
  looked up in both catalog versions, so a price rise of the offer the old plan used is named even when the new
  plan moved away from it;
- demand: a workload's monthly requests or peak changed between the plans.
The fleet summary counts GPUs by type and capacity type in each plan.

A saved plan records the folder of its catalog; `plan_catalog` uses that folder only while it still holds the
prices the plan was solved at (`catalog_mismatch`), so a folder refreshed in place is never taken for the old one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..catalog import Catalog, load_catalog
from ..errors import CatalogError
from ..result import ApiLine, Deployment, Plan

Change = Literal["~", "+", "-"]
EPS_USD = 0.005


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineDiff(Frozen):
    change: Change
    kind: Literal["pool", "fixed-hours", "api", "shared"]
    key: str
    label: str
    old_cost: float
    new_cost: float
    details: list[str] = []


class WorkloadDiff(Frozen):
    name: str
    change: Change
    old_cost: float
    new_cost: float
    lines: list[LineDiff]
    details: list[str] = []


class FleetLine(Frozen):
    change: Change
    gpu: str
    capacity_type: str
    old_gpus: int
    new_gpus: int


class Reason(Frozen):
    kind: Literal["offer-price", "api-price", "offer-availability", "api-availability", "demand"]
    key: str
    text: str
    old: float | None = None
    new: float | None = None
    evidence: Literal["plans", "catalogs"]

    @property
    def percent(self) -> float | None:
        if self.old and self.new is not None:
            return 100.0 * (self.new - self.old) / self.old
        return None


class PlanDiff(Frozen):
    schema_version: str = "1.0"
    old_problem: str
    new_problem: str
    old_catalog: str | None
    new_catalog: str | None
    old_status: str
    new_status: str
    old_total: float
    new_total: float
    workloads: list[WorkloadDiff]
    unchanged_workloads: list[str]
    shared: list[LineDiff]
    fleet: list[FleetLine]
    reasons: list[Reason]
    notes: list[str] = []

    @property
    def amount(self) -> float:
        return self.new_total - self.old_total

    @property
    def percent(self) -> float | None:
        return 100.0 * self.amount / self.old_total if self.old_total else None


# --- lines ---------------------------------------------------------------------------------------------------

def _pool_label(d: Deployment) -> str:
    if d.share is None:
        where = "quoted price" if d.cloud == "quoted" else f"{d.cloud} {d.region}"
        return f"{d.instances}x {d.instance_type} ({d.gpus_per_instance}x {d.gpu}) {d.capacity_type}, {where}"
    return (f"{d.model} {d.precision} tp{d.tp} on {d.gpu}: {d.instance_type}, {d.capacity_type}, "
            f"{d.cloud} {d.region}")


def _api_label(a: ApiLine) -> str:
    return f"API {a.api_id}" + (" batch" if a.mode == "batch" else "")


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _rel(old: float, new: float) -> str:
    return f" ({100 * (new - old) / old:+.1f}%)" if old else ""


def _num(v: float) -> str:
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def _inst(n: int) -> str:
    return f"{n} instance" + ("" if n == 1 else "s")


def _usd(v: float, digits: int = 2) -> str:
    return f"${v:,.{digits}f}"


def _pool_details(a: Deployment | None, b: Deployment | None) -> list[str]:
    if a is None:
        share = "" if b.share is None else (f", {_pct(b.share)} of traffic" if b.share else ", failover standby")
        return [f"{_inst(b.instances)}{share}, {_usd(b.hourly_usd_per_instance, 4)}/h per instance"]
    if b is None:
        share = "" if a.share is None else (f", {_pct(a.share)} of traffic" if a.share else ", failover standby")
        return [f"was {_inst(a.instances)}{share}, {_usd(a.hourly_usd_per_instance, 4)}/h per instance"]
    out = []
    if a.instances != b.instances:
        out.append(f"instances {a.instances} -> {b.instances}")
    if a.share is not None and b.share is not None and abs(a.share - b.share) > 5e-4:
        out.append(f"share of traffic {_pct(a.share)} -> {_pct(b.share)}")
    if abs(a.pool_share - b.pool_share) > 5e-4:
        out.append(f"share of the pool's cost {_pct(a.pool_share)} -> {_pct(b.pool_share)}")
    if abs(a.hourly_usd_per_instance - b.hourly_usd_per_instance) > 1e-9:
        out.append(f"price {_usd(a.hourly_usd_per_instance, 4)}/h -> {_usd(b.hourly_usd_per_instance, 4)}/h"
                   + _rel(a.hourly_usd_per_instance, b.hourly_usd_per_instance))
    if abs(a.hours_per_month - b.hours_per_month) > 1e-9:
        out.append(f"hours {a.hours_per_month:g} -> {b.hours_per_month:g}")
    return out


def _api_details(a: ApiLine | None, b: ApiLine | None) -> list[str]:
    if a is None:
        return [f"{_pct(b.share)} of traffic, {b.requests_per_month:,.0f} requests at "
                f"{_usd(b.usd_per_request, 6)}"]
    if b is None:
        return [f"was {_pct(a.share)} of traffic, {a.requests_per_month:,.0f} requests at "
                f"{_usd(a.usd_per_request, 6)}"]
    out = []
    if abs(a.share - b.share) > 5e-4:
        out.append(f"share of traffic {_pct(a.share)} -> {_pct(b.share)}")
    if abs(a.requests_per_month - b.requests_per_month) > 0.5:
        out.append(f"requests {a.requests_per_month:,.0f} -> {b.requests_per_month:,.0f}")
    if abs(a.usd_per_request - b.usd_per_request) > 1e-12:
        out.append(f"price per request {_usd(a.usd_per_request, 6)} -> {_usd(b.usd_per_request, 6)}"
                   + _rel(a.usd_per_request, b.usd_per_request))
    return out


def _diff_lines(kind: str, old: dict, new: dict, label, details) -> list[LineDiff]:
    out = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        ca, cb = (a.monthly_cost_usd if a else 0.0), (b.monthly_cost_usd if b else 0.0)
        det = details(a, b)
        if a is not None and b is not None and abs(ca - cb) < EPS_USD and not det:
            continue
        change = "+" if a is None else "-" if b is None else "~"
        out.append(LineDiff(change=change, kind=kind, key=key, label=label(b or a), old_cost=round(ca, 2),
                            new_cost=round(cb, 2), details=det))
    return out


def _workload_lines(p: Plan, name: str) -> tuple[dict, dict, dict]:
    pools = {d.pool: d for d in p.deployments if d.workload == name and d.share is not None}
    blocks = {d.pool: d for d in p.deployments if d.workload == name and d.share is None}
    apis = {f"{a.api_id}|{a.mode}": a for a in p.api if a.workload == name}
    return pools, blocks, apis


def _demand(old: Plan, new: Plan, name: str) -> tuple[list[str], list[Reason]]:
    a = next((w for w in old.workloads if w.name == name), None)
    b = next((w for w in new.workloads if w.name == name), None)
    if a is None or b is None or a.kind != "serving" or b.kind != "serving":
        return [], []
    details, reasons = [], []
    for label, va, vb, unit in (("requests per month", a.requests_per_month, b.requests_per_month, ""),
                                ("peak", a.peak_rps, b.peak_rps, " req/s")):
        if va is not None and vb is not None and abs(va - vb) > 1e-9 * max(1.0, abs(va)):
            text = f"{label} {_num(va)}{unit} -> {_num(vb)}{unit}{_rel(va, vb)}"
            details.append(text)
            reasons.append(Reason(kind="demand", key=f"{name}:{label}", text=f"workload '{name}': {text}",
                                  old=va, new=vb, evidence="plans"))
    return details, reasons


# --- fleet ---------------------------------------------------------------------------------------------------

def _fleet(p: Plan) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for pool in p.pools:
        k = (pool.gpu, pool.capacity_type)
        out[k] = out.get(k, 0) + pool.replicas * pool.tp
    for d in p.deployments:
        if d.share is None:
            k = (d.gpu, d.capacity_type)
            out[k] = out.get(k, 0) + d.instances * d.gpus_per_instance
    return out


def _fleet_diff(old: Plan, new: Plan) -> list[FleetLine]:
    a, b = _fleet(old), _fleet(new)
    out = []
    for k in sorted(a.keys() | b.keys()):
        ga, gb = a.get(k, 0), b.get(k, 0)
        if ga != gb:
            out.append(FleetLine(change="+" if not ga else "-" if not gb else "~", gpu=k[0], capacity_type=k[1],
                                 old_gpus=ga, new_gpus=gb))
    return out


# --- why: prices -----------------------------------------------------------------------------------------------

def _plan_price_reasons(old: Plan, new: Plan) -> list[Reason]:
    """Prices both plans carry: the same pool or API line at a different unit price."""
    out = {}
    od = {(d.pool, d.capacity_type): d for d in old.deployments}
    for d in new.deployments:
        a = od.get((d.pool, d.capacity_type))
        if a is not None and abs(a.hourly_usd_per_instance - d.hourly_usd_per_instance) > 1e-9:
            key = f"{d.cloud}:{d.region}:{d.instance_type}|{d.capacity_type}"
            out[key] = Reason(kind="offer-price", key=key, old=a.hourly_usd_per_instance,
                              new=d.hourly_usd_per_instance, evidence="plans",
                              text=f"{d.cloud} {d.region} {d.instance_type} {d.capacity_type}: "
                                   f"{_usd(a.hourly_usd_per_instance, 4)}/h -> {_usd(d.hourly_usd_per_instance, 4)}/h"
                                   + _rel(a.hourly_usd_per_instance, d.hourly_usd_per_instance))
    oa = {(a.workload, a.api_id, a.mode): a for a in old.api}
    for b in new.api:
        a = oa.get((b.workload, b.api_id, b.mode))
        if a is not None and abs(a.usd_per_request - b.usd_per_request) > 1e-12:
            key = f"{b.api_id}|{b.mode}|{b.workload}"
            out[key] = Reason(kind="api-price", key=key, old=a.usd_per_request, new=b.usd_per_request,
                              evidence="plans",
                              text=f"API {b.api_id} ({b.mode}, workload '{b.workload}'): "
                                   f"{_usd(a.usd_per_request, 6)} -> {_usd(b.usd_per_request, 6)} per request"
                                   + _rel(a.usd_per_request, b.usd_per_request))
    return list(out.values())


API_PRICE_FIELDS = (("input_usd_per_mtok", "input"), ("output_usd_per_mtok", "output"),
                    ("cached_input_usd_per_mtok", "cached input"), ("batch_input_usd_per_mtok", "batch input"),
                    ("batch_output_usd_per_mtok", "batch output"))


def _catalog_price_reasons(old: Plan, new: Plan, old_cat: Catalog, new_cat: Catalog) -> list[Reason]:
    """Prices both catalogs carry, for every offer and API either plan uses."""
    def offer_index(cat):
        return {(o.provider, o.region, o.instance_type): o for o in cat.offers}

    oi, ni = offer_index(old_cat), offer_index(new_cat)
    used = sorted({(d.cloud, d.region, d.instance_type, d.capacity_type) for p in (old, new) for d in p.deployments
                   if d.cloud != "quoted"})
    out = []
    for cloud, region, itype, ct in used:
        a, b = oi.get((cloud, region, itype)), ni.get((cloud, region, itype))
        key = f"{cloud}:{region}:{itype}|{ct}"
        name = f"{cloud} {region} {itype} {ct}"
        pa = a.hourly_usd(ct) if a else None
        pb = b.hourly_usd(ct) if b else None
        if pa is not None and pb is not None and abs(pa - pb) > 1e-9:
            basis = " (assumed reserved price)" if b.price_basis_of(ct) == "assumption" else ""
            out.append(Reason(kind="offer-price", key=key, old=pa, new=pb, evidence="catalogs",
                              text=f"{name}: {_usd(pa, 4)}/h -> {_usd(pb, 4)}/h{_rel(pa, pb)}{basis}"))
        elif pa is not None and pb is None:
            out.append(Reason(kind="offer-availability", key=key, old=pa, evidence="catalogs",
                              text=f"{name}: no longer offered in catalog {new_cat.version} (was {_usd(pa, 4)}/h)"))
        elif pa is None and pb is not None:
            out.append(Reason(kind="offer-availability", key=key, new=pb, evidence="catalogs",
                              text=f"{name}: new in catalog {new_cat.version} at {_usd(pb, 4)}/h"))
    oa, na = {a.api_id: a for a in old_cat.apis}, {a.api_id: a for a in new_cat.apis}
    for api_id in sorted({a.api_id for p in (old, new) for a in p.api}):
        a, b = oa.get(api_id), na.get(api_id)
        if a is None and b is None:  # a plan edited by hand, or made on another catalog
            out.append(Reason(kind="api-availability", key=api_id, evidence="catalogs",
                              text=f"API {api_id}: in neither catalog ({old_cat.version}, {new_cat.version})"))
            continue
        if a is None or b is None:
            have = a or b
            out.append(Reason(kind="api-availability", key=api_id, evidence="catalogs",
                              text=f"API {api_id}: " + (f"no longer in catalog {new_cat.version}" if b is None else
                                                        f"new in catalog {new_cat.version}")
                              + f" ({_usd(have.input_usd_per_mtok, 3)} in / {_usd(have.output_usd_per_mtok, 3)} "
                                f"out per MTok)"))
            continue
        for f, label in API_PRICE_FIELDS:
            pa, pb = getattr(a, f), getattr(b, f)
            if pa is not None and pb is not None and abs(pa - pb) > 1e-12:
                out.append(Reason(kind="api-price", key=f"{api_id}|{f}", old=pa, new=pb, evidence="catalogs",
                                  text=f"API {api_id} {label}: {_usd(pa, 3)} -> {_usd(pb, 3)} per MTok{_rel(pa, pb)}"))
    return out


def catalog_mismatch(p: Plan, cat: Catalog) -> str | None:
    """None when `cat` holds the hourly prices `p` was solved at (so it can stand for the plan's catalog), else the
    first difference found: a catalog folder refreshed in place since the plan was made is not the old catalog."""
    idx = {(o.provider, o.region, o.instance_type): o for o in cat.offers}
    for d in p.deployments:
        if d.cloud == "quoted":
            continue
        o = idx.get((d.cloud, d.region, d.instance_type))
        price = o.hourly_usd(d.capacity_type) if o else None
        if price is None or abs(price - d.hourly_usd_per_instance) > 1e-6:
            have = "no such offer" if price is None else f"${price:,.4f}/h"
            return (f"{d.cloud} {d.region} {d.instance_type} {d.capacity_type}: plan ${d.hourly_usd_per_instance:,.4f}"
                    f"/h, catalog {have}")
    apis = {a.api_id for a in cat.apis}
    for a in p.api:
        if a.api_id not in apis:
            return f"API {a.api_id}: not in the catalog"
    return None


def load_plan_file(path: Path) -> Plan:
    """A plan saved with `llmplan solve --format json`; errors name the file and the fix."""
    from ..result import load_plan_file as load
    return load(path)


def plan_catalog(p: Plan, override: Path | None, which: str) -> tuple[Catalog | None, str | None]:
    """(catalog, note): the catalog `p` was solved on. `override` (--old/--new-catalog) wins; else the folder the
    plan records, if it still holds the prices the plan used; else None and a note saying why."""
    if override is not None:
        return load_catalog(override), None
    path = p.catalog.get("path")
    if not path or not Path(path).is_dir():
        return None, f"{which} plan's catalog {path!r} not found; pass --{which}-catalog to compare catalog prices"
    try:
        cat = load_catalog(path)
    except CatalogError as e:
        return None, f"{which} plan's catalog could not be loaded ({e.message}); catalog prices not compared"
    mismatch = catalog_mismatch(p, cat)
    if mismatch is None and str(cat.oldest_price_date()) != str(p.catalog.get("oldest_price_checked")):
        mismatch = f"oldest price checked {p.catalog.get('oldest_price_checked')} then, {cat.oldest_price_date()} now"
    if mismatch is not None:
        return None, (f"{path} changed since the {which} plan was made ({mismatch}); catalog prices not compared: "
                      f"pass --{which}-catalog with the catalog it was solved on")
    return cat, None


def _order(r: Reason):
    return (-abs(r.percent) if r.percent is not None else 0.0, r.kind, r.key)


# --- the diff ----------------------------------------------------------------------------------------------------

def diff_plans(old: Plan, new: Plan, *, old_catalog: Catalog | None = None,
               new_catalog: Catalog | None = None) -> PlanDiff:
    """Compare two plans; with both catalogs, also name the catalog price changes of what either plan uses."""
    names = [w.name for w in old.workloads] + [w.name for w in new.workloads
                                               if w.name not in {x.name for x in old.workloads}]
    old_w = {w.name: w for w in old.workloads}
    new_w = {w.name: w for w in new.workloads}
    workloads, unchanged, reasons = [], [], []
    for name in names:
        pa, ba, aa = _workload_lines(old, name)
        pb, bb, ab = _workload_lines(new, name)
        lines = (_diff_lines("pool", pa, pb, _pool_label, _pool_details)
                 + _diff_lines("fixed-hours", ba, bb, _pool_label, _pool_details)
                 + _diff_lines("api", aa, ab, _api_label, _api_details))
        details, demand = _demand(old, new, name)
        reasons += demand
        ca = old_w[name].monthly_cost_usd if name in old_w else 0.0
        cb = new_w[name].monthly_cost_usd if name in new_w else 0.0
        if not lines and not details and abs(ca - cb) < EPS_USD:
            unchanged.append(name)
            continue
        change = "+" if name not in old_w else "-" if name not in new_w else "~"
        workloads.append(WorkloadDiff(name=name, change=change, old_cost=round(ca, 2), new_cost=round(cb, 2),
                                      lines=lines, details=details))
    shared = _diff_lines("shared", {f.name: f for f in old.fixed}, {f.name: f for f in new.fixed},
                         lambda f: f.name, lambda a, b: [])
    reasons += _plan_price_reasons(old, new)
    notes = []
    if old_catalog is not None and new_catalog is not None:
        by_key = {r.key: r for r in reasons if r.kind == "offer-price"}
        for r in _catalog_price_reasons(old, new, old_catalog, new_catalog):
            if r.key not in by_key:  # a price both plans carry is already named
                reasons.append(r)
    else:
        notes.append("catalog prices not compared (old or new catalog not available): only prices both plans "
                     "carry are named")
    if old.status != "optimal" or new.status != "optimal":
        notes.append(f"status {old.status} -> {new.status}: a non-optimal plan may differ for that reason alone")
    return PlanDiff(old_problem=old.problem, new_problem=new.problem, old_catalog=old.catalog.get("version"),
                    new_catalog=new.catalog.get("version"), old_status=old.status, new_status=new.status,
                    old_total=old.monthly_cost_usd, new_total=new.monthly_cost_usd, workloads=workloads,
                    unchanged_workloads=unchanged, shared=shared, fleet=_fleet_diff(old, new),
                    reasons=sorted(reasons, key=_order), notes=notes)
