"""Performance model: memory arithmetic checked by hand, and physical sanity of the speed model."""

import pytest

from optimizer.perf.memory import kv_bytes_per_token, memory_plan, weight_bytes
from optimizer.perf.speed import (capacity_under_slo, compute_precision, max_batch, max_throughput_point,
                                  serving_point, single_stream_decode_tok_s)

GIB = 2**30


def test_weights_and_kv_by_hand(default_catalog):
    m = default_catalog.models["llama-3.1-8b"]
    emb = 128256 * 4096 * 2  # untied embedding + LM head stay 16-bit
    body = 8.03e9 - emb
    assert weight_bytes(m, "fp16") == pytest.approx(8.03e9 * 2)
    assert weight_bytes(m, "fp8") == pytest.approx(body * 1 + emb * 2)
    assert weight_bytes(m, "int4") == pytest.approx(body * (4 + 0.25) / 8 + emb * 2)
    # 2 (K,V) x 32 layers x 8 KV heads x 128 head dim x 2 bytes = 131,072 bytes per token
    assert kv_bytes_per_token(m, "fp16") == 131072
    assert kv_bytes_per_token(m, "fp8") == 65536
    assert kv_bytes_per_token(m, "fp16", tp=2) == 65536
    # TP beyond the KV head count replicates heads: 8 KV heads on 16 GPUs still hold one head each
    assert kv_bytes_per_token(m, "fp16", tp=16) == 2 * 32 * 1 * 128 * 2
    l2 = default_catalog.models["llama-2-7b"]  # MHA: 32 KV heads
    assert kv_bytes_per_token(l2, "fp16") == 2 * 32 * 32 * 128 * 2


def test_a10g_fp16_llama_8b_fits_with_a_small_kv_cache(default_catalog):
    mp = memory_plan(default_catalog.models["llama-3.1-8b"], default_catalog.gpus["A10G"], "fp16")
    # 22.49 GiB x 0.90 = 20.24 GiB; weights 14.96 GiB; ~1.7 GiB reserve; ~3.5 GiB left for KV
    assert mp.fits and mp.weights_gib == pytest.approx(14.96, abs=0.01)
    assert 2.5 < mp.kv_cache_gib < 4.5
    assert mp.kv_tokens == int(mp.kv_cache_gib * GIB / 131072)
    assert 20 < mp.max_concurrency(1100) < 35


def test_70b_fp16_does_not_fit_one_h100_but_fits_two(default_catalog):
    m, g = default_catalog.models["llama-3.1-70b"], default_catalog.gpus["H100-SXM"]
    one = memory_plan(m, g, "fp16", tp=1)
    assert not one.fits and "exceed" in one.reason
    two = memory_plan(m, g, "fp16", tp=2)
    assert two.fits and two.weights_gib == pytest.approx(weight_bytes(m, "fp16") / 2 / GIB)


def test_decode_is_memory_bound_at_batch_1_and_compute_bound_at_large_batch(default_catalog):
    m, g = default_catalog.models["llama-3.1-8b"], default_catalog.gpus["H100-SXM"]
    assert serving_point(m, g, "fp16", 1, 128, 128, 1).bound == "memory"
    assert serving_point(m, g, "fp16", 1, 128, 128, 1024).bound == "compute"


def test_latency_and_throughput_grow_with_batch(default_catalog):
    m, g = default_catalog.models["llama-3.1-8b"], default_catalog.gpus["L40S"]
    pts = [serving_point(m, g, "fp16", 1, 800, 300, b) for b in (1, 8, 32, 128)]
    assert all(a.tpot_ms < b.tpot_ms for a, b in zip(pts, pts[1:]))
    assert all(a.output_tok_s < b.output_tok_s for a, b in zip(pts, pts[1:]))


def test_single_stream_is_bandwidth_over_bytes(default_catalog):
    m, g = default_catalog.models["llama-3.1-8b"], default_catalog.gpus["H100-SXM"]
    naive = g.mem_bw_tbps * 1e12 / weight_bytes(m, "fp16")  # 100% of bandwidth, no overhead
    got = single_stream_decode_tok_s(m, g, "fp16", 1, 1000)  # vLLM, the default engine
    assert 0.45 * naive < got < naive


def test_capacity_under_slo_meets_targets(default_catalog):
    m, g = default_catalog.models["llama-3.1-8b"], default_catalog.gpus["L40S"]
    tight = capacity_under_slo(m, g, "fp16", 1, 800, 300, 500.0, 40.0)
    loose = capacity_under_slo(m, g, "fp16", 1, 800, 300, 2000.0, 100.0)
    assert tight.tpot_ms <= 40 and tight.ttft_ms <= 500
    assert loose.requests_per_s > tight.requests_per_s
    assert capacity_under_slo(m, g, "fp16", 1, 800, 300, 500.0, 1.0) is None  # 1 ms/token is impossible


def test_max_batch_is_kv_bound(default_catalog):
    m, g = default_catalog.models["llama-3.1-8b"], default_catalog.gpus["A10G"]
    mp = memory_plan(m, g, "fp16")
    assert max_batch(m, g, "fp16", 1, 800, 300) == mp.kv_tokens // 1100
    assert max_throughput_point(m, g, "fp16", 1, 800, 300).batch <= mp.kv_tokens // 1100


