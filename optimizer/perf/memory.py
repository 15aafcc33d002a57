"""Memory fit: weights, runtime reserve and KV cache per GPU of a tensor-parallel replica.

Budget per GPU = vram_gib x gpu_memory_utilization (vLLM's default 0.90). From it come, per GPU:
- weights / tp. The transformer body is stored at the precision (plus group-scale overhead for 4-bit formats);
  token embeddings and the LM head stay 16-bit, as AWQ/GPTQ/FP8 checkpoints keep them;
- a runtime reserve: activation peak of one prefill chunk of `max_batched_tokens` tokens, sampler logits for
  `max_seqs` sequences, CUDA graphs and non-torch memory (NCCL buffers when tp > 1);
- the KV cache: the rest. KV bytes per token = 2 (K and V) x layers x kv_heads x head_dim x kv dtype bytes, split
  across the TP ranks (KV heads are replicated when tp > kv_heads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog.schema import GpuSpec, ModelSpec
from ..units import GIB

BITS = {"fp16": 16.0, "fp8": 8.0, "int8": 8.0, "int4": 4.0, "fp4": 4.0}
# Scale/zero-point storage per weight: int4 = fp16 scale + fp16 zero per group (AWQ/GPTQ default group 128;
# gpt-fast uses 32); NVFP4 = one fp8 scale per 16 weights. fp8/int8 use per-channel scales (negligible).
INT4_GROUP_SIZE = 128
KV_BYTES = {"fp16": 2.0, "fp8": 1.0}


PRECISION_ALIASES = {"bf16": "fp16", "bfloat16": "fp16", "float16": "fp16", "half": "fp16", "fp16/bf16": "fp16",
                     "e4m3": "fp8", "float8": "fp8", "nvfp4": "fp4", "mxfp4": "fp4", "w8a8": "int8", "awq": "int4",
                     "gptq": "int4", "w4a16": "int4", "w8a16": "int8"}


def parse_precision(text: str) -> tuple[str, bool, int]:
    """A precision as benchmarks write it -> (precision, weight_only, int4 group size).

    'bf16' -> ('fp16', False, 128); 'int8 (weight-only)' -> ('int8', True, 128); 'int4 (weight-only g32)' ->
    ('int4', True, 32). Raises ValueError for an unknown spelling."""
    raw = text.strip().lower()
    base = raw.split("(")[0].strip()
    base = PRECISION_ALIASES.get(base, base)
    if base not in BITS:
        raise ValueError(base)
    weight_only = "weight-only" in raw or "w8a16" in raw or base == "int4"
    g = re.search(r"\bg(\d+)\b", raw)
    return base, weight_only, int(g.group(1)) if g else INT4_GROUP_SIZE


def scale_bits(precision: str, group_size: int = INT4_GROUP_SIZE) -> float:
    """Bits of scale/zero storage per weight."""
    if precision == "int4":
        return 32.0 / group_size
    if precision == "fp4":
        return 8.0 / 16
    return 0.0

GPU_MEMORY_UTILIZATION = 0.90
MAX_BATCHED_TOKENS = 8192
MAX_SEQS_FOR_LOGITS = 256
CUDA_GRAPHS_GIB = 0.4
NON_TORCH_GIB = 0.4
NCCL_GIB = 0.4


def embedding_params(model: ModelSpec) -> float:
    return model.vocab_size * model.hidden_size * (1 if model.tied_embeddings else 2)


def weight_bytes(model: ModelSpec, precision: str, group_size: int = INT4_GROUP_SIZE) -> float:
    """Bytes of all weights of the model at a precision (whole model, not per GPU)."""
    emb = embedding_params(model)
    body = max(model.params_b * 1e9 - emb, 0.0)
    return body * (BITS[precision] + scale_bits(precision, group_size)) / 8 + emb * 2.0


def streamed_weight_bytes(model: ModelSpec, precision: str, group_size: int = INT4_GROUP_SIZE) -> float:
    """Bytes one forward pass reads: every weight except the input embedding table, of which a pass gathers only
    the rows of its tokens (a tied table is read whole, as the LM head)."""
    unread = 0.0 if model.tied_embeddings else model.vocab_size * model.hidden_size * 2.0
    return weight_bytes(model, precision, group_size) - unread


FP8_KV_RECIPES = ("trtllm", "optimum-habana")  # engines whose FP8 recipe also quantises the KV cache


def default_kv_dtype(precision: str, gpu: GpuSpec, engine: str = "vllm") -> str:
    """The engine's default KV-cache dtype. TensorRT-LLM's (and Intel Gaudi's) FP8/FP4 recipes quantise the KV
    cache to fp8 on GPUs with fp8 units; vLLM (`--kv-cache-dtype auto`), SGLang and TGI keep the model's 16-bit
    dtype whatever the weights' precision, unless an fp8 KV cache is asked for."""
    if engine in FP8_KV_RECIPES:
        return "fp8" if precision in ("fp8", "fp4") and gpu.fp8_tflops else "fp16"
    return "fp16"


def kv_bytes_per_token(model: ModelSpec, kv_dtype: str = "fp16", tp: int = 1) -> float:
    """KV-cache bytes one token occupies on one GPU of a TP group."""
    if model.kind == "embedding":
        return 0.0
    heads_per_gpu = max(model.kv_heads / tp, 1.0)
    return 2 * model.layers * heads_per_gpu * model.head_dim * KV_BYTES[kv_dtype]


def reserve_gib(model: ModelSpec, tp: int) -> float:
    """Runtime memory besides weights and KV cache, per GPU."""
    act = MAX_BATCHED_TOKENS * (12 * model.hidden_size + 4 * model.intermediate_size / tp)
    logits = MAX_SEQS_FOR_LOGITS * model.vocab_size * 4 / tp
    return (act + logits) / GIB + CUDA_GRAPHS_GIB + NON_TORCH_GIB + (NCCL_GIB if tp > 1 else 0.0)


@dataclass(frozen=True)
class MemoryPlan:
    """Per-GPU memory of one replica (a TP group of `tp` GPUs)."""

    tp: int
    precision: str
    kv_dtype: str
    budget_gib: float
    weights_gib: float
    reserve_gib: float
    kv_cache_gib: float
    kv_tokens: int  # tokens of KV cache the whole replica holds
    fits: bool
    reason: str | None

    def max_concurrency(self, tokens_per_request: int) -> float:
        """vLLM's 'Maximum concurrency for N tokens per request': KV tokens / N."""
        return self.kv_tokens / tokens_per_request if tokens_per_request > 0 else float("inf")


def memory_plan(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int = 1, kv_dtype: str | None = None,
                gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION, min_kv_tokens: int = 0,
                group_size: int = INT4_GROUP_SIZE, engine: str = "vllm") -> MemoryPlan:
    """Per-GPU memory of a replica; `fits` needs room for at least `min_kv_tokens` (and one) KV-cache tokens."""
    kv_dtype = kv_dtype or default_kv_dtype(precision, gpu, engine)
    budget = gpu.vram_gib * gpu_memory_utilization
    weights = weight_bytes(model, precision, group_size) / tp / GIB
    reserve = reserve_gib(model, tp)
    kv_gib = budget - weights - reserve
    per_tok = kv_bytes_per_token(model, kv_dtype, tp)
    if model.kind == "embedding":
        kv_tokens = 0
        fits = kv_gib >= 0
    else:
        kv_tokens = int(max(kv_gib, 0.0) * GIB / per_tok)
        fits = kv_gib > 0 and kv_tokens >= max(min_kv_tokens, 1)
    reason = None
    if not fits:
        if kv_gib <= 0:
            reason = (f"weights {weights:.1f} GiB + runtime reserve {reserve:.1f} GiB per GPU exceed the "
                      f"{budget:.1f} GiB budget ({gpu.vram_gib:.1f} GiB x {gpu_memory_utilization:.2f}) of a {gpu.name} "
                      f"at tp={tp}")
        else:
            reason = (f"only {kv_tokens} KV-cache tokens fit ({kv_gib:.2f} GiB), fewer than the {min_kv_tokens} "
                      f"one request needs")
    return MemoryPlan(tp=tp, precision=precision, kv_dtype=kv_dtype, budget_gib=budget, weights_gib=weights,
                      reserve_gib=reserve, kv_cache_gib=max(kv_gib, 0.0), kv_tokens=kv_tokens, fits=fits,
                      reason=reason)
