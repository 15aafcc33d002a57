"""Problem spec: workloads, policy and measured capacities, read from YAML and validated with pydantic.

Two kinds of workload:
- a *serving* workload has a monthly request volume, a peak, token lengths and a latency tier; it is served by
  self-hosted replicas and/or LLM APIs in shares the optimizer chooses;
- a *fixed-hours* workload (the seed's fine-tuning and experimentation blocks) needs `gpu_count` GPUs of a type
  (or of at least `min_vram_gib`) for `hours_per_month`, bought at the cheapest eligible price.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import bounds as B
from .bounds import Fraction, PastDate, num, whole
from .errors import ProblemError, did_you_mean
from .horizon_spec import Deployment, Growth, Horizon, OwnedQuote
from .units import avg_rps

CATEGORIES = ("inference", "embeddings", "fine-tuning", "training", "experimentation", "batch")
Category = Literal["inference", "embeddings", "fine-tuning", "training", "experimentation", "batch"]
Precision = Literal["fp16", "fp8", "int8", "int4", "fp4"]
Engine = Literal["vllm", "sglang", "trtllm", "tgi"]

# Latency tiers: (TTFT ms, TPOT ms). Batch has no latency target and may use providers' batch APIs.
LATENCY_TIERS = {
    "interactive": (500.0, 40.0),
    "standard": (2000.0, 100.0),
    "batch": (3_600_000.0, 10_000.0),
}
DEFAULT_PRECISIONS = ("fp16", "fp8", "int8")
CONFIDENCE_RANGE = (0.5, 0.999)

# Bounds of every number (see bounds.py): generous physical limits, so that nothing valid overflows later.
Requests = num(1, B.MAX_REQUESTS_PER_MONTH)  # at least one request a month
Rps = num(0, B.MAX_RPS, gt=True)
Ms = num(0.01, 1e8)  # a latency target in milliseconds (1e8 ms is 28 hours)
HourlyUsd = num(B.MIN_USD_PER_HOUR, B.MAX_USD_PER_HOUR)
MonthlyUsd = num(0, B.MAX_USD_PER_MONTH)


# jurisdictions a workload must name itself: 'any' does not include them (AWS GovCloud (US) takes an account that
# only vetted US persons may hold, and its endpoints cost more: a workload open to anywhere has no use for them)
EXPLICIT_ONLY = frozenset({"us-gov"})


def jurisdictions_allow(allowed, jurisdictions) -> bool:
    """Whether a workload allowed in `allowed` may use an option in every one of `jurisdictions`: 'any' allows all
    (including 'global') but EXPLICIT_ONLY ones, which must be listed."""
    if "any" in allowed:
        return all(j not in EXPLICIT_ONLY or j in allowed for j in jurisdictions)
    return all(j in allowed for j in jurisdictions)

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestClass(Strict):
    """A share of a workload's requests with its own mean lengths (from `llmplan workload from-trace --classes K`
    or written by hand). Each class is planned as its own slice of the workload: share x the volume and x the
    peak (the class mix is assumed the same at every hour), its own capacity per pool and its own context check."""

    name: str = Field(min_length=1)
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    input_tokens: whole(1, 10_000_000)
    output_tokens: whole(0, 10_000_000)
    # (log input tokens, log(1 + output tokens)) of the class's k-means centre, written by from-trace; a replay
    # assigns each request of a trace to the nearest centre (default: the logs of the class's mean lengths)
    center: tuple[float, float] | None = None

    @property
    def log_center(self) -> tuple[float, float]:
        import math
        return self.center if self.center is not None else (math.log(self.input_tokens),
                                                             math.log1p(self.output_tokens))


Use = Literal["auto", "on", "off"]
# a share of requests answered from a cache: 0 or 1e-6 to 0.99 (some traffic is always served)
HitRate = Annotated[float, Field(ge=0, le=0.99, allow_inf_nan=False), AfterValidator(B._fraction)]


class Cache(Strict):
    """A response cache in front of the workload (docs/cost-techniques.md). Two layers, each its own decision:
    the exact layer answers `exact_hit_rate` of all requests (identical prompts) and costs `monthly_cost_usd`;
    the semantic layer answers a further `semantic_hit_rate` (near-duplicates that are not exact repeats), of which
    `semantic_error_rate` get a wrong answer, and costs `semantic_monthly_cost_usd`."""

    exact_hit_rate: HitRate = 0.0
    monthly_cost_usd: MonthlyUsd = 0.0
    semantic_hit_rate: HitRate = 0.0
    semantic_error_rate: Fraction = 0.0
    semantic_monthly_cost_usd: MonthlyUsd = 0.0
    use: Use = "auto"  # exact layer: auto (the solver decides), on (forced), off (never)
    semantic_use: Use = "auto"

    @model_validator(mode="after")
    def _check(self):
        if self.exact_hit_rate + self.semantic_hit_rate > 0.99:
            raise ValueError(f"exact_hit_rate {self.exact_hit_rate} + semantic_hit_rate {self.semantic_hit_rate} "
                             f"exceed 0.99: the two layers answer disjoint shares of the requests")
        if self.exact_hit_rate == 0 and self.semantic_hit_rate == 0:
            raise ValueError("give exact_hit_rate and/or semantic_hit_rate (shares of all requests, 0 to 0.99)")
        return self


class PromptCompression(Strict):
    """Shorten every prompt by `input_reduction` (LLMLingua-style) at `cost_per_million_tokens` USD per million
    input tokens compressed; each compressed request loses `quality_penalty` of quality score."""

    input_reduction: num(0.01, 0.95)
    quality_penalty: num(0, 1) = 0.0
    cost_per_million_tokens: num(0, B.MAX_USD_PER_MTOK) = 0.0
    use: Use = "auto"


class Cascade(Strict):
    """A router sends `share_routable` of the requests it sees (those it judges simple) to a smaller model or API
    (`small_models`, `small_apis`), at `router_cost_per_request` USD per request routed or not; `misroute_rate`
    of the routed requests are misrouted hard ones and count as failed answers in the quality score."""

    small_models: tuple[str, ...] = ()
    small_apis: tuple[str, ...] = ()
    share_routable: num(0.01, 0.99)
    router_cost_per_request: num(0, 10) = 0.0
    misroute_rate: Fraction = 0.0
    use: Use = "auto"

    @field_validator("small_models", "small_apis", mode="before")
    @classmethod
    def _listify(cls, v):
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self):
        if not (self.small_models or self.small_apis):
            raise ValueError("name the small models (small_models, self-hosted) and/or APIs (small_apis) the "
                             "router sends simple requests to")
        return self


class Quantization(Strict):
    """Serving self-hosted models below 16 bits (the workload's `precisions` other than fp16). On by default for
    a workload with `techniques:`; `use: off` plans it at fp16 only."""

    use: Literal["auto", "off"] = "auto"


class Techniques(Strict):
    """Cost techniques the solver may use for a workload (Exercise 33.5.4; docs/cost-techniques.md)."""

    cache: Cache | None = None
    prompt_compression: PromptCompression | None = None
    cascade: Cascade | None = None
    quantization: Quantization = Quantization()


class ServingWorkload(Strict):
    """Requests served by self-hosted replicas and/or APIs."""

    name: str = Field(min_length=1)
    category: Category = "inference"
    models: tuple[str, ...] = ()
    apis: tuple[str, ...] = ()
    min_quality_tier: Annotated[int, Field(ge=1, le=4)] | None = None
    requests_per_month: Requests
    peak_to_average: num(1, 1e4) | None = None
    peak_rps: Rps | None = None
    input_tokens: whole(1, B.MAX_TOKENS)
    output_tokens: whole(0, B.MAX_TOKENS)
    cached_input_fraction: Fraction = 0.0
    # KV-cache dtype: "auto" is the engine's default (vLLM, SGLang and TGI keep the model's 16-bit dtype;
    # TensorRT-LLM's FP8 recipe stores fp8 KV with fp8/fp4 weights on GPUs with fp8 units)
    kv_cache_dtype: Literal["auto", "fp16", "fp8"] = "auto"
    latency_tier: Literal["interactive", "standard", "batch"] = "standard"
    ttft_ms: Ms | None = None
    tpot_ms: Ms | None = None
    jurisdictions: tuple[str, ...] = ("any",)
    spot: bool = False
    precisions: tuple[Precision, ...] = DEFAULT_PRECISIONS
    engine: Engine | None = None  # None = policy.engine
    classes: tuple[RequestClass, ...] = ()  # request classes by length (see RequestClass)
    daily_profile: tuple[float, ...] | None = None  # 24 hourly levels relative to the average (mean 1)
    autoscale: bool | None = None  # plan hour by hour (None: as policy.autoscale says)
    # burstiness of arrivals at peak: the squared coefficient of variation of the gaps between requests (1 =
    # Poisson; `workload from-trace` measures it inside the trace's peak windows). The queue at each replica is
    # planned with Allen-Cunneen's (C_a^2 + C_s^2) / 2, so bursty traffic gets the headroom it needs.
    arrival_cv2: num(0, 1e4) = 1.0
    # cost techniques the solver may use (cache, prompt compression, cascade, quantization) and a floor on the
    # blended quality score (0..1, docs/cost-techniques.md) that every plan of the workload must keep
    techniques: Techniques | None = None
    min_quality: num(0, 1) | None = None
    growth: Growth | None = None  # volume path over `horizon:` (optimizer/horizon_spec.py)
    spike_factor: num(1, 100) = 1.0  # spikes of this x the peak, `horizon.spike_hours_per_month` hours a month

    @field_validator("models", "apis", "jurisdictions", "precisions", mode="before")
    @classmethod
    def _listify(cls, v):
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="before")
    @classmethod
    def _class_defaults(cls, data):
        """Classes without names are c1..cK; a workload with classes may leave out its mean lengths (then the
        share-weighted means of its classes)."""
        if not isinstance(data, dict) or not isinstance(data.get("classes"), (list, tuple)):
            return data
        data = dict(data)
        classes = [dict(c) if isinstance(c, dict) else c for c in data["classes"]]
        for i, c in enumerate(classes):
            if isinstance(c, dict) and "name" not in c:
                c["name"] = f"c{i + 1}"
        data["classes"] = classes
        try:
            for k in ("input_tokens", "output_tokens"):
                if k not in data and classes:
                    data[k] = max(0 if k == "output_tokens" else 1,
                                  round(sum(float(c["share"]) * float(c[k]) for c in classes)))
        except (KeyError, TypeError, ValueError):
            pass  # the field validation below names what is missing
        return data

    @model_validator(mode="after")
    def _check(self):
        if (self.peak_to_average is None) == (self.peak_rps is None):
            raise ValueError("give exactly one of peak_to_average (e.g. 3) or peak_rps (requests/s at peak)")
        if self.peak_rps is not None and self.peak_rps < self.average_rps * 0.999:
            raise ValueError(f"peak_rps {self.peak_rps} is below the average rate {self.average_rps:.3f} req/s "
                             f"implied by requests_per_month")
        if not (self.models or self.apis or self.min_quality_tier):
            raise ValueError("say what may serve it: models (self-hosted), apis, or min_quality_tier")
        if self.output_tokens == 0 and self.category not in ("embeddings",):
            raise ValueError("output_tokens is 0: only category 'embeddings' has no output")
        if self.classes:
            total = sum(c.share for c in self.classes)
            if abs(total - 1) > 1e-4:
                raise ValueError(f"class shares add up to {total:.6f}, not 1")
            names = [c.name for c in self.classes]
            if len(set(names)) != len(names):
                raise ValueError(f"class names must be unique: {names}")
        if self.techniques is not None and self.classes:
            raise ValueError("techniques with request classes are not supported yet: remove classes (plan the "
                             "workload from its average request) or remove techniques")
        if self.daily_profile is not None:
            prof = self.daily_profile
            if len(prof) != 24 or any(not (v >= 0) or v == float("inf") for v in prof):
                raise ValueError("daily_profile needs 24 hourly levels (>= 0), hour 0 first")
            mean = sum(prof) / 24
            if abs(mean - 1) > 0.01:
                raise ValueError(f"daily_profile levels average {mean:.4f}; they are relative to the average hour "
                                 f"(mean 1): divide each by {mean:.4f}")
            top = max(prof) / mean
            if self.peak < self.average_rps * top * 0.999:
                raise ValueError(f"the peak ({self.peak:.3f} req/s) is below the busiest hour's average rate "
                                 f"({self.average_rps * top:.3f} req/s, {top:.2f} x the average): raise "
                                 f"peak_to_average to at least {top:.2f}")
        return self

    def hour_levels(self) -> tuple[float, ...]:
        """Hourly average rate relative to the month's average (the daily profile, rescaled to mean 1; flat when
        there is none)."""
        if self.daily_profile is None:
            return (1.0,) * 24
        mean = sum(self.daily_profile) / 24
        return tuple(v / mean for v in self.daily_profile)

    @property
    def average_rps(self) -> float:
        return avg_rps(self.requests_per_month)

    @property
    def peak(self) -> float:
        """Peak requests/s."""
        return self.peak_rps if self.peak_rps is not None else self.average_rps * self.peak_to_average

    @property
    def ttft_target_ms(self) -> float:
        return self.ttft_ms if self.ttft_ms is not None else LATENCY_TIERS[self.latency_tier][0]

    @property
    def tpot_target_ms(self) -> float:
        return self.tpot_ms if self.tpot_ms is not None else LATENCY_TIERS[self.latency_tier][1]

    def allows(self, jurisdictions) -> bool:
        """True when every jurisdiction of an option is allowed (`jurisdictions_allow`)."""
        return jurisdictions_allow(self.jurisdictions, jurisdictions)


class FixedWorkload(Strict):
    """A block of GPU-hours per month (fine-tuning, training, experimentation, or a fixed serving fleet)."""

    name: str = Field(min_length=1)
    category: Category
    gpu: str | None = None
    min_vram_gib: num(0.1, 1e5) | None = None
    gpu_count: whole(1, B.MAX_GPUS)
    hours_per_month: num(0.01, 744)
    jurisdictions: tuple[str, ...] = ("any",)
    spot: bool = False
    single_instance: bool = False
    price_per_gpu_hour_usd: HourlyUsd | None = None  # a quoted price: skips the catalog (the seed's budget table)
    # where and how the quoted price applies (a quote has no catalog row to say so)
    price_jurisdiction: str | None = None  # None: unknown, only allowed when the workload accepts 'any'
    price_capacity_type: Literal["on_demand", "spot", "reserved_1y", "reserved_3y"] = "on_demand"

    @field_validator("jurisdictions", mode="before")
    @classmethod
    def _listify(cls, v):
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self):
        if self.gpu is None and self.min_vram_gib is None:
            raise ValueError("give gpu (a GPU name) or min_vram_gib")
        if self.price_per_gpu_hour_usd is not None and self.gpu is None:
            raise ValueError("price_per_gpu_hour_usd needs gpu: the quoted price is for a named GPU")
        if self.price_per_gpu_hour_usd is not None and self.price_jurisdiction is None \
                and "any" not in self.jurisdictions:
            raise ValueError(f"a quoted price_per_gpu_hour_usd has no known location, but the workload may only run in "
                             f"{list(self.jurisdictions)}: give price_jurisdiction (where the quoted GPUs are)")
        return self

    def allows(self, jurisdictions) -> bool:
        return jurisdictions_allow(self.jurisdictions, jurisdictions)


class Failover(Strict):
    """After losing any one provider (a cloud or an API vendor), the plan still serves `fraction` of every serving
    workload's peak by re-routing to what remains."""

    fraction: num(B.MIN_FRACTION, 1)


