"""Problem spec: workloads, policy and measured capacities, read from YAML and validated with pydantic.

Two kinds of workload:
- a *serving* workload has a monthly request volume, a peak, token lengths and a latency tier; it is served by
  self-hosted replicas and/or LLM APIs in shares the optimizer chooses;
- a *fixed-hours* workload (the seed's fine-tuning and experimentation blocks) needs `gpu_count` GPUs of a type
  (or of at least `min_vram_gib`) for `hours_per_month`, bought at the cheapest eligible price.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ProblemError
from .units import avg_rps

CATEGORIES = ("inference", "embeddings", "fine-tuning", "training", "experimentation", "batch")
Category = Literal["inference", "embeddings", "fine-tuning", "training", "experimentation", "batch"]
Precision = Literal["fp16", "fp8", "int8", "int4", "fp4"]

# Latency tiers: (TTFT ms, TPOT ms). Batch has no latency target and may use providers' batch APIs.
LATENCY_TIERS = {
    "interactive": (500.0, 40.0),
    "standard": (2000.0, 100.0),
    "batch": (3_600_000.0, 10_000.0),
}
DEFAULT_PRECISIONS = ("fp16", "fp8", "int8")

Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestClass(Strict):
    """A share of a workload's requests with its own mean lengths (from `llmplan workload from-trace --classes K`
    or written by hand). Each class is planned as its own slice of the workload: share x the volume and x the
    peak (the class mix is assumed the same at every hour), its own capacity per pool and its own context check."""

    name: str = Field(min_length=1)
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    input_tokens: Annotated[int, Field(ge=1)]
    output_tokens: Annotated[int, Field(ge=0)]
    # (log input tokens, log(1 + output tokens)) of the class's k-means centre, written by from-trace; a replay
    # assigns each request of a trace to the nearest centre (default: the logs of the class's mean lengths)
    center: tuple[float, float] | None = None

    @property
    def log_center(self) -> tuple[float, float]:
        import math
        return self.center if self.center is not None else (math.log(self.input_tokens),
                                                             math.log1p(self.output_tokens))


class ServingWorkload(Strict):
    """Requests served by self-hosted replicas and/or APIs."""

    name: str = Field(min_length=1)
    category: Category = "inference"
    models: tuple[str, ...] = ()
    apis: tuple[str, ...] = ()
    min_quality_tier: Annotated[int, Field(ge=1, le=4)] | None = None
    requests_per_month: Pos
    peak_to_average: Annotated[float, Field(ge=1, allow_inf_nan=False)] | None = None
    peak_rps: Pos | None = None
    input_tokens: Annotated[int, Field(ge=1)]
    output_tokens: Annotated[int, Field(ge=0)]
    cached_input_fraction: Fraction = 0.0
    latency_tier: Literal["interactive", "standard", "batch"] = "standard"
    ttft_ms: Pos | None = None
    tpot_ms: Pos | None = None
    jurisdictions: tuple[str, ...] = ("any",)
    spot: bool = False
    precisions: tuple[Precision, ...] = DEFAULT_PRECISIONS
    classes: tuple[RequestClass, ...] = ()  # request classes by length (see RequestClass)
    daily_profile: tuple[float, ...] | None = None  # 24 hourly levels relative to the average (mean 1)
    autoscale: bool | None = None  # plan hour by hour (None: as policy.autoscale says)

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
        """True when every jurisdiction of an option is allowed ('any' allows all, including 'global')."""
        if "any" in self.jurisdictions:
            return True
        return all(j in self.jurisdictions for j in jurisdictions)


class FixedWorkload(Strict):
    """A block of GPU-hours per month (fine-tuning, training, experimentation, or a fixed serving fleet)."""

    name: str = Field(min_length=1)
    category: Category
    gpu: str | None = None
    min_vram_gib: Pos | None = None
    gpu_count: Annotated[int, Field(ge=1)]
    hours_per_month: Annotated[float, Field(gt=0, le=744, allow_inf_nan=False)]
    jurisdictions: tuple[str, ...] = ("any",)
    spot: bool = False
    single_instance: bool = False
    price_per_gpu_hour_usd: Pos | None = None  # a quoted price: skips the catalog (the seed's budget table)

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
        return self

    def allows(self, jurisdictions) -> bool:
        return "any" in self.jurisdictions or all(j in self.jurisdictions for j in jurisdictions)


class Failover(Strict):
    """After losing any one provider (a cloud or an API vendor), the plan still serves `fraction` of every serving
    workload's peak by re-routing to what remains."""

    fraction: Annotated[float, Field(gt=0, le=1)]


