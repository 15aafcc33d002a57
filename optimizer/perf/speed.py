"""Serving speed from a roofline: prefill is compute-bound, decode is memory-bound, batching moves decode towards
the compute roof until the KV cache is full.

One engine step of a replica (TP group of `tp` GPUs) running `batch` sequences with continuous batching and
chunked prefill processes one decode token per sequence plus, in steady state, `batch * isl / osl` prompt tokens
(each request's prefill spread over its decode life). Per GPU:

    t_step = max(bytes / (BW * e_bw), flops / (F * e_c)) + t_allreduce + t_overhead
    bytes  = weights read (MoE: experts touched by the step's tokens) * passes + batch * context * kv_bytes_per_token
    flops  = 2 * active_params / tp * tokens + attention (4 * layers * heads * head_dim / tp * context * tokens)
    passes = ceil(tokens / max_batched_tokens)        (one forward pass per prefill chunk)
    t_allreduce = 2 * layers * (alpha + 2 (tp-1)/tp * tokens * hidden * 2 B / link_bw)   when tp > 1

TPOT = t_step; TTFT = the prompt's chunks at the step time plus half a step of waiting; a request lives
TTFT + (osl - 1) * TPOT, so a replica at concurrency `batch` serves batch / latency requests/s (Little's law).
Where a GPU lacks tensor units for a precision (FP8 before Hopper/Ada, FP4 before Blackwell, INT4 everywhere),
weights are stored compressed (memory and bandwidth benefit) and computed in 16-bit, as weight-only kernels do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ..catalog.schema import GpuSpec, ModelSpec
from .calibration import efficiency
from .memory import MAX_BATCHED_TOKENS, default_kv_dtype, kv_bytes_per_token, memory_plan, weight_bytes

MAX_SEQS = 1024  # engine cap on concurrent sequences (vLLM's max_num_seqs / TensorRT-LLM's max_batch_size)


def compute_precision(gpu: GpuSpec, precision: str) -> str:
    """The tensor-core path the math runs on: the precision itself where the GPU has units for it, else fp16."""
    if precision in ("fp8", "int8", "fp4") and gpu.tflops(precision):
        return precision
    return "fp16"


def compute_note(gpu: GpuSpec, precision: str) -> str | None:
    cp = compute_precision(gpu, precision)
    if cp != precision and precision != "fp16":
        return (f"{gpu.name} has no {precision} tensor units: weights are stored in {precision} and computed in "
                f"fp16 (weight-only kernels)")
    return None


def _expert_params(model: ModelSpec) -> float:
    if not model.moe_experts:
        return 0.0
    return model.layers * model.moe_experts * 3 * model.hidden_size * model.intermediate_size


@dataclass(frozen=True)
class _Roof:
    """Per-GPU constants of one (model, gpu, precision, tp, kv dtype) configuration."""

    w_dense: float  # bytes of non-expert weights per GPU
    w_expert: float  # bytes of all expert weights per GPU
    moe_k_over_e: float
    flops_per_token: float  # dense FLOPs per token per GPU
    attn_flops_per_ctx_token: float  # attention FLOPs per (token x context token) per GPU
    kv_per_token: float  # KV bytes per token per GPU
    bw: float  # achieved bytes/s per GPU
    flops: float  # achieved FLOP/s per GPU
    comm_alpha: float  # seconds per all-reduce
    link_bw: float  # bytes/s per direction
    layers: int
    hidden: int
    tp: int
    overhead: float  # seconds per step


@lru_cache(maxsize=4096)
def _roof(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, kv_dtype: str) -> _Roof:
    eff = efficiency(gpu.architecture)
    wb = weight_bytes(model, precision)
    bytes_per_param = wb / (model.params_b * 1e9)
    w_expert = _expert_params(model) * bytes_per_param
    cp = compute_precision(gpu, precision)
    bw_eff = eff.mem_bw * max(1.0 - eff.tp_bw_loss * math.log2(tp), 0.5)
    pcie = gpu.interconnect.startswith("pcie")
    alpha = eff.allreduce_us * (2.5 if pcie else 1.0) * 1e-6
    link = (gpu.interconnect_gbps or 32.0) * 1e9 / 2
    return _Roof(
        w_dense=(wb - w_expert) / tp, w_expert=w_expert / tp,
        moe_k_over_e=(model.moe_active_experts / model.moe_experts) if model.moe_experts else 0.0,
        flops_per_token=2 * model.active_params_b * 1e9 / tp,
        attn_flops_per_ctx_token=4 * model.layers * model.attention_heads * model.head_dim / tp,
        kv_per_token=kv_bytes_per_token(model, kv_dtype, tp),
        bw=gpu.mem_bw_tbps * 1e12 * bw_eff, flops=gpu.tflops(cp) * 1e12 * eff.compute,
        comm_alpha=alpha, link_bw=link, layers=model.layers, hidden=model.hidden_size, tp=tp,
        overhead=eff.step_ms * 1e-3,
    )


def _step_seconds(r: _Roof, decode_seqs: float, context: float, prefill_tokens: float, prefill_ctx: float) -> tuple[
        float, str]:
    tokens = decode_seqs + prefill_tokens
    passes = max(1, math.ceil(tokens / MAX_BATCHED_TOKENS))
    touched = 1.0 if not r.w_expert else 1.0 - (1.0 - r.moe_k_over_e) ** max(tokens / passes, 1.0)
    weights = (r.w_dense + r.w_expert * touched) * passes
    mem = (weights + decode_seqs * context * r.kv_per_token) / r.bw
    fl = r.flops_per_token * tokens + r.attn_flops_per_ctx_token * (decode_seqs * context + prefill_tokens * prefill_ctx)
    cmp = fl / r.flops
    comm = 0.0
    if r.tp > 1:
        comm = 2 * r.layers * (r.comm_alpha * passes + 2 * (r.tp - 1) / r.tp * tokens * r.hidden * 2 / r.link_bw)
    return max(mem, cmp) + comm + r.overhead * passes, ("memory" if mem >= cmp else "compute")


@dataclass(frozen=True)
class ServingPoint:
    """One operating point of one replica."""

    batch: int
    ttft_ms: float
    tpot_ms: float  # 0 for embedding models
    output_tok_s: float  # whole replica
    requests_per_s: float  # whole replica
    bound: str  # "memory" or "compute" (decode step)


def _roof_for(model, gpu, precision, tp, kv_dtype):
    return _roof(model, gpu, precision, tp, kv_dtype or default_kv_dtype(precision, gpu))


def prefill_seconds(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int,
                    kv_dtype: str | None = None) -> float:
    """Time to prefill one prompt of `isl` tokens on an idle replica."""
    r = _roof_for(model, gpu, precision, tp, kv_dtype)
    return _step_seconds(r, 0, 0, isl, isl / 2)[0]


def serving_point(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int, batch: int,
                  kv_dtype: str | None = None) -> ServingPoint:
    """Steady state at `batch` concurrent sequences with continuous batching."""
    r = _roof_for(model, gpu, precision, tp, kv_dtype)
    if model.kind == "embedding" or osl == 0:
        t, bound = _step_seconds(r, 0, 0, batch * isl, isl / 2)
        return ServingPoint(batch, t * 1e3, 0.0, 0.0, batch / t, bound)
    ctx = isl + osl / 2
    t_step, bound = _step_seconds(r, batch, ctx, batch * isl / osl, isl / 2)
    chunk = max(MAX_BATCHED_TOKENS - batch, 1)
    ttft = (math.ceil(isl / chunk) + 0.5) * t_step if batch > 1 else prefill_seconds(model, gpu, precision, tp, isl,
                                                                                      kv_dtype) + r.overhead
    latency = ttft + max(osl - 1, 0) * t_step
    return ServingPoint(batch, ttft * 1e3, t_step * 1e3, batch * osl / latency, batch / latency, bound)


def single_stream_decode_tok_s(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, context: int,
                               kv_dtype: str | None = None) -> float:
    r = _roof_for(model, gpu, precision, tp, kv_dtype)
    return 1.0 / _step_seconds(r, 1, context, 0, 0)[0]


def max_batch(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int,
              kv_dtype: str | None = None) -> int:
    """Largest concurrency the KV cache and the engine allow for isl+osl tokens per request (0 = does not fit)."""
    mp = memory_plan(model, gpu, precision, tp, kv_dtype, min_kv_tokens=isl + osl)
    if not mp.fits:
        return 0
    if model.kind == "embedding" or osl == 0:
        return max(1, min(MAX_SEQS, MAX_BATCHED_TOKENS // max(isl, 1)))
    return int(min(MAX_SEQS, mp.kv_tokens // (isl + osl)))


def max_throughput_point(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int,
                         kv_dtype: str | None = None) -> ServingPoint | None:
    """The highest-throughput point memory and the engine allow (`--concurrency max`)."""
    b = max_batch(model, gpu, precision, tp, isl, osl, kv_dtype)
    if b < 1:
        return None
    cands = {b, max(1, b // 2), max(1, int(b * 0.75))}
    return max((serving_point(model, gpu, precision, tp, isl, osl, c, kv_dtype) for c in cands),
               key=lambda p: p.requests_per_s)


@lru_cache(maxsize=65536)
def capacity_under_slo(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int, isl: int, osl: int,
                       ttft_ms: float, tpot_ms: float, kv_dtype: str | None = None) -> ServingPoint | None:
    """The highest-throughput point whose TTFT and TPOT meet the targets, or None when even batch 1 misses."""
    hi = max_batch(model, gpu, precision, tp, isl, osl, kv_dtype)
    if hi < 1:
        return None

    def ok(b: int) -> bool:
        p = serving_point(model, gpu, precision, tp, isl, osl, b, kv_dtype)
        return p.ttft_ms <= ttft_ms and p.tpot_ms <= tpot_ms

    if not ok(1):
        return None
    lo = 1
    while lo < hi:  # largest b with ok(b); latency grows with batch
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return serving_point(model, gpu, precision, tp, isl, osl, lo, kv_dtype)
