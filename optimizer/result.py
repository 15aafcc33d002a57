"""The result: one frozen, versioned object. JSON is its serialization; every renderer is a pure function of it,
so a saved plan can be re-rendered later.

Pool lines: a pool (one replica configuration) that serves several workloads appears in `deployments` once per
workload it serves; `replicas` and `instances` are the pool's totals, `share` is the fraction of the workload's
traffic it takes, `pool_share` the fraction of the pool's load (and cost) allocated to the workload, and
`monthly_cost_usd` is the allocated cost. `pools` lists each pool once with its whole cost.
Invariants checked when the plan is built: sum(deployments) + sum(api) + sum(fixed) = monthly_cost_usd and
sum(workloads) + sum(fixed) = monthly_cost_usd, both within $0.01.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .errors import LlmplanError

SCHEMA_VERSION = "1.3"  # 1.3: energy and carbon (`energy`); 1.1: optional routing fields (token lengths, latency targets, API latency and
#                          quality, standby APIs, failover routes); 1.2: verification, failover route reasons,
#                          considered options, and the optional capacity-uncertainty fields (engine, point
#                          estimate, band, confidence, queueing delay; per pool the cost of that uncertainty);
#                          1.0 and 1.1 plans still load

# Bounds checked when a saved plan is loaded (plan_from_data below), by field name wherever it occurs:
# a plan llmplan wrote is always inside them; an edited one outside them would overflow or loop in a renderer or
# the simulation. Amounts in USD (any field ending in `_usd`) are bounded by +-MAX_PLAN_USD.
MAX_PLAN_USD = 1e15
LOAD_BOUNDS = {
    "share": (0, 1), "pool_share": (0, 1), "max_utilization": (0, 1), "fraction": (0, 1),
    "instances": (0, 1e6), "replicas": (0, 1e6), "gpus_per_instance": (0, 1024), "gpus_per_replica": (0, 1024),
    "tp": (0, 1024), "batch": (0, 1e7), "gpu_count": (0, 1e6),
    "capacity_rps": (0, 1e10), "load_rps": (0, 1e10), "peak_rps": (0, 1e10), "rps": (0, 1e10),
    "peak_rpm": (0, 1e12), "rpm_limit": (0, 1e13), "tpm_limit": (0, 1e16),
    "requests_per_month": (0, 1e16), "input_tokens": (0, 1e8), "output_tokens": (0, 1e8),
    "ttft_ms": (0, 1e9), "tpot_ms": (0, 1e9), "ttft_target_ms": (0, 1e9), "tpot_target_ms": (0, 1e9),
    "hours_per_month": (0, 744), "busy_fraction": (0, 1), "instance_hours": (0, 1e12), "kwh": (0, 1e15),
    "kg_co2e": (0, 1e15), "max_co2e_kg_month": (0, 1e12), "seconds": (0, 1e9), "time_limit_s": (0, 1e9),
}



class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SolverInfo(Frozen):
    name: str
    seconds: float
    time_limit_s: float | None = None
    gap_requested: float | None = None


class Deployment(Frozen):
    workload: str
    pool: str
    model: str
    gpu: str
    gpus_per_replica: int
    replicas: int
    instances: int
    instance_type: str
    gpus_per_instance: int
    precision: str
    tp: int
    capacity_type: str
    cloud: str
    region: str
    jurisdiction: str
    hourly_usd_per_replica: float
    hourly_usd_per_instance: float
    hours_per_month: float
    share: float | None  # fraction of the workload's traffic (None for fixed-hours blocks)
    pool_share: float  # fraction of the pool's cost allocated to this workload
    monthly_cost_usd: float
    capacity_rps: float | None  # requests/s the pool can give this workload at peak (all instances)
    load_rps: float | None  # requests/s of this workload on the pool at peak
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    batch: int | None = None
    capacity_source: str | None = None  # "model" or "measured"
    price_source: str
    quality_tier: int | None = None  # the model's editorial quality tier (1..4), for quality routing
    hf_id: str | None = None  # the model's Hugging Face id: the name a vLLM server serves it under
    engine: str | None = None  # serving engine the capacity was modelled (or measured) for
    capacity_point_rps: float | None = None  # capacity_rps at the point estimate (capacity_rps is the planned one)
    capacity_sigma: float | None = None  # lognormal sigma of the capacity's error band
    capacity_confidence: float | None = None  # probability that the pool reaches capacity_rps
    queue_ms: float | None = None  # queueing delay at the planned utilisation, included in ttft_ms


class PoolLine(Frozen):
    pool: str
    model: str
    gpu: str
    instance_type: str
    cloud: str
    region: str
    precision: str
    tp: int
    capacity_type: str
    instances: int
    replicas: int
    hourly_usd_per_instance: float
    monthly_cost_usd: float
    utilization: float  # load at peak / capacity
    workloads: list[str]
    engine: str | None = None
    capacity_basis: str | None = None  # "model", "measured" or "model+measured"
    point_instances: int | None = None  # instances the same load needs at the point estimate of capacity
    uncertainty_cost_usd: float | None = None  # (instances - point_instances) x monthly price: what measuring
    #                                            this pool's capacity could save at most, routing unchanged


class ApiLine(Frozen):
    workload: str
    provider: str
    model: str
    api_id: str
    mode: str
    share: float
    requests_per_month: float
    usd_per_request: float
    monthly_cost_usd: float
    peak_rpm: float
    rpm_limit: int | None
    tpm_limit: int | None
    jurisdictions: list[str]
    price_source: str
    ttft_ms: float | None = None  # the API's typical time to first token (catalog)
    tpot_ms: float | None = None  # the API's typical time per output token (catalog)
    quality_tier: int | None = None
    provider_model_id: str | None = None  # the provider's model id (LiteLLM's key for it)


class FixedLine(Frozen):
    name: str
    monthly_cost_usd: float
    note: str


class WorkloadLine(Frozen):
    name: str
    category: str
    kind: str  # "serving" or "fixed-hours"
    monthly_cost_usd: float
    requests_per_month: float | None = None
    peak_rps: float | None = None
    usd_per_1k_requests: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_tier: str | None = None
    ttft_target_ms: float | None = None
    tpot_target_ms: float | None = None
    jurisdictions: list[str] = []


class CategoryLine(Frozen):
    category: str
    monthly_cost_usd: float
    percent: float


class CurvePoint(Frozen):
    requests_per_month: float
    api_usd: float | None  # None where the API alone cannot serve the volume (rate limit)
    self_hosted_usd: float | None  # None where no self-hosted option exists


class Crossover(Frozen):
    requests_per_month: float
    requests_per_minute: float  # average, over 730 hours
    cheaper_above: str  # "self-hosted", "api", or "self-hosted (the API alone is rate-limited ...)"
    self_hosted_option: str


class NaiveBreakeven(Frozen):
    """The seed chapter's BreakevenAnalysis with its inputs, reproduced exactly."""

    api_input_per_million: float
    api_output_per_million: float
    avg_input_tokens: int
    avg_output_tokens: int
    gpu_cost_per_hour: float
    gpu_count: int
    throughput_requests_per_hour: float
    ops_overhead_monthly: float
    api_cost_per_request: float
    breakeven_monthly_requests: float | None  # None = never (API cost per request is 0)
    breakeven_requests_per_day: float | None
    breakeven_requests_per_minute: float | None


