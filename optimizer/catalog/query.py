"""Read-only views of a catalog: `llmplan catalog list gpus|offers|models|apis`.

Each view is a `Listing`: typed columns and rows of plain values (None where a figure is missing), so the table,
CSV and JSON renderers (`optimizer/render/listing.py`) stay pure functions of it.

- `gpus`: SkyPilot's GPU list. One row per (GPU, GPUs per instance, cloud, instance type), shown by ONE offer: the
  region with the cheapest on-demand price (the cheapest spot price where no region has an on-demand price), with
  that region's spot price (the median over its zones, see schema.py), never a spot price from another region.
  `all_regions=True` gives one row per region.
- `offers`: every offer row with all its prices, its kind (cloud, marketplace, listprice), the basis of its
  reserved prices, its spot interruption rate and the date of its price snapshot.
- `models`, `apis`: the model architectures and the API price rows.

Filters (`--gpu`, `--cloud`, `--jurisdiction`, `--region`, `--model`) apply to the views that have the field;
a filter that a view cannot use, or a value the catalog does not know, is an error that suggests near misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LlmplanError, did_you_mean
from .load import Catalog
from .schema import ApiOffer, Offer

VIEWS = ("gpus", "offers", "models", "apis")


@dataclass(frozen=True)
class Column:
    key: str  # field name in each row (CSV/JSON header)
    header: str  # table header
    kind: str = "text"  # text | int | usd | usd_mtok | gib | rate | float


@dataclass(frozen=True)
class Listing:
    view: str
    catalog_version: str
    columns: tuple[Column, ...]
    rows: tuple[dict, ...]
    filters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    gpu: str | None = None
    cloud: str | None = None
    jurisdiction: str | None = None
    region: str | None = None
    model: str | None = None

    def given(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


APPLIES = {
    "gpus": {"gpu", "cloud", "jurisdiction", "region"},
    "offers": {"gpu", "cloud", "jurisdiction", "region"},
    "models": {"model"},
    "apis": {"cloud", "jurisdiction", "model"},
}


def _check_filters(cat: Catalog, view: str, f: Filters) -> Filters:
    """Validate filter values against the catalog; resolve GPU and model aliases."""
    bad = set(f.given()) - APPLIES[view]
    if bad:
        raise LlmplanError(f"--{sorted(bad)[0]} does not apply to the {view} view", where=f"catalog list {view}",
                           fix=f"filters for {view}: {', '.join('--' + k for k in sorted(APPLIES[view]))}")
    gpu, model, cloud = f.gpu, f.model, f.cloud
    if gpu is not None:
        try:
            gpu = cat.gpu(gpu).name
        except KeyError as e:
            raise LlmplanError(e.args[0], where="--gpu", fix="use a GPU from `llmplan catalog list gpus`") from None
    if cloud is not None:
        known = sorted({o.provider for o in cat.offers} | {a.provider for a in cat.apis})
        if cloud.lower() not in known:
            raise LlmplanError(f"unknown cloud or provider '{cloud}'.{did_you_mean(cloud, known)}", where="--cloud",
                               fix=f"known: {', '.join(known)}")
        cloud = cloud.lower()
    if model is not None and view == "models":
        try:
            model = cat.model(model).name
        except KeyError as e:
            raise LlmplanError(e.args[0], where="--model",
                               fix="use a model from `llmplan catalog list models`") from None
    return Filters(gpu=gpu, cloud=cloud, jurisdiction=f.jurisdiction.lower() if f.jurisdiction else None,
                   region=f.region, model=model)


def _offer_ok(o: Offer, f: Filters) -> bool:
    return ((f.gpu is None or o.gpu == f.gpu) and (f.cloud is None or o.provider == f.cloud)
            and (f.jurisdiction is None or o.jurisdiction == f.jurisdiction)
            and (f.region is None or o.region == f.region))


def _api_ok(a: ApiOffer, f: Filters, cat: Catalog) -> bool:
    if f.cloud is not None and a.provider != f.cloud:
        return False
    if f.jurisdiction is not None and f.jurisdiction not in a.jurisdictions:
        return False
    if f.model is not None:
        want = cat.model_names.get(f.model) or f.model
        if a.model != want and f.model not in (a.api_id, a.provider_model_id, a.model):
            return False
    return True


def _price_key(v):
    return (v is None, v if v is not None else 0.0)


def list_gpus(cat: Catalog, f: Filters, all_regions: bool = False) -> Listing:
    cols = (Column("gpu", "GPU"), Column("gpus_per_instance", "QTY", "int"), Column("cloud", "CLOUD"),
            Column("instance_type", "INSTANCE_TYPE"), Column("vram_gib", "DEVICE_MEM", "gib"),
            Column("hourly_usd", "HOURLY_PRICE", "usd"), Column("hourly_spot_usd", "HOURLY_SPOT_PRICE", "usd"),
            Column("region", "REGION"))
    groups: dict[tuple, list[Offer]] = {}
    for o in cat.offers:
        if _offer_ok(o, f):
            key = (o.gpu, o.gpus_per_instance, o.provider, o.instance_type) + ((o.region,) if all_regions else ())
            groups.setdefault(key, []).append(o)
    rows = []
    for (gpu, k, cloud, itype, *_), offers in groups.items():
        o = min(offers, key=lambda o: (_price_key(o.ondemand_hourly_usd), _price_key(o.spot_hourly_usd), o.region))
        rows.append({"gpu": gpu, "gpus_per_instance": k, "cloud": cloud, "instance_type": itype,
                     "vram_gib": cat.gpus[gpu].vram_gib, "hourly_usd": o.ondemand_hourly_usd,
                     "hourly_spot_usd": o.spot_hourly_usd, "region": o.region})
    rows.sort(key=lambda r: (r["gpu"], r["gpus_per_instance"], _price_key(r["hourly_usd"]),
                             _price_key(r["hourly_spot_usd"]), r["cloud"], r["instance_type"], r["region"]))
    return Listing("gpus", cat.version, cols, tuple(rows), f.given())


def list_offers(cat: Catalog, f: Filters) -> Listing:
    cols = (Column("offer_id", "OFFER_ID"), Column("jurisdiction", "JURISDICTION"), Column("gpu", "GPU"),
            Column("gpus_per_instance", "QTY", "int"), Column("ondemand_hourly_usd", "HOURLY_PRICE", "usd"),
            Column("spot_hourly_usd", "HOURLY_SPOT_PRICE", "usd"), Column("spot_hourly_usd_min", "SPOT_MIN", "usd"),
            Column("spot_hourly_usd_max", "SPOT_MAX", "usd"),
            Column("spot_interruption_rate", "SPOT_INTERRUPT", "rate"),
            Column("reserved_1y_hourly_usd", "RESERVED_1Y", "usd"),
            Column("reserved_3y_hourly_usd", "RESERVED_3Y", "usd"), Column("offer_kind", "KIND"),
            Column("price_basis", "BASIS"),
            Column("reserved_basis", "RESERVED_BASIS"), Column("max_instances", "MAX_INST", "int"),
            Column("checked", "CHECKED"))
    rows = []
    for o in cat.offers:
        if not _offer_ok(o, f):
            continue
        has_res = o.reserved_1y_hourly_usd is not None or o.reserved_3y_hourly_usd is not None
        rows.append({"offer_id": o.offer_id, "jurisdiction": o.jurisdiction, "gpu": o.gpu,
                     "gpus_per_instance": o.gpus_per_instance, "ondemand_hourly_usd": o.ondemand_hourly_usd,
                     "spot_hourly_usd": o.spot_hourly_usd, "spot_hourly_usd_min": o.spot_hourly_usd_min,
                     "spot_hourly_usd_max": o.spot_hourly_usd_max, "offer_kind": o.offer_kind,
                     "spot_interruption_rate": o.spot_interruption_rate,
                     "reserved_1y_hourly_usd": o.reserved_1y_hourly_usd,
                     "reserved_3y_hourly_usd": o.reserved_3y_hourly_usd, "price_basis": o.price_basis,
                     "reserved_basis": o.price_basis_of("reserved_1y") if has_res else None,
                     "max_instances": o.max_instances, "checked": o.checked.isoformat()})
    rows.sort(key=lambda r: (r["gpu"], r["gpus_per_instance"], _price_key(r["ondemand_hourly_usd"]), r["offer_id"]))
    return Listing("offers", cat.version, cols, tuple(rows), f.given())


def list_models(cat: Catalog, f: Filters) -> Listing:
    cols = (Column("name", "MODEL"), Column("kind", "KIND"), Column("params_b", "PARAMS_B", "float"),
            Column("active_params_b", "ACTIVE_B", "float"), Column("layers", "LAYERS", "int"),
            Column("hidden_size", "HIDDEN", "int"), Column("attention_heads", "HEADS", "int"),
            Column("kv_heads", "KV_HEADS", "int"), Column("max_context", "CONTEXT", "int"),
            Column("quality_tier", "TIER", "int"), Column("hf_id", "HF_ID"))
    rows = [{c.key: getattr(m, c.key) for c in cols} for m in cat.models.values()
            if f.model is None or m.name == f.model]
    rows.sort(key=lambda r: (r["kind"], r["params_b"], r["name"]))
    return Listing("models", cat.version, cols, tuple(rows), f.given())


def list_apis(cat: Catalog, f: Filters) -> Listing:
    cols = (Column("api_id", "API_ID"), Column("jurisdictions", "JURISDICTIONS"),
            Column("input_usd_per_mtok", "INPUT_PER_MTOK", "usd_mtok"),
            Column("output_usd_per_mtok", "OUTPUT_PER_MTOK", "usd_mtok"),
            Column("cached_input_usd_per_mtok", "CACHED_IN", "usd_mtok"),
            Column("batch_input_usd_per_mtok", "BATCH_IN", "usd_mtok"),
            Column("batch_output_usd_per_mtok", "BATCH_OUT", "usd_mtok"),
            Column("residency_uplift", "UPLIFT", "float"), Column("rpm", "RPM", "int"), Column("tpm", "TPM", "int"),
            Column("quality_tier", "TIER", "int"), Column("deprecation_date", "DEPRECATES"),
            Column("checked", "CHECKED"))
    rows = []
    for a in cat.apis:
        if not _api_ok(a, f, cat):
            continue
        r = {c.key: getattr(a, c.key) for c in cols}
        r["jurisdictions"] = ";".join(a.jurisdictions)
        r["checked"] = a.checked.isoformat()
        r["deprecation_date"] = a.deprecation_date.isoformat() if a.deprecation_date else None
        rows.append(r)
    rows.sort(key=lambda r: (r["api_id"],))
    return Listing("apis", cat.version, cols, tuple(rows), f.given())


def list_view(cat: Catalog, view: str, filters: Filters = Filters(), *, all_regions: bool = False) -> Listing:
    if view not in VIEWS:
        raise LlmplanError(f"unknown view '{view}'.{did_you_mean(view, VIEWS)}", fix=f"use one of {', '.join(VIEWS)}")
    if all_regions and view != "gpus":
        raise LlmplanError("--all-regions applies only to the gpus view", fix="drop --all-regions")
    f = _check_filters(cat, view, filters)
    if view == "gpus":
        return list_gpus(cat, f, all_regions)
    return {"offers": list_offers, "models": list_models, "apis": list_apis}[view](cat, f)
