"""`llmplan estimate`: memory and speed of one model on one GPU type, from the same functions `solve` uses.

The result is a frozen `Estimate` (flat fields, JSON-ready plain floats); renderers in optimizer/render/estimate.py
are pure functions of it. Rules:
- memory comes from `memory_plan`, speeds from `serving_point` / `max_throughput_point` of speed.py, i.e. exactly
  what candidates.py uses for `solve`;
- `concurrency="max"` is the highest-throughput point the KV cache and the engine's batch limit allow; a number
  runs that many sequences, capped at what the KV cache holds (the rest would wait in the queue: said in `notes`);
- the seed chapter's naive figures are computed beside ours with its own formulas (`naive_*`), so the
  difference can be shown: `can_serve_model` = params x bytes x 1.2 <= memory, `estimated_tokens_per_second` =
  bandwidth (TB/s) x 1000 / (params_b x 2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..catalog import Catalog
from ..catalog.schema import PRECISIONS, GpuSpec, ModelSpec
from ..errors import ProblemError, did_you_mean
from .calibration import ENGINES, band, efficiency
from .encoder import uncalibrated_note
from .memory import (GPU_MEMORY_UTILIZATION, KV_BYTES, PRECISION_ALIASES, default_kv_dtype,
                     kv_bytes_per_token, memory_plan, parse_precision)
from .speed import (MAX_SEQS, compute_note, compute_precision, max_batch, max_throughput_point, serving_point,
                    single_stream_decode_tok_s, static_batch_point)

SCHEMA_VERSION = "1.1"  # 1.1: engine and the error band
SEED_BYTES = {"fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}  # the chapter's bytes_per_param
SEED_OVERHEAD = 0.20


@dataclass(frozen=True)
class Estimate:
    schema_version: str
    model: str
    model_display: str
    gpu: str
    architecture: str
    tp: int
    precision: str
    compute_precision: str
    kv_dtype: str
    isl: int
    osl: int
    concurrency: str  # as asked: "max" or a number
    # memory, per GPU of the replica (GiB), and for the whole replica (tokens, sequences)
    vram_gib: float
    gpu_memory_utilization: float
    budget_gib: float
    weights_gib: float
    reserve_gib: float
    kv_cache_gib: float
    kv_bytes_per_token: float  # per GPU
    kv_tokens: int
    tokens_per_request: int
    max_concurrency: float  # KV tokens / (isl + osl), vLLM's "Maximum concurrency for N tokens per request"
    fits: bool
    reason: str | None
    # speed of the replica at the operating point (None when it does not fit)
    batch: int | None
    single_stream_decode_tok_s: float | None
    ttft_ms: float | None
    tpot_ms: float | None
    output_tok_s_total: float | None
    output_tok_s_per_gpu: float | None
    requests_per_s: float | None
    bound: str | None
    # the seed chapter's figures
    naive_weights_gb: float
    naive_required_gb: float
    naive_fits: bool
    naive_decode_tok_s: float
    efficiency: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    engine: str = "vllm"
    # error band of the speeds (lognormal, from the leave-one-source-out cross-validation of the calibration):
    # sigma of ln(model / measured) for the (GPU family, engine) pair, the rows behind it, and the 10th-90th
    # percentile of output tokens/s and requests/s
    band_sigma: float = 0.0
    band_rows: int = 0
    output_tok_s_p10: float | None = None
    output_tok_s_p90: float | None = None
    requests_per_s_p10: float | None = None
    requests_per_s_p90: float | None = None

    def to_dict(self) -> dict:
        """Plain JSON types; floats rounded to what the model can claim (4 significant digits)."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        return {k: _round(v) for k, v in d.items()}


def _round(v):
    if isinstance(v, float):
        return float(f"{v:.4g}") if abs(v) < 1e4 else round(v, 0)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    return v


def _resolve(catalog: Catalog, model: str, gpu: str) -> tuple[ModelSpec, GpuSpec]:
    try:
        m = catalog.model(model)
    except KeyError as e:
        raise ProblemError(e.args[0], where="--model",
                           fix="use a catalog model name or a common spelling (e.g. meta-llama/Llama-3.1-8B-Instruct); "
                               f"known: {', '.join(sorted(catalog.models))}") from None
    try:
        g = catalog.gpu(gpu)
    except KeyError as e:
        raise ProblemError(e.args[0], where="--gpu",
                           fix=f"use a catalog GPU name or a common spelling; known: {', '.join(sorted(catalog.gpus))}"
                           ) from None
    return m, g


