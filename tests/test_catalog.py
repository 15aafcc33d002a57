"""Catalog loading, validation errors, name resolution and the importers."""

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from helpers import GPU, MODEL, OFFERS, offer, write_catalog

from optimizer.catalog import load_catalog
from optimizer.catalog.importers.litellm import import_litellm, scope_of
from optimizer.catalog.importers.skypilot import import_skypilot
from optimizer.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
SKY = ROOT / "catalogs" / "_sources" / "skypilot"


def test_default_catalog_is_valid_and_sourced(default_catalog):
    c = default_catalog
    assert len(c.gpus) >= 15 and len(c.offers) > 500 and len(c.models) >= 15 and len(c.apis) >= 30
    for rows in (c.gpus.values(), c.offers, c.models.values(), c.apis):
        for r in rows:
            assert len(r.source) > 3 and isinstance(r.checked, dt.date)


def test_default_catalog_covers_what_the_issue_lists(default_catalog):
    c = default_catalog
    for g in ("A100-80GB", "H100-SXM", "L40S", "A10G", "H200", "B200", "B100", "MI300X", "Gaudi3", "A100-40GB", "L4",
              "H100-PCIe"):
        assert g in c.gpus
    for m in ("llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "llama-3.3-70b", "mistral-7b", "mixtral-8x7b",
              "qwen2.5-7b", "qwen2.5-72b"):
        assert m in c.models
    assert any(m.kind == "embedding" for m in c.models.values())
    assert c.models["mixtral-8x7b"].active_params_b < c.models["mixtral-8x7b"].params_b
    priced = {o.gpu for o in c.offers}
    # every GPU of the seed's table has at least one offer (real rows, or the labelled list-price provider)
    for g in ("A100-80GB", "H100-SXM", "L40S", "A10G", "H200", "B200", "B100", "MI300X", "Gaudi3"):
        assert g in priced
    listp = [o for o in c.offers if o.provider == "listprice"]
    assert listp and all(o.price_basis == "list" and "LIST PRICE" in o.source for o in listp)
    assert {o.gpu for o in listp}.isdisjoint({o.gpu for o in c.offers if o.price_basis == "catalog"})


@pytest.mark.parametrize("name,canon", [
    ("H100", "H100-SXM"), ("H100-SXM", "H100-SXM"), ("H100-SXM-80GB", "H100-SXM"),
    ("NVIDIA H100 80GB HBM3", "H100-SXM"), ("A100-SXM-40GB", "A100-40GB"), ("H200-SXM-141GB", "H200"),
    ("B200-180GB", "B200"), ("Gaudi2", "Gaudi2"), ("Gaudi 2", "Gaudi2"), ("MI300X", "MI300X"), ("MI325X", "MI325X"),
    ("A100-SXM-80GB (330W cap)", "A100-80GB"), ("L4", "L4"),
])
def test_gpu_spellings(default_catalog, name, canon):
    assert default_catalog.gpu(name).name == canon


@pytest.mark.parametrize("name,canon", [
    ("Llama-3.1-70B", "llama-3.1-70b"), ("meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b"), ("Llama-2-7b-chat-hf", "llama-2-7b"),
    ("Mixtral-8x7B", "mixtral-8x7b"), ("GPT-J 6B", "gpt-j-6b"), ("Llama-3.3-70B", "llama-3.3-70b"),
    ("Llama-3-8B", "llama-3-8b"), ("Qwen/Qwen2.5-72B-Instruct", "qwen2.5-72b"),
])
def test_model_spellings(default_catalog, name, canon):
    assert default_catalog.model(name).name == canon


def test_unknown_names_suggest(default_catalog):
    with pytest.raises(KeyError, match="unknown GPU 'H10-SXM'. Did you mean: H100-SXM"):
        default_catalog.gpu("H10-SXM")
    with pytest.raises(KeyError, match="Did you mean"):
        default_catalog.model("llama-3.1-7b")


def _bad(tmp_path, **kw):
    write_catalog(tmp_path / "c", **kw)
    with pytest.raises(CatalogError) as e:
        load_catalog(tmp_path / "c")
    return str(e.value)


