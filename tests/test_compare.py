"""`llmplan compare`: every GPU type for one model, ranked by cost per generated token (the chapter's Tip), with
known answers recomputed from the performance model and the offers, reasons for GPUs that cannot serve, and
golden files for the three renderers."""

import json

import pytest
from click.testing import CliRunner
from helpers import GPU, OFFERS, check_golden, offer, write_catalog

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.explain.compare import Workload, compare
from optimizer.perf.speed import capacity_under_slo
from optimizer.render.compare import to_html, to_json, to_table

# SLOWGPU: a quarter of TESTGPU's bandwidth and compute for less than half its hourly price per GPU.
SLOW = {**GPU, "name": "SLOWGPU", "mem_bw_tbps": 0.5, "fp16_tflops": 25, "fp8_tflops": 50, "int8_tops": 50,
        "aliases": "SG", "notes": "synthetic: cheaper per hour, dearer per token"}
# TINYGPU: 8 GiB, too small for an 8B model on one GPU; fits at tp2, but its only offer has one GPU.
TINY = {**GPU, "name": "TINYGPU", "vram_gib": 8, "aliases": "", "notes": "synthetic: too small"}
# ONEGIB: 1 GiB, too small at any precision and TP.
ONEGIB = {**GPU, "name": "ONEGIB", "vram_gib": 1, "aliases": "", "notes": "synthetic: far too small"}
# NOOFFER: a GPU the catalog lists without any offer.
NOOFFER = {**GPU, "name": "NOOFFER", "aliases": "", "notes": "synthetic: no offer"}
EXTRA = [{**offer("cheap:us-c:slow", "cheap", "us-c", "us", 1, 0.40), "gpu": "SLOWGPU"},
         {**offer("cheap:us-c:tiny", "cheap", "us-c", "us", 1, 0.10), "gpu": "TINYGPU"},
         {**offer("cheap:us-c:onegib", "cheap", "us-c", "us", 8, 0.80), "gpu": "ONEGIB"}]
WORKLOAD = Workload("chat", 1000, 200, 2000.0, 100.0, ("fp16", "fp8", "int8"))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    folder = write_catalog(tmp_path_factory.mktemp("cmp") / "cat", gpus=[GPU, SLOW, TINY, ONEGIB, NOOFFER],
                           offers=OFFERS + EXTRA)
    return load_catalog(folder)


def test_known_answer_cost_per_token(catalog):
    c = compare(catalog, "tiny-8b", WORKLOAD)
    top = c.rows[0]
    assert top.gpu == "TESTGPU"
    # recomputed: the best configuration's throughput from the performance model, the cheapest replica-hour
    # ($7.00 / 8 GPUs on clouda's eight-GPU instance for tp=1)
    b = top.best
    model, gpu = catalog.model("tiny-8b"), catalog.gpu("TESTGPU")
    pt = capacity_under_slo(model, gpu, b.precision, b.tp, 1000, 200, 2000.0, 100.0)
    price = {1: 7.00 / 8, 2: 7.00 / 4, 4: 7.00 / 2, 8: 7.00}[b.tp]
    assert b.replica_hourly_usd == pytest.approx(price)
    assert b.usd_per_mtok == pytest.approx(price / (pt.output_tok_s * 3600) * 1e6)
    assert b.usd_per_1k_requests == pytest.approx(price / (pt.requests_per_s * 3600) * 1000)
    # it is the cheapest per token among all of TESTGPU's configurations
    assert all(cfg.usd_per_mtok is None or cfg.usd_per_mtok >= b.usd_per_mtok for cfg in top.configs)


def test_cheaper_per_hour_is_dearer_per_token(catalog):
    """The Tip: SLOWGPU costs less per hour than TESTGPU, yet more per generated token, so it ranks lower."""
    rows = {r.gpu: r for r in compare(catalog, "tiny-8b", WORKLOAD).rows}
    fast, slow = rows["TESTGPU"].best, rows["SLOWGPU"].best
    assert slow.replica_hourly_usd < fast.replica_hourly_usd
    assert slow.usd_per_mtok > fast.usd_per_mtok


