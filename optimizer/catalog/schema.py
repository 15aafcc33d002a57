"""One pydantic schema per kind of catalog row.

Units live in field names (`vram_gib`, `mem_bw_tbps`, `ondemand_hourly_usd`). Every row carries `source` and
`checked` (the date the figure was read from its source). Loading rejects NaN, infinities and negative prices.

An offer's prices may have different bases: on-demand and spot prices come from the row's `source` with its
`price_basis`; reserved prices may instead be derived from a documented discount, recorded per price in
`reserved_price_basis` ('assumption') and `reserved_source`. A spot offer may carry `spot_interruption_rate`, the
expected fraction of spot capacity lost to interruptions (source in `spot_interruption_source`).

Spot prices vary by zone within a region. `spot_hourly_usd` is the MEDIAN over the region's zones that list a spot
price (the price a buyer who cannot pick the zone should expect), `spot_hourly_usd_min` and `spot_hourly_usd_max`
keep the cheapest and the dearest zone. On-demand prices are the same in every zone of a region in every source
read so far; where they differ, `ondemand_hourly_usd` is their median too.

`offer_kind` says what a buyer gets: `cloud` (a provider's own capacity), `marketplace` (independent hosts behind
a broker, e.g. Vast.ai: no SLA, the host can vanish) or `listprice` (a placeholder price from a range, not an offer
anyone sells). Plans use only the kinds in `policy.offer_kinds` (default: cloud).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import bounds as B
from ..bounds import PastDate, num, whole

# Bounds of every number (see ../bounds.py): generous physical limits, so that nothing valid overflows later.
Spec = num(1e-3, 1e7)  # a datasheet figure: GiB, TB/s, TFLOPS, Gb/s
HourlyUsd = num(B.MIN_USD_PER_HOUR, B.MAX_USD_PER_HOUR)
MtokUsd = num(0, B.MAX_USD_PER_MTOK)
Count = whole(1, 10**9)  # layers, heads, sizes, vocabularies
Ms = num(0.01, 1e8)

PriceBasis = Literal["catalog", "list", "assumption", "quote"]
OFFER_KINDS = ("cloud", "marketplace", "listprice")
OfferKind = Literal["cloud", "marketplace", "listprice"]
# Providers whose offers are marketplace hosts (an offer row may also say so itself).
MARKETPLACE_PROVIDERS = {"vast": "Vast.ai rents GPUs of independent hosts through its marketplace (vast.ai FAQ)"}
CAPACITY_TYPES = ("on_demand", "spot", "reserved_1y", "reserved_3y")
CapacityType = Literal["on_demand", "spot", "reserved_1y", "reserved_3y"]
PRECISIONS = ("fp16", "fp8", "int8", "int4", "fp4")


def derived_offer_kind(row: dict) -> str:
    """The kind of an offer row that does not state one: listprice rows (price_basis list), marketplace providers,
    else cloud."""
    if row.get("price_basis") == "list":
        return "listprice"
    return "marketplace" if str(row.get("provider", "")).lower() in MARKETPLACE_PROVIDERS else "cloud"


def _split_list(v):
    """CSV cells hold lists as 'a;b;c'."""
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(p.strip() for p in v.split(";") if p.strip())
    return tuple(v)


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    source: str = Field(min_length=3)
    checked: PastDate


class GpuSpec(Row):
    """A GPU or accelerator: datasheet figures (dense, no sparsity)."""

    name: str
    vendor: Literal["nvidia", "amd", "intel"]
    architecture: str
    vram_gib: Spec
    mem_bw_tbps: Spec
    fp16_tflops: Spec
    fp8_tflops: Spec | None = None
    int8_tops: Spec | None = None
    fp4_tflops: Spec | None = None
    interconnect: str
    interconnect_gbps: Spec | None = None
    tdp_w: num(1, 20_000) | None = None  # board power limit (TDP/TBP), W: the energy model's full-load draw
    tdp_source: str | None = None
    aliases: tuple[str, ...] = ()
    notes: str | None = None

    _split = field_validator("aliases", mode="before")(_split_list)

    @model_validator(mode="after")
    def _tdp_sourced(self):
        if self.tdp_w is not None and not self.tdp_source:
            raise ValueError("tdp_w needs tdp_source (where the power figure comes from)")
        return self

    def tflops(self, precision: str) -> float | None:
        """Dense tensor throughput for a precision's compute path, None when the GPU has no such units."""
        return {"fp16": self.fp16_tflops, "fp8": self.fp8_tflops, "int8": self.int8_tops,
                "fp4": self.fp4_tflops}.get(precision)