def test_negative_price_names_file_line_field(tmp_path):
    msg = _bad(tmp_path, offers=[OFFERS[0], offer("x:y:z", "x", "y", "us", 1, -3.0)])
    assert "offers.csv: line 3 (x:y:z), field 'ondemand_hourly_usd'" in msg and "greater than or equal to 0.0001" in msg
    assert "fix:" in msg


def test_nan_and_inf_rejected(tmp_path):
    o = dict(OFFERS[0], ondemand_hourly_usd="nan")
    assert "field 'ondemand_hourly_usd' is 'nan'" in _bad(tmp_path, offers=[o])
    g = dict(GPU, mem_bw_tbps="inf")
    assert "gpus.csv: line 2" in _bad(tmp_path, gpus=[g])


def test_row_without_any_price(tmp_path):
    o = offer("x:y:z", "x", "y", "us", 1, None)
    assert "row has no price" in _bad(tmp_path, offers=[o])


def test_unknown_gpu_in_offer_suggests(tmp_path):
    o = dict(OFFERS[0], gpu="TESTGPUU")
    msg = _bad(tmp_path, offers=[o])
    assert "unknown GPU 'TESTGPUU'" in msg and "Did you mean: TESTGPU" in msg


def test_alias_instead_of_canonical_gpu(tmp_path):
    msg = _bad(tmp_path, offers=[dict(OFFERS[0], gpu="Test GPU")])
    assert "is an alias" in msg and "'TESTGPU'" in msg


def test_duplicate_and_missing_and_missing_source(tmp_path):
    assert "duplicate offer_id" in _bad(tmp_path, offers=[OFFERS[0], OFFERS[0]])
    assert "field 'source'" in _bad(tmp_path / "b", models=[dict(MODEL, source="")])
    write_catalog(tmp_path / "m")
    (tmp_path / "m" / "apis.csv").unlink()
    with pytest.raises(CatalogError, match="apis.csv: file not found"):
        load_catalog(tmp_path / "m")


def test_inconsistent_model_rejected(tmp_path):
    assert "multiple of kv_heads" in _bad(tmp_path, models=[dict(MODEL, kv_heads=5)])


def _skypilot_rows(name):
    f = SKY / (f"{name}_vms.csv" if name.endswith("_host") or name.endswith("gpu_host") else f"{name}_gpu_vms.csv")
    return list(csv.DictReader(open(f)))


def test_skypilot_import_counts(default_catalog):
    """Per-reason counts; the cheapest-8x-H100-per-cloud check is in test_catalog_import.py (all clouds)."""
    offers, summary = import_skypilot([SKY], default_catalog.gpus, default_catalog.gpu_names, checked={},
                                      sources={})
    assert summary.rejected[("gcp", "TPU, not a GPU")] > 0
    assert summary.rejected[("azure", "fractional or missing GPU count")] > 0
    assert summary.rejected[("vast", "reported GPU memory differs from the catalog GPU")] >= 1
    assert sum(summary.offers_kept.values()) == len(offers) and summary.balanced()


def test_gcp_two_part_pricing(default_catalog):
    offers, _ = import_skypilot([SKY], default_catalog.gpus, default_catalog.gpu_names, checked={}, sources={})
    host = {(r["InstanceType"], r["AvailabilityZone"]): float(r["Price"]) for r in _skypilot_rows("gcp_gpu_host")}
    acc = [r for r in _skypilot_rows("gcp") if r["AcceleratorName"] == "H100" and r["AcceleratorCount"] == "8"
           and r["Region"] == "us-central1"]
    expect = min(float(r["Price"]) + host[("a3-highgpu-8g", r["AvailabilityZone"])] for r in acc
                 if ("a3-highgpu-8g", r["AvailabilityZone"]) in host)
    (got,) = [o for o in offers if o["offer_id"] == "gcp:us-central1:a3-highgpu-8g"]
    assert got["ondemand_hourly_usd"] == pytest.approx(expect)


