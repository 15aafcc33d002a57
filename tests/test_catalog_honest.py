"""Offers a buyer can really buy, at honest prices: one snapshot per cloud, spot prices as the median over a
region's zones (never the cheapest zone), offer kinds (marketplace, listprice) kept out of plans unless the policy
admits them, `checked` from the source's provenance (never the import date), and the new source rows (RunPod's
column order, sibling GPUs named by their memory)."""

import csv
import datetime as dt
import json
import shutil
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import OFFERS, measured, offer, serving, solve_problem

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.catalog.build import import_skypilot_into
from optimizer.catalog.importers.skypilot import import_skypilot
from optimizer.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
SKY = ROOT / "catalogs" / "_sources" / "skypilot"
DEFAULT = ROOT / "catalogs" / "2026-12-03"
AWS_HDR = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone"


def _write(path: Path, header: str, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _import(cat, *files):
    return import_skypilot(list(files), cat.gpus, cat.gpu_names, checked={}, sources={}, today=dt.date(2026, 12, 3))


def test_two_snapshots_of_one_cloud_are_refused(tmp_path, default_catalog):
    """An old and a new AWS file side by side used to be merged row by row (the old prices won for all 102 AWS
    offers of that test); now the import stops and names both files."""
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copyfile(SKY / "aws_gpu_vms.csv", folder / "aws_gpu_vms.csv")
    old = [r for r in csv.reader(open(SKY / "aws_gpu_vms.csv"))][:200]
    with open(folder / "aws_old_gpu_vms.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(old)
    with pytest.raises(CatalogError) as e:
        _import(default_catalog, folder)
    msg = str(e.value)
    assert "aws is priced by two files" in msg and "aws_gpu_vms.csv" in msg and "aws_old_gpu_vms.csv" in msg
    assert "pass one file per cloud" in msg
    r = CliRunner().invoke(main, ["catalog", "import", "skypilot", str(folder), "--into", str(tmp_path / "out"),
                                  "--base", str(DEFAULT)])
    assert r.exit_code == 2 and "aws is priced by two files" in r.stderr and not (tmp_path / "out").exists()


def test_disjoint_files_of_one_cloud_are_read_together_and_reported(default_catalog):
    offers, s = _import(default_catalog, SKY / "gcp_gpu_vms.csv", SKY / "gcp_gpu_host_vms.csv")
    assert len(s.files_by_cloud["gcp"]) == 2 and s.offers_kept["gcp"] > 0
    assert any(line.startswith("gcp: 2 files read together") for line in s.lines())


def test_spot_price_is_the_median_over_the_regions_zones(tmp_path, default_catalog):
    f = _write(tmp_path / "aws" / "vms.csv", AWS_HDR,
               "p4d.24xlarge,A100,8,96,1152,,21.96,2.47,us-east-1,use1-az1",   # the cheapest zone
               "p4d.24xlarge,A100,8,96,1152,,21.96,7.88,us-east-1,use1-az2",
               "p4d.24xlarge,A100,8,96,1152,,21.96,8.12,us-east-1,use1-az4",
               "p4d.24xlarge,A100,8,96,1152,,21.96,8.19,us-east-1,use1-az6")  # the dearest zone
    offers, _ = _import(default_catalog, f)
    (o,) = offers
    assert o["spot_hourly_usd"] == pytest.approx(8.0)  # (7.88 + 8.12) / 2, not 2.47
    assert (o["spot_hourly_usd_min"], o["spot_hourly_usd_max"]) == (2.47, 8.19)
    assert o["ondemand_hourly_usd"] == 21.96


def test_default_catalog_spot_prices_are_zone_medians_of_the_source(default_catalog):
    """Recomputed from the AWS source file without the importer: the p4d line that showed $2.47 (11% of on-demand)
    now shows the median of us-east-1's zones, with the spread beside it."""
    zones = {}
    for r in csv.DictReader(open(SKY / "aws_gpu_vms.csv")):
        if r["SpotPrice"]:
            zones.setdefault((r["Region"], r["InstanceType"]), []).append(float(r["SpotPrice"]))
    aws = [o for o in default_catalog.offers if o.provider == "aws" and o.spot_hourly_usd is not None]
    assert len(aws) > 400
    for o in aws:
        z = zones[(o.region, o.instance_type)]
        assert o.spot_hourly_usd == pytest.approx(statistics.median(z), abs=1e-6)
        if max(z) > min(z):
            assert (o.spot_hourly_usd_min, o.spot_hourly_usd_max) == (pytest.approx(min(z)), pytest.approx(max(z)))
    p4d = next(o for o in aws if o.offer_id == "aws:us-east-1:p4d.24xlarge")
    assert p4d.spot_hourly_usd_min == pytest.approx(2.4655) and p4d.spot_hourly_usd > 0.35 * p4d.ondemand_hourly_usd


def test_azure_unquoted_generation_is_repaired_and_other_extra_fields_refused(tmp_path, default_catalog):
    hdr = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,Generation"
    f = _write(tmp_path / "azure" / "vms.csv", hdr,
               "Standard_NC24ads_A100_v4,A100-80GB,1,24,220,,3.67,0.9,eastus,V1,V2")  # upstream defect: unquoted
    offers, _ = _import(default_catalog, f)
    assert [o["offer_id"] for o in offers] == ["azure:eastus:Standard_NC24ads_A100_v4"]
    bad = _write(tmp_path / "lambda" / "vms.csv", "InstanceType,AcceleratorName,AcceleratorCount,Price,Region",
                 "gpu_1x_h100_sxm5,H100,1,2.49,us-east-1", "gpu_1x_h100_sxm5,H100,1,2.49,us-east-1,extra")
    with pytest.raises(CatalogError, match=r"line 3: 6 fields where the header has 5"):
        _import(default_catalog, bad)


def test_runpod_columns_are_mapped_by_name_and_its_h100_is_the_pcie_card(default_catalog):
    rows = list(csv.DictReader(open(SKY / "runpod_gpu_vms.csv")))
    header = list(rows[0])
    assert header.index("SpotPrice") < header.index("Price")  # RunPod's order differs from AWS's
    src = next(r for r in rows if r["InstanceType"] == "1x_A100-80GB_SECURE" and r["Region"] == "CA")
    o = next(o for o in default_catalog.offers if o.offer_id == "runpod:CA:1x_A100-80GB_SECURE")
    assert (o.ondemand_hourly_usd, o.spot_hourly_usd) == (float(src["Price"]), float(src["SpotPrice"]))
    assert o.ondemand_hourly_usd > o.spot_hourly_usd
    assert next(o for o in default_catalog.offers if o.offer_id == "runpod:US:1x_H100_SECURE").gpu == "H100-PCIe"
    assert next(o for o in default_catalog.offers if o.offer_id == "runpod:US:1x_H100-SXM_SECURE").gpu == "H100-SXM"
    mi = [o for o in default_catalog.offers if o.gpu == "MI300X"]
    runpod = [o for o in mi if o.provider == "runpod"]
    assert runpod and {o.jurisdiction for o in runpod} >= {"us", "eu", "ca"}


def test_reported_memory_names_the_sibling_part(default_catalog):
    """p3dn.24xlarge lists AcceleratorName V100 with 32 GiB per GPU: that is the V100-32GB row, not a rejected V100."""
    p3dn = [o for o in default_catalog.offers if o.instance_type == "p3dn.24xlarge"]
    p3 = [o for o in default_catalog.offers if o.instance_type == "p3.2xlarge"]
    assert p3dn and {o.gpu for o in p3dn} == {"V100-32GB"} and {o.gpu for o in p3} == {"V100"}


def test_offer_kinds_in_the_default_catalog(default_catalog):
    kinds = {}
    for o in default_catalog.offers:
        kinds.setdefault(o.provider, set()).add(o.offer_kind)
    assert kinds["vast"] == {"marketplace"} and kinds["listprice"] == {"listprice"}
    assert all(k == {"cloud"} for p, k in kinds.items() if p not in ("vast", "listprice"))
    # A10G is priced by real AWS rows now: no made-up list price next to them
    assert {o.provider for o in default_catalog.offers if o.gpu == "A10G"} == {"aws"}


def test_an_old_catalog_without_the_kind_column_gets_derived_kinds():
    old = load_catalog(ROOT / "catalogs" / "2026-11-24")
    assert {o.offer_kind for o in old.offers if o.provider == "vast"} == {"marketplace"}
    assert {o.offer_kind for o in old.offers if o.price_basis == "list"} == {"listprice"}


# cloud "clouda" sells one GPU for $1.00/h; the marketplace host "vast" the same GPU for $0.50/h.
MARKET = [OFFERS[0], offer("vast:us-v:one", "vast", "us-v", "us", 1, 0.50)]


@pytest.mark.parametrize("kinds,provider", [(None, "clouda"), (["cloud", "marketplace"], "vast")])
def test_marketplace_offers_stay_out_of_plans_unless_the_policy_admits_them(tmp_path, solver, kinds, provider):
    prob = {"name": "t", "workloads": [serving(peak=5.0)], "measured": [measured(rps=10.0)],
            "policy": {"max_utilization": 1.0, "capacity_types": ["on_demand"]}}
    if kinds:
        prob["policy"]["offer_kinds"] = kinds
    res = solve_problem(tmp_path, prob, solver, offers=MARKET)
    assert res.status == "optimal"
    assert {d.cloud for d in res.deployments} == {provider}
    assert res.monthly_cost_usd == pytest.approx(730 * (1.00 if provider == "clouda" else 0.50))


def test_offers_carry_the_snapshot_date_of_their_source_not_the_import_date(tmp_path):
    cat = load_catalog(DEFAULT)
    assert {o.checked for o in cat.offers if o.provider == "gcp"} == {dt.date(2026, 5, 20)}
    assert {o.checked for o in cat.offers if o.provider == "runpod"} == {dt.date(2026, 12, 3)}
    src = tmp_path / "src"
    _write(src / "lambda_gpu_vms.csv", "InstanceType,AcceleratorName,AcceleratorCount,Price,Region,cloud",
           "gpu_1x_h100_sxm5,H100,1,2.49,us-east-1,lambda")
    with pytest.raises(CatalogError, match="no snapshot date for lambda") as e:
        import_skypilot_into([src], tmp_path / "a", base=DEFAULT, today=dt.date(2026, 12, 3), assumptions=False)
    assert "--checked" in str(e.value) and not (tmp_path / "a").exists()
    import_skypilot_into([src], tmp_path / "b", base=DEFAULT, today=dt.date(2026, 12, 3), assumptions=False,
                         checked_default=dt.date(2026, 10, 1))
    assert {o.checked for o in load_catalog(tmp_path / "b").offers if o.provider == "lambda"} == {dt.date(2026, 10, 1)}
    (src / "provenance.yaml").write_text('lambda: {checked: 2026-09-30, source: "test snapshot"}\n')
    import_skypilot_into([src], tmp_path / "c", base=DEFAULT, today=dt.date(2026, 12, 3), assumptions=False)
    lam = [o for o in load_catalog(tmp_path / "c").offers if o.provider == "lambda"]
    assert {(o.checked, o.source) for o in lam} == {(dt.date(2026, 9, 30), "test snapshot")}


@pytest.mark.parametrize("gpu,precision", [("T4", "int8"), ("V100", "int8"), ("V100-32GB", "fp16")])
def test_new_gpus_are_estimable(gpu, precision):
    """T4 and V100 have no fitted calibration family: the estimate runs on the default prior and says so."""
    r = CliRunner().invoke(main, ["estimate", "--model", "mistral-7b", "--gpu", gpu, "--precision", precision,
                                  "--catalog", str(DEFAULT), "--format", "json"])
    assert r.exit_code == 0, r.output
    est = json.loads(r.stdout)
    assert est["fits"] is True and est["requests_per_s"] > 0 and est["tpot_ms"] > 0
    assert any(": prior;" in n for n in est["notes"])  # the estimate says its family's factors are a prior


@pytest.mark.parametrize("gpu,clouds", [("T4", {"aws", "azure"}), ("A10G", {"aws"}), ("V100", {"aws", "cudo"})])
def test_plans_can_use_the_new_gpus(gpu, clouds):
    from optimizer.planner import SolveOptions, plan
    from optimizer.problem import parse_problem

    prob = parse_problem({"name": "small", "workloads": [{
        "name": "chat", "category": "inference", "models": ["mistral-7b"], "requests_per_month": 200_000,
        "peak_rps": 0.5, "input_tokens": 500, "output_tokens": 200, "latency_tier": "standard",
        "precisions": ["fp16", "int8", "int4"]}], "policy": {"include_gpus": [gpu], "capacity_types": ["on_demand"]}},
        "t.yaml")
    res = plan(prob, load_catalog(DEFAULT), SolveOptions())
    assert res.status == "optimal" and res.deployments
    assert {d.gpu for d in res.deployments} == {gpu} and {d.cloud for d in res.deployments} <= clouds


NEW_MODELS = ("llama-4-scout", "llama-4-maverick", "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b",
              "deepseek-r1-distill-llama-70b", "deepseek-r1-distill-qwen-32b", "gemma-3-27b", "mistral-small-3.1-24b",
              "bge-reranker-v2-m3")


def test_current_open_weight_models_carry_config_facts_and_sources(default_catalog):
    for name in NEW_MODELS:
        m = default_catalog.model(name)
        assert m.source.startswith("https://huggingface.co/") and "config.json" in m.source, name
        assert m.checked == dt.date(2026, 12, 3) and m.attention_heads % m.kv_heads == 0
    # aliases the serving world uses resolve
    assert default_catalog.model("Qwen/Qwen3-30B-A3B-Instruct-2507").name == "qwen3-30b-a3b"
    assert default_catalog.model("meta-llama/Llama-4-Scout-17B-16E-Instruct").name == "llama-4-scout"
    assert default_catalog.model("mistralai/Mistral-Small-3.2-24B-Instruct-2506").name == "mistral-small-3.1-24b"
    # MoE rows: routed experts (expert width x experts x MoE layers) fit inside the total; Maverick's every other
    # layer is dense (interleave_moe_layer_step 2), which moe_layers records
    for name, total, experts_b in (("qwen3-30b-a3b", 30.53, 29.0), ("qwen3-235b-a22b", 235.09, 227.1),
                                   ("llama-4-scout", 109.68, 96.6), ("llama-4-maverick", 401.6, 386.5)):
        m = default_catalog.model(name)
        routed = (m.moe_layers or m.layers) * m.moe_experts * 3 * m.hidden_size * m.intermediate_size / 1e9
        assert routed == pytest.approx(experts_b, abs=0.1) and routed < m.params_b == total
    assert default_catalog.model("llama-4-maverick").moe_layers == 24
    assert default_catalog.model("bge-reranker-v2-m3").kind == "embedding"


def test_an_moe_row_whose_experts_outweigh_the_model_is_refused():
    from pydantic import ValidationError

    from optimizer.catalog.schema import ModelSpec

    row = dict(name="x", display_name="x", hf_id="x/x", kind="decoder", params_b=400, active_params_b=17, layers=48,
               hidden_size=5120, intermediate_size=8192, attention_heads=40, kv_heads=8, head_dim=128,
               vocab_size=202048, tied_embeddings=False, max_context=4096, moe_experts=128, moe_active_experts=1,
               quality_tier=3, source="test", checked="2026-12-03")
    with pytest.raises(ValidationError, match="routed experts alone hold 773"):
        ModelSpec(**row)  # Maverick without moe_layers: 48 MoE layers would be 773B of experts
    assert ModelSpec(**row, moe_layers=24).moe_layers == 24