class Breakeven(Frozen):
    workload: str
    api_option: str | None
    api_usd_per_request: float | None
    api_max_requests_per_month: float | None  # the API's rate limit caps API-only service here
    self_hosted_options: list[str]
    self_hosted_usd_per_request_at_full: float | None  # best effective cost per request, instances full at peak
    peak_to_average: float
    ops_overhead_monthly_usd: float
    crossovers: list[Crossover]
    verdict: str
    reason: str
    naive: NaiveBreakeven | None
    naive_vs_capacity: str | None = None  # what the naive breakeven volume really costs
    self_hosted_usd_per_request_at_volume: float | None = None  # the seed's self_hosted_cost_per_request(V)
    curve: list[CurvePoint]
    volume_examined_max: float


class ConstraintCost(Frozen):
    family: str
    description: str
    relaxed_cost_usd: float | None  # None when the relaxed problem could not be solved
    monthly_cost_usd: float | None  # what the constraint adds (plan cost - relaxed cost)
    binding: bool
    note: str = ""


class Alternative(Frozen):
    name: str
    monthly_cost_usd: float | None  # None = infeasible under the problem's constraints
    delta_usd: float | None
    delta_percent: float | None
    summary: str
    relaxed_monthly_cost_usd: float | None = None  # when infeasible: its cost without the policy constraints