def _precision(text: str) -> tuple[str, bool, int]:
    try:
        return parse_precision(text)
    except ValueError:
        raise ProblemError(f"unknown precision '{text}'.{did_you_mean(text, [*PRECISIONS, *PRECISION_ALIASES])}",
                           where="--precision", fix=f"use one of {', '.join(PRECISIONS)} (bf16 counts as fp16; "
                                                    "'int4 (weight-only g32)' names a group size)") from None


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ProblemError(f"unknown engine '{engine}'.{did_you_mean(engine, ENGINES)}", where="--engine",
                           fix=f"use one of {', '.join(ENGINES)}")


def _check_inputs(m: ModelSpec, tp: int, isl: int, osl: int, kv_dtype: str | None, concurrency: str) -> None:
    if kv_dtype is not None and kv_dtype not in KV_BYTES:
        raise ProblemError(f"unknown KV-cache dtype '{kv_dtype}'", where="--kv-dtype", fix="use fp16, fp8 or auto")
    if tp < 1 or m.attention_heads % tp:
        ok = [t for t in (1, 2, 4, 8, 16) if m.attention_heads % t == 0]
        raise ProblemError(f"tp={tp} does not divide the {m.attention_heads} attention heads of {m.display_name}",
                           where="--tp", fix=f"use tp in {', '.join(map(str, ok))}")
    if isl < 1 or osl < 0:
        raise ProblemError(f"token lengths must be positive (isl={isl}, osl={osl})", where="--isl/--osl",
                           fix="give --isl >= 1 and --osl >= 0")
    need = isl + osl if m.kind == "decoder" else isl
    if need > m.max_context:
        what = "isl + osl" if m.kind == "decoder" else "isl"
        raise ProblemError(f"{what} = {need} exceeds the {m.max_context}-token context of {m.display_name}",
                           where="--isl/--osl", fix=f"keep {what} <= {m.max_context}")
    if concurrency != "max" and (not concurrency.isdigit() or int(concurrency) < 1):
        raise ProblemError(f"concurrency '{concurrency}' is not a positive integer or 'max'", where="--concurrency",
                           fix="give a number of concurrent requests, e.g. 32, or 'max'")


