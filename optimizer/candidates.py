"""Candidates: every way a workload may be served, with its capacity and unit price.

- A *pool* is a replica configuration: model x offer (cloud, region, instance) x precision x TP x capacity
  type. Its integer variable counts instances; an instance of k GPUs holds k / tp replicas. Its capacity for a
  workload is requests/s per instance at the workload's token lengths under its TTFT/TPOT targets, times the
  policy's `max_utilization` (or a measured figure from the problem, which overrides the model). A spot pool's
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
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .catalog import Catalog
from .catalog.schema import ApiOffer, GpuSpec, ModelSpec, Offer
from .errors import ProblemError
from .perf.memory import memory_plan
from .perf.speed import ServingPoint, capacity_under_slo
from .problem import FixedWorkload, Problem, ServingWorkload
from .units import HOURS_PER_MONTH, MTOK

TP_DEGREES = (1, 2, 4, 8)
FILTERS = {
    "vram_fit": "the model does not fit in the GPU memory at that precision and TP",
    "latency_tier": "the option misses the workload's TTFT/TPOT target",
    "residency": "the option processes data outside the workload's allowed jurisdictions",
    "spot_allowed": "spot capacity is not allowed for the workload",
    "context_length": "the request is longer than the API's context window",
    "precision": "the precision is not in the workload's allowed precisions",
}


@dataclass(frozen=True)
class Pool:
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

    @property
    def provider(self) -> str:
        return self.offer.provider

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
class ApiOption:
    id: str
    api: ApiOffer
    mode: str  # "realtime" or "batch"
    usd_per_request: dict  # workload -> USD per request

    @property
    def provider(self) -> str:
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
    notes: list = field(default_factory=list)

    def pool(self, pid: str) -> Pool:
        return self._pools[pid]

    def __post_init__(self):
        self._pools = {p.id: p for p in self.pools}
        self._apis = {a.id: a for a in self.apis}

    def api(self, aid: str) -> ApiOption:
        return self._apis[aid]

    def providers(self) -> list[str]:
        return sorted({p.provider for p in self.pools} | {a.provider for a in self.apis})


def _resolve_models(problem: Problem, catalog: Catalog) -> dict[str, list[ModelSpec]]:
    out = {}
    for w in problem.serving:
        models = []
        for i, name in enumerate(w.models):
            try:
                models.append(catalog.model(name))
            except KeyError as e:
                raise ProblemError(e.args[0], where=f"workload '{w.name}' models[{i}]",
                                   fix="use a model from `llmplan catalog list models`") from None
        if w.min_quality_tier:
            want = "embedding" if w.category == "embeddings" else "decoder"
            models += [m for m in catalog.models.values() if m.quality_tier >= w.min_quality_tier and m.kind == want
                       and m not in models]
        out[w.name] = models
    return out


def _resolve_apis(problem: Problem, catalog: Catalog) -> dict[str, list[ApiOffer]]:
    out = {}
    by_model = defaultdict(list)
    for a in catalog.apis:
        by_model[a.model].append(a)
    for w in problem.serving:
        chosen: list[ApiOffer] = []
        for i, name in enumerate(w.apis):
            # a logical model ("gpt-4o") means every provider that serves it; otherwise an exact offer
            hits = by_model.get(name) or by_model.get(catalog.model_names.get(name) or "", [])
            if not hits:
                hits = [a for a in catalog.apis if name in (a.api_id, f"{a.provider}/{a.model}", a.provider_model_id)]
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
                     gpu: str | None = None) -> Candidates:
    """All options of every workload. `self_host=False` / `apis_allowed=False` drop serving pools / APIs (the
    all-API and all-self-hosted alternatives); `gpu` keeps only serving pools on that GPU type."""
    serving = problem.serving
    models_of = _resolve_models(problem, catalog)
    apis_of = _resolve_apis(problem, catalog)
    measured = _measured_index(problem, catalog)
    excluded: dict[str, Counter] = {w.name: Counter() for w in problem.workloads}
    eligible: dict[str, list[str]] = {w.name: [] for w in serving}
    policy = problem.policy
    offers = [o for o in (*catalog.offers, *quoted_offers(problem, catalog)) if _allowed(o, policy, catalog)]

    for i, g in enumerate(policy.include_gpus or ()):
        try:
            catalog.gpu(g)
        except KeyError as e:
            raise ProblemError(e.args[0], where=f"policy.include_gpus[{i}]",
                               fix="use a GPU from `llmplan catalog list gpus`") from None
    pools: list[Pool] = []
    model_names = {m.name: m for ms in models_of.values() for m in ms} if self_host else {}
    for model in model_names.values():
        users = [w for w in serving if any(m.name == model.name for m in models_of[w.name])]
        perf: dict[tuple, tuple] = {}
        for offer in offers:
            if gpu is not None and offer.gpu != gpu:
                continue
            gspec = catalog.gpus[offer.gpu]
            for tp in TP_DEGREES:
                if tp > offer.gpus_per_instance or offer.gpus_per_instance % tp:
                    continue
                for precision in sorted({p for w in users for p in w.precisions}):
                    key = (offer.gpu, tp, precision)
                    if key not in perf:
                        perf[key] = _replica_perf(model, gspec, tp, precision, users, measured)
                    pools += _pools_for(model, offer, gspec, tp, precision, users, perf[key], policy, excluded)
    pools, pruned = _prune(pools, by_provider=policy.failover is not None, spot_cap=policy.max_spot_share < 1)
    for p in pools:
        for w in p.capacity:
            eligible[w].append(p.id)

    apis: list[ApiOption] = []
    for w in serving:
        for a in (apis_of[w.name] if apis_allowed else []):
            if a.provider in policy.exclude_providers or (
                    policy.include_providers is not None and a.provider not in policy.include_providers):
                continue
            if not w.allows(a.jurisdictions):
                excluded[w.name]["residency"] += 1
                continue
            if a.max_context and w.input_tokens + w.output_tokens > a.max_context:
                excluded[w.name]["context_length"] += 1
                continue
            modes = []
            if a.ttft_ms <= w.ttft_target_ms and a.tpot_ms <= w.tpot_target_ms:
                modes.append("realtime")
            else:
                excluded[w.name]["latency_tier"] += 1
            if w.latency_tier == "batch" and a.batch_input_usd_per_mtok is not None \
                    and a.batch_output_usd_per_mtok is not None:
                modes.append("batch")
            for mode in modes:
                oid = f"api:{a.api_id}" + (":batch" if mode == "batch" else "")
                opt = next((o for o in apis if o.id == oid), None)
                if opt is None:
                    opt = ApiOption(oid, a, mode, {})
                    apis.append(opt)
                opt.usd_per_request[w.name] = api_usd_per_request(a, w, mode)
                eligible[w.name].append(oid)

    fixed = {f.name: _fixed_options(f, catalog, offers, policy, excluded) for f in problem.fixed}
    return Candidates(pools=pools, apis=apis, fixed=fixed, eligible=eligible, excluded=excluded, pruned=pruned)


def quoted_offers(problem: Problem, catalog: Catalog) -> list[Offer]:
    """The problem's price quotes as offers (price_basis 'quote')."""
    out = []
    for i, q in enumerate(problem.quotes):
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