class EntryPrice(Frozen):
    workload: str
    option: str
    kind: str  # "api" or "pool"
    current_price: float
    entry_price: float | None  # None = does not enter at any price
    unit: str
    method: str


class ReferenceCheck(Frozen):
    label: str
    what: str
    workload: str | None
    reference: float
    computed: float | None
    note: str


class FailoverRoute(Frozen):
    """The optimizer's re-routing after losing one provider: `rps` requests/s of `workload` at peak go to
    `target` (a pool id, or an API's api_id) when `lost_provider` is down. Together the routes for one
    (lost_provider, workload) carry the failover fraction of the workload's peak. A workload with no route listed
    for a lost provider keeps its normal routing, scaled to the failover fraction."""

    lost_provider: str
    workload: str
    kind: str  # "pool" or "api"
    target: str
    mode: str | None = None  # API mode ("realtime" or "batch")
    rps: float
    reason: str | None = None  # "re-routed" (it had traffic on the lost provider) or "moved to make room"


class Considered(Frozen):
    """Something the problem names (a model, an API, a provider, a GPU, a jurisdiction) and what became of it:
    `used`, `not chosen` (eligible, but the optimum is cheaper without it), or `excluded` (with the reason and the
    number that excluded it)."""

    kind: str
    name: str
    workload: str | None
    status: str
    reason: str = ""


class EnergyLine(Frozen):
    """Energy and carbon of one self-hosted pool, fixed-hours block or API line over a month
    (optimizer/perf/energy.py). None = unknown; `basis` says where the figures come from, or why unknown."""

    kind: str  # "pool", "fixed", "owned" (servers bought, plans over a horizon) or "api"
    name: str  # pool id, fixed block id, or api_id
    workloads: list[str]
    instance_hours: float | None = None
    busy_fraction: float | None = None  # average share of the instances' modelled throughput in use
    kwh: float | None = None
    kg_co2e: float | None = None
    gco2e_per_kwh: float | None = None  # the grid's intensity (pools and blocks)
    pue: float | None = None
    basis: str = ""


class PlanEnergy(Frozen):
    lines: list[EnergyLine]
    kwh: float  # the lines whose energy is known
    kg_co2e: float  # the lines whose carbon is known
    unknown_kwh: list[str] = []  # lines whose energy is unknown
    unknown_co2e: list[str] = []  # lines whose carbon is unknown
    max_co2e_kg_month: float | None = None  # the policy's cap, if any
    note: str = ""