class Offer(Row):
    """An instance type in one cloud region, priced per instance-hour."""

    offer_id: str
    provider: str
    region: str
    jurisdiction: str
    instance_type: str
    gpu: str
    gpus_per_instance: whole(1, 64)
    ondemand_hourly_usd: HourlyUsd | None = None
    spot_hourly_usd: HourlyUsd | None = None
    spot_hourly_usd_min: HourlyUsd | None = None
    spot_hourly_usd_max: HourlyUsd | None = None
    reserved_1y_hourly_usd: HourlyUsd | None = None
    reserved_3y_hourly_usd: HourlyUsd | None = None
    max_instances: whole(1, B.MAX_GPUS) | None = None
    price_basis: PriceBasis = "catalog"
    offer_kind: OfferKind = "cloud"  # when absent: derived by `_kind` (listprice rows, marketplace providers)
    reserved_price_basis: PriceBasis | None = None  # None: the row's price_basis
    reserved_source: str | None = None  # None: the row's source
    spot_interruption_rate: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    spot_interruption_source: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind(cls, data):
        """Rows written before `offer_kind` existed: derive it, so old folders load with honest kinds."""
        if isinstance(data, dict) and not data.get("offer_kind"):
            data = {**data, "offer_kind": derived_offer_kind(data)}
        return data

    @model_validator(mode="after")
    def _has_price(self):
        if all(self.hourly_usd(k) is None for k in CAPACITY_TYPES):
            raise ValueError("row has no price: give at least one of ondemand_hourly_usd, spot_hourly_usd, "
                             "reserved_1y_hourly_usd, reserved_3y_hourly_usd")
        if self.spot_interruption_rate is not None and not self.spot_interruption_source:
            raise ValueError("spot_interruption_rate needs spot_interruption_source (where the rate comes from)")
        if self.reserved_price_basis is not None and not self.reserved_source:
            raise ValueError("reserved_price_basis needs reserved_source (where the reserved prices come from)")
        return self

    def price_basis_of(self, capacity_type: str) -> str:
        """'catalog', 'list' or 'assumption' for the price of one capacity type."""
        if capacity_type.startswith("reserved") and self.reserved_price_basis:
            return self.reserved_price_basis
        return self.price_basis

    def source_of(self, capacity_type: str) -> str:
        """Where the price of one capacity type comes from."""
        if capacity_type.startswith("reserved") and self.reserved_source:
            return self.reserved_source
        return self.source

    @property
    def spot_availability(self) -> float:
        """Expected fraction of spot capacity available: 1 - spot_interruption_rate (1 when no rate is given)."""
        return 1.0 - (self.spot_interruption_rate or 0.0)

    def hourly_usd(self, capacity_type: str) -> float | None:
        """Instance-hour price for a capacity type, None when the offer has no such price."""
        return {"on_demand": self.ondemand_hourly_usd, "spot": self.spot_hourly_usd,
                "reserved_1y": self.reserved_1y_hourly_usd,
                "reserved_3y": self.reserved_3y_hourly_usd}[capacity_type]


