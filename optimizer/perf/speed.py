"""Serving speed from a roofline per kernel family: prefill is compute-bound, decode is memory-bound, and batching
moves decode towards the compute roof until the KV cache or the engine's batch limit stops it.

One forward pass of a replica (a TP group of `tp` GPUs) over `n_dec` decoding sequences at mean context `c_dec`
and `n_pf` prompt tokens at mean context `c_pf`, per GPU:

    t = t_linear + t_attention + t_allreduce + step_ms                     (the kernels run one after another)
    t_linear    = roof(W / (BW e_bw e_wq), (n_dec + n_pf) 2 P_active / tp / (F_prec e_c))   (dense and MoE experts
                                                                                   as two kernels, each its roof)
    t_attention = roof(n_dec c_dec kv_bytes_per_token / (BW e_bw), 4 L H d / tp (n_dec c_dec + n_pf c_pf) / (F_16 e_c))
    roof(m, c)  = (m^p + c^p)^(1/p)      (a soft roofline: p large = max(m, c); p = 1 = m + c)
    t_allreduce = 2 L (alpha + 2 (tp-1)/tp (n_dec + n_pf) hidden 2 B / link_bw)           when tp > 1

W is the weight bytes a pass streams (all weights but the input embedding table; for MoE only the experts the
pass's tokens touch, 1 - (1 - k/E)^tokens of them); P_active the active parameters without the input embedding
(the LM head runs once per decoded token and once per prompt, not per prompt token). BW, F are datasheet
figures, e_* the efficiency factors of calibration.py, falling with tp. A pass holds at most `max_batched_tokens`
tokens; more tokens take several passes, each streaming the weights again.

Operating points:
- continuous batching (vLLM, TensorRT-LLM in-flight batching, TGI) at `batch` running sequences: every step
  decodes one token per sequence and, in steady state, prefills batch x isl / osl prompt tokens (chunked
  prefill), so output tok/s = batch / t_step and requests/s = that / osl. TPOT = t_step; TTFT = half a step of
  waiting, then the steps that carry the prompt's chunks beside the other running decodes. Batch 1 is exact:
  TTFT = prefill alone, TPOT = one decode.
- static batching (TensorRT-LLM <= 0.6 gptSessionBenchmark, Intel Gaudi tables, lmdeploy): the whole batch's
  prompts in one pass, then osl - 1 decode steps at mean context isl + osl/2.
Where a GPU lacks tensor units for a precision (FP8 before Hopper/Ada, FP4 before Blackwell, INT4 everywhere),
weights are stored compressed (memory and bandwidth benefit, at the weight-only kernels' bandwidth factor `wq_bw`)
and the math runs in fp16, as weight-only kernels (Marlin, AWQ, gpt-fast) do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ..catalog.schema import GpuSpec, ModelSpec
from .calibration import DEFAULT_ENGINE, PCIE_ALLREDUCE_FACTOR, Efficiency, efficiency
from .encoder import ENCODER_EFFICIENCY
from .memory import (INT4_GROUP_SIZE, MAX_BATCHED_TOKENS, default_kv_dtype, kv_bytes_per_token, memory_plan,
                     streamed_weight_bytes, weight_bytes)

MAX_SEQS = 1024  # engine cap on running sequences (vLLM V1's max_num_seqs on large GPUs; TRT-LLM max_batch_size)
PCIE_LINK_GBPS = 32.0  # per direction, when a GPU row gives no interconnect bandwidth


def compute_precision(gpu: GpuSpec, precision: str, weight_only: bool = False) -> str:
    """The tensor-core path the math runs on: the precision itself where the GPU has units for it (and the
    kernels are not weight-only), else fp16."""
    if not weight_only and precision in ("fp8", "int8", "fp4") and gpu.tflops(precision):
        return precision
    return "fp16"


def compute_note(gpu: GpuSpec, precision: str) -> str | None:
    """What the model assumes when the GPU has no tensor units for the precision (None when it has)."""
    cp = compute_precision(gpu, precision)
    if cp == precision or precision == "fp16":
        return None
    if precision == "int4":
        what = "no INT4 tensor path is modelled on any GPU (serving engines run int4 as weight-only kernels)"
    elif precision == "fp8":
        what = f"{gpu.name} ({gpu.architecture}) has no FP8 tensor cores (they start with Hopper and Ada)"
    elif precision == "fp4":
        what = f"{gpu.name} ({gpu.architecture}) has no FP4 tensor cores (they start with Blackwell)"
    else:
        what = f"the catalog gives no dense {precision.upper()} figure for {gpu.name}"
    return (f"{what}: weights are stored in {precision} (memory and bandwidth benefit) and the math runs in fp16 "
            f"through weight-only kernels")


def _expert_params(model: ModelSpec) -> float:
    if not model.moe_experts:
        return 0.0
    return (model.moe_layers or model.layers) * model.moe_experts * 3 * model.hidden_size * model.intermediate_size


@dataclass(frozen=True)
class _Roof:
    """Per-GPU constants of one configuration."""

    w_dense: float  # bytes of non-expert weights a pass streams, per GPU
    w_expert: float  # bytes of all expert weights per GPU
    moe_k_over_e: float
    flops_per_token: float  # linear-layer FLOPs per token per GPU, without the LM head
    expert_flops_per_token: float  # the part of flops_per_token spent in MoE experts
    head_flops: float  # LM head FLOPs per sampled token per GPU
    attn_flops_per_pair: float  # attention FLOPs per (token x context token) per GPU
    kv_per_token: float  # KV bytes per token per GPU
    bw_weights: float  # achieved bytes/s per GPU when streaming weights
    bw_kv: float  # achieved bytes/s per GPU when streaming the KV cache
    flops_linear: float  # achieved FLOP/s per GPU in the linear layers
    flops_attn: float  # achieved FLOP/s per GPU in attention (16-bit)
    comm_alpha: float  # seconds per all-reduce
    link_bw: float  # bytes/s per direction
    layers: int
    hidden: int
    tp: int
    overhead: float  # seconds per pass
    p: float  # roofline sharpness
    request: float = 0.0  # fixed seconds to a request's first token besides its prefill


@lru_cache(maxsize=8192)
def _roof(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, kv_dtype: str, eff: Efficiency,
          group_size: int, weight_only: bool) -> _Roof:
    wb = weight_bytes(model, precision, group_size)
    streamed = streamed_weight_bytes(model, precision, group_size)
    bytes_per_param = wb / (model.params_b * 1e9)
    w_expert = _expert_params(model) * bytes_per_param
    cp = compute_precision(gpu, precision, weight_only)
    dequant = precision != "fp16" and (cp == "fp16" or weight_only)
    scale = max(1.0 - eff.tp_loss * math.log2(tp), 0.3)
    bw = gpu.mem_bw_tbps * 1e12 * eff.mem_bw * scale
    pcie = gpu.interconnect.startswith("pcie")
    alpha = eff.allreduce_us * (PCIE_ALLREDUCE_FACTOR if pcie else 1.0) * 1e-6
    link = (gpu.interconnect_gbps or 2 * PCIE_LINK_GBPS) * 1e9 / 2
    head_params = model.vocab_size * model.hidden_size if model.kind == "decoder" else 0.0
    emb = model.vocab_size * model.hidden_size
    body_active = max(model.active_params_b * 1e9 - emb - (0.0 if model.tied_embeddings else head_params), 0.0)
    return _Roof(
        w_dense=(streamed - w_expert) / tp, w_expert=w_expert / tp,
        moe_k_over_e=(model.moe_active_experts / model.moe_experts) if model.moe_experts else 0.0,
        flops_per_token=2 * body_active / tp, head_flops=2 * head_params / tp,
        expert_flops_per_token=2 * _expert_params(model) * (model.moe_active_experts or 0) / (model.moe_experts or 1) / tp,
        attn_flops_per_pair=4 * model.layers * model.attention_heads * model.head_dim / tp,
        kv_per_token=kv_bytes_per_token(model, kv_dtype, tp),
        bw_weights=bw * (eff.wq_bw if dequant else 1.0), bw_kv=bw,
        flops_linear=gpu.tflops(cp) * 1e12 * eff.compute * scale,
        flops_attn=gpu.fp16_tflops * 1e12 * eff.compute * eff.attn * scale,
        comm_alpha=alpha, link_bw=link, layers=model.layers, hidden=model.hidden_size, tp=tp,
        overhead=eff.step_ms * 1e-3, p=eff.roofline_p, request=eff.request_ms * 1e-3,
    )


def _roofline(t_mem: float, t_compute: float, p: float) -> float:
    """Kernel time from its memory and compute times: (m^p + c^p)^(1/p), between max(m, c) and m + c."""
    hi = max(t_mem, t_compute)
    if hi <= 0:
        return 0.0
    return hi * ((t_mem / hi) ** p + (t_compute / hi) ** p) ** (1.0 / p)


@dataclass(frozen=True)
class Step:
    """Time of one engine step and what bounds its linear layers."""

    seconds: float
    bound: str  # "memory" or "compute"


def _step(r: _Roof, n_dec: float, c_dec: float, n_pf: float = 0.0, c_pf: float = 0.0, pf_seqs: float = 0.0,
          passes: int | None = None) -> Step:
    tokens = n_dec + n_pf
    if passes is None:
        passes = max(1, math.ceil(tokens / MAX_BATCHED_TOKENS))
    # dense layers (attention projections, dense FFN, LM head) and MoE experts are separate kernels
    c_flops = r.flops_per_token * tokens + r.head_flops * (n_dec + pf_seqs)
    w_time = r.w_dense * passes / r.bw_weights
    c_time = (c_flops - r.expert_flops_per_token * tokens) / r.flops_linear
    linear = _roofline(w_time, c_time, r.p)
    if r.w_expert:
        touched = 1.0 - (1.0 - r.moe_k_over_e) ** max(tokens / passes, 1.0)
        we_time = r.w_expert * touched * passes / r.bw_weights
        ce_time = r.expert_flops_per_token * tokens / r.flops_linear
        linear += _roofline(we_time, ce_time, r.p)
        w_time, c_time = w_time + we_time, c_time + ce_time
    kv_time = n_dec * c_dec * r.kv_per_token / r.bw_kv
    attn_time = r.attn_flops_per_pair * (n_dec * c_dec + n_pf * c_pf) / r.flops_attn
    comm = 0.0
    if r.tp > 1:
        comm = 2 * r.layers * (r.comm_alpha * passes + 2 * (r.tp - 1) / r.tp * tokens * r.hidden * 2 / r.link_bw)
    t = linear + _roofline(kv_time, attn_time, r.p) + comm + r.overhead * passes
    return Step(t, "memory" if w_time + kv_time >= c_time + attn_time else "compute")


@dataclass(frozen=True)
class ServingPoint:
    """One operating point of one replica."""

    batch: int
    ttft_ms: float
    tpot_ms: float  # 0 for embedding models
    output_tok_s: float  # whole replica
    requests_per_s: float  # whole replica
    bound: str  # "memory" or "compute" (decode step)
    queue_ms: float = 0.0  # queueing delay included in ttft_ms (capacity_under_slo at load)
    service_s: float | None = None  # seconds a request holds a batch slot; None: batch / requests_per_s

    @property
    def slot_s(self) -> float:
        """Seconds a request holds one of the `batch` slots (at_load lowers requests_per_s to the usable rate but
        not the service time, so it keeps it here)."""
        return self.service_s if self.service_s is not None else self.batch / self.requests_per_s

    @property
    def service_ttft_ms(self) -> float:
        """TTFT without the queueing delay."""
        return self.ttft_ms - self.queue_ms


def _roof_for(model, gpu, precision, tp, kv_dtype, eff, group_size, weight_only, engine=DEFAULT_ENGINE) -> _Roof:
    if eff is not None:
        engine = eff.engine
    return _roof(model, gpu, precision, tp, kv_dtype or default_kv_dtype(precision, gpu, engine),
                 eff or efficiency(gpu.architecture, engine), group_size, weight_only)


def prefill_seconds(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, kv_dtype: str | None = None,
                    *, eff: Efficiency | None = None, group_size: int = INT4_GROUP_SIZE,
                    weight_only: bool = False) -> float:
    """Time to prefill one prompt of `isl` tokens on an idle replica (TTFT at batch 1)."""
    r = _roof_for(model, gpu, precision, tp, kv_dtype, eff, group_size, weight_only)
    return _step(r, 0, 0, isl, isl / 2, pf_seqs=1).seconds + r.request


def decode_step_seconds(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, batch: int, context: float,
                        kv_dtype: str | None = None, *, eff: Efficiency | None = None,
                        group_size: int = INT4_GROUP_SIZE, weight_only: bool = False) -> float:
    """One decode step of `batch` sequences at mean context `context`, no prefill mixed in."""
    r = _roof_for(model, gpu, precision, tp, kv_dtype, eff, group_size, weight_only)
    return _step(r, batch, context).seconds


def single_stream_decode_tok_s(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, context: float,
                               kv_dtype: str | None = None, **kw) -> float:
    """Decode tokens/s of one sequence alone on the replica, at KV context `context`."""
    return 1.0 / decode_step_seconds(model, gpu, precision, tp, 1, context, kv_dtype, **kw)


def serving_point(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int, batch: int,
                  kv_dtype: str | None = None, *, eff: Efficiency | None = None, group_size: int = INT4_GROUP_SIZE,
                  weight_only: bool = False) -> ServingPoint:
    """Steady state at `batch` running sequences with continuous batching and chunked prefill."""
    r = _roof_for(model, gpu, precision, tp, kv_dtype, eff, group_size, weight_only)
    if model.kind == "embedding" or osl == 0:
        st = _step(r, 0, 0, batch * isl, isl / 2)
        secs = st.seconds / (ENCODER_EFFICIENCY if model.kind == "embedding" else 1.0)  # see encoder.py
        return ServingPoint(batch, secs * 1e3, 0.0, 0.0, batch / secs, st.bound)
    ctx = isl + osl / 2
    if batch <= 1:
        ttft = _step(r, 0, 0, isl, isl / 2, pf_seqs=1).seconds + r.request
        st = _step(r, 1, ctx)
        latency = ttft + max(osl - 1, 0) * st.seconds
        return ServingPoint(1, ttft * 1e3, st.seconds * 1e3, osl / latency, 1 / latency, st.bound)
    st = _step(r, batch, ctx, batch * isl / osl, isl / 2, pf_seqs=batch / osl)
    # a new prompt waits half an average step, then rides along the running decodes in k chunked steps
    k = math.ceil(isl / max(MAX_BATCHED_TOKENS - batch, 1))
    ttft = 0.5 * st.seconds + k * _step(r, batch - 1, ctx, isl / k, isl / 2, pf_seqs=1 / k).seconds + r.request
    out_tok_s = batch / st.seconds
    return ServingPoint(batch, ttft * 1e3, st.seconds * 1e3, out_tok_s, out_tok_s / osl, st.bound)


def static_batch_point(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int, batch: int,
                       kv_dtype: str | None = None, *, eff: Efficiency | None = None,
                       group_size: int = INT4_GROUP_SIZE, weight_only: bool = False,
                       kv_tokens: int | None = None) -> ServingPoint:
    """A static batch (no continuous batching, or all requests sent at once): all prompts in one pass, then
    osl - 1 decode steps. When the batch's KV cache (isl + osl tokens each) exceeds `kv_tokens`, the engine runs
    it in waves (see `oversubscribed_point`)."""
    r = _roof_for(model, gpu, precision, tp, kv_dtype, eff, group_size, weight_only)
    n0 = batch if kv_tokens is None else max(1, int(kv_tokens // (isl + osl)))
    if n0 < batch:
        return oversubscribed_point(r, isl, osl, batch, kv_tokens, engine=eff.engine if eff else DEFAULT_ENGINE)
    pf = _step(r, 0, 0, batch * isl, isl / 2, pf_seqs=batch, passes=1).seconds
    dec = _step(r, batch, isl + osl / 2)
    total = pf + max(osl - 1, 0) * dec.seconds
    return ServingPoint(batch, pf * 1e3, dec.seconds * 1e3, batch * osl / total, batch / total, dec.bound)


def oversubscribed_point(r: _Roof, isl: int, osl: int, batch: int, kv_tokens: int, engine: str) -> ServingPoint:
    """`batch` requests of isl + osl tokens when the KV cache holds only n0 = kv_tokens // (isl + osl) of them.

    TensorRT-LLM (guaranteed no-evict) admits n0 and queues the rest: waves of n0 requests. vLLM, SGLang and TGI
    admit by current usage, up to n_run = min(batch, kv_tokens // isl) prompts; as the sequences grow the cache
    overflows and the engine pre-empts the newest (vLLM: recompute), so each wave completes only n0 requests
    while it prefilled n_run prompts and decoded at an average batch of (n_run + n0) / 2; the pre-empted requests
    start again from their prompt in a later wave. Throughput collapses instead of merely queueing."""
    n0 = max(1, int(kv_tokens // (isl + osl)))
    n_run = n0 if engine == "trtllm" else max(n0, min(batch, int(kv_tokens // max(isl, 1))))
    waves = math.ceil(batch / n0)
    pf = _step(r, 0, 0, n_run * isl, isl / 2, pf_seqs=n_run).seconds
    dec = _step(r, (n_run + n0) / 2, isl + osl / 2)
    wave = pf + max(osl - 1, 0) * dec.seconds
    total = waves * wave
    return ServingPoint(min(batch, n_run), pf * 1e3, dec.seconds * 1e3, batch * osl / total, batch / total,
                        dec.bound)


def max_batch(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int,
              kv_dtype: str | None = None, *, group_size: int = INT4_GROUP_SIZE, engine: str = DEFAULT_ENGINE) -> int:
    """Largest concurrency the KV cache and the engine allow for isl+osl tokens per request (0 = does not fit)."""
    mp = memory_plan(model, gpu, precision, tp, kv_dtype, min_kv_tokens=isl + osl, group_size=group_size,
                     engine=engine)
    if not mp.fits:
        return 0
    if model.kind == "embedding" or osl == 0:
        return max(1, min(MAX_SEQS, MAX_BATCHED_TOKENS // max(isl, 1)))
    return int(min(MAX_SEQS, mp.kv_tokens // (isl + osl)))


def max_throughput_point(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int,
                         kv_dtype: str | None = None, **kw) -> ServingPoint | None:
    """The highest-throughput point memory and the engine allow (`--concurrency max`)."""
    eff = kw.get("eff")
    b = max_batch(model, gpu, precision, tp, isl, osl, kv_dtype, group_size=kw.get("group_size", INT4_GROUP_SIZE),
                  engine=eff.engine if eff else DEFAULT_ENGINE)
    if b < 1:
        return None
    cands = {b, max(1, b // 2), max(1, int(b * 0.75))}
    return max((serving_point(model, gpu, precision, tp, isl, osl, c, kv_dtype, **kw) for c in cands),
               key=lambda p: (p.output_tok_s, p.requests_per_s))


@lru_cache(maxsize=65536)
def capacity_under_slo(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int,
                       ttft_ms: float, tpot_ms: float, kv_dtype: str | None = None, *,
                       engine: str = DEFAULT_ENGINE, slowdown: float = 1.0,
                       utilization: float = 0.0, wait_quantile: float | None = None,
                       arrival_cv2: float = 1.0) -> ServingPoint | None:
    """The highest-throughput point whose TTFT and TPOT meet the targets, or None when even batch 1 misses.

    `slowdown` > 1 evaluates the model at a quantile of its error band (every rate / slowdown, every fixed cost x
    slowdown, calibration.Efficiency.slowed), so that the capacity is the one reached with that confidence.
    `utilization` > 0 checks TTFT at load (`at_load`): the returned point's TTFT includes the queueing delay of a
    replica whose `batch` slots run at that utilisation (queueing.py), `queue_ms` says how much of it is waiting,
    and where the wait would break the TTFT target the usable rate is lowered until it does not. The wait is the
    mean (`wait_quantile` None) or that quantile of it (0.99: 99% of requests start within the TTFT target)."""
    eff = efficiency(gpu.architecture, engine)
    if slowdown != 1.0:
        eff = eff.slowed(slowdown)
    hi = max_batch(model, gpu, precision, tp, isl, osl, kv_dtype, engine=engine)
    if hi < 1:
        return None

    points: dict[int, ServingPoint] = {}

    def point(b: int) -> ServingPoint:
        """The operating point at batch b, computed once per call (the search and the scan below meet the same
        batches again)."""
        if b not in points:
            points[b] = serving_point(model, gpu, precision, tp, isl, osl, b, kv_dtype, eff=eff)
        return points[b]

    def service_ok(b: int) -> bool:
        p = point(b)
        return p.ttft_ms <= ttft_ms and p.tpot_ms <= tpot_ms

    if not service_ok(1):
        return None
    lo = 1
    while lo < hi:  # largest b with service_ok(b); service latency grows with batch
        mid = (lo + hi + 1) // 2
        if service_ok(mid):
            lo = mid
        else:
            hi = mid - 1
    if utilization <= 0:
        return point(lo)
    top = point(lo)
    best = at_load(top, ttft_ms, utilization, wait_quantile, arrival_cv2)
    if best is not None and best.requests_per_s >= top.requests_per_s * (1 - 1e-9):
        return best  # the queue does not bind at the largest batch: nothing can do better
    # the queue binds: fewer slots leave more TTFT slack for waiting; scan downwards for the best usable rate
    b = lo
    for _ in range(8):
        b = max(1, b - max(1, lo // 8))
        p = at_load(point(b), ttft_ms, utilization, wait_quantile, arrival_cv2)
        if p is not None and (best is None or p.requests_per_s > best.requests_per_s):
            best = p
        if b == 1:
            break
    return best


def at_load(p: ServingPoint, ttft_ms: float, utilization: float,
            wait_quantile: float | None = None, arrival_cv2: float = 1.0) -> ServingPoint | None:
    """The point `p` (`batch` slots) under Poisson load: the largest usable rate, at most utilization x
    requests_per_s, whose TTFT including the queueing delay meets `ttft_ms`. The returned point's requests_per_s
    is that rate / utilization (so that capacity = requests_per_s x utilization, as the planner counts it) and
    its ttft_ms includes the wait (queue_ms). None when no load meets the target."""
    from .queueing import wait_at_load

    slack_s = (ttft_ms - p.ttft_ms) / 1e3
    if slack_s <= 0 or p.requests_per_s <= 0:
        return None
    service = p.batch / p.requests_per_s
    wait = wait_at_load(p.batch, p.requests_per_s, service, quantile=wait_quantile, ca2=arrival_cv2)

    rho = min(utilization, 1.0)
    if rho >= 1.0 or wait(rho) > slack_s:
        lo_r, hi_r = 0.0, min(rho, 1.0)
        for _ in range(14):  # rho to within 1e-4
            mid = (lo_r + hi_r) / 2
            if wait(mid) <= slack_s:
                lo_r = mid
            else:
                hi_r = mid
        rho = lo_r
    if rho <= 0:
        return None
    scale = rho / utilization
    w = wait(rho)
    return ServingPoint(p.batch, p.ttft_ms + w * 1e3, p.tpot_ms, p.output_tok_s * scale, p.requests_per_s * scale,
                        p.bound, queue_ms=w * 1e3, service_s=service)