class Policy(Strict):
    ops_overhead_monthly_usd: MonthlyUsd = 0.0
    failover: Failover | None = None
    max_spot_share: Fraction = 1.0
    budget_monthly_usd: num(0.01, B.MAX_USD_PER_MONTH) | None = None
    max_utilization: num(0.01, 1) = 0.85
    engine: Engine = "vllm"
    # Reserved (1y/3y) capacity is opt-in: it commits money for a year or more, and most reserved prices in the
    # shipped catalog are documented discounts (assumptions), not quotes. `solve --explain` prices the commitment.
    capacity_types: tuple[Literal["on_demand", "spot", "reserved_1y", "reserved_3y"], ...] = ("on_demand", "spot")
    # Which catalog offers a plan may buy (catalog `offer_kind`): `cloud` (providers' own capacity), `marketplace`
    # (independent hosts behind a broker such as Vast.ai: no SLA) and `listprice` (placeholder prices from a range,
    # not offers anyone sells). Quotes in the problem are always admitted.
    offer_kinds: tuple[Literal["cloud", "marketplace", "listprice"], ...] = ("cloud",)
    exclude_providers: tuple[str, ...] = ()
    include_providers: tuple[str, ...] | None = None  # allow-list of clouds and API vendors (None = all)
    include_gpus: tuple[str, ...] | None = None  # allow-list of GPU types for self-hosting (None = all)
    # Self-hosted pools are sized at the capacity the performance model reaches with this probability (its
    # cross-validated error band, docs/performance-model.md); 0.5 plans at the point estimate.
    capacity_confidence: float = 0.9
    # TTFT under load: the share of requests at peak whose queueing delay plus time to first token meets the tier's
    # TTFT target (docs/performance-model.md, "TTFT under load"); null plans the mean wait instead (what llmplan
    # did before 2026-12, under which a queue-bound pool misses the target for a large minority of requests).
    ttft_quantile: num(0.5, 0.9999) | None = 0.99
    # cloud (any offer and API) | on_prem (owned servers and APIs) | air_gapped (owned servers only: no API, no
    # cloud offer); see optimizer/horizon_spec.py
    deployment: Deployment = "cloud"

    @field_validator("capacity_confidence")
    @classmethod
    def _confidence(cls, v: float) -> float:
        if not (CONFIDENCE_RANGE[0] <= v <= CONFIDENCE_RANGE[1]):
            raise ValueError(f"capacity_confidence {v} is outside [{CONFIDENCE_RANGE[0]}, {CONFIDENCE_RANGE[1]}]: "
                             f"it is the probability that a pool reaches its planned capacity (0.5 = the point "
                             f"estimate, 0.9 = the default)")
        return v
    # Hour-by-hour planning (opt-in): serving workloads with `autoscale` (default: this flag) are planned for each
    # hour of a typical day from their daily_profile; pools run between min and max instances per hour and pay the
    # instance-hours they run (plus a billed warm-up per start), APIs take each hour's overflow
    autoscale: bool = False
    autoscale_min_instances: whole(0, 100_000) = 1  # per pool in use, every hour (keeps it warm)
    autoscale_max_instances: whole(1, 100_000) | None = None  # per pool (quota)
    autoscale_warmup_min: num(0, 1440) = 10.0  # minutes an instance is billed before it serves (boot + weights)
    # Carbon cap (kg CO2e a month, location-based, optimizer/perf/energy.py): the plan's self-hosted lines and the
    # APIs with a published carbon figure stay under it; options whose carbon is unknown are not used under a cap.
    max_co2e_kg_month: num(0, 1e12) | None = None