class ModelSpec(Row):
    """An open-weight model: the architecture fields that memory and compute need."""

    name: str
    display_name: str
    hf_id: str
    kind: Literal["decoder", "embedding"]
    params_b: num(1e-3, 1e5)
    active_params_b: num(1e-3, 1e5)
    layers: whole(1, 10_000)
    hidden_size: Count
    intermediate_size: Count
    attention_heads: whole(1, 100_000)
    kv_heads: whole(1, 100_000)
    head_dim: whole(1, 100_000)
    vocab_size: Count
    tied_embeddings: bool
    max_context: whole(1, 1_000_000_000)
    moe_experts: whole(1, 100_000) | None = None
    moe_active_experts: whole(1, 100_000) | None = None
    moe_layers: whole(1, 100_000) | None = None  # layers with routed experts (None: all); Llama 4 Maverick interleaves dense
    quality_tier: Annotated[int, Field(ge=1, le=4)]
    aliases: tuple[str, ...] = ()

    _split = field_validator("aliases", mode="before")(_split_list)

    @model_validator(mode="after")
    def _consistent(self):
        if self.active_params_b > self.params_b * 1.0001:
            raise ValueError("active_params_b is larger than params_b")
        if self.attention_heads % self.kv_heads:
            raise ValueError("attention_heads must be a multiple of kv_heads")
        if (self.moe_experts is None) != (self.moe_active_experts is None):
            raise ValueError("give both moe_experts and moe_active_experts, or neither")
        if self.moe_layers is not None and (self.moe_experts is None or self.moe_layers > self.layers):
            raise ValueError("moe_layers needs moe_experts and may not exceed layers")
        if self.moe_experts:  # intermediate_size is the expert FFN width of an MoE model
            expert_b = ((self.moe_layers or self.layers) * self.moe_experts * 3 * self.hidden_size *
                        self.intermediate_size / 1e9)
            if expert_b > self.params_b * 1.0001:
                raise ValueError(f"routed experts alone hold {expert_b:.1f}B parameters, more than params_b: "
                                 f"intermediate_size must be the expert width (moe_intermediate_size), and "
                                 f"moe_layers the number of MoE layers where not every layer has experts")
        return self


class ApiOffer(Row):
    """An LLM API price row: one model at one provider in one processing scope."""

    api_id: str
    provider: str
    model: str
    provider_model_id: str
    scope: str
    jurisdictions: tuple[str, ...]
    input_usd_per_mtok: MtokUsd
    output_usd_per_mtok: MtokUsd
    cached_input_usd_per_mtok: MtokUsd | None = None
    batch_input_usd_per_mtok: MtokUsd | None = None
    batch_output_usd_per_mtok: MtokUsd | None = None
    residency_uplift: num(0.01, 100) = 1.0
    account_tier: str | None = None
    rpm: whole(1, 10**12) | None = None
    tpm: whole(1, 10**15) | None = None
    ttft_ms: Ms
    tpot_ms: num(0, 1e7)  # 0 for embedding APIs (no output tokens)
    quality_tier: Annotated[int, Field(ge=1, le=4)]
    max_context: whole(1, 1_000_000_000) | None = None
    deprecation_date: dt.date | None = None
    rate_limit_source: str | None = None
    latency_source: str | None = None

    _split = field_validator("jurisdictions", mode="before")(_split_list)

    @field_validator("jurisdictions")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("give at least one jurisdiction ('global' when processing location is not pinned)")
        return v


class GridRow(Row):
    """Where a provider region draws its power from: the grid's carbon intensity (gCO2e per kWh, location-based
    annual average; None where the region's grid is unknown) and the data centre's PUE. Region '*' gives a
    provider's PUE for its regions without a row of their own; provider '*' the PUE for providers not listed."""

    provider: str
    region: str
    gco2e_per_kwh: num(0, 2_000) | None = None
    proxy: str | None = None  # the location whose grid figure the row carries
    pue: num(1, 3)
    pue_source: str = Field(min_length=3)

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.region}"


ROW_TYPES = {"gpus": GpuSpec, "offers": Offer, "models": ModelSpec, "apis": ApiOffer, "grid": GridRow}
KEY_FIELD = {"gpus": "name", "offers": "offer_id", "models": "name", "apis": "api_id", "grid": "key"}