def _replica_perf(model, gpu, tp, precision, users, measured) -> tuple[dict, dict, set, dict]:
    """Per workload: requests/s of one replica under its latency tier (or the measured figure), the operating
    point, which figures are measured, and why a workload cannot use this configuration. Independent of the
    offer, so computed once per (model, GPU, TP, precision)."""
    rps, points, meas, why = {}, {}, set(), {}
    mp = None
    for w in users:
        if precision not in w.precisions:
            continue
        key = (w.name, model.name, gpu.name, precision, tp)
        if key in measured:
            rps[w.name], points[w.name] = measured[key], None
            meas.add(w.name)
            continue
        if mp is None:
            mp = memory_plan(model, gpu, precision, tp)
        if not mp.fits or mp.kv_tokens < w.input_tokens + w.output_tokens and model.kind != "embedding":
            why[w.name] = "vram_fit"
            continue
        pt: ServingPoint | None = capacity_under_slo(model, gpu, precision, tp, w.input_tokens, w.output_tokens,
                                                     w.ttft_target_ms, w.tpot_target_ms)
        if pt is None or pt.requests_per_s <= 0:
            why[w.name] = "latency_tier"
            continue
        rps[w.name], points[w.name] = pt.requests_per_s, pt
    return rps, points, meas, why


