"""`llmplan catalog list`: the four views on a tiny annotated catalog (golden files), the SkyPilot GPU-list rule
(cheapest region per GPU, count, cloud and instance) checked against the default catalog, filters and errors.
Regenerate golden files with: UPDATE_GOLDEN=1 pytest tests/test_catalog_list.py"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import APIS, GPU, OFFERS, api, offer, write_catalog, check_golden

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.catalog.query import Filters, list_view
from optimizer.errors import LlmplanError
from optimizer.render.listing import to_csv, to_json, to_table

GOLDEN = Path(__file__).parent / "golden"


check = check_golden


def _assumed(o: dict, r1: float, r3: float, rate: float | None = None) -> dict:
    o = dict(o, reserved_1y_hourly_usd=r1, reserved_3y_hourly_usd=r3, reserved_price_basis="assumption",
             reserved_source="assumption: test discounts")
    if rate is not None:
        o.update(spot_interruption_rate=rate, spot_interruption_source="assumption: test rate")
    return o


# The golden fixture, row by row:
# - clouda one-GPU instance in two regions: us-a is cheaper on demand, us-b cheaper on spot (the GPU view shows
#   us-a, the region of the cheaper on-demand price, with us-a's own spot price: never a spot price from us-b);
#   us-a carries assumed reserved prices and a
#   spot interruption rate;
# - clouda eight-GPU instance (no spot: '-');
# - cloudb one-GPU instance in the EU, on-demand only;
# - cloudc one-GPU instance with only a spot price (the region shown is the spot one).
FIXTURE_OFFERS = [
    _assumed(offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, spot=0.40), 0.70, 0.50, rate=0.2),
    offer("clouda:us-b:one", "clouda", "us-b", "us", 1, 1.10, spot=0.30),
    OFFERS[1],
    OFFERS[2],
    offer("cloudc:us-c:one", "cloudc", "us-c", "us", 1, None, spot=0.25),
]
FIXTURE_APIS = APIS + [api("apiy/tiny-8b@eu", "apiy", "eu", 1.5, 3.0, rpm=500, tpm=100000, batch=(0.75, 1.5))]


@pytest.fixture
def cat(tmp_path):
    return load_catalog(write_catalog(tmp_path / "2026-11-24", offers=FIXTURE_OFFERS, apis=FIXTURE_APIS))


@pytest.mark.parametrize("view", ["gpus", "offers", "models", "apis"])
def test_views_golden(cat, view):
    check(f"catalog_list_{view}.txt", to_table(list_view(cat, view)))


def test_gpu_view_all_regions_csv_and_json_golden(cat):
    listing = list_view(cat, "gpus", all_regions=True)
    check("catalog_list_gpus_all_regions.csv", to_csv(listing))
    doc = json.loads(to_json(list_view(cat, "gpus", Filters(cloud="clouda"))))
    assert doc["view"] == "gpus" and doc["catalog"] == "2026-11-24" and doc["filters"] == {"cloud": "clouda"}
    one = next(r for r in doc["rows"] if r["gpus_per_instance"] == 1)
    assert one == {"gpu": "TESTGPU", "gpus_per_instance": 1, "cloud": "clouda", "instance_type": "one",
                   "vram_gib": 80.0, "hourly_usd": 1.0, "hourly_spot_usd": 0.4, "region": "us-a"}
    eight = next(r for r in doc["rows"] if r["gpus_per_instance"] == 8)
    assert eight["hourly_spot_usd"] is None  # JSON null, table '-'


def test_gpu_view_is_the_cheapest_region_per_instance_on_the_default_catalog(default_catalog):
    """One region per row: the cheapest on demand, shown with its own spot price (the median over its zones)."""
    listing = list_view(default_catalog, "gpus", Filters(gpu="H100"))
    rows = {(r["cloud"], r["instance_type"]): r for r in listing.rows}
    for (cloud, itype), r in rows.items():
        same = [o for o in default_catalog.offers if o.provider == cloud and o.instance_type == itype]
        ods = [o.ondemand_hourly_usd for o in same if o.ondemand_hourly_usd is not None]
        assert r["hourly_usd"] == (min(ods) if ods else None)
        shown = [o for o in same if o.region == r["region"]]
        assert len(shown) == 1  # both prices are the shown region's: the spot price is never another region's
        assert (shown[0].ondemand_hourly_usd, shown[0].spot_hourly_usd) == (r["hourly_usd"], r["hourly_spot_usd"])
        assert r["gpu"] == "H100-SXM"
    assert ("aws", "p5.48xlarge") in rows and ("gcp", "a3-highgpu-8g") in rows


def test_filters(cat, default_catalog):
    eu = list_view(default_catalog, "offers", Filters(jurisdiction="EU", gpu="A100-80GB"))
    assert eu.rows and all(r["jurisdiction"] == "eu" and r["gpu"] == "A100-80GB" for r in eu.rows)
    aws = list_view(default_catalog, "gpus", Filters(cloud="AWS", region="us-east-1"))
    assert aws.rows and {r["cloud"] for r in aws.rows} == {"aws"} and {r["region"] for r in aws.rows} == {"us-east-1"}
    apis = list_view(default_catalog, "apis", Filters(model="gpt-4o", jurisdiction="eu"))
    assert [r["api_id"] for r in apis.rows] == ["azure/gpt-4o@data-zone-eu"]
    assert [r["name"] for r in list_view(default_catalog, "models", Filters(model="Llama-3.1-8B")).rows] == \
        ["llama-3.1-8b"]
    assert to_table(list_view(cat, "offers", Filters(region="nowhere"))).endswith("(no offers match the filters)\n")


@pytest.mark.parametrize("view,filters,expect", [
    ("gpus", Filters(gpu="H10"), "unknown GPU 'H10'"),
    ("gpus", Filters(cloud="awz"), "unknown cloud or provider 'awz'. Did you mean: aws"),
    ("models", Filters(gpu="H100"), "--gpu does not apply to the models view"),
    ("models", Filters(model="llama-9"), "unknown model 'llama-9'"),
])
def test_filter_errors(default_catalog, view, filters, expect):
    with pytest.raises(LlmplanError, match=expect):
        list_view(default_catalog, view, filters)
    with pytest.raises(LlmplanError, match="--all-regions applies only to the gpus view"):
        list_view(default_catalog, "offers", all_regions=True)


def test_cli_list(tmp_path, cat):
    r = CliRunner().invoke(main, ["catalog", "list", "gpus", "--catalog", str(cat.root), "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "gpu,gpus_per_instance,cloud,instance_type,vram_gib,hourly_usd," \
                                       "hourly_spot_usd,region"
    assert "catalog 2026-11-24" in r.stderr  # stdout is only the CSV
    r = CliRunner().invoke(main, ["catalog", "list", "--catalog", str(cat.root), "--gpu", "nope"])
    assert r.exit_code == 2 and "unknown GPU 'nope'" in r.stderr and "fix:" in r.stderr and r.stdout == ""
    out = tmp_path / "apis.json"
    r = CliRunner().invoke(main, ["catalog", "list", "apis", "--catalog", str(cat.root), "--format", "json", "-o",
                                  str(out)])
    assert r.exit_code == 0 and json.loads(out.read_text())["rows"][1]["batch_output_usd_per_mtok"] == 1.5


def test_fixture_gpu_is_the_helpers_gpu():
    assert GPU["vram_gib"] == 80  # the golden DEVICE_MEM column depends on it