class Measured(Strict):
    """A capacity the user measured; overrides the performance model for matching candidates."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    workload: str
    class_name: str | None = Field(None, alias="class")  # the workload's request class it was measured for
    model: str
    gpu: str
    precision: Precision
    tp: whole(1, 64) = 1
    requests_per_s: num(1e-6, B.MAX_RPS) | None = None
    requests_per_hour: num(1e-3, B.MAX_RPS * 3600) | None = None
    # where the figure comes from (`llmplan measured import` fills these in)
    engine: Engine | None = None
    source: str | None = None
    checked: PastDate | None = None
    ttft_ms: num(0.01, 1e8) | None = None  # measured TTFT and TPOT at that throughput (the percentile `source` names)
    tpot_ms: num(0.01, 1e8) | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.requests_per_s is None) == (self.requests_per_hour is None):
            raise ValueError("give exactly one of requests_per_s or requests_per_hour (per replica)")
        return self

    @property
    def rps(self) -> float:
        return self.requests_per_s if self.requests_per_s is not None else self.requests_per_hour / 3600.0


# config.json spellings accepted for inline model fields (Hugging Face transformers' names)
CONFIG_JSON_NAMES = {
    "num_hidden_layers": "layers", "num_attention_heads": "attention_heads", "num_key_value_heads": "kv_heads",
    "max_position_embeddings": "max_context", "tie_word_embeddings": "tied_embeddings",
    "num_local_experts": "moe_experts", "num_experts": "moe_experts", "n_routed_experts": "moe_experts",
    "num_experts_per_tok": "moe_active_experts", "torch_dtype": "dtype",
}
PosInt = Annotated[int, Field(gt=0)]
Pos = num(1e-9, 1e15)  # a positive architecture figure (parameters in billions and the like)


class InlineModel(Strict):
    """A model the catalog lacks (a fine-tune, a new release), defined in the problem with the fields of its
    config.json. Field names mirror the catalog's models.csv (`ModelSpec`); the config.json spellings in
    `CONFIG_JSON_NAMES` are accepted too. Left out: `kv_heads` = attention_heads (MHA), `head_dim` =
    hidden_size / attention_heads, `active_params_b` = params_b (dense) and `params_b` computed from the
    architecture (see `architecture_params_b`)."""

    name: str = Field(min_length=1)
    display_name: str | None = None
    hf_id: str | None = None
    kind: Literal["decoder", "embedding"] = "decoder"
    params_b: Pos | None = None
    active_params_b: Pos | None = None
    layers: PosInt
    hidden_size: PosInt
    intermediate_size: PosInt
    attention_heads: PosInt
    kv_heads: PosInt | None = None
    head_dim: PosInt | None = None
    vocab_size: PosInt
    tied_embeddings: bool = False
    max_context: PosInt
    moe_experts: PosInt | None = None
    moe_active_experts: PosInt | None = None
    quality_tier: Annotated[int, Field(ge=1, le=4)] = 1
    dtype: Literal["bfloat16", "float16", "float32"] | None = None  # the checkpoint's; serving runs 16-bit
    aliases: tuple[str, ...] = ()
    source: str = "defined in the problem spec"
    checked: PastDate | None = None

    @model_validator(mode="before")
    @classmethod
    def _config_names(cls, v):
        if not isinstance(v, dict):
            return v
        out = dict(v)
        for cfg, ours in CONFIG_JSON_NAMES.items():
            if cfg in out:
                if ours in out:
                    raise ValueError(f"give '{ours}' or its config.json spelling '{cfg}', not both")
                out[ours] = out.pop(cfg)
        if isinstance(out.get("aliases"), str):
            out["aliases"] = (out["aliases"],)
        return out

    @model_validator(mode="after")
    def _check(self):
        if (self.moe_experts is None) != (self.moe_active_experts is None):
            raise ValueError("a mixture-of-experts model needs both moe_experts and moe_active_experts")
        if self.moe_experts is not None and self.moe_active_experts > self.moe_experts:
            raise ValueError(f"moe_active_experts {self.moe_active_experts} exceeds moe_experts {self.moe_experts}")
        kv = self.kv_heads or self.attention_heads
        if self.attention_heads % kv:
            raise ValueError(f"attention_heads {self.attention_heads} is not a multiple of kv_heads {kv}")
        if self.head_dim is None and self.hidden_size % self.attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of attention_heads "
                             f"{self.attention_heads}: give head_dim")
        return self

    def architecture_params_b(self, active: bool = False) -> float:
        """Parameters (billions) from the architecture: embeddings (x2 when untied) + per layer the attention
        projections (q and o: hidden x heads x head_dim each; k and v: hidden x kv_heads x head_dim each) and a
        gated FFN (3 x hidden x intermediate) per expert (per active expert when `active`). Norms and biases
        are left out (< 0.1% of a decoder). Llama 3.1 8B: 8.03 B, as its model card says."""
        hd = self.head_dim or self.hidden_size // self.attention_heads
        kv = self.kv_heads or self.attention_heads
        attn = 2 * self.hidden_size * self.attention_heads * hd + 2 * self.hidden_size * kv * hd
        experts = (self.moe_active_experts if active else self.moe_experts) or 1
        ffn = 3 * self.hidden_size * self.intermediate_size * experts
        emb = self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)
        return (emb + self.layers * (attn + ffn)) / 1e9


class Quote(Strict):
    """A price you were quoted for an instance type; becomes an offer of provider `provider` for this problem."""

    name: str = Field(min_length=1)
    provider: str = "quoted"
    gpu: str
    gpus_per_instance: whole(1, 64) = 1
    ondemand_hourly_usd: HourlyUsd | None = None
    spot_hourly_usd: HourlyUsd | None = None
    reserved_1y_hourly_usd: HourlyUsd | None = None
    reserved_3y_hourly_usd: HourlyUsd | None = None
    region: str = "quoted"
    jurisdiction: str
    source: str = Field(min_length=3)
    checked: PastDate

    @model_validator(mode="after")
    def _priced(self):
        if not any((self.ondemand_hourly_usd, self.spot_hourly_usd, self.reserved_1y_hourly_usd,
                    self.reserved_3y_hourly_usd)):
            raise ValueError("give at least one price (ondemand_hourly_usd, spot_hourly_usd, reserved_1y_hourly_usd "
                             "or reserved_3y_hourly_usd), USD per instance-hour")
        return self


class Reference(Strict):
    """A figure to compare the plan with (your spreadsheet's, or a source's printed figure)."""

    label: str
    what: Literal["monthly_cost_usd", "workload_monthly_cost_usd", "workload_percent",
                  "breakeven_requests_per_month"]
    workload: str | None = None
    value: num(-B.MAX_USD_PER_MONTH, B.MAX_USD_PER_MONTH)

    @model_validator(mode="after")
    def _needs_workload(self):
        if self.what != "monthly_cost_usd" and not self.workload:
            raise ValueError(f"'{self.what}' needs the workload it refers to")
        return self


class Problem(Strict):
    name: str = "problem"
    description: str | None = None
    workloads: tuple[ServingWorkload | FixedWorkload, ...]
    models: tuple[InlineModel, ...] = ()  # models the catalog lacks (see InlineModel)
    policy: Policy = Policy()
    measured: tuple[Measured, ...] = ()
    quotes: tuple[Quote | OwnedQuote, ...] = ()
    references: tuple[Reference, ...] = ()
    horizon: Horizon | None = None  # plan several months at once (optimizer/model/horizon.py)

    @field_validator("quotes", mode="before")
    @classmethod
    def _quote_kind(cls, v):
        if not isinstance(v, (list, tuple)):
            return v
        return [OwnedQuote.model_validate(q) if isinstance(q, dict) and q.get("kind") == "owned"
                else Quote.model_validate(q) if isinstance(q, dict) else q for q in v]

    @property
    def rented_quotes(self) -> tuple:
        return tuple(q for q in self.quotes if not isinstance(q, OwnedQuote))

    @property
    def owned_quotes(self) -> tuple:
        return tuple(q for q in self.quotes if isinstance(q, OwnedQuote))

    @field_validator("workloads", mode="before")
    @classmethod
    def _kind(cls, v):
        if not isinstance(v, (list, tuple)) or not v:
            raise ValueError("give a non-empty list of workloads")
        return [workload_class(w).model_validate(w) if isinstance(w, dict) else w for w in v]

    @model_validator(mode="after")
    def _unique(self):
        names = [w.name for w in self.workloads]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"workload names must be unique: {sorted(dup)}")
        inline = [m.name for m in self.models]
        dup = {n for n in inline if inline.count(n) > 1}
        if dup:
            raise ValueError(f"inline model names must be unique: {sorted(dup)}")
        by_name = {w.name: w for w in self.workloads}
        for m in self.measured:
            if m.workload not in names:
                raise ValueError(f"measured entry names workload '{m.workload}', which is not defined")
            classes = [c.name for c in getattr(by_name[m.workload], "classes", ())]
            if classes and m.class_name is None:
                raise ValueError(f"measured entry for workload '{m.workload}' must name its class (one of "
                                 f"{classes}): a capacity holds for one request length")
            if m.class_name is not None and m.class_name not in classes:
                raise ValueError(f"measured entry names class '{m.class_name}' of workload '{m.workload}', which "
                                 f"has classes {classes}")
        for r in self.references:
            if r.workload is not None and getattr(by_name.get(r.workload), "classes", ()) and r.what != \
                    "workload_monthly_cost_usd":
                raise ValueError(f"reference '{r.label}': '{r.what}' is not computed for a workload with classes "
                                 f"('{r.workload}'); use workload_monthly_cost_usd or monthly_cost_usd")
        if self.policy.max_co2e_kg_month is not None and any(
                (w.autoscale if w.autoscale is not None else self.policy.autoscale) for w in self.serving):
            raise ValueError("policy.max_co2e_kg_month does not combine with autoscale yet (the cap counts every "
                             "pool's instances all month): drop one of them")
        for w in self.serving:
            if w.techniques is None:
                continue
            if self.policy.failover is not None:
                raise ValueError(f"workload '{w.name}': techniques with policy.failover are not supported yet "
                                 f"(failover re-routes each slice of the workload separately): remove one of them")
            if w.autoscale or (w.autoscale is None and self.policy.autoscale):
                raise ValueError(f"workload '{w.name}': techniques with autoscale are not supported yet: set "
                                 f"autoscale: false on it or remove techniques")
            if any(n.startswith(w.name + "~") for n in names):
                raise ValueError(f"workload names starting with '{w.name}~' are reserved for its technique slices")
        for r in self.references:
            if r.workload is not None and r.workload not in names:
                raise ValueError(f"reference '{r.label}' names workload '{r.workload}', which is not defined")
        return self

    @model_validator(mode="after")
    def _horizon_fields(self):
        from .horizon_spec import check_horizon_fields
        check_horizon_fields(self)
        return self

    @property
    def serving(self) -> list[ServingWorkload]:
        return [w for w in self.workloads if isinstance(w, ServingWorkload)]

    @property
    def fixed(self) -> list[FixedWorkload]:
        return [w for w in self.workloads if isinstance(w, FixedWorkload)]


def workload_class(w: dict):
    """Fixed-hours when it names GPUs and hours, serving otherwise."""
    fixed = any(k in w for k in ("gpu_count", "hours_per_month", "min_vram_gib", "gpu"))
    return FixedWorkload if fixed else ServingWorkload


def _loc(problem_data, loc) -> str:
    """'workloads[1] (chat).peak_rps' from a pydantic error location."""
    parts = []
    node = problem_data
    for p in loc:
        if p in ("ServingWorkload", "FixedWorkload") or (isinstance(p, str) and p.startswith("function-")):
            continue
        if isinstance(p, int):
            label = f"[{p}]"
            try:
                node = node[p]
                if isinstance(node, dict) and "name" in node:
                    label += f" ({node['name']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


class _Located(Exception):
    def __init__(self, error: ValidationError, prefix: list):
        self.error, self.prefix = error, prefix


def parse_problem(data, source: str = "<problem>") -> Problem:
    if not isinstance(data, dict):
        raise ProblemError("expected a mapping with 'workloads:' at the top level", file=source,
                           fix="see problems/*.yaml for the format")
    try:
        wl = data.get("workloads")
        if isinstance(wl, list):  # validate one by one so that errors carry the workload's index and name
            for i, w in enumerate(wl):
                if isinstance(w, dict):
                    try:
                        workload_class(w).model_validate(w)
                    except ValidationError as e:
                        raise _Located(e, ["workloads", i]) from None
        qs = data.get("quotes")
        if isinstance(qs, list):  # the same for quotes (rented, or kind: owned)
            for i, q in enumerate(qs):
                if isinstance(q, dict):
                    try:
                        (OwnedQuote if q.get("kind") == "owned" else Quote).model_validate(q)
                    except ValidationError as e:
                        raise _Located(e, ["quotes", i]) from None
        return Problem.model_validate(data)
    except (ValidationError, _Located) as exc:
        e, prefix = (exc.error, exc.prefix) if isinstance(exc, _Located) else (exc, [])
        err = e.errors()[0]
        where = _loc(data, prefix + list(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
            expected = [x.strip().strip("'") for x in
                        err.get("ctx", {}).get("expected", "").replace(" or ", ", ").split(",") if x.strip()]
            got = str(err.get("input"))
            msg = f"unknown value '{got}' for {where.rsplit('.', 1)[-1]}.{did_you_mean(got, expected)}"
            fix = f"use one of {', '.join(expected)}"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
            fix = "remove it or check its spelling against README.md's problem reference"
        elif err["type"] == "missing":
            fix = "add the field"
        elif err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            fix = "give a value within that bound (README.md lists every field's bounds)"
        else:
            fix = "correct the value"
        raise ProblemError(msg, file=source, where=where, fix=fix) from None


def load_problem(path: str | Path) -> Problem:
    """A problem YAML file (see `loaders`: encodings, BOM, nesting, duplicate keys, numbers), validated."""
    from .loaders import load_yaml
    data = load_yaml(path, what="problem YAML", fix="see problems/*.yaml and README.md's problem reference",
                     error=ProblemError)
    return parse_problem(data, str(path))


def parse_problem_text(text: str, source: str = "<problem>") -> Problem:
    """A problem from YAML (or JSON, which YAML reads too) text; errors name `source`, the line or field, the fix."""
    return parse_problem(read_yaml(text, source), source)


def read_yaml(text: str, source: str = "<problem>"):
    """The data in YAML text (`loaders.parse_yaml`: duplicate keys, nesting, numbers); errors name `source`."""
    from .loaders import parse_yaml
    return parse_yaml(text, file=source, fix="see problems/*.yaml and README.md's problem reference",
                      error=ProblemError)