def test_skypilot_placeholder_price_rejected(tmp_path, default_catalog):
    f = tmp_path / "lambda" / "vms.csv"
    f.parent.mkdir()
    f.write_text("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice\n"
                 "gpu_1x_h100_sxm5,H100,1,26,200,99999999,us-east-1,,\n"
                 "gpu_1x_h100_sxm5,H100,1,26,200,2.49,us-west-1,,99999999\n")
    offers, s = import_skypilot([f], default_catalog.gpus, default_catalog.gpu_names, checked={}, sources={})
    assert [o["region"] for o in offers] == ["us-west-1"] and offers[0]["spot_hourly_usd"] is None
    assert s.rejected[("lambda", "placeholder price only (<= 0 or >= 99,999,999)")] == 1
    assert s.dropped[("lambda", "spot price is a placeholder (<= 0 or >= 99,999,999)")] == 1
    assert s.rows_read["lambda"] == 2 and s.rows_used["lambda"] == 1 and s.balanced()


def test_litellm_import_units_deprecation_and_residency(tmp_path):
    data = {
        "m-global": {"mode": "chat", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                     "cache_read_input_token_cost": 1.25e-06, "input_cost_per_token_batches": 1.25e-06,
                     "output_cost_per_token_batches": 5e-06, "max_input_tokens": 128000},
        "azure/eu/m-global": {"mode": "chat", "input_cost_per_token": 2.75e-06, "output_cost_per_token": 1.1e-05},
        "old": {"mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
                "deprecation_date": "2025-01-01"},
        "emb": {"mode": "embedding", "input_cost_per_token": 2e-08, "output_cost_per_token": 0.0},
        "img": {"mode": "image_generation", "input_cost_per_token": 1e-07},
        "vx": {"mode": "chat", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
               "regional_endpoint_uplift_multiplier": 1.1},
    }
    f = tmp_path / "prices.json"
    f.write_text(json.dumps(data))
    base = {"ttft_ms": 500, "tpot_ms": 10, "quality_tier": 3, "checked": "2026-11-24"}
    meta = [dict(base, litellm_key="m-global", provider="openai", model="m"),
            dict(base, litellm_key="azure/eu/m-global", provider="openai", model="m"),
            dict(base, litellm_key="old", provider="x", model="old"),
            dict(base, litellm_key="vx", provider="vertex_ai", model="v", regional_variants="eu"),
            dict(base, litellm_key="emb", provider="openai", model="emb", tpot_ms=0)]
    rows, s = import_litellm(f, meta, today=dt.date(2026, 11, 24), source_label="LiteLLM test")
    by = {r["api_id"]: r for r in rows}
    assert by["openai/m"]["input_usd_per_mtok"] == pytest.approx(2.5) and by["openai/m"]["output_usd_per_mtok"] == 10
    assert by["openai/m"]["cached_input_usd_per_mtok"] == pytest.approx(1.25)
    assert by["openai/m"]["batch_output_usd_per_mtok"] == pytest.approx(5.0)
    eu = by["openai/m@data-zone-eu"]
    assert eu["jurisdictions"] == "eu" and eu["residency_uplift"] == pytest.approx(1.1)
    assert by["vertex_ai/v@regional-eu"]["input_usd_per_mtok"] == pytest.approx(3.3)
    assert by["vertex_ai/v"]["input_usd_per_mtok"] == pytest.approx(3.0)
    # past its deprecation date: kept with the date (the planner excludes it and says why), and warned about
    assert by["x/old"]["deprecation_date"] == "2025-01-01" and "past its deprecation_date" not in s.skipped
    assert any(w.startswith("old is past its deprecation date 2025-01-01") for w in s.warnings)
    assert s.skipped["not a chat or embedding model (mode image_generation)"] == 1
    assert by["openai/emb"]["input_usd_per_mtok"] == pytest.approx(0.02) and by["openai/emb"]["output_usd_per_mtok"] == 0
    assert scope_of("eu.anthropic.claude") == ("geo-eu", ("eu",))


def test_catalog_folder_missing_is_clear(tmp_path):
    with pytest.raises(CatalogError, match="catalog folder does not exist"):
        load_catalog(tmp_path / "nope")