def estimate(catalog: Catalog, model: str, gpu: str, precision: str = "fp16", tp: int = 1, isl: int = 1000,
             osl: int = 1000, concurrency: str = "max", kv_dtype: str | None = None,
             engine: str = "vllm") -> Estimate:
    """Memory plan and serving speed of `model` on `tp` GPUs of type `gpu` (one replica) under `engine`."""
    _check_engine(engine)
    m, g = _resolve(catalog, model, gpu)
    concurrency = str(concurrency).strip().lower()
    precision, weight_only, group = _precision(precision)
    _check_inputs(m, tp, isl, osl, kv_dtype, concurrency)
    eff = efficiency(g.architecture, engine)
    kw = dict(group_size=group, weight_only=weight_only, eff=eff)
    if m.kind == "embedding":
        osl = 0
    kv = kv_dtype or default_kv_dtype(precision, g, engine)
    per_request = isl + osl
    mp = memory_plan(m, g, precision, tp, kv, min_kv_tokens=per_request if m.kind == "decoder" else 0,
                     group_size=group)
    notes: list[str] = []
    cnote = compute_note(g, precision)
    if cnote:
        notes.append(cnote)
    elif weight_only and precision != "fp16":
        notes.append(f"weight-only {precision}: weights stored in {precision}, math in fp16")
    if precision == "int4":
        notes.append(f"int4 with an fp16 scale and zero point per group of {group} weights "
                     f"({32 / group:.2f} extra bits per weight)")
    if kv == "fp8" and not g.fp8_tflops:
        notes.append(f"fp8 KV cache on {g.name}: stored in fp8 and converted to fp16 for attention (no fp8 units)")
    if kv_dtype is None:
        notes.append(f"KV cache dtype {kv} ({engine}'s default: " + (
            "fp8 with fp8/fp4 weights on GPUs with fp8 units, else fp16)" if engine == "trtllm"
            else "the model's 16-bit dtype whatever the weights' precision; --kv-dtype fp8 halves it)"))
    if m.kind == "embedding":
        notes.append("embedding model: no KV cache and no decode; the figures are for batches of "
                     f"{isl}-token inputs (TTFT = time of one batch)")
        notes.append(uncalibrated_note())

    batch = ss = ttft = tpot = out = rps = bound = None
    if mp.fits:
        hi = max_batch(m, g, precision, tp, isl, osl, kv, group_size=group, engine=engine)
        if concurrency == "max":
            pt = max_throughput_point(m, g, precision, tp, isl, osl, kv, **kw)
        else:
            want = int(concurrency)
            run = min(want, hi)
            pt = serving_point(m, g, precision, tp, isl, osl, run, kv, **kw)
            if run < want:
                kv_bound = hi < MAX_SEQS
                why = (f"the KV cache holds {mp.kv_tokens:,} tokens, i.e. {mp.max_concurrency(per_request):.1f} "
                       f"requests of {per_request:,} tokens" if kv_bound else f"the engine runs at most {MAX_SEQS}")
                if kv_bound and engine != "trtllm" and m.kind == "decoder":
                    pt = static_batch_point(m, g, precision, tp, isl, osl, want, kv, kv_tokens=mp.kv_tokens, **kw)
                    notes.append(f"concurrency {want} exceeds what fits ({why}): {engine} admits requests by current "
                                 f"usage, then pre-empts and recomputes them as the cache fills, so throughput "
                                 f"collapses (figures for the {want} requests sent at once)")
                else:
                    notes.append(f"concurrency {want} exceeds what fits ({why}): {run} run at once and the rest "
                                 f"wait in the queue; TTFT excludes that wait")
        batch, ttft, tpot, bound = pt.batch, pt.ttft_ms, pt.tpot_ms, pt.bound
        out, rps = pt.output_tok_s, pt.requests_per_s
        if m.kind == "decoder" and osl > 0:
            ss = single_stream_decode_tok_s(m, g, precision, tp, isl + osl / 2, kv, **kw)
    bd = band(g.architecture, engine)
    notes.append(f"error band: the speeds are within x/{bd.factor(0.9):.2f} of the point estimate with 80% "
                 f"probability (lognormal sigma {bd.sigma:.2f}, from the cross-validated error of "
                 + (f"{bd.rows} calibration rows of {g.architecture} with {engine})" if bd.rows
                    else f"unseen GPU-engine pairs: no calibration row covers {g.architecture} with {engine})"))
    notes.append(f"{g.architecture} efficiency: {eff.mem_bw:.0%} of memory bandwidth, {eff.compute:.0%} of dense "
                 f"TFLOPS at tp=1 ({eff.basis})")

    seed_w = m.params_b * SEED_BYTES[precision]
    seed_total = seed_w * (1 + SEED_OVERHEAD)
    return Estimate(
        schema_version=SCHEMA_VERSION, model=m.name, model_display=m.display_name, gpu=g.name,
        architecture=g.architecture, tp=tp, precision=precision,
        compute_precision=compute_precision(g, precision, weight_only),
        kv_dtype=kv, isl=isl, osl=osl, concurrency=concurrency,
        vram_gib=g.vram_gib, gpu_memory_utilization=GPU_MEMORY_UTILIZATION, budget_gib=mp.budget_gib,
        weights_gib=mp.weights_gib, reserve_gib=mp.reserve_gib, kv_cache_gib=mp.kv_cache_gib,
        kv_bytes_per_token=kv_bytes_per_token(m, kv, tp), kv_tokens=mp.kv_tokens, tokens_per_request=per_request,
        max_concurrency=mp.max_concurrency(per_request) if m.kind == "decoder" else 0.0,
        fits=mp.fits, reason=mp.reason,
        batch=batch, single_stream_decode_tok_s=ss, ttft_ms=ttft, tpot_ms=tpot, output_tok_s_total=out,
        output_tok_s_per_gpu=None if out is None else out / tp, requests_per_s=rps, bound=bound,
        naive_weights_gb=seed_w, naive_required_gb=seed_total, naive_fits=seed_total <= g.vram_gib * tp,
        naive_decode_tok_s=g.mem_bw_tbps * 1000 / (m.params_b * 2),
        efficiency={"mem_bw": eff.mem_bw, "compute": eff.compute, "tp_loss": eff.tp_loss,
                    "allreduce_us": eff.allreduce_us, "step_ms": eff.step_ms, "wq_bw": eff.wq_bw,
                    "roofline_p": eff.roofline_p, "basis": eff.basis},
        notes=tuple(notes), engine=engine, band_sigma=bd.sigma, band_rows=bd.rows,
        output_tok_s_p10=None if out is None else bd.interval(out)[0],
        output_tok_s_p90=None if out is None else bd.interval(out)[1],
        requests_per_s_p10=None if rps is None else bd.interval(rps)[0],
        requests_per_s_p90=None if rps is None else bd.interval(rps)[1],
    )
