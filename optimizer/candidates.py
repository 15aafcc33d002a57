"""Candidates: every way a workload may be served, with its capacity and unit price.

- A *pool* is a replica configuration: model x offer (cloud, region, instance) x precision x TP x capacity
  type. Its integer variable counts instances; an instance of k GPUs holds k / tp replicas. Its capacity for a
  workload is requests/s per instance at the workload's token lengths under its TTFT/TPOT targets (TTFT
  including the queueing delay at `max_utilization`), under the workload's serving engine, at the capacity the
  model reaches with probability `capacity_confidence` (its cross-validated error band), times the policy's
  `max_utilization` (or a measured figure from the problem, which overrides the model and is planned as
  measured). `Pool.bands` keeps the point estimate beside the planned figure. A spot pool's
  capacity is further multiplied by the offer's expected availability, 1 - `spot_interruption_rate`.
- An *API option* is an API offer in realtime mode, or in batch mode for batch-tier workloads where the offer
  has batch prices.
- A *fixed option* is a way to buy a fixed-hours block: an offer, a capacity type and a number of instances.

Filters (VRAM fit, latency tier, residency, spot allowed, context length) remove options here and every
removal is counted per workload and filter family, so that an infeasible problem can say which filter
emptied a workload's option set.

Pruning (exact under this model): pools that agree on everything the formulation can see differ only in
price, so only the cheapest is kept. What the formulation sees of a pool: its capacity for each workload it may
serve (residency and spot eligibility are already folded into that set), its GPUs per instance, whether it is
spot (the spot cap), its provider when failover is on, and its offer when the offer has an availability cap.
Region, jurisdiction and the non-spot capacity types (on-demand, reserved 1y/3y) enter only through price.
Then pairwise dominance: pool A replaces pool B in any solution, instance for instance, when A costs no more,
serves every workload B serves with at least B's capacity, is not availability-capped, belongs to the same
provider when failover is on, is equally spot or not, and (when a spot cap applies) moves the spot share the
right way: no more GPUs per instance if spot, no fewer if not.
Both stages run on would-be pools (`_PoolSpec`) as they are met (`pruning_signature`, `_Cheapest`); only the pools
kept are built, and only they get their capacity bands (`_LazyBands`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial

from . import clock
from .catalog import Catalog
from .catalog.inline import with_problem_models
from .catalog.names import implied_precision
from .catalog.schema import ApiOffer, GpuSpec, ModelSpec, Offer
from .errors import ProblemError
from .families import Trait, active_traits
from .perf.calibration import MEASURED_BAND, band
from .perf.energy import PoolEnergy, api_estimate, pool_energy
from .perf.memory import memory_plan
from .perf.speed import ServingPoint, capacity_under_slo
from .problem import FixedWorkload, Problem, ServingWorkload
from .problem_names import check_names
from .units import HOURS_PER_MONTH, MTOK

TP_DEGREES = (1, 2, 4, 8)
UNKNOWN_PROVIDER = "(unknown provider)"


def failover_provider_of(offer: Offer) -> str:
    """Price-list placeholders and quotes whose provider is not named belong to no known provider."""
    if offer.price_basis == "list" or offer.provider in ("listprice", "quoted"):
        return UNKNOWN_PROVIDER
    return offer.provider


class _OfferView:
    """What a pool (or a would-be pool, `_PoolSpec`) tells about its offer: its provider as pricing and as
    failover see it, its jurisdiction, its GPUs per instance and its monthly price."""

    __slots__ = ()

    @property
    def provider(self) -> str:
        return self.offer.provider

    @property
    def failover_provider(self) -> str:
        """The provider whose loss takes this pool down. A price-list placeholder or a quote without a named
        provider has no known provider: it counts as lost in every failover scenario (see `UNKNOWN_PROVIDER`)."""
        return failover_provider_of(self.offer)

    @property
    def jurisdiction(self) -> str:
        return self.offer.jurisdiction

    @property
    def gpus_per_instance(self) -> int:
        return self.offer.gpus_per_instance

    @property
    def monthly_usd_per_instance(self) -> float:
        return self.hourly_usd * HOURS_PER_MONTH


@dataclass(frozen=True)
class Pool(_OfferView):
    id: str
    model: ModelSpec
    offer: Offer
    gpu: GpuSpec
    precision: str
    tp: int
    capacity_type: str
    hourly_usd: float  # per instance
    replicas_per_instance: int
    capacity: dict  # workload -> requests/s per instance (after max_utilization)
    points: dict  # workload -> ServingPoint per replica (None where measured)
    measured: frozenset  # workloads whose capacity is a measured figure
    bands: dict = field(default_factory=dict)  # workload -> CapacityBand (point estimate, planned, sigma, basis)
    energy: PoolEnergy | None = None  # power and grid carbon of one instance (None: unknown)


@dataclass(frozen=True)
class CapacityBand:
    """A replica's capacity for one workload: the point estimate, the capacity planned at the policy's
    capacity_confidence (the model's lower quantile, calibration.Band), and where it comes from."""

    point_rps: float  # requests/s per replica, point estimate (measured figure, or the model's median)
    planned_rps: float  # requests/s per replica reached with probability `confidence`
    sigma: float  # lognormal sigma of the band
    basis: str  # "model" or "measured"
    engine: str
    confidence: float
    calibration_rows: int  # rows of the (GPU family, engine) pair behind the band


@dataclass(frozen=True)
class ApiOption:
    id: str
    api: ApiOffer
    mode: str  # "realtime" or "batch"
    usd_per_request: dict  # workload -> USD per request

    @property
    def provider(self) -> str:
        return self.api.provider

    @property
    def failover_provider(self) -> str:
        return self.api.provider

    @property
    def rate_group(self) -> str:
        return self.api.api_id


@dataclass(frozen=True)
class FixedOption:
    id: str
    workload: str
    gpu: str
    provider: str
    region: str
    jurisdiction: str
    instance_type: str
    capacity_type: str
    gpus_per_instance: int
    instances: int
    hourly_usd: float  # per instance
    hours: float
    offer_id: str | None  # None for a quoted price
    source: str
    checked: object = None  # date the price was checked (None for a price quoted in the problem)
    energy: PoolEnergy | None = None  # power and grid carbon of one instance (None: unknown)

    @property
    def billed_hours(self) -> float:
        """Reserved capacity is paid for every hour of the month, whatever the block uses."""
        return HOURS_PER_MONTH if self.capacity_type.startswith("reserved") else self.hours

    @property
    def monthly_usd(self) -> float:
        return self.instances * self.hourly_usd * self.billed_hours

    @property
    def gpu_hours(self) -> float:
        return self.instances * self.gpus_per_instance * self.hours


@dataclass
class Candidates:
    pools: list[Pool]
    apis: list[ApiOption]
    fixed: dict  # fixed workload name -> list[FixedOption]
    eligible: dict  # serving workload name -> list of option ids (pools and APIs)
    excluded: dict  # workload name -> Counter(filter family -> options removed)
    pruned: int = 0
    why_not: dict = field(default_factory=dict)  # (workload, "api"|"model", name) -> Counter(reason -> options)
    named: dict = field(default_factory=dict)  # "models"/"apis" -> workload -> the names it may use
    derated: dict = field(default_factory=dict)  # pool id -> capacity factor for a shared queue (mixing.py)
    seconds: float = 0.0  # how long building them took (set by pipeline.solve_problem; planner.plan's extras read it)

    def pool(self, pid: str) -> Pool:
        return self._pools[pid]

    def __post_init__(self):
        self._pools = {p.id: p for p in self.pools}
        self._apis = {a.id: a for a in self.apis}

    def api(self, aid: str) -> ApiOption:
        return self._apis[aid]

    def option(self, oid: str):
        return self._apis[oid] if oid in self._apis else self._pools[oid]

    def providers(self) -> list[str]:
        """Providers as failover sees them: each pool's and API's `failover_provider`."""
        return sorted({p.failover_provider for p in self.pools} | {a.provider for a in self.apis})


def _resolve_models(problem: Problem, catalog: Catalog) -> tuple[dict[str, list[ModelSpec]], dict]:
    """Models per workload, and the precision a quantised checkpoint's name implies per (workload, model): an
    AWQ/GPTQ/FP8 spelling is honoured (only that precision is planned) or rejected, never changed."""
    out, implied = {}, {}
    for w in problem.serving:
        models = []
        for i, name in enumerate(w.models):
            try:
                m = catalog.model(name)
            except KeyError as e:
                raise ProblemError(e.args[0], where=f"workload '{w.name}' models[{i}]",
                                   fix="use a model from `llmplan catalog list models`") from None
            q = implied_precision(name)
            if q is not None:
                prec, spelled = q
                if prec not in w.precisions:
                    raise ProblemError(
                        f"'{name}' names a checkpoint quantised as {spelled.upper()} ({prec}), but the workload's "
                        f"precisions are {list(w.precisions)}", where=f"workload '{w.name}' models[{i}]",
                        fix=f"add {prec} to the workload's precisions, or name the unquantised model "
                            f"'{m.name}' to let the planner choose the precision")
                implied.setdefault((w.name, m.name), set()).add(prec)
            elif (w.name, m.name) in implied:
                implied[(w.name, m.name)] = None  # the plain name too: any allowed precision
            if m not in models:
                models.append(m)
        implied = {k: v for k, v in implied.items() if v is not None}
        if w.min_quality_tier:
            want = "embedding" if w.category == "embeddings" else "decoder"
            models += [m for m in catalog.models.values() if m.quality_tier >= w.min_quality_tier and m.kind == want
                       and m not in models]
        out[w.name] = models
    return out, implied


def _resolve_apis(problem: Problem, catalog: Catalog) -> dict[str, list[ApiOffer]]:
    out = {}
    by_model = defaultdict(list)
    for a in catalog.apis:
        by_model[a.model].append(a)
    for w in problem.serving:
        chosen: list[ApiOffer] = []
        for i, name in enumerate(w.apis):
            # an exact offer ("deepinfra/llama-3.1-8b", a provider's model id) admits exactly that provider; a
            # logical model ("gpt-4o") means every provider that serves it
            hits = [a for a in catalog.apis if name in (a.api_id, f"{a.provider}/{a.model}")]
            if not hits:
                hits = by_model.get(name) or by_model.get(catalog.model_names.get(name) or "", [])
            if not hits:
                hits = [a for a in catalog.apis if name == a.provider_model_id]
            if not hits:
                from .errors import did_you_mean
                known = sorted({a.model for a in catalog.apis} | {a.api_id for a in catalog.apis})
                raise ProblemError(f"unknown API model '{name}'.{did_you_mean(name, known)}",
                                   where=f"workload '{w.name}' apis[{i}]",
                                   fix="use a model or api_id from `llmplan catalog list apis`")
            chosen += [a for a in hits if a not in chosen]
        if w.min_quality_tier and w.category != "embeddings":
            chosen += [a for a in catalog.apis if a.quality_tier >= w.min_quality_tier and a not in chosen]
        out[w.name] = chosen
    return out


def api_usd_per_request(api: ApiOffer, w: ServingWorkload, mode: str) -> float:
    isl, osl = w.input_tokens, w.output_tokens
    if mode == "batch":
        return (isl * api.batch_input_usd_per_mtok + osl * api.batch_output_usd_per_mtok) / MTOK
    cached = w.cached_input_fraction if api.cached_input_usd_per_mtok is not None else 0.0
    cin = api.cached_input_usd_per_mtok or 0.0
    return (isl * (1 - cached) * api.input_usd_per_mtok + isl * cached * cin + osl * api.output_usd_per_mtok) / MTOK


def _measured_index(problem: Problem, catalog: Catalog) -> dict:
    idx = {}
    for i, m in enumerate(problem.measured):
        try:
            model = catalog.model(m.model).name
            gpu = catalog.gpu(m.gpu).name
        except KeyError as e:
            raise ProblemError(e.args[0], where=f"measured[{i}]", fix="use names from the catalog") from None
        idx[(m.workload, model, gpu, m.precision, m.tp)] = m.rps
    return idx


def build_candidates(problem: Problem, catalog: Catalog, *, self_host: bool = True, apis_allowed: bool = True,
                     gpu: str | None = None, today: dt.date | None = None) -> Candidates:
    """All options of every workload. `self_host=False` / `apis_allowed=False` drop serving pools / APIs (the
    all-API and all-self-hosted alternatives); `gpu` keeps only serving pools on that GPU type."""
    catalog = with_problem_models(catalog, problem)  # models the problem defines inline (`models:`)
    check_names(problem, catalog)
    serving = problem.serving
    models_of, implied = _resolve_models(problem, catalog)
    apis_of = _resolve_apis(problem, catalog)
    measured = _measured_index(problem, catalog)
    excluded: dict[str, Counter] = {w.name: Counter() for w in problem.workloads}
    why_not: dict[tuple, Counter] = defaultdict(Counter)  # (workload, "api"|"model", name) -> reasons
    eligible: dict[str, list[str]] = {w.name: [] for w in serving}
    policy = problem.policy
    offers = [o for o in (*catalog.offers, *quoted_offers(problem, catalog)) if _allowed(o, policy, catalog)]

    cheapest = _Cheapest(active_traits(problem))  # the first pruning stage, fed as the pools are met
    model_names = {m.name: m for ms in models_of.values() for m in ms} if self_host else {}
    for model in model_names.values():
        users = _Users([w for w in serving if any(m.name == model.name for m in models_of[w.name])])
        precisions = sorted({p for w in users.users for p in w.precisions})
        perf: dict[tuple, tuple] = {}
        uses: Counter = Counter()  # perf key -> offers it was priced on (each counts its unfit workloads)
        for offer in offers:
            if gpu is not None and offer.gpu != gpu:
                continue
            gspec = catalog.gpus[offer.gpu]
            energy = pool_energy(gspec, offer.gpus_per_instance, offer.provider, offer.region, catalog)
            for tp in TP_DEGREES:
                if tp > offer.gpus_per_instance or offer.gpus_per_instance % tp:
                    continue
                for precision in precisions:
                    key = (offer.gpu, tp, precision)
                    if key not in perf:
                        perf[key] = _replica_perf(model, gspec, tp, precision, users.users, measured, implied,
                                                  policy)
                        _count_unfit(model, perf[key][3], 1, excluded, why_not)
                    uses[key] += 1
                    for spec in _pools_for(model, offer, gspec, tp, precision, users, perf[key], policy,
                                           excluded, why_not, energy):
                        cheapest.add(spec)
        for key, n in uses.items():
            _count_unfit(model, perf[key][3], n - 1, excluded, why_not)
    pools = [spec.pool() for spec in _undominated_pools(cheapest.kept(), cheapest.traits)]
    pruned = cheapest.seen - len(pools)
    for p in pools:
        for w in p.capacity:
            eligible[w].append(p.id)

    apis: list[ApiOption] = []
    for w in serving:
        for a in (apis_of[w.name] if apis_allowed else []):
            out = api_exclusion(a, w, policy, today or clock.today())
            if out is not None and out[0] != "latency_tier":
                excluded[w.name][out[0]] += 1
                why_not[(w.name, "api", a.api_id)][f"{out[0]}: {out[1]}"] += 1
                continue
            modes = []
            if out is None:
                modes.append("realtime")
            else:
                excluded[w.name]["latency_tier"] += 1
            if w.latency_tier == "batch" and a.batch_input_usd_per_mtok is not None \
                    and a.batch_output_usd_per_mtok is not None:
                modes.append("batch")
            elif out is not None:
                why_not[(w.name, "api", a.api_id)][f"{out[0]}: {out[1]}"] += 1
            for mode in modes:
                oid = f"api:{a.api_id}" + (":batch" if mode == "batch" else "")
                opt = next((o for o in apis if o.id == oid), None)
                if opt is None:
                    opt = ApiOption(oid, a, mode, {})
                    apis.append(opt)
                opt.usd_per_request[w.name] = api_usd_per_request(a, w, mode)
                eligible[w.name].append(oid)

    fixed = {f.name: _fixed_options(f, catalog, offers, policy, excluded) for f in problem.fixed}
    named_apis = {w.name: [a.api_id for a in apis_of[w.name]] for w in serving}
    named_models = {w.name: [m.name for m in models_of[w.name]] for w in serving}
    return Candidates(pools=pools, apis=apis, fixed=fixed, eligible=eligible, excluded=excluded, pruned=pruned,
                      why_not=dict(why_not), named={"models": named_models, "apis": named_apis})


def api_exclusion(a: ApiOffer, w: ServingWorkload, policy, today: dt.date) -> tuple[str, str] | None:
    """(filter family, the reason with its numbers) when API offer `a` may not serve w in realtime, else None."""
    if a.provider in policy.exclude_providers or (
            policy.include_providers is not None and a.provider not in policy.include_providers):
        return "provider", f"provider {a.provider} is not admitted by the policy"
    if a.deprecation_date is not None and a.deprecation_date <= today:
        return "deprecated", f"deprecated since {a.deprecation_date}"
    if not w.allows(a.jurisdictions):
        return "residency", f"processes data in {list(a.jurisdictions)}, outside {list(w.jurisdictions)}"
    if a.max_context and w.input_tokens + w.output_tokens > a.max_context:
        return "context_length", (f"{w.input_tokens + w.output_tokens:,} tokens per request > context "
                                  f"{a.max_context:,}")
    # before the latency checks: a latency miss still admits the batch mode, an unknown carbon admits nothing
    if policy.max_co2e_kg_month is not None:
        est = api_estimate(a.provider, a.model)
        if est is None or est.gco2e_per_request is None:
            return "carbon_unknown", "no published carbon figure for this API, so policy.max_co2e_kg_month cannot count it"
    if a.ttft_ms > w.ttft_target_ms:
        return "latency_tier", f"typical TTFT {a.ttft_ms:g} ms > {w.latency_tier} target {w.ttft_target_ms:g} ms"
    if a.tpot_ms > w.tpot_target_ms:
        return "latency_tier", f"typical TPOT {a.tpot_ms:g} ms > {w.latency_tier} target {w.tpot_target_ms:g} ms"
    return None


def carbon_unknown_reason(provider: str, region: str, gpu, energy) -> str:
    if gpu.tdp_w is None:
        return f"GPU {gpu.name} has no tdp_w in the catalog"
    if energy is None:
        return "the catalog has no grid.csv"
    return f"grid carbon intensity of {provider} {region} unknown (no row in grid.csv)"


def quoted_offers(problem: Problem, catalog: Catalog) -> list[Offer]:
    """The problem's price quotes as offers (price_basis 'quote')."""
    out = []
    for i, q in enumerate(problem.quotes):
        if getattr(q, "kind", None) == "owned":
            continue  # bought, not rented: the horizon model plans it (optimizer/model/horizon.py)
        try:
            gpu = catalog.gpu(q.gpu).name
        except KeyError as e:
            raise ProblemError(e.args[0], where=f"quotes[{i}] ({q.name}).gpu",
                               fix="use a GPU from `llmplan catalog list gpus`") from None
        out.append(Offer(offer_id=f"{q.provider}:{q.region}:{q.name}", provider=q.provider, region=q.region,
                         jurisdiction=q.jurisdiction, instance_type=q.name, gpu=gpu,
                         gpus_per_instance=q.gpus_per_instance, ondemand_hourly_usd=q.ondemand_hourly_usd,
                         spot_hourly_usd=q.spot_hourly_usd, reserved_1y_hourly_usd=q.reserved_1y_hourly_usd,
                         reserved_3y_hourly_usd=q.reserved_3y_hourly_usd, price_basis="quote",
                         source=f"quote in the problem spec: {q.source}", checked=q.checked))
    return out


def _allowed(o: Offer, policy, catalog: Catalog) -> bool:
    if o.price_basis != "quote" and o.offer_kind not in policy.offer_kinds:
        return False
    if o.provider in policy.exclude_providers:
        return False
    if policy.include_providers is not None and o.provider not in policy.include_providers:
        return False
    if policy.include_gpus is not None:
        allowed = {catalog.gpu_names.get(g) or g for g in policy.include_gpus}
        if o.gpu not in allowed:
            return False
    return True


def replica_point(model, gpu, precision: str, tp: int, w: ServingWorkload, policy, mp=None):
    """(requests/s of one replica for w under its latency tier at load, planned at the policy's
    capacity_confidence, the operating point, the capacity band), or (None, the filter family that excludes the
    configuration, None). The one definition of a replica's modelled capacity, used by the candidates and,
    independently of the formulation, by `verify`."""
    r, pt = planned_point(model, gpu, precision, tp, w, policy, mp)
    if r is None:
        return None, pt, None
    return r, pt, capacity_band(model, gpu, precision, tp, w, policy, pt)


def _capacity_under_slo(model, gpu, precision: str, tp: int, w: ServingWorkload, policy, slowdown: float | None):
    """`capacity_under_slo` for w on a configuration, at a `slowdown` (None: the model's median)."""
    engine = w.engine or policy.engine
    kv = None if w.kv_cache_dtype == "auto" else w.kv_cache_dtype
    args = (model, gpu, precision, tp, w.input_tokens, w.output_tokens, w.ttft_target_ms, w.tpot_target_ms, kv)
    if slowdown is None:
        return capacity_under_slo(*args, engine=engine, utilization=policy.max_utilization,
                                  wait_quantile=policy.ttft_quantile, arrival_cv2=w.arrival_cv2)
    return capacity_under_slo(*args, engine=engine, slowdown=slowdown, utilization=policy.max_utilization,
                              wait_quantile=policy.ttft_quantile, arrival_cv2=w.arrival_cv2)


def planned_point(model, gpu, precision: str, tp: int, w: ServingWorkload, policy, mp=None):
    """`replica_point` without its band: (requests/s planned at the policy's capacity_confidence, the operating
    point), or (None, the filter family that excludes the configuration)."""
    engine = w.engine or policy.engine
    kv = None if w.kv_cache_dtype == "auto" else w.kv_cache_dtype
    if w.input_tokens + w.output_tokens > model.max_context:
        return None, "context_length"  # longer than the model's context (vLLM's default max_model_len)
    if mp is None:
        mp = memory_plan(model, gpu, precision, tp, kv, engine=engine)
    if not mp.fits or mp.kv_tokens < w.input_tokens + w.output_tokens and model.kind != "embedding":
        return None, "vram_fit"
    slowdown = band(gpu.architecture, engine).factor(policy.capacity_confidence)
    pt: ServingPoint | None = _capacity_under_slo(model, gpu, precision, tp, w, policy, slowdown)
    if pt is None or pt.requests_per_s <= 0:
        return None, "latency_tier"
    return pt.requests_per_s, pt


def capacity_band(model, gpu, precision: str, tp: int, w: ServingWorkload, policy, pt: ServingPoint) -> CapacityBand:
    """The band of the point `planned_point` plans (`pt`): beside it the point estimate, the model's median, which
    (unless capacity_confidence is 0.5) costs a second `capacity_under_slo` as long as the first. The candidates
    ask for it only for the pools they keep (`_LazyBands`)."""
    conf = policy.capacity_confidence
    engine = w.engine or policy.engine
    b = band(gpu.architecture, engine)
    mid = pt if conf == 0.5 else _capacity_under_slo(model, gpu, precision, tp, w, policy, None)
    return CapacityBand(mid.requests_per_s if mid else pt.requests_per_s, pt.requests_per_s, b.sigma, "model",
                        engine, conf, b.rows)


def instance_capacity(replica_rps: float, offer: Offer, tp: int, capacity_type: str, policy) -> float:
    """Requests/s one instance gives a workload: replicas per instance x replica rps x max_utilization, times the
    expected availability for spot (an interrupted spot instance serves nothing)."""
    cap = replica_rps * (offer.gpus_per_instance // tp) * policy.max_utilization
    return cap * offer.spot_availability if capacity_type == "spot" else cap


def _replica_perf(model, gpu, tp, precision, users, measured, implied, policy) -> tuple:
    """Per workload: requests/s of one replica (`replica_point`, or the measured figure with its narrow band), the
    operating point, which figures are measured, why a workload cannot use this configuration, and the capacity
    band (a modelled one computed when a kept pool first reads it, `_LazyBands`). Independent of the offer, so
    computed once per (model, GPU, TP, precision)."""
    rps, points, meas, why, bands = {}, {}, set(), {}, _LazyBands()
    mps: dict = {}
    for w in users:
        if precision not in implied.get((w.name, model.name), w.precisions):
            continue
        engine = w.engine or policy.engine
        kv = None if w.kv_cache_dtype == "auto" else w.kv_cache_dtype
        key = (w.name, model.name, gpu.name, precision, tp)
        if key in measured:
            # a measurement of the real system: planned as measured; its narrow band is reported, not applied
            rps[w.name], points[w.name] = measured[key], None
            bands[w.name] = CapacityBand(measured[key], measured[key], MEASURED_BAND.sigma, "measured", engine,
                                         policy.capacity_confidence, 0)
            meas.add(w.name)
            continue
        if (engine, kv) not in mps and w.input_tokens + w.output_tokens <= model.max_context:
            mps[(engine, kv)] = memory_plan(model, gpu, precision, tp, kv, engine=engine)
        r, pt = planned_point(model, gpu, precision, tp, w, policy, mps.get((engine, kv)))
        if r is None:
            why[w.name] = pt
            continue
        rps[w.name], points[w.name] = r, pt
        bands.later(w.name, partial(capacity_band, model, gpu, precision, tp, w, policy, pt))
    return rps, points, meas, why, bands


class _LazyBands(dict):
    """Workload -> CapacityBand of one configuration (`_replica_perf`), a modelled one computed when first read
    (`capacity_band`): most configurations serve only pools that the pruning drops, and the band's point estimate
    costs as much as the planned capacity."""

    def __init__(self):
        super().__init__()
        self._make: dict = {}

    def later(self, wn: str, make) -> None:
        self._make[wn] = make

    def __missing__(self, wn: str):
        self[wn] = b = self._make.pop(wn)()
        return b


class _Users:
    """The workloads that may use one model, with the answers `_pools_for` needs for every offer computed once:
    who may run on spot, and who may run in each jurisdiction (`ServingWorkload.allows`), in the workloads'
    order."""

    def __init__(self, users: list[ServingWorkload]):
        self.users = users
        self.spot = frozenset(w.name for w in users if w.spot)
        self._allowed: dict[str, frozenset] = {}

    def allowed_in(self, jurisdiction: str) -> frozenset:
        """Names of the workloads whose residency admits `jurisdiction`."""
        if jurisdiction not in self._allowed:
            self._allowed[jurisdiction] = frozenset(w.name for w in self.users if w.allows((jurisdiction,)))
        return self._allowed[jurisdiction]


def _count_unfit(model, why: dict, n: int, excluded, why_not) -> None:
    """Count the workloads that cannot use a configuration (`why`: workload -> filter family) n times, once for
    each offer it was priced on. The first count is made when the configuration is first met, so that every
    family enters a workload's counter in the order the offers meet it; the other n - 1 are added in one step
    at the end of the model (adding to a key already there keeps that order)."""
    if n <= 0:
        return
    for wn, fam in why.items():
        excluded[wn][fam] += n
        why_not[(wn, "model", model.name)][fam] += n


def _pools_for(model, offer, gpu, tp, precision, users: _Users, perf, policy, excluded, why_not,
               energy=None) -> list[_PoolSpec]:
    """The would-be pools of one configuration on one offer, one per capacity type, each serving the workloads
    that may use it (spot eligibility and residency); every workload left out is counted under its filter family
    (those the configuration cannot serve at all by the caller, `_count_unfit`). Counted here for every would-be
    pool, whether or not the pruning keeps it."""
    rps = perf[0]
    rpi = offer.gpus_per_instance // tp
    if not rps:
        return []
    if policy.max_co2e_kg_month is not None and (energy is None or energy.gco2e_per_kwh is None):
        why = carbon_unknown_reason(offer.provider, offer.region, gpu, energy)
        for wn in rps:
            excluded[wn]["carbon_unknown"] += 1
            why_not[(wn, "model", model.name)][f"carbon_unknown: {why}"] += 1
        return []
    resident = users.allowed_in(offer.jurisdiction)
    out = []
    for ct in policy.capacity_types:
        price = offer.hourly_usd(ct)
        if price is None:
            continue
        names = list(rps)
        if ct == "spot":
            for wn in names:
                if wn not in users.spot:
                    excluded[wn]["spot_allowed"] += 1
                    why_not[(wn, "model", model.name)]["spot_allowed"] += 1
            names = [wn for wn in names if wn in users.spot]
            if not names:
                continue
        for wn in names:
            if wn not in resident:
                excluded[wn]["residency"] += 1
                why_not[(wn, "model", model.name)]["residency"] += 1
        names = [wn for wn in names if wn in resident]
        if not names:
            continue
        res_ok = {wn: instance_capacity(rps[wn], offer, tp, ct, policy) for wn in names}
        pid = f"{offer.offer_id}|{model.name}|{precision}|tp{tp}|{ct}"
        out.append(_PoolSpec(pid, model, offer, gpu, precision, tp, ct, price, rpi, res_ok, perf, energy))
    return out


class _PoolSpec(_OfferView):
    """A would-be pool: everything of a `Pool` but its per-workload operating points, measured set and bands,
    which `pool()` copies out of the configuration's `_replica_perf` answer. Most would-be pools of a large
    problem (about 96% with failover) lose to a cheaper equal one in the first pruning stage; they are met as
    specs and never built as pools; the dominance stage too runs on specs, so only the pools kept are built. The
    traits (`optimizer/families.py`) and `_dominates` read a spec as they read a pool."""

    __slots__ = ("id", "model", "offer", "gpu", "precision", "tp", "capacity_type", "hourly_usd",
                 "replicas_per_instance", "capacity", "perf", "energy")

    def __init__(self, id, model, offer, gpu, precision, tp, capacity_type, hourly_usd, replicas_per_instance,
                 capacity, perf, energy):
        self.id, self.model, self.offer, self.gpu, self.precision, self.tp = id, model, offer, gpu, precision, tp
        self.capacity_type, self.hourly_usd, self.replicas_per_instance = capacity_type, hourly_usd, \
            replicas_per_instance
        self.capacity, self.perf, self.energy = capacity, perf, energy

    def pool(self) -> Pool:
        _, points, meas, _, bands = self.perf
        names = list(self.capacity)
        return Pool(self.id, self.model, self.offer, self.gpu, self.precision, self.tp, self.capacity_type,
                    self.hourly_usd, self.replicas_per_instance, self.capacity, {k: points[k] for k in names},
                    frozenset(meas.intersection(names)), {k: bands[k] for k in names}, self.energy)


def pruning_signature(p, traits: tuple[Trait, ...]) -> tuple:
    """What the formulation can see of a pool besides its price: GPUs per instance, the value of every active
    trait, and its capacity per workload (rounded to 1e-9 requests/s, so that equal figures reached by different
    float paths compare equal). Pools with the same signature differ only in price.

    Computed on the would-be pool (`_PoolSpec`), before any `Pool` is built: on a large problem most would-be pools
    lose to a cheaper one of the same signature, and building them would cost more than all the pruning."""
    return (p.gpus_per_instance, tuple(t.value(p) for t in traits),
            tuple(sorted((w, round(c, 9)) for w, c in p.capacity.items())))


class _Cheapest:
    """The first, exact pruning stage, fed one would-be pool at a time: per `pruning_signature`, the cheapest
    uncapped pool (by price, then id) and every availability-capped one (capped offers add up, each has its own
    cap: all are kept; when a signature has capped pools only those are kept). The kept ones go on to the
    dominance stage (`_undominated_pools`), whose survivors alone are built as `Pool`s."""

    def __init__(self, traits: tuple[Trait, ...]):
        self.traits = traits
        self.seen = 0  # would-be pools met
        self._groups: dict[tuple, list] = {}  # signature -> [cheapest uncapped spec or None, capped specs]

    def add(self, spec: _PoolSpec) -> None:
        self.seen += 1
        sig = pruning_signature(spec, self.traits)
        group = self._groups.get(sig)
        if group is None:
            group = self._groups[sig] = [None, []]
        if spec.offer.max_instances is not None:
            group[1].append(spec)
        elif group[0] is None or (spec.hourly_usd, spec.id) < (group[0].hourly_usd, group[0].id):
            group[0] = spec

    def kept(self) -> list[_PoolSpec]:
        """The would-be pools kept, signature by signature in the order first met, each signature's by price and
        id."""
        out = []
        for best, capped in self._groups.values():
            capped.sort(key=lambda p: (p.hourly_usd, p.id))
            out += capped or [best]
        return out


def _dominates(a: Pool | _PoolSpec, b: Pool | _PoolSpec, traits: tuple[Trait, ...]) -> bool:
    """Pool a can replace pool b instance for instance: no dearer, uncapped, at least b's capacity for every
    workload b serves, and every trait an active family sees allows the swap."""
    if a.hourly_usd > b.hourly_usd:
        return False
    if any(a.capacity.get(w, 0.0) < c for w, c in b.capacity.items()):
        return False
    return all(t.ok(a, b) for t in traits)


def _undominated_pools(kept: list[_PoolSpec], traits: tuple[Trait, ...]) -> list[_PoolSpec]:
    """The second pruning stage: the (would-be) pools no cheaper kept one dominates (`_dominates`), by id."""
    # pairwise dominance within classes of equal exact-match traits; sorted by price so a dominator is always
    # seen first among survivors
    exact = [t for t in traits if t.replaces is None]
    classes: dict[tuple, list[_PoolSpec]] = defaultdict(list)
    for p in sorted(kept, key=lambda p: (p.hourly_usd, p.id)):
        classes[tuple(t.value(p) for t in exact)].append(p)
    final = []
    for members in classes.values():
        final += _undominated(members, traits)
    final.sort(key=lambda p: p.id)
    return final


def capacity_matrix(pools: list) -> tuple[list[str], object]:
    """(the workloads the pools serve, sorted; a pools x workloads array of their capacities, 0 where a pool does
    not serve a workload), for the pruning rules that compare capacities on arrays."""
    import numpy as np

    ws = sorted({w for p in pools for w in p.capacity})
    col = {w: i for i, w in enumerate(ws)}
    cap = np.zeros((len(pools), len(ws)))
    for i, p in enumerate(pools):
        for w, c in p.capacity.items():
            cap[i, col[w]] = c
    return ws, cap


def _undominated(members: list[_PoolSpec], traits: tuple[Trait, ...]) -> list[_PoolSpec]:
    """The members (sorted by price) that no earlier survivor dominates (`_dominates`). The price and capacity
    tests run on arrays over survivors at once; the traits are checked only for the survivors that pass them
    (the same answer as testing `_dominates` pair by pair, in a fraction of the time on thousands of pools).

    Only survivors that serve every workload b serves with a positive capacity can have at least b's capacity
    there, so the survivors are kept in groups by that set of workloads, and b is tested against the groups whose
    set contains its own. Within a group a capacity row is compared whole: a workload b does not serve is 0 in its
    row, and capacities are >= 0, so that column passes, as `_dominates` (which looks only at b's workloads)
    says."""
    import numpy as np

    ws, cap = capacity_matrix(members)
    assert (cap >= 0).all(), "capacities are >= 0 (requests/s)"
    price = np.array([p.hourly_usd for p in members])
    served = [frozenset(w for w, c in p.capacity.items() if c > 0) for p in members]
    sets = list(dict.fromkeys(served))
    group = {s: g for g, s in enumerate(sets)}
    within = {s: [group[t] for t in sets if t >= s] for s in sets}  # groups whose set contains s
    size = [0] * len(sets)
    for s in served:
        size[group[s]] += 1
    # each group's survivors: their indexes into members, capacity rows and prices, the first k[g] of each
    rows = [np.empty(m, dtype=np.intp) for m in size]
    kept_cap = [np.empty((m, len(ws))) for m in size]
    kept_price = [np.empty(m) for m in size]
    k = [0] * len(sets)

    def dominated(i: int, b: _PoolSpec) -> bool:
        for g in within[served[i]]:
            n = k[g]
            if n:
                ok = (kept_price[g][:n] <= price[i]) & (kept_cap[g][:n] >= cap[i]).all(axis=1)
                if ok.any() and any(all(t.ok(members[j], b) for t in traits) for j in rows[g][:n][ok]):
                    return True
        return False

    out = []
    for i, b in enumerate(members):
        if dominated(i, b):
            continue
        g = group[served[i]]
        rows[g][k[g]], kept_cap[g][k[g]], kept_price[g][k[g]] = i, cap[i], price[i]
        k[g] += 1
        out.append(b)
    return out


def _fixed_options(f: FixedWorkload, catalog: Catalog, offers: list[Offer], policy, excluded) -> list[FixedOption]:
    if f.price_per_gpu_hour_usd is not None:
        try:
            gname = catalog.gpu(f.gpu).name
        except KeyError:
            gname = f.gpu  # a quoted price may name a GPU the catalog lacks
        ct = f.price_capacity_type
        if ct not in policy.capacity_types or (ct == "spot" and not f.spot):
            excluded[f.name]["spot_allowed" if ct == "spot" else "capacity_type"] += 1
            return []
        where = f.price_jurisdiction or "unknown (quoted)"
        if f.price_jurisdiction is not None and not f.allows((f.price_jurisdiction,)):
            excluded[f.name]["residency"] += 1
            return []
        if policy.max_co2e_kg_month is not None:  # a quoted price names no region: its carbon is unknown
            excluded[f.name]["carbon_unknown"] += 1
            return []
        per, inst = (f.gpu_count, 1) if f.single_instance else (1, f.gpu_count)
        return [FixedOption(f"{f.name}|quoted", f.name, gname, "quoted", "-", where, "-", ct, per, inst,
                            per * f.price_per_gpu_hour_usd, f.hours_per_month, None,
                            "price quoted in the problem spec")]
    want = None
    if f.gpu is not None:
        try:
            want = catalog.gpu(f.gpu).name
        except KeyError as e:
            raise ProblemError(e.args[0], where=f"workload '{f.name}' gpu",
                               fix="use a GPU from `llmplan catalog list gpus`") from None
    best: dict[tuple, FixedOption] = {}
    for o in offers:
        gpu = catalog.gpus[o.gpu]
        if want is not None and o.gpu != want:
            continue
        if f.min_vram_gib is not None and gpu.vram_gib < f.min_vram_gib:
            excluded[f.name]["vram_fit"] += 1
            continue
        if f.single_instance and o.gpus_per_instance < f.gpu_count:
            continue
        if not f.allows((o.jurisdiction,)):
            excluded[f.name]["residency"] += 1
            continue
        energy = pool_energy(gpu, o.gpus_per_instance, o.provider, o.region, catalog)
        capped = policy.max_co2e_kg_month is not None
        if capped and (energy is None or energy.gco2e_per_kwh is None):
            excluded[f.name]["carbon_unknown"] += 1
            continue
        inst = math.ceil(f.gpu_count / o.gpus_per_instance)
        for ct in policy.capacity_types:
            price = o.hourly_usd(ct)
            if price is None:
                continue
            if ct == "spot" and not f.spot:
                excluded[f.name]["spot_allowed"] += 1
                continue
            opt = FixedOption(f"{f.name}|{o.offer_id}|{ct}", f.name, o.gpu, o.provider, o.region, o.jurisdiction,
                              o.instance_type, ct, o.gpus_per_instance, inst, price, f.hours_per_month, o.offer_id,
                              o.source_of(ct), o.checked, energy)
            # under a carbon cap a cleaner region is not interchangeable with a cheaper one
            key = (o.provider, ct == "spot", o.offer_id if o.max_instances else None, o.region if capped else None)
            if key not in best or (opt.monthly_usd, opt.id) < (best[key].monthly_usd, best[key].id):
                best[key] = opt
    return sorted(best.values(), key=lambda o: (o.monthly_usd, o.id))