class Policy(Strict):
    ops_overhead_monthly_usd: NonNeg = 0.0
    failover: Failover | None = None
    max_spot_share: Fraction = 1.0
    budget_monthly_usd: Pos | None = None
    max_utilization: Annotated[float, Field(gt=0, le=1)] = 0.85
    # Reserved (1y/3y) capacity is opt-in: it commits money for a year or more, and most reserved prices in the
    # shipped catalog are documented discounts (assumptions), not quotes. `solve --explain` prices the commitment.
    capacity_types: tuple[Literal["on_demand", "spot", "reserved_1y", "reserved_3y"], ...] = ("on_demand", "spot")
    exclude_providers: tuple[str, ...] = ()
    include_providers: tuple[str, ...] | None = None  # allow-list of clouds and API vendors (None = all)
    include_gpus: tuple[str, ...] | None = None  # allow-list of GPU types for self-hosting (None = all)
    # Hour-by-hour planning (opt-in): serving workloads with `autoscale` (default: this flag) are planned for each
    # hour of a typical day from their daily_profile; pools run between min and max instances per hour and pay the
    # instance-hours they run (plus a billed warm-up per start), APIs take each hour's overflow
    autoscale: bool = False
    autoscale_min_instances: Annotated[int, Field(ge=0)] = 1  # per pool in use, every hour (keeps it warm)
    autoscale_max_instances: Annotated[int, Field(ge=1)] | None = None  # per pool (quota)
    autoscale_warmup_min: NonNeg = 10.0  # minutes an instance is billed before it serves (boot + weights)


class Measured(Strict):
    """A capacity the user measured; overrides the performance model for matching candidates."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    workload: str
    class_name: str | None = Field(None, alias="class")  # the workload's request class it was measured for
    model: str
    gpu: str
    precision: Precision
    tp: Annotated[int, Field(ge=1)] = 1
    requests_per_s: Pos | None = None
    requests_per_hour: Pos | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.requests_per_s is None) == (self.requests_per_hour is None):
            raise ValueError("give exactly one of requests_per_s or requests_per_hour (per replica)")
        return self

    @property
    def rps(self) -> float:
        return self.requests_per_s if self.requests_per_s is not None else self.requests_per_hour / 3600.0


class Quote(Strict):
    """A price you were quoted for an instance type; becomes an offer of provider `provider` for this problem."""

    name: str = Field(min_length=1)
    provider: str = "quoted"
    gpu: str
    gpus_per_instance: Annotated[int, Field(ge=1)] = 1
    ondemand_hourly_usd: Pos | None = None
    spot_hourly_usd: Pos | None = None
    reserved_1y_hourly_usd: Pos | None = None
    reserved_3y_hourly_usd: Pos | None = None
    region: str = "quoted"
    jurisdiction: str
    source: str = Field(min_length=3)
    checked: dt.date

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
    value: float

    @model_validator(mode="after")
    def _needs_workload(self):
        if self.what != "monthly_cost_usd" and not self.workload:
            raise ValueError(f"'{self.what}' needs the workload it refers to")
        return self


class Problem(Strict):
    name: str = "problem"
    description: str | None = None
    workloads: tuple[ServingWorkload | FixedWorkload, ...]
    policy: Policy = Policy()
    measured: tuple[Measured, ...] = ()
    quotes: tuple[Quote, ...] = ()
    references: tuple[Reference, ...] = ()

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
        for r in self.references:
            if r.workload is not None and r.workload not in names:
                raise ValueError(f"reference '{r.label}' names workload '{r.workload}', which is not defined")
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
        return Problem.model_validate(data)
    except (ValidationError, _Located) as exc:
        e, prefix = (exc.error, exc.prefix) if isinstance(exc, _Located) else (exc, [])
        err = e.errors()[0]
        where = _loc(data, prefix + list(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
            fix = "remove it or check its spelling against README.md's problem reference"
        elif err["type"] == "missing":
            fix = "add the field"
        else:
            fix = "correct the value"
        raise ProblemError(msg, file=source, where=where, fix=fix) from None


def load_problem(path: str | Path) -> Problem:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ProblemError("file not found", file=str(path), fix="check the path") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ProblemError(f"not valid YAML ({getattr(e, 'problem', e)})", file=str(path), where=where,
                           fix="fix the indentation or quoting at that line") from None
    return parse_problem(data, str(path))