class Plan(Frozen):
    schema_version: str = SCHEMA_VERSION
    problem: str
    status: str
    monthly_cost_usd: float
    lower_bound_usd: float | None
    gap: float | None
    solver: SolverInfo
    catalog: dict
    deployments: list[Deployment]
    pools: list[PoolLine]
    api: list[ApiLine]
    fixed: list[FixedLine]
    workloads: list[WorkloadLine]
    categories: list[CategoryLine]
    failover: dict | None = None
    failover_routes: list[FailoverRoute] = []
    standby_api: list[ApiLine] = []  # APIs that carry no traffic normally but take failover traffic (share 0)
    max_utilization: float | None = None  # the policy's planning headroom (capacity_rps includes it)
    assumptions: list[str] = []
    warnings: list[str] = []
    candidates: dict = {}
    description: str | None = None
    breakeven: list[Breakeven] = []
    constraint_costs: list[ConstraintCost] | None = None  # None = not computed (solve --explain)
    alternatives: list[Alternative] | None = None
    entry_prices: list[EntryPrice] | None = None
    references: list[ReferenceCheck] = []
    extras: dict = {}  # further sections, e.g. `diff` from `solve --compare-to`
    considered: list[Considered] = []  # every named model/API/provider/GPU/jurisdiction: used, or why not
    # the independent check of the plan against its problem (optimizer/verify.py): {"checks": N, "violations": [..]}
    verification: dict | None = None
    capacity_confidence: float | None = None  # policy.capacity_confidence the pools were sized at
    point_estimate_cost_usd: float | None = None  # the plan re-solved at confidence 0.5 (point estimates)
    energy: PlanEnergy | None = None  # energy and carbon of every line (schema 1.3; older plans have none)


PLAN_FIX = "pass a plan saved with `llmplan solve PROBLEM --format json -o PLAN.json`"


def load_plan(text: str, source: str = "<plan>", *, strict: bool = False) -> Plan:
    """A plan from JSON text; `strict` refuses values of the wrong JSON type (true or "1" for a number) instead of
    converting them. Parsing (duplicate keys, NaN, nesting, number range) is `loaders.parse_json`'s."""
    from .loaders import parse_json
    return plan_from_data(parse_json(text, file=source, fix=PLAN_FIX), source, strict=strict)


def load_plan_file(path, *, strict: bool = False) -> Plan:
    """A plan saved with `llmplan solve --format json` (file mechanics: `loaders.load_json`)."""
    from .loaders import load_json
    return plan_from_data(load_json(path, what="plan JSON", fix=PLAN_FIX), str(path), strict=strict)


def plan_from_data(data, source: str = "<plan>", *, strict: bool = False) -> Plan:
    """Validate parsed JSON (already through `loaders.check_tree`: finite, bounded numbers) as a Plan."""
    ver = data.get("schema_version") if isinstance(data, dict) else None
    if ver is None or str(ver).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise LlmplanError(f"unsupported plan schema_version {ver!r} (this llmplan reads {SCHEMA_VERSION})",
                           file=source, fix="re-run `llmplan solve --format json` with this version")
    _check_bounds(data, source)
    try:
        return Plan.model_validate(data, strict=strict)
    except Exception as e:  # pydantic ValidationError: name the first field
        errs = getattr(e, "errors", lambda: [])()
        where = ".".join(str(p) for p in errs[0]["loc"]) if errs else None
        raise LlmplanError(f"not a valid plan: {errs[0]['msg'] if errs else e}", file=source, where=where,
                           fix=PLAN_FIX) from None


def _check_bounds(data, source: str) -> None:
    """Every number whose field name `LOAD_BOUNDS` lists (or that ends in `_usd`) within its bounds."""
    stack = [(data, "")]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            where = f"{path}[{k}]" if isinstance(k, int) else (f"{path}.{k}" if path else str(k))
            if isinstance(v, (dict, list)):
                stack.append((v, where))
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or isinstance(k, int):
                continue
            lo, hi = LOAD_BOUNDS.get(k, (-MAX_PLAN_USD, MAX_PLAN_USD) if k.endswith("_usd") else (None, None))
            if lo is not None and not lo <= v <= hi:
                raise LlmplanError(f"{v:g} is outside [{lo:g}, {hi:g}]", file=source, where=where,
                                   fix="a plan written by llmplan is always inside it: " + PLAN_FIX)
