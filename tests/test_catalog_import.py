"""The quarterly refresh: importing catalogs/_sources reproduces the shipped default catalog, every source row is
accounted for, the cheapest 8x H100 per cloud survives the import, assumptions are labelled, and bad input files
get errors that name the file, the row or field, and the fix."""

import csv
import datetime as dt
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.catalog.assumptions import load_commitment_discounts, load_spot_rates
from optimizer.catalog.build import import_litellm_into, import_skypilot_into
from optimizer.catalog.importers.litellm import import_litellm
from optimizer.catalog.importers.skypilot import import_skypilot
from optimizer.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "catalogs" / "_sources"
SKY = SOURCES / "skypilot"
LITELLM = SOURCES / "litellm" / "model_prices_and_context_window.json"
CURATED = ROOT / "catalogs" / "_curated"
DEFAULT = ROOT / "catalogs" / "2026-12-03"
TODAY = dt.date(2026, 12, 3)


def _seed(folder: Path) -> Path:
    """A fresh catalog folder holding what no importer produces: GPUs, models and the hand-curated rows."""
    folder.mkdir(parents=True)
    for kind in ("gpus", "models"):
        shutil.copyfile(DEFAULT / f"{kind}.csv", folder / f"{kind}.csv")
    shutil.copyfile(CURATED / "offers_listprice.csv", folder / "offers.csv")
    shutil.copyfile(CURATED / "apis_extra.csv", folder / "apis.csv")
    return folder


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The two refresh commands of catalogs/README.md, run on the shipped sources."""
    into = _seed(tmp_path_factory.mktemp("rebuild") / "2026-12-03")
    sky, assumed = import_skypilot_into([SKY], into, today=TODAY, discounts=CURATED / "commitment_discounts.csv",
                                        spot_rates=CURATED / "spot_interruption.csv")
    lit = import_litellm_into(LITELLM, into, meta=CURATED / "api_meta.csv", today=TODAY)
    return into, sky, assumed, lit


def test_full_import_reproduces_the_shipped_default_catalog(rebuilt):
    into, *_ = rebuilt
    for kind in ("gpus", "offers", "models", "apis"):
        assert (into / f"{kind}.csv").read_text() == (DEFAULT / f"{kind}.csv").read_text(), kind
    cat = load_catalog(into)  # and it is a valid catalog
    assert len(cat.offers) == len(load_catalog(DEFAULT).offers)
    # the curated rows survive: list-price GPUs no source covers, APIs LiteLLM lacks
    assert {o.gpu for o in cat.offers if o.provider == "listprice"} == {"B100", "Gaudi3"}
    assert {o.offer_kind for o in cat.offers if o.provider == "listprice"} == {"listprice"}
    assert any(a.provider == "groq" for a in cat.apis)


def test_every_source_row_is_accounted_for_once(rebuilt):
    _, s, _, lit = rebuilt
    assert s.balanced()
    files = sorted(SKY.glob("*_vms.csv"))
    assert len(s.files) == len(files)
    by_cloud = Counter()
    for f in files:
        for r in csv.DictReader(open(f)):
            by_cloud[r["cloud"]] += 1
    assert dict(s.rows_read) == dict(by_cloud)
    for cloud in by_cloud:
        assert s.rows_read[cloud] == s.rows_used[cloud] + s.host_rows[cloud] + s.rejected_in(cloud)
    assert sum(s.offers_kept.values()) == 2044
    # per-reason counts, recomputed from the source files
    gcp = list(csv.DictReader(open(SKY / "gcp_gpu_vms.csv")))
    assert s.rejected[("gcp", "TPU, not a GPU")] == sum(r["AcceleratorName"].lower().startswith("tpu") for r in gcp)
    assert s.host_rows["gcp"] == sum(1 for _ in csv.DictReader(open(SKY / "gcp_gpu_host_vms.csv")))
    aws = list(csv.DictReader(open(SKY / "aws_gpu_vms.csv")))
    assert s.rejected[("aws", "no price (Price and SpotPrice empty)")] == sum(
        r["Price"] == "" and r["SpotPrice"] == "" for r in aws)
    vast = list(csv.DictReader(open(SKY / "vast_gpu_vms.csv")))
    assert s.rejected[("vast", "GPU not in the catalog")] == sum(
        r["AcceleratorName"] not in ("H100", "H200", "A100", "A100-80GB", "L40S", "L4", "A10", "B200", "V100")
        for r in vast) > 0
    assert lit.imported == 46 and lit.keys_read == len(json.loads(LITELLM.read_text())) - 1  # minus sample_spec


def _rows(name: str) -> list[dict]:
    return list(csv.DictReader(open(SKY / name)))


NVL = re.compile(r"nvl(?!ink)", re.I)  # H100 NVL (94 GB) is another GPU; H100_NVLINK is the SXM part
H100_HOST = {"H100": "a3-highgpu-8g", "H100-MEGA": "a3-megagpu-8g"}


def _source_cheapest_8x_h100(cloud: str) -> float | None:
    """The cheapest on-demand 8x H100 (SXM) row in the source files, computed without the importer."""
    if cloud == "gcp":
        host = {(r["InstanceType"], r["AvailabilityZone"]): r["Price"] for r in _rows("gcp_gpu_host_vms.csv")}
        prices = [float(r["Price"]) + float(host[(H100_HOST[r["AcceleratorName"]], r["AvailabilityZone"])])
                  for r in _rows("gcp_gpu_vms.csv")
                  if r["AcceleratorName"] in H100_HOST and r["AcceleratorCount"] == "8" and r["Price"]
                  and host.get((H100_HOST[r["AcceleratorName"]], r["AvailabilityZone"]))]
    else:
        prices = [float(r["Price"]) for r in _rows(f"{cloud}_gpu_vms.csv")
                  if r["AcceleratorName"] in ("H100", "H100-NVLINK") and float(r["AcceleratorCount"] or 0) == 8
                  and r["Price"] and "pcie" not in r["InstanceType"].lower() and not NVL.search(r["InstanceType"])
                  and 0 < float(r["Price"]) < 99_999_999]
    return min(prices) if prices else None


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure", "lambda", "nebius", "paperspace", "do", "fluidstack",
                                   "vast"])
def test_cheapest_8x_h100_on_demand_per_cloud_matches_the_source(cloud, default_catalog):
    want = _source_cheapest_8x_h100(cloud)
    ours = [o.ondemand_hourly_usd for o in default_catalog.offers if o.provider == cloud and o.gpu == "H100-SXM"
            and o.gpus_per_instance == 8 and o.ondemand_hourly_usd is not None]
    if want is None:
        assert not ours
    else:
        assert min(ours) == pytest.approx(want, rel=1e-9)


def test_assumed_reserved_prices_are_labelled_and_leave_other_prices_alone(tmp_path):
    plain = _seed(tmp_path / "plain")
    import_skypilot_into([SKY], plain, today=TODAY, assumptions=False)
    a = {o.offer_id: o for o in load_catalog(plain).offers}
    b = {o.offer_id: o for o in load_catalog(DEFAULT).offers}
    disc = load_commitment_discounts(CURATED / "commitment_discounts.csv")
    assert a.keys() == b.keys()
    n_reserved = 0
    for oid, o in b.items():
        p = a[oid]
        assert (p.ondemand_hourly_usd, p.spot_hourly_usd, p.spot_hourly_usd_max) == (
            o.ondemand_hourly_usd, o.spot_hourly_usd, o.spot_hourly_usd_max)
        assert p.reserved_1y_hourly_usd is None and p.spot_interruption_rate is None
        if (o.provider, "reserved_1y") in disc and o.ondemand_hourly_usd:
            n_reserved += 1
            assert o.reserved_1y_hourly_usd == pytest.approx(
                o.ondemand_hourly_usd * (1 - disc[(o.provider, "reserved_1y")].value), abs=1e-6)
            assert o.reserved_3y_hourly_usd == pytest.approx(
                o.ondemand_hourly_usd * (1 - disc[(o.provider, "reserved_3y")].value), abs=1e-6)
            assert o.price_basis_of("reserved_3y") == "assumption" and o.price_basis_of("on_demand") == "catalog"
            assert o.source_of("reserved_1y").startswith("assumption:") and "commitment_discounts.csv" in \
                o.source_of("reserved_3y")
            assert o.source_of("on_demand") == o.source
        else:
            assert o.reserved_1y_hourly_usd is None and o.reserved_price_basis is None
        if o.spot_hourly_usd is not None:
            assert 0 < o.spot_interruption_rate < 1 and o.spot_interruption_source.startswith("assumption:")
    assert n_reserved > 500


def test_a_source_given_reserved_price_is_kept(tmp_path):
    from optimizer.catalog.assumptions import Figure, apply_assumptions
    d = {("aws", "reserved_1y"): Figure(0.3, "assumption: test", TODAY)}
    given = {"provider": "aws", "ondemand_hourly_usd": 10.0, "reserved_1y_hourly_usd": 6.0, "spot_hourly_usd": 3.0,
             "spot_interruption_rate": 0.05, "spot_interruption_source": "measured"}
    derived = {"provider": "aws", "ondemand_hourly_usd": 10.0}
    s = apply_assumptions([given, derived], d, {"default": Figure(0.2, "assumption: default", TODAY)})
    assert given["reserved_1y_hourly_usd"] == 6.0 and "reserved_price_basis" not in given
    assert given["spot_interruption_rate"] == 0.05  # the offer's own rate wins over the default
    assert derived["reserved_1y_hourly_usd"] == pytest.approx(7.0) and derived["reserved_price_basis"] == "assumption"
    assert s.reserved["aws"] == 1 and s.spot_rates["aws"] == 0


def test_spot_rate_table_default_row(tmp_path):
    rates = load_spot_rates(CURATED / "spot_interruption.csv")
    assert "default" in rates and all(0 <= f.value < 1 and f.source.startswith("assumption") for f in rates.values())


def _err(fn, *a, **kw) -> str:
    with pytest.raises(CatalogError) as e:
        fn(*a, **kw)
    return str(e.value)


@pytest.mark.parametrize("text,expect", [
    ("provider,capacity_type,discount,source,checked\naws,reserved_1y,1.5,assumption: x,2026-11-24\n",
     "line 2 (aws), field 'discount': 1.5 is outside [0.0, 1.0)"),
    ("provider,capacity_type,discount,source,checked\naws,reserved_5y,0.3,assumption: x,2026-11-24\n",
     "field 'capacity_type'"),
    ("provider,capacity_type,discount,source,checked\naws,reserved_1y,abc,assumption: x,2026-11-24\n",
     "'abc' is not a number"),
    ("provider,capacity_type,discount,source,checked\naws,reserved_1y,0.3,,2026-11-24\n", "source is empty"),
    ("provider,capacity_type,discount\naws,reserved_1y,0.3\n", "missing columns ['source', 'checked']"),
])
def test_bad_discount_table(tmp_path, text, expect):
    f = tmp_path / "d.csv"
    f.write_text(text)
    msg = _err(load_commitment_discounts, f)
    assert str(f) in msg and expect in msg and "fix:" in msg


def test_bad_discount_table_fails_before_writing(tmp_path):
    into = _seed(tmp_path / "c")
    before = (into / "offers.csv").read_text()
    bad = tmp_path / "d.csv"
    bad.write_text("provider,capacity_type,discount,source,checked\naws,reserved_1y,2,assumption: x,2026-11-24\n")
    _err(import_skypilot_into, [SKY], into, today=TODAY, discounts=bad, spot_rates=CURATED / "spot_interruption.csv")
    assert (into / "offers.csv").read_text() == before


def _sky(tmp_path, header: str, *rows: str) -> Path:
    f = tmp_path / "lambda" / "vms.csv"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return f


HDR = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,Region,GpuInfo,SpotPrice"


def test_skypilot_rows_rejected_per_reason(tmp_path, default_catalog):
    f = _sky(tmp_path, HDR,
             "gpu_1x_h100_sxm5,H100,1,26,200,abc,us-east-1,,",           # price not a number
             "gpu_1x_h100_sxm5,H100,1,26,200,,us-west-2,,",              # no price
             "gpu_1x_h100_sxm5,H100,1,26,200,0,us-west-3,,",             # placeholder 0
             "gpu_1x_h100_sxm5,H100,1,26,200,2.49,mars-north-1,,",       # region without jurisdiction
             "gpu_1x_k80,K80,1,6,46,0.5,us-east-1,,",                    # GPU not in the catalog
             "cpu_only,,,8,32,0.3,us-east-1,,",                          # CPU-only
             "gpu_1x_h100_sxm5,H100,0.5,26,200,1.0,us-east-1,,",         # fractional count
             "gpu_1x_h100_sxm5,H100,1,26,200,2.49,us-east-1,,99999999",  # kept, spot dropped
             "gpu_1x_h100_sxm5,H100,1,26,200,2.29,us-east-1,,")          # kept: a second zone of the same offer
    offers, s = import_skypilot([f], default_catalog.gpus, default_catalog.gpu_names, checked={}, sources={},
                                today=TODAY)
    assert [(o["offer_id"], o["ondemand_hourly_usd"], o["spot_hourly_usd"]) for o in offers] == [
        ("lambda:us-east-1:gpu_1x_h100_sxm5", 2.39, None)]  # the median over the two zones, not the cheaper
    r = {reason: n for (_, reason), n in s.rejected.items()}
    assert r == {"price is not a number": 1, "no price (Price and SpotPrice empty)": 1,
                 "placeholder price only (<= 0 or >= 99,999,999)": 1, "region has no known jurisdiction": 1,
                 "GPU not in the catalog": 1, "CPU-only instance (no accelerator)": 1,
                 "fractional or missing GPU count": 1}
    assert s.dropped[("lambda", "spot price is a placeholder (<= 0 or >= 99,999,999)")] == 1
    assert s.rows_read["lambda"] == 9 and s.rows_used["lambda"] == 2 and s.balanced()
    text = "\n".join(s.lines())
    assert "lambda: 9 rows read: 2 used in 1 offers, 7 rejected" in text and "rejected rows by reason" in text


@pytest.mark.parametrize("content,expect", [
    ("", "file is empty"),
    ("Name,Cost\nx,1\n", "not a SkyPilot vms.csv: missing columns"),
])
def test_bad_skypilot_files(tmp_path, default_catalog, content, expect):
    f = tmp_path / "aws_vms.csv"
    f.write_text(content)
    msg = _err(import_skypilot, [f], default_catalog.gpus, default_catalog.gpu_names, checked={}, sources={})
    assert str(f) in msg and expect in msg and "fix:" in msg


def test_skypilot_folder_without_vms_files(tmp_path, default_catalog):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    msg = _err(import_skypilot, [tmp_path], default_catalog.gpus, default_catalog.gpu_names, checked={}, sources={})
    assert "holds no SkyPilot vms.csv" in msg
    assert "no such file or folder" in _err(import_skypilot, [tmp_path / "nope"], default_catalog.gpus,
                                            default_catalog.gpu_names, checked={}, sources={})


def test_bad_provenance_date_is_named(tmp_path):
    into = _seed(tmp_path / "c")
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(SKY / "do_gpu_vms.csv", src / "do_gpu_vms.csv")
    (src / "provenance.yaml").write_text("do: {checked: yesterday, source: x}\n")
    msg = _err(import_skypilot_into, [src], into, today=TODAY, assumptions=False)
    assert "provenance.yaml" in msg and "'yesterday' is not a date" in msg


META = {"ttft_ms": 500, "tpot_ms": 10, "quality_tier": 3, "checked": "2026-11-24"}


def test_litellm_bad_inputs(tmp_path):
    f = tmp_path / "p.json"
    f.write_text("{not json")
    assert "not valid JSON" in _err(import_litellm, f, [], today=TODAY, source_label="LiteLLM t")
    f.write_text(json.dumps({"m": {"mode": "chat", "input_cost_per_token": "cheap", "output_cost_per_token": 1e-6},
                             "n": {"mode": "chat", "input_cost_per_token": -1e-6, "output_cost_per_token": 1e-6},
                             "o": "not an object"}))
    meta = [dict(META, litellm_key=k, provider="p", model=k) for k in ("m", "n", "gone")]
    rows, s = import_litellm(f, meta, today=TODAY, source_label="LiteLLM t")
    assert rows == [] and s.skipped["a price is not a non-negative number"] == 2
    assert s.skipped["not a model entry (value is not an object)"] == 1
    assert any("'gone', which is not in p.json" in w for w in s.warnings)
    msg = _err(import_litellm, f, [dict(META, litellm_key="m", model="m")], today=TODAY, source_label="LiteLLM t",
               meta_file="meta.csv")
    assert "meta.csv: missing columns ['provider']" in msg
    dup = [dict(META, litellm_key="m", provider="p", model="m")] * 2
    assert "meta.csv: line 3: duplicate litellm_key 'm'" in _err(import_litellm, f, dup, today=TODAY,
                                                                  source_label="LiteLLM t", meta_file="meta.csv")


def test_litellm_reimport_with_any_label_replaces_its_rows(tmp_path):
    into = _seed(tmp_path / "c")
    meta = CURATED / "api_meta.csv"
    import_litellm_into(LITELLM, into, meta=meta, today=TODAY, label="first run")
    import_litellm_into(LITELLM, into, meta=meta, today=TODAY, label="LiteLLM second run")
    apis = load_catalog(into).apis
    assert len(apis) == 48  # 46 imported (8 past their deprecation date) + 2 curated, not 46 twice
    assert all(a.source.startswith("LiteLLM second run") for a in apis if a.provider != "groq")


def test_cli_import_prints_the_summary_per_reason(tmp_path):
    into = _seed(tmp_path / "c")
    r = CliRunner().invoke(main, ["catalog", "import", "skypilot", str(SKY), "--into", str(into),
                                  "--discounts", str(CURATED / "commitment_discounts.csv"),
                                  "--spot-rates", str(CURATED / "spot_interruption.csv")])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert "gcp: 4966 rows read: 412 used in 219 offers, 2571 host VM rows, 1983 rejected" in r.stderr
    assert "rejected  1648 rows: TPU, not a GPU" in r.stderr and "rejected rows by reason, all clouds:" in r.stderr
    assert "offers get reserved 1y/3y prices from documented discounts (assumption)" in r.stderr
    assert "wrote" in r.stderr and "2044 offers from 3729 of 9935 rows in 12 files" in r.stderr
    r = CliRunner().invoke(main, ["catalog", "import", "skypilot", str(tmp_path / "missing"), "--into", str(into)])
    assert r.exit_code == 2 and "no such file or folder" in r.stderr and "Traceback" not in r.output