def _pools_for(model, offer, gpu, tp, precision, users, perf, policy, excluded) -> list[Pool]:
    rps, points, meas, why = perf
    for wn, fam in why.items():
        excluded[wn][fam] += 1
    rpi = offer.gpus_per_instance // tp
    capacity = {wn: r * rpi * policy.max_utilization for wn, r in rps.items()}
    if not capacity:
        return []
    out = []
    for ct in policy.capacity_types:
        price = offer.hourly_usd(ct)
        if price is None:
            continue
        cap, pts = capacity, points
        if ct == "spot":
            allowed = {w.name for w in users if w.spot}
            for wn in capacity:
                if wn not in allowed:
                    excluded[wn]["spot_allowed"] += 1
            # an interrupted spot instance serves nothing: count spot capacity at its expected availability
            cap = {k: v * offer.spot_availability for k, v in capacity.items() if k in allowed}
            pts = {k: v for k, v in points.items() if k in allowed}
            if not cap:
                continue
        res_ok = {}
        by_name = {u.name: u for u in users}
        for wn, c in cap.items():
            if by_name[wn].allows((offer.jurisdiction,)):
                res_ok[wn] = c
            else:
                excluded[wn]["residency"] += 1
        if not res_ok:
            continue
        pid = f"{offer.offer_id}|{model.name}|{precision}|tp{tp}|{ct}"
        out.append(Pool(pid, model, offer, gpu, precision, tp, ct, price, rpi, res_ok,
                        {k: pts[k] for k in res_ok}, frozenset(meas & set(res_ok))))
    return out


def _dominates(a: Pool, b: Pool, spot_cap: bool) -> bool:
    if a.hourly_usd > b.hourly_usd or a.offer.max_instances is not None:
        return False
    if any(a.capacity.get(w, 0.0) < c for w, c in b.capacity.items()):
        return False
    if spot_cap and (a.gpus_per_instance > b.gpus_per_instance if b.capacity_type == "spot"
                     else a.gpus_per_instance < b.gpus_per_instance):
        return False
    return True


def _prune(pools: list[Pool], by_provider: bool, spot_cap: bool) -> tuple[list[Pool], int]:
    groups: dict[tuple, list[Pool]] = defaultdict(list)
    for p in pools:
        sig = (p.gpus_per_instance, p.capacity_type == "spot", p.provider if by_provider else None,
               tuple(sorted((w, round(c, 9)) for w, c in p.capacity.items())))
        groups[sig].append(p)
    kept = []
    for grp in groups.values():
        grp.sort(key=lambda p: (p.hourly_usd, p.id))
        uncapped = [p for p in grp if p.offer.max_instances is None]
        capped = [p for p in grp if p.offer.max_instances is not None]
        # a capped offer cheaper than the best uncapped one is useful; a pricier capped one is dominated
        best = uncapped[0].hourly_usd if uncapped else float("inf")
        kept += [p for p in capped if p.hourly_usd < best] + uncapped[:1]
    # pairwise dominance within (spot, provider-if-failover) classes; candidates sorted by price so a dominator
    # is always seen first among survivors
    classes: dict[tuple, list[Pool]] = defaultdict(list)
    for p in sorted(kept, key=lambda p: (p.hourly_usd, p.id)):
        classes[(p.capacity_type == "spot", p.provider if by_provider else None)].append(p)
    final = []
    for members in classes.values():
        survivors: list[Pool] = []
        for b in members:
            if not any(_dominates(a, b, spot_cap) for a in survivors):
                survivors.append(b)
        final += survivors
    final.sort(key=lambda p: p.id)
    return final, len(pools) - len(final)


def _fixed_options(f: FixedWorkload, catalog: Catalog, offers: list[Offer], policy, excluded) -> list[FixedOption]:
    if f.price_per_gpu_hour_usd is not None:
        try:
            gname = catalog.gpu(f.gpu).name
        except KeyError:
            gname = f.gpu  # a quoted price may name a GPU the catalog lacks
        return [FixedOption(f"{f.name}|quoted", f.name, gname, "quoted", "-", "any", "-", "on_demand", 1,
                            f.gpu_count, f.price_per_gpu_hour_usd, f.hours_per_month, None,
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
                              o.source_of(ct), o.checked)
            key = (o.provider, ct == "spot", o.offer_id if o.max_instances else None)
            if key not in best or (opt.monthly_usd, opt.id) < (best[key].monthly_usd, best[key].id):
                best[key] = opt
    return sorted(best.values(), key=lambda o: (o.monthly_usd, o.id))
