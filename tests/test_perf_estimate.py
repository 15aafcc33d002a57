"""`llmplan estimate`: the memory report and speeds from the functions `solve` uses, names, errors, renderers."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import check_golden

from optimizer.cli import main
from optimizer.candidates import build_candidates
from optimizer.errors import ProblemError
from optimizer.perf.estimate import Estimate, estimate
from optimizer.perf.memory import memory_plan
from optimizer.perf import calibration
from optimizer.perf.calibration import band
from optimizer.perf.speed import capacity_under_slo, max_batch, serving_point, single_stream_decode_tok_s
from optimizer.problem import load_problem
from optimizer.render.estimate import to_json, to_table

ROOT = Path(__file__).resolve().parents[1]
CATALOG = str(ROOT / "catalogs" / "2026-12-03")
GOLDEN = Path(__file__).parent / "golden"
GIB = 2**30
KEYS = {"fits", "reason", "weights_gib", "kv_cache_gib", "kv_tokens", "max_concurrency", "single_stream_decode_tok_s",
        "ttft_ms", "tpot_ms", "output_tok_s_total", "requests_per_s", "naive_fits", "naive_decode_tok_s"}


def run(*args):
    return CliRunner().invoke(main, ["estimate", "--catalog", CATALOG, *args])


def test_seed_self_check_a10g_llama_8b_fp16(default_catalog):
    """'Why is the A10G listed as unable to serve Llama 3.1 8B in FP16?' It is not: it fits, with a small KV cache."""
    e = estimate(default_catalog, "Llama 3.1 8B", "A10G", isl=1000, osl=1000)
    assert e.fits and e.reason is None
    # 22.49 GiB x 0.90 = 20.24 GiB budget; 16.06e9 bytes of weights = 14.96 GiB
    assert e.budget_gib == pytest.approx(22.49 * 0.9) and e.weights_gib == pytest.approx(16.06e9 / GIB, rel=1e-3)
    assert e.kv_tokens == int(e.kv_cache_gib * GIB / 131072)  # 128 KiB per token (32 layers x 8 KV heads x 128 x 2 x 2 B)
    assert e.max_concurrency == pytest.approx(e.kv_tokens / 2000)
    assert 12 <= e.max_concurrency <= 17 and e.batch == int(e.max_concurrency)
    # the seed's own formula says it fits: 8.03 x 2 x 1.2 = 19.27 GB <= 22.49
    assert e.naive_fits and e.naive_required_gb == pytest.approx(8.03 * 2 * 1.2)
    assert e.naive_decode_tok_s == pytest.approx(0.6 * 1000 / (8.03 * 2))  # 37.4 tok/s at 100% of bandwidth
    # a real single stream is slower than the naive figure; a batch of 14 is far faster in total
    # (vLLM, the default engine, reaches about half of the bandwidth at batch 1 in the fit; TensorRT-LLM ~70%)
    assert 0.45 * e.naive_decode_tok_s < e.single_stream_decode_tok_s < e.naive_decode_tok_s
    trt = estimate(default_catalog, "Llama 3.1 8B", "A10G", isl=1000, osl=1000, engine="trtllm")
    assert e.single_stream_decode_tok_s < trt.single_stream_decode_tok_s < 0.85 * e.naive_decode_tok_s
    assert e.output_tok_s_total > 8 * e.single_stream_decode_tok_s


def test_json_has_the_documented_keys_and_plain_numbers():
    r = run("--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "NVIDIA H100 80GB HBM3", "--tp", "2",
            "--precision", "fp8", "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)  # stdout is JSON only
    assert KEYS <= set(d) and d["model"] == "llama-3.1-70b" and d["gpu"] == "H100-SXM" and d["fits"]
    assert d["output_tok_s_per_gpu"] == pytest.approx(d["output_tok_s_total"] / 2, rel=1e-3)
    assert all(type(v) in (int, float, str, bool, list, dict, type(None)) for v in d.values())


def test_uses_the_same_functions_as_solve(default_catalog):
    m, g = default_catalog.model("llama-3.1-8b"), default_catalog.gpu("L40S")
    e = estimate(default_catalog, "llama-3.1-8b", "L40S", precision="fp8", isl=800, osl=300, concurrency="32")
    mp = memory_plan(m, g, "fp8", 1)
    pt = serving_point(m, g, "fp8", 1, 800, 300, 32)
    assert (e.kv_tokens, e.weights_gib) == (mp.kv_tokens, mp.weights_gib)
    assert (e.ttft_ms, e.tpot_ms, e.output_tok_s_total) == (pt.ttft_ms, pt.tpot_ms, pt.output_tok_s)
    assert e.single_stream_decode_tok_s == single_stream_decode_tok_s(m, g, "fp8", 1, 800 + 150)
    # and solve's pool capacity is capacity_under_slo of the same model, times replicas and max_utilization
    prob = load_problem(ROOT / "problems" / "seed_breakeven.yaml")
    # the scenario's measured capacity would override the model; it plans at face value (confidence 0.5)
    prob = prob.model_copy(update={"measured": (),
                                   "policy": prob.policy.model_copy(update={"capacity_confidence": 0.9})})
    w = prob.serving[0]
    cands = build_candidates(prob, default_catalog)
    pool = next(p for p in cands.pools if p.precision == "fp16" and p.tp == 1 and p.capacity_type == "on_demand")
    # planned at policy.capacity_confidence (the band's quantile) with TTFT checked at the planned utilisation
    # (the policy.ttft_quantile of the wait)
    pol = prob.policy
    slow = band(pool.gpu.architecture, pol.engine).factor(pol.capacity_confidence)
    slo = capacity_under_slo(pool.model, pool.gpu, "fp16", 1, w.input_tokens, w.output_tokens, w.ttft_target_ms,
                             w.tpot_target_ms, engine=pol.engine, slowdown=slow, utilization=pol.max_utilization,
                             wait_quantile=pol.ttft_quantile, arrival_cv2=w.arrival_cv2)
    assert pool.capacity[w.name] == pytest.approx(slo.requests_per_s * pool.replicas_per_instance
                                                  * pol.max_utilization)
    assert pool.bands[w.name].planned_rps == pytest.approx(slo.requests_per_s)
    assert pool.bands[w.name].point_rps > pool.bands[w.name].planned_rps  # confidence 0.9 plans below the point


def test_concurrency_max_is_the_highest_throughput_memory_allows(default_catalog):
    m, g = default_catalog.model("llama-3.1-8b"), default_catalog.gpu("H100")
    e = estimate(default_catalog, "llama-3.1-8b", "H100", isl=2000, osl=500)
    hi = max_batch(m, g, "fp16", 1, 2000, 500)
    assert e.batch <= hi
    for b in (1, 8, hi // 4, hi // 2):
        assert serving_point(m, g, "fp16", 1, 2000, 500, b).output_tok_s <= e.output_tok_s_total


def test_concurrency_beyond_memory_runs_what_fits_and_says_so(default_catalog):
    # TensorRT-LLM's guaranteed-no-evict scheduler runs what fits and queues the rest
    e = estimate(default_catalog, "llama-3.1-8b", "A10G", concurrency="64", engine="trtllm")
    assert e.batch == int(e.max_concurrency) < 64
    assert any("exceeds what fits" in n and "wait in the queue" in n for n in e.notes)


def test_vllm_preempts_when_the_kv_cache_is_oversubscribed(default_catalog):
    """vLLM admits by current usage, then pre-empts and recomputes: throughput collapses instead of queueing."""
    fits = estimate(default_catalog, "llama-3.1-8b", "A10G", isl=2000, osl=2000, concurrency="4", engine="vllm")
    over = estimate(default_catalog, "llama-3.1-8b", "A10G", isl=2000, osl=2000, concurrency="64", engine="vllm")
    assert fits.max_concurrency < 64
    assert any("pre-empts and recomputes" in n for n in over.notes)
    # more requests than fit buy no throughput: each wave finishes only what fits, the rest start again
    at_fit = estimate(default_catalog, "llama-3.1-8b", "A10G", isl=2000, osl=2000,
                      concurrency=str(int(fits.max_concurrency)), engine="vllm")
    assert over.output_tok_s_total < at_fit.output_tok_s_total


def test_engine_changes_the_kv_default_and_the_speed(default_catalog):
    vllm = estimate(default_catalog, "llama-3.1-70b", "H100", precision="fp8", tp=2, isl=1000, osl=1000)
    trt = estimate(default_catalog, "llama-3.1-70b", "H100", precision="fp8", tp=2, isl=1000, osl=1000,
                   engine="trtllm")
    assert (vllm.kv_dtype, trt.kv_dtype) == ("fp16", "fp8")  # vLLM keeps the model's dtype unless told
    assert trt.kv_tokens > 1.9 * vllm.kv_tokens
    assert trt.output_tok_s_total > vllm.output_tok_s_total
    fp8kv = estimate(default_catalog, "llama-3.1-70b", "H100", precision="fp8", tp=2, isl=1000, osl=1000,
                     kv_dtype="fp8")
    assert fp8kv.kv_tokens == trt.kv_tokens
    # the band: 10th-90th percentile around the point, from the pair's cross-validated sigma
    assert vllm.output_tok_s_p10 < vllm.output_tok_s_total < vllm.output_tok_s_p90
    assert vllm.band_sigma == calibration.band("hopper", "vllm").sigma and vllm.band_rows >= 10


def test_unknown_engine_gets_did_you_mean(default_catalog):
    with pytest.raises(ProblemError, match="Did you mean: vllm"):
        estimate(default_catalog, "llama-3.1-8b", "A10G", engine="vlm")


def test_does_not_fit_gives_a_reason_and_no_speeds(default_catalog):
    e = estimate(default_catalog, "llama-3.1-70b", "H100")
    assert not e.fits and "exceed" in e.reason and e.output_tok_s_total is None and e.batch is None
    assert not e.naive_fits  # 70.55 x 2 x 1.2 = 169 GB


def test_kv_fp8_doubles_kv_tokens_and_int4_group_size_costs_memory(default_catalog):
    f16 = estimate(default_catalog, "llama-3.1-8b", "L4", kv_dtype="fp16", precision="fp8")
    f8 = estimate(default_catalog, "llama-3.1-8b", "L4", kv_dtype="fp8", precision="fp8")
    assert f8.kv_bytes_per_token == f16.kv_bytes_per_token / 2 and f8.kv_tokens == pytest.approx(2 * f16.kv_tokens, abs=2)
    g128 = estimate(default_catalog, "llama-2-7b", "A100-80GB", precision="int4")
    g32 = estimate(default_catalog, "llama-2-7b", "A100-80GB", precision="int4 (weight-only g32)")
    assert g32.weights_gib > g128.weights_gib
    assert estimate(default_catalog, "llama-2-7b", "A100-80GB", precision="bf16").precision == "fp16"


def test_precision_a_gpu_lacks_is_said(default_catalog):
    e = estimate(default_catalog, "llama-3.1-8b", "A100-80GB", precision="fp8")
    assert e.compute_precision == "fp16" and any("no FP8 tensor cores" in n for n in e.notes)
    assert estimate(default_catalog, "llama-3.1-8b", "H100", precision="fp8").compute_precision == "fp8"


def test_moe_holds_all_experts_and_computes_with_the_active_ones(default_catalog):
    mx = estimate(default_catalog, "Mixtral-8x7B", "H100", tp=2, concurrency="1")
    dense70 = estimate(default_catalog, "llama-2-70b", "H100", tp=2, concurrency="1")
    assert mx.weights_gib == pytest.approx(46.7e9 * 2 / 2 / GIB, rel=0.01)  # all 46.7B parameters in memory
    assert mx.single_stream_decode_tok_s > 2.5 * dense70.single_stream_decode_tok_s * 46.7 / 68.98


def test_embedding_model(default_catalog):
    e = estimate(default_catalog, "bge-large-en-v1.5", "L4", isl=400)
    assert e.fits and e.osl == 0 and e.tpot_ms == 0 and e.requests_per_s > 50 and e.single_stream_decode_tok_s is None


@pytest.mark.parametrize("name", ["H100", "H100-SXM", "H100-SXM-80GB", "NVIDIA H100 80GB HBM3", "A100-SXM-40GB",
                                  "H200-SXM-141GB", "B200-180GB", "Gaudi2", "Gaudi 2", "MI300X", "MI325X", "L4",
                                  "A100-SXM4-80GB", "AMD Instinct MI300X", "Intel Gaudi 2", "A100 80GB PCIe"])
def test_gpu_spellings_of_public_benchmarks(default_catalog, name):
    assert default_catalog.gpu(name).name in default_catalog.gpus


@pytest.mark.parametrize("name,canon", [
    ("Llama-3.1-70B", "llama-3.1-70b"), ("meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama-2-7b"), ("Llama 2 13B", "llama-2-13b"), ("LLaMA 70B", "llama-2-70b"),
    ("Meta-Llama-3-8B-Instruct", "llama-3-8b"), ("Llama-3-70B", "llama-3-70b"), ("Llama-3.1-8B", "llama-3.1-8b"),
    ("meta-llama/Llama-3.1-405B-Instruct-FP8", "llama-3.1-405b"), ("Llama-3.3-70B-Instruct", "llama-3.3-70b"),
    ("nvidia/Llama-3.3-70B-Instruct-FP4", "llama-3.3-70b"), ("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
                                                              "llama-3.1-70b"),
    ("mistralai/Mistral-7B-Instruct-v0.2", "mistral-7b"), ("Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"),
    ("GPT-J 6B", "gpt-j-6b"), ("EleutherAI/gpt-j-6b", "gpt-j-6b")])
def test_model_spellings_of_public_benchmarks(default_catalog, name, canon):
    assert default_catalog.model(name).name == canon


def test_unknown_names_get_did_you_mean_without_traceback():
    r = run("--model", "llama-3.1-8b", "--gpu", "H100-SMX")
    assert r.exit_code == 2 and "--gpu" in r.stderr and "Did you mean" in r.stderr and "H100" in r.stderr
    assert "Traceback" not in r.output and r.stdout == ""
    r = run("--model", "lama-3.1-8b", "--gpu", "H100")
    assert r.exit_code == 2 and "Did you mean" in r.stderr and "llama-3.1-8b" in r.stderr


@pytest.mark.parametrize("args,needle", [(["--tp", "3"], "--tp"), (["--concurrency", "lots"], "--concurrency"),
                                         (["--isl", "200000"], "context"), (["--precision", "fp3"], "--precision")])
def test_bad_input_names_the_option_and_the_fix(args, needle):
    r = run("--model", "llama-3.1-8b", "--gpu", "H100", *args)
    assert r.exit_code == 2 and needle in r.stderr and r.stdout == ""
    assert "fix:" in r.stderr or "give e.g." in r.stderr  # option types say the fix as "give e.g. 32 or max"


def test_bad_input_raises_problem_error(default_catalog):
    with pytest.raises(ProblemError):
        estimate(default_catalog, "llama-3.1-8b", "H100", tp=0)


def test_output_file_is_written(tmp_path):
    out = tmp_path / "e.json"
    r = run("--model", "llama-3.1-8b", "--gpu", "A10G", "--format", "json", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == "" and json.loads(out.read_text())["fits"] is True


# ---- renderers: golden files of a fixed Estimate (independent of the calibration) ----

def fixed_estimate() -> Estimate:
    """Round numbers for a made-up replica, so the golden files change only when the renderers do."""
    return Estimate(
        schema_version="1.0", model="tiny-8b", model_display="Tiny 8B", gpu="TESTGPU", architecture="hopper", tp=2,
        precision="fp8", compute_precision="fp8", kv_dtype="fp8", isl=1000, osl=500, concurrency="max",
        vram_gib=80.0, gpu_memory_utilization=0.9, budget_gib=72.0, weights_gib=4.0, reserve_gib=2.0,
        kv_cache_gib=66.0, kv_bytes_per_token=32768.0, kv_tokens=2162688, tokens_per_request=1500,
        max_concurrency=1441.792, fits=True, reason=None, batch=1024, single_stream_decode_tok_s=250.0,
        ttft_ms=120.5, tpot_ms=25.25, output_tok_s_total=40551.0, output_tok_s_per_gpu=20275.5,
        requests_per_s=81.1, bound="compute", naive_weights_gb=16.06, naive_required_gb=19.272, naive_fits=True,
        naive_decode_tok_s=124.5, efficiency={"mem_bw": 0.75, "compute": 0.5, "basis": "test"},
        notes=("KV cache dtype fp8 (auto)", "hopper efficiency: test"), engine="vllm", band_sigma=0.25,
        band_rows=12, output_tok_s_p10=29270.0, output_tok_s_p90=56180.0, requests_per_s_p10=58.54,
        requests_per_s_p90=112.36)


check = check_golden


def test_table_golden():
    check("estimate_table.txt", to_table(fixed_estimate()))


def test_json_golden():
    text = to_json(fixed_estimate())
    check("estimate.json", text)
    assert json.loads(text)["max_concurrency"] == 1442.0  # rounded to 4 significant digits


def test_table_of_a_model_that_does_not_fit():
    e = fixed_estimate()
    from dataclasses import replace
    bad = replace(e, fits=False, reason="weights 141.1 GiB + runtime reserve 2.0 GiB per GPU exceed the budget",
                  batch=None, single_stream_decode_tok_s=None, ttft_ms=None, tpot_ms=None, output_tok_s_total=None,
                  output_tok_s_per_gpu=None, requests_per_s=None, bound=None)
    text = to_table(bad)
    assert "Fits: no (weights 141.1 GiB" in text and "Speed at" not in text and "can_serve_model" in text


def test_specs_loader_reads_the_same_gpus_and_models_without_pandas(default_catalog):
    import subprocess
    import sys

    from optimizer.catalog.load import load_catalog_specs
    specs = load_catalog_specs(CATALOG)
    assert specs.gpus == default_catalog.gpus and specs.models == default_catalog.models
    assert specs.offers == () and specs.gpu("Gaudi 2").name == "Gaudi2"
    code = ("import sys; from optimizer.catalog.load import load_catalog_specs; "
            f"load_catalog_specs({CATALOG!r}); sys.exit('pandas' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_specs_loader_names_file_line_and_field(tmp_path):
    from helpers import GPU, MODEL, write_catalog

    from optimizer.catalog.load import load_catalog_specs
    from optimizer.errors import CatalogError
    folder = write_catalog(tmp_path / "cat", gpus=[{**GPU, "mem_bw_tbps": "-1"}], models=[MODEL])
    with pytest.raises(CatalogError) as e:
        load_catalog_specs(folder)
    assert "gpus.csv" in str(e.value) and "line 2" in str(e.value) and "mem_bw_tbps" in str(e.value)


def test_embedding_input_longer_than_its_context_is_refused(default_catalog):
    with pytest.raises(ProblemError, match="512-token context"):
        estimate(default_catalog, "bge-large-en-v1.5", "L4")  # default isl 1000
