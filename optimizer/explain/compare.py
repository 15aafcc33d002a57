"""`llmplan compare`: one model on every GPU type of the catalog, ranked by what a generated token costs.

The chapter's Tip (section 1): compare GPUs by cost per generated token, not by hourly price. For each GPU type,
every configuration (precision x TP degree) is evaluated with the same functions `solve` uses:
- fit: `memory_plan` (weights + runtime reserve + KV cache for one request of the workload's length);
- throughput: `capacity_under_slo`, the highest-throughput operating point whose TTFT and TPOT meet the
  workload's targets (requests/s and output tokens/s of one replica);
- price: the cheapest offer of the capacity type whose instance holds whole replicas (GPUs per instance a
  multiple of TP), per replica-hour = instance price / GPUs per instance x TP, within the workload's
  jurisdictions;
- cost per million output tokens = replica-hour price / (output tokens/s x 3600) x 1e6, at full use of the
  replica (an encoder has no output: cost per million input tokens). The plan sizes pools at
  `max_utilization`, so a plan pays 1 / max_utilization times this.
The best configuration of a GPU type is its cheapest per token; a GPU type that has none says why: no
configuration fits in memory, none meets the latency targets, or no offer holds it.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field

from ..catalog import Catalog
from ..catalog.schema import GpuSpec, ModelSpec, Offer
from ..errors import ProblemError, did_you_mean
from ..perf.encoder import ENCODER_BAND
from ..perf.memory import memory_plan
from ..perf.speed import capacity_under_slo
from ..problem import DEFAULT_PRECISIONS, LATENCY_TIERS, jurisdictions_allow

TP_DEGREES = (1, 2, 4, 8)
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Workload:
    """What is compared at: token lengths, latency targets, allowed precisions and jurisdictions."""

    name: str
    input_tokens: int
    output_tokens: int
    ttft_ms: float
    tpot_ms: float
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    jurisdictions: tuple[str, ...] = ("any",)

    @classmethod
    def from_tier(cls, isl: int, osl: int, tier: str = "standard") -> "Workload":
        ttft, tpot = LATENCY_TIERS[tier]
        return cls(f"{isl} in / {osl} out, {tier}", isl, osl, ttft, tpot)

    @classmethod
    def from_problem(cls, w) -> "Workload":
        return cls(w.name, w.input_tokens, w.output_tokens, w.ttft_target_ms, w.tpot_target_ms, tuple(w.precisions),
                   tuple(w.jurisdictions))


@dataclass(frozen=True)
class Config:
    """One precision x TP configuration of one GPU type."""

    precision: str
    tp: int
    fits: bool
    meets_latency: bool
    requests_per_s: float | None  # one replica, at the latency targets
    output_tok_s: float | None
    batch: int | None
    ttft_ms: float | None
    tpot_ms: float | None
    band: tuple[float, float] | None  # output tok/s range, when the performance model gives one
    offer: str | None  # the cheapest offer holding a replica
    replica_hourly_usd: float | None
    usd_per_mtok: float | None  # per million output tokens (input tokens for an encoder)
    usd_per_1k_requests: float | None
    why_not: str | None


@dataclass(frozen=True)
class Row:
    gpu: str
    architecture: str
    vram_gib: float
    best: Config | None
    why_not: str | None
    configs: tuple[Config, ...] = field(default=())


@dataclass(frozen=True)
class Comparison:
    schema_version: str
    model: str
    model_display: str
    kind: str
    engine: str
    capacity_type: str
    workload: Workload
    rows: tuple[Row, ...]
    notes: tuple[str, ...]

    @property
    def per(self) -> str:
        return "input" if self.kind == "embedding" else "output"

    def to_dict(self) -> dict:
        d = asdict(self)
        for r in d["rows"]:
            r.pop("configs")
        d["notes"] = list(self.notes)
        return d


def _band(model: ModelSpec, point) -> tuple[float, float] | None:
    """The throughput band of a point: the model's own (`band`, multiples of the figure) where it gives one; the
    encoder band for embedding models; else None."""
    mult = getattr(point, "band", None)
    if mult is None and model.kind == "embedding":
        mult = ENCODER_BAND
    if mult is None:
        return None
    value = point.output_tok_s if model.kind != "embedding" else point.requests_per_s
    return (value * mult[0], value * mult[1])


def _capacity(model, gpu, precision, tp, w: Workload, engine: str):
    kw = {"engine": engine} if "engine" in inspect.signature(capacity_under_slo).parameters else {}
    return capacity_under_slo(model, gpu, precision, tp, w.input_tokens, w.output_tokens, w.ttft_ms, w.tpot_ms,
                              **kw)


def _cheapest(offers: list[Offer], tp: int, capacity_type: str) -> tuple[Offer | None, float | None]:
    best, price = None, None
    for o in offers:
        h = o.hourly_usd(capacity_type)
        if h is None or tp > o.gpus_per_instance or o.gpus_per_instance % tp:
            continue
        per_replica = h / o.gpus_per_instance * tp
        if price is None or (per_replica, o.offer_id) < (price, best.offer_id):
            best, price = o, per_replica
    return best, price


def evaluate(model: ModelSpec, gpu: GpuSpec, offers: list[Offer], w: Workload, engine: str,
             capacity_type: str) -> list[Config]:
    out = []
    need = w.input_tokens + (w.output_tokens if model.kind == "decoder" else 0)
    osl = 0 if model.kind == "embedding" else w.output_tokens
    for precision in w.precisions:
        for tp in TP_DEGREES:
            if model.attention_heads % tp:
                continue
            offer, price = _cheapest(offers, tp, capacity_type)
            mp = memory_plan(model, gpu, precision, tp, min_kv_tokens=need if model.kind == "decoder" else 0)
            pt = _capacity(model, gpu, precision, tp, w, engine) if mp.fits else None
            why = None
            if not mp.fits:
                why = mp.reason
            elif pt is None or pt.requests_per_s <= 0:
                why = f"misses TTFT {w.ttft_ms:g} ms / TPOT {w.tpot_ms:g} ms even at batch 1"
            elif offer is None:
                why = f"no {capacity_type} offer holds {tp} GPUs per replica"
            rps = pt.requests_per_s if pt else None
            tok_s = (pt.output_tok_s if osl else pt.requests_per_s * w.input_tokens) if pt else None
            usd_mtok = price / (tok_s * 3600) * 1e6 if price and tok_s else None
            out.append(Config(precision, tp, mp.fits, pt is not None, rps, pt.output_tok_s if pt else None,
                              pt.batch if pt else None, pt.ttft_ms if pt else None, pt.tpot_ms if pt else None,
                              _band(model, pt) if pt else None, offer.offer_id if offer else None, price,
                              usd_mtok if why is None else None,
                              price / (rps * 3.6) if why is None and rps else None, why))
    return out


def _why_row(configs: list[Config], capacity_type: str, n_offers: int) -> str:
    if not configs:
        return "no TP degree divides the model's attention heads"
    if not any(c.fits for c in configs):
        c = max(configs, key=lambda c: c.tp)
        return f"does not fit at any precision up to tp={c.tp}: {c.why_not}"
    serving = [c for c in configs if c.fits and c.meets_latency]
    if not serving:
        return next(c.why_not for c in configs if c.fits)
    if not n_offers:
        return f"no {capacity_type} offer for this GPU in the catalog"
    c = min(serving, key=lambda c: (c.tp, c.precision))
    return f"fits and meets the targets at {c.precision} tp{c.tp}, but no {capacity_type} offer has {c.tp} GPUs per instance"


def compare(catalog: Catalog, model: str, workload: Workload, *, gpus: tuple[str, ...] = (),
            engine: str = "vllm", capacity_type: str = "on_demand", offer_ok=lambda o: True) -> Comparison:
    """Every GPU type (or those named) for `model` at `workload`, sorted by cost per million tokens; `offer_ok`
    keeps the offers a problem's policy allows."""
    try:
        m = catalog.model(model)
    except KeyError as e:
        raise ProblemError(e.args[0], where="--model", fix="use a model from `llmplan catalog list models` (or an "
                                                           "inline model with --problem)") from None
    names = []
    for g in gpus:
        try:
            names.append(catalog.gpu(g).name)
        except KeyError as e:
            raise ProblemError(e.args[0], where="--gpus", fix="use GPUs from `llmplan catalog list gpus`") from None
    from ..perf.engines import check_engine
    check_engine(engine)
    if capacity_type not in ("on_demand", "spot", "reserved_1y", "reserved_3y"):
        raise ProblemError(f"unknown capacity type '{capacity_type}'."
                           f"{did_you_mean(capacity_type, ['on_demand', 'spot', 'reserved_1y', 'reserved_3y'])}",
                           where="--capacity-type", fix="use on_demand, spot, reserved_1y or reserved_3y")
    need = workload.input_tokens + (workload.output_tokens if m.kind == "decoder" else 0)
    if need > m.max_context:
        raise ProblemError(f"{need} tokens per request exceed the {m.max_context}-token context of {m.display_name}",
                           where="--isl/--osl", fix=f"keep requests within {m.max_context} tokens")
    rows = []
    for g in sorted(catalog.gpus.values(), key=lambda g: g.name):
        if names and g.name not in names:
            continue
        offers = [o for o in catalog.offers if o.gpu == g.name and offer_ok(o)
                  and jurisdictions_allow(workload.jurisdictions, (o.jurisdiction,))]
        configs = evaluate(m, g, offers, workload, engine, capacity_type)
        ok = [c for c in configs if c.usd_per_mtok is not None]
        best = min(ok, key=lambda c: (c.usd_per_mtok, c.tp, c.precision)) if ok else None
        rows.append(Row(g.name, g.architecture, g.vram_gib, best, None if best else _why_row(configs, capacity_type, len(offers)),
                        tuple(configs)))
    rows.sort(key=lambda r: (r.best is None, r.best.usd_per_mtok if r.best else 0.0, r.gpu))
    notes = [f"cost per million {'input' if m.kind == 'embedding' else 'output'} tokens at full use of one replica "
             f"at the cheapest {capacity_type} offer; a plan sizes pools at max_utilization (default 85%) and pays "
             f"accordingly more",
             f"throughput: the highest-throughput operating point meeting TTFT {workload.ttft_ms:g} ms and TPOT "
             f"{workload.tpot_ms:g} ms at {workload.input_tokens} in / {workload.output_tokens} out tokens"]
    if m.kind == "embedding":
        from ..perf.encoder import uncalibrated_note
        notes.append(uncalibrated_note())
    return Comparison(SCHEMA_VERSION, m.name, m.display_name, m.kind, engine, capacity_type, workload, tuple(rows),
                      tuple(notes))


def config_costs(catalog: Catalog, model: ModelSpec, workload: Workload, engine: str = "vllm",
                 capacity_type: str = "on_demand", offer_ok=lambda o: True) -> list[tuple[float, str, Config]]:
    """(USD per 1k requests, GPU, config) for every configuration that serves the workload, cheapest first: the
    runner-ups `llmplan benchmark` can measure."""
    out = []
    for g in catalog.gpus.values():
        offers = [o for o in catalog.offers if o.gpu == g.name and offer_ok(o)
                  and jurisdictions_allow(workload.jurisdictions, (o.jurisdiction,))]
        for c in evaluate(model, g, offers, workload, engine, capacity_type):
            if c.usd_per_1k_requests is not None:
                out.append((c.usd_per_1k_requests, g.name, c))
    return sorted(out, key=lambda t: (t[0], t[1], t[2].tp, t[2].precision))
