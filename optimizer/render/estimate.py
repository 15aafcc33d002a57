"""Renderers of an `Estimate` (optimizer/perf/estimate.py): JSON, and a table that reads like vLLM's memory report
(total memory x utilisation, weights, reserve, KV cache GiB, KV tokens, "Maximum concurrency for N tokens per
request") followed by the speeds and the seed chapter's naive figures."""

from __future__ import annotations

import json

from ..perf.estimate import Estimate


def to_json(e: Estimate) -> str:
    return json.dumps(e.to_dict(), indent=2) + "\n"


def _f(v: float | None, digits: int = 1, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}{unit}"


def to_table(e: Estimate) -> str:
    gpus = f"{e.tp} x {e.gpu}" if e.tp > 1 else f"1 x {e.gpu}"
    out = [f"{e.model_display} on {gpus} ({e.architecture}) with {e.engine}: {e.precision} weights (math in "
           f"{e.compute_precision}), {e.kv_dtype} KV cache, tp={e.tp}", ""]
    w = 62

    def row(label: str, value: str) -> None:
        out.append(f"  {label:<{w}} {value:>12}")

    out.append(f"{'Memory per GPU':<{w + 2}} {'GiB':>12}")
    row("total GPU memory", _f(e.vram_gib, 2))
    row(f"x gpu_memory_utilization {e.gpu_memory_utilization:.2f}", _f(e.budget_gib, 2))
    row("model weights" + (f" (1/{e.tp} of the model)" if e.tp > 1 else ""), _f(e.weights_gib, 2))
    row("runtime reserve (activations, logits, CUDA graphs, non-torch)", _f(e.reserve_gib, 2))
    row("available KV cache", _f(e.kv_cache_gib, 2))
    if e.tokens_per_request and e.osl > 0:
        out.append(f"GPU KV cache size: {e.kv_tokens:,} tokens ({e.kv_bytes_per_token / 1024:,.0f} KiB per token "
                   f"per GPU)")
        out.append(f"Maximum concurrency for {e.tokens_per_request:,} tokens per request: {e.max_concurrency:.2f}x")
    out.append(f"Fits: {'yes' if e.fits else 'no'}" + (f" ({e.reason})" if e.reason else ""))
    out.append("")
    if e.fits:
        conc = "max" if e.concurrency == "max" else e.concurrency
        out.append(f"Speed at isl {e.isl:,}, osl {e.osl:,}, concurrency {conc} ({e.batch:,} running)")
        if e.single_stream_decode_tok_s is not None:
            row("single-stream decode (tok/s)", _f(e.single_stream_decode_tok_s))
        row("TTFT (ms)", _f(e.ttft_ms))
        if e.osl > 0:
            row("TPOT (ms)", _f(e.tpot_ms, 2))
            row("output tokens/s, replica", _f(e.output_tok_s_total, 0))
            if e.output_tok_s_p10 is not None:
                row("  80% band (10th-90th percentile)", f"{e.output_tok_s_p10:,.0f}-{e.output_tok_s_p90:,.0f}")
            if e.tp > 1:
                row("output tokens/s per GPU", _f(e.output_tok_s_per_gpu, 0))
        row("requests/s", _f(e.requests_per_s, 2))
        if e.requests_per_s_p10 is not None:
            row("  80% band (10th-90th percentile)", f"{e.requests_per_s_p10:,.2f}-{e.requests_per_s_p90:,.2f}")
        row("bound (linear layers + KV reads vs FLOPs)", e.bound or "-")
        out.append("")
    out.append("Seed chapter's naive figures (for comparison)")
    verdict = "fits" if e.naive_fits else "does not fit"
    row(f"can_serve_model: {e.naive_weights_gb:,.2f} GB x 1.2 = {e.naive_required_gb:,.2f} <= "
        f"{e.vram_gib * e.tp:,.2f} GB?", verdict)
    row("estimated_tokens_per_second (bandwidth / 2 bytes x params)", _f(e.naive_decode_tok_s, 1))
    if e.notes:
        out.append("")
        out.append("Assumptions")
        out += [f"  - {n}" for n in e.notes]
    return "\n".join(out) + "\n"
