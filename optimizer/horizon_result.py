"""The result of a plan over several months: a timeline, month by month (fleet, commitments, purchases, API
shares, cost by kind), totals and NPV, decision points in words. A versioned JSON document of its own kind
(`kind: "horizon"`); single-month plans (`optimizer/result.py`) are unchanged and still load as before.
"""

from __future__ import annotations

from .errors import LlmplanError
from .result import Frozen, PlanEnergy, SolverInfo

HORIZON_SCHEMA_VERSION = "1.1"  # 1.1: energy and carbon, fixed-hours blocks per month (older plans load)
COST_KINDS = ("on_demand", "spot", "reserved", "owned_capex", "owned_opex", "api", "ops", "fixed")


class FleetLine(Frozen):
    """Instances of one pool available in a month."""

    pool: str
    model: str
    gpu: str
    gpus_per_instance: int
    precision: str
    tp: int
    capacity_type: str  # on_demand | spot | reserved_1y | reserved_3y | owned
    cloud: str
    region: str
    instances: int
    hourly_usd_per_instance: float | None = None  # rented pools; owned servers: None
    monthly_cost_usd: float  # owned: running (in use) cost; rented: instances x hourly x 730


class FixedBlock(Frozen):
    """The block a fixed-hours workload (fine-tuning, training, a fixed fleet) rents in a month."""

    workload: str
    option: str  # <workload>|<offer id>|<capacity type>, or <workload>|quoted
    gpu: str
    gpus_per_instance: int
    instances: int
    hours: float  # per month
    capacity_type: str  # on_demand | spot
    cloud: str
    region: str
    hourly_usd_per_instance: float
    monthly_cost_usd: float  # instances x hourly x hours


class ShareLine(Frozen):
    workload: str
    option: str  # pool id or api:<provider>/<model>
    share: float  # of the workload's traffic this month
    spike_share: float = 0.0  # of the spike excess (spike_factor - 1) x peak


class Commitment(Frozen):
    pool: str
    capacity_type: str
    start_month: int  # 1-based
    term_months: int
    instances: int
    hourly_usd_per_instance: float
    monthly_usd: float
    months_past_horizon: int
    cost_past_horizon_usd: float  # undiscounted, charged in full


class Purchase(Frozen):
    pool: str
    server: str  # the owned quote's name
    order_month: int
    delivery_month: int
    servers: int
    price_usd: float  # per server
    book_value_end_usd: float  # per server, straight-line at the end of the horizon


class Month(Frozen):
    month: int  # 1-based
    requests: dict  # workload -> requests this month
    peak_rps: dict  # workload -> peak requests/s
    fleet: list[FleetLine]
    shares: list[ShareLine]
    api_share: dict  # workload -> share of traffic on APIs
    cost_usd: dict  # kind -> USD this month (COST_KINDS)
    total_usd: float
    discount_factor: float
    owned_delivered: dict = {}  # pool -> owned servers on site
    self_hosting: bool = False  # the ops overhead runs
    energy: PlanEnergy | None = None  # kWh and kg CO2e this month (optimizer/explain/energy.py month_energy)
    fixed: list[FixedBlock] = []  # fixed-hours blocks rented this month


class ConstraintCost(Frozen):
    """What a policy constraint costs over the horizon: the plan's NPV against the NPV without it (`--explain`)."""

    field: str  # e.g. policy.max_co2e_kg_month
    limit: str  # the constraint as the problem states it
    npv_without_usd: float | None  # None: the re-solve found no plan
    costs_npv_usd: float | None  # plan NPV - NPV without it (0: not binding)


class HorizonPlan(Frozen):
    kind: str = "horizon"
    schema_version: str = HORIZON_SCHEMA_VERSION
    problem: str
    status: str
    months: int
    discount_rate_annual: float
    spike_hours_per_month: float
    deployment: str
    npv_usd: float
    total_usd: float  # undiscounted, months inside the horizon
    committed_past_horizon_usd: float  # undiscounted
    committed_past_horizon_npv_usd: float
    residual_value_usd: float  # owned servers' book value at the end (undiscounted)
    residual_value_npv_usd: float
    kwh: float | None = None  # over the horizon, the lines whose energy is known
    kg_co2e: float | None = None  # over the horizon, the lines whose carbon is known
    lower_bound_usd: float | None = None
    gap: float | None = None
    solver: SolverInfo
    timeline: list[Month]
    commitments: list[Commitment] = []
    purchases: list[Purchase] = []
    decisions: list[str] = []
    assumptions: list[str] = []
    warnings: list[str] = []
    verification: dict | None = None
    constraint_costs: list[ConstraintCost] = []  # --explain: what each policy constraint costs (NPV)


FIX = "re-run `llmplan solve --format json` on the problem with `horizon:`"


def load_horizon_plan(text: str, source: str = "<plan>") -> HorizonPlan:
    from .loaders import parse_json
    return horizon_plan_from_data(parse_json(text, file=source, fix=FIX), source)


def horizon_plan_from_data(data, source: str = "<plan>") -> HorizonPlan:
    if not is_horizon_plan(data):
        raise LlmplanError("not a plan over a horizon (no kind: horizon)", file=source, fix=FIX)
    if str(data.get("schema_version", "")).split(".")[0] != HORIZON_SCHEMA_VERSION.split(".")[0]:
        raise LlmplanError(f"unsupported horizon plan schema_version {data.get('schema_version')!r} (this llmplan "
                           f"reads {HORIZON_SCHEMA_VERSION})", file=source, fix=FIX)
    try:
        return HorizonPlan.model_validate(data)
    except Exception as e:  # pydantic ValidationError: name the first field
        errs = getattr(e, "errors", lambda: [])()
        where = ".".join(str(p) for p in errs[0]["loc"]) if errs else None
        raise LlmplanError(f"not a valid horizon plan: {errs[0]['msg'] if errs else e}", file=source, where=where,
                           fix=FIX) from None


def is_horizon_plan(data) -> bool:
    return isinstance(data, dict) and data.get("kind") == "horizon"