def test_tensor_parallelism_speeds_up_single_stream(default_catalog):
    m, g = default_catalog.models["llama-3.1-70b"], default_catalog.gpus["H100-SXM"]
    s2 = single_stream_decode_tok_s(m, g, "fp16", 2, 1000)
    s8 = single_stream_decode_tok_s(m, g, "fp16", 8, 1000)
    assert s8 > s2 and s8 < 4 * s2  # sublinear: all-reduce latency and smaller shards


def test_precision_without_tensor_units_computes_in_fp16(default_catalog):
    assert compute_precision(default_catalog.gpus["A100-80GB"], "fp8") == "fp16"
    assert compute_precision(default_catalog.gpus["H100-SXM"], "fp8") == "fp8"
    assert compute_precision(default_catalog.gpus["H100-SXM"], "int4") == "fp16"
    assert compute_precision(default_catalog.gpus["B200"], "fp4") == "fp4"


def test_moe_reads_fewer_weights_at_batch_1(default_catalog):
    mx = default_catalog.models["mixtral-8x7b"]
    g = default_catalog.gpus["H100-SXM"]
    # all 46.7B parameters must be in memory, but one token touches 2 of 8 experts (12.9B active): at the same
    # efficiency a single stream runs ~3.6x faster than a dense 46.7B model (less where fixed costs weigh in)
    dense = mx.model_copy(update={"moe_experts": None, "moe_active_experts": None, "active_params_b": mx.params_b})
    assert memory_plan(mx, g, "fp16", 2).weights_gib == memory_plan(dense, g, "fp16", 2).weights_gib
    ratio = single_stream_decode_tok_s(mx, g, "fp16", 2, 500) / single_stream_decode_tok_s(dense, g, "fp16", 2, 500)
    assert 2.5 < ratio < mx.params_b / mx.active_params_b


def test_embedding_model_has_no_kv_and_is_compute_bound(default_catalog):
    e = default_catalog.models["bge-large-en-v1.5"]
    g = default_catalog.gpus["L4"]
    mp = memory_plan(e, g, "fp16")
    assert mp.fits and mp.kv_tokens == 0
    pt = max_throughput_point(e, g, "fp16", 1, 400, 0)
    assert pt.tpot_ms == 0 and pt.requests_per_s > 50


def test_decode_step_is_flat_while_memory_bound_then_grows_with_batch(default_catalog):
    """The crossover: at small batch a step streams the weights once whatever the batch; past the ridge point
    (a few hundred tokens on an H100) the step grows about linearly with the batch."""
    from optimizer.perf.speed import decode_step_seconds
    m, g = default_catalog.models["llama-3.1-8b"], default_catalog.gpus["H100-SXM"]
    t = {b: decode_step_seconds(m, g, "fp16", 1, b, 256) for b in (1, 2, 8, 512, 1024)}
    assert t[2] / t[1] < 1.05 and t[8] / t[1] < 1.15
    assert 1.6 < t[1024] / t[512] <= 2.0


def test_input_embedding_table_is_not_streamed(default_catalog):
    from optimizer.perf.memory import streamed_weight_bytes
    m = default_catalog.models["llama-3.1-8b"]
    assert weight_bytes(m, "fp16") - streamed_weight_bytes(m, "fp16") == 128256 * 4096 * 2
    tied = default_catalog.models["bge-large-en-v1.5"]
    assert streamed_weight_bytes(tied, "fp16") == weight_bytes(tied, "fp16")


def test_allreduce_over_pcie_costs_more_than_over_nvlink(default_catalog):
    """The same GPU with its NVLink replaced by PCIe gains less from TP: each all-reduce has a higher latency."""
    m = default_catalog.models["llama-3.1-8b"]
    nvl = default_catalog.gpus["H100-SXM"]
    pcie = nvl.model_copy(update={"interconnect": "pcie5", "interconnect_gbps": 128})

    def gain(g):
        return single_stream_decode_tok_s(m, g, "fp16", 2, 1000) / single_stream_decode_tok_s(m, g, "fp16", 1, 1000)

    assert 1.0 < gain(pcie) < gain(nvl) < 2.0


def test_static_batch_pays_the_whole_prefill_first(default_catalog):
    from optimizer.perf.speed import static_batch_point
    m, g = default_catalog.models["llama-2-7b"], default_catalog.gpus["H100-SXM"]
    static = static_batch_point(m, g, "fp8", 1, 2048, 128, 64)
    cont = serving_point(m, g, "fp8", 1, 2048, 128, 64)
    assert static.ttft_ms > 10 * cont.tpot_ms  # 64 prompts of 2,048 tokens before the first token
    assert 0.5 < static.output_tok_s / cont.output_tok_s < 1.5  # same work, different schedule


def test_405b_needs_fp8_on_eight_h100(default_catalog):
    m, g = default_catalog.models["llama-3.1-405b"], default_catalog.gpus["H100-SXM"]
    assert not memory_plan(m, g, "fp16", 8).fits
    assert memory_plan(m, g, "fp8", 8).fits


def test_weight_only_kernels_reach_less_bandwidth(default_catalog):
    """int8 weights on an A100 computed as weight-only are faster than fp16 at batch 1, but by less than 2x."""
    m, g = default_catalog.models["llama-2-7b"], default_catalog.gpus["A100-80GB"]
    f16 = single_stream_decode_tok_s(m, g, "fp16", 1, 100)
    i8 = single_stream_decode_tok_s(m, g, "int8", 1, 100, weight_only=True)
    assert 1.2 < i8 / f16 < 1.9