def test_reasons_for_gpus_that_cannot_serve(catalog):
    rows = {r.gpu: r for r in compare(catalog, "tiny-8b", WORKLOAD).rows}
    assert rows["ONEGIB"].best is None and "does not fit at any precision up to tp=8" in rows["ONEGIB"].why_not
    assert rows["TINYGPU"].best is None
    assert "at fp8 tp2, but no on_demand offer has 2 GPUs per instance" in rows["TINYGPU"].why_not
    assert rows["NOOFFER"].best is None and "no on_demand offer for this GPU" in rows["NOOFFER"].why_not
    # GPUs that cannot serve sort last
    order = [r.gpu for r in compare(catalog, "tiny-8b", WORKLOAD).rows]
    assert order[-3:] == sorted(["TINYGPU", "NOOFFER", "ONEGIB"])
    tight = Workload("tight", 1000, 200, 1.0, 100.0)  # a 1 ms TTFT nobody meets
    r = {x.gpu: x for x in compare(catalog, "tiny-8b", tight).rows}["TESTGPU"]
    assert r.best is None and "misses TTFT 1 ms" in r.why_not


def test_gpu_filter_and_bad_inputs(catalog):
    c = compare(catalog, "tiny-8b", WORKLOAD, gpus=("TG", "SG"))
    assert [r.gpu for r in c.rows] == ["TESTGPU", "SLOWGPU"]
    from optimizer.errors import ProblemError
    with pytest.raises(ProblemError, match="unknown engine 'vlm'.*vllm"):
        compare(catalog, "tiny-8b", WORKLOAD, engine="vlm")
    with pytest.raises(ProblemError, match="unknown GPU"):
        compare(catalog, "tiny-8b", WORKLOAD, gpus=("H-100-nonexistent",))
    with pytest.raises(ProblemError, match="context"):
        compare(catalog, "tiny-8b", Workload("long", 200_000, 10, 2000.0, 100.0))


def test_encoder_rows_carry_a_band(default_catalog):
    c = compare(default_catalog, "bge-large-en-v1.5", Workload("emb", 300, 0, 2000.0, 100.0, ("fp16",)),
                gpus=("L4",))
    b = c.rows[0].best
    assert b.band == pytest.approx((b.requests_per_s * 0.5, b.requests_per_s * 1.5))
    assert any(n.startswith("uncalibrated") for n in c.notes)


def test_goldens(catalog):
    c = compare(catalog, "tiny-8b", WORKLOAD)
    check_golden("compare_table.txt", to_table(c))
    check_golden("compare.json", to_json(c))
    check_golden("compare.html", to_html(c))
    assert json.loads(to_json(c))["rows"][0]["gpu"] == "TESTGPU"


def test_cli_with_problem_workload(tmp_path):
    folder = write_catalog(tmp_path / "cat", gpus=[GPU, SLOW], offers=OFFERS + EXTRA[:1])
    prob = tmp_path / "p.yaml"
    prob.write_text("policy: {exclude_providers: [cheap]}\nworkloads:\n  - {name: chat, models: [tiny-8b], "
                    "requests_per_month: 1000000, peak_rps: 5, input_tokens: 1000, output_tokens: 200, "
                    "precisions: [fp16]}\n")
    r = CliRunner().invoke(main, ["compare", "--problem", str(prob), "--catalog", str(folder), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    rows = {x["gpu"]: x for x in d["rows"]}
    assert d["workload"]["name"] == "chat" and rows["TESTGPU"]["best"]["precision"] == "fp16"
    assert rows["SLOWGPU"]["best"] is None  # its only offer's provider is excluded by the policy
    r = CliRunner().invoke(main, ["compare", "--problem", str(prob), "--workload", "caht", "--catalog", str(folder)])
    assert r.exit_code == 2 and "did you mean" in r.output.lower()
