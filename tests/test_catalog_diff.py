"""`llmplan catalog diff OLD NEW`: prices up and down, rows added and removed, re-checked rows counted only.
Regenerate golden files with: UPDATE_GOLDEN=1 pytest tests/test_catalog_diff.py"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import APIS, OFFERS, api, offer, write_catalog, check_golden

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.catalog.diff import diff_catalogs
from optimizer.render.diff import catalog_diff_to_json, catalog_diff_to_text

GOLDEN = Path(__file__).parent / "golden"


check = check_golden


@pytest.fixture
def pair(tmp_path):
    """A quarter apart:
    - clouda one: on-demand $1.00 -> $0.80 (down 20%), spot $0.40 -> $0.50 (up 25%);
    - clouda eight: re-checked at the same price (counted, not listed);
    - cloudb one: removed; cloudc one: added;
    - apix: output $2.00 -> $2.50 per MTok; apiy: added."""
    old = write_catalog(tmp_path / "2026-08-24", offers=[dict(o, checked="2026-08-24") for o in OFFERS], apis=APIS)
    new_offers = [dict(OFFERS[0], ondemand_hourly_usd=0.80, spot_hourly_usd=0.50, checked="2026-11-24"),
                  dict(OFFERS[1], checked="2026-11-24"),
                  offer("cloudc:us-c:one", "cloudc", "us-c", "us", 1, 1.20)]
    new_apis = [dict(APIS[0], output_usd_per_mtok=2.5), api("apiy/tiny-8b", "apiy", "eu", 1.5, 3.0)]
    new = write_catalog(tmp_path / "2026-11-24", offers=new_offers, apis=new_apis)
    return load_catalog(old), load_catalog(new)


def test_catalog_diff_counts_and_changes(pair):
    d = diff_catalogs(*pair)
    o = d.counts["offers"]
    assert (o.old, o.new, o.added, o.removed, o.changed, o.rechecked, o.prices_down, o.prices_up) == \
        (3, 3, 1, 1, 1, 1, 1, 1)
    a = d.counts["apis"]
    assert (a.added, a.removed, a.changed, a.prices_up) == (1, 0, 1, 1)
    (one,) = [c for c in d.changes if c.key == "clouda:us-a:one"]
    by = {f.field: f for f in one.fields}
    assert set(by) == {"ondemand_hourly_usd", "spot_hourly_usd"}  # 'checked' is provenance, not a change
    assert by["ondemand_hourly_usd"].amount == pytest.approx(-0.2) and by["ondemand_hourly_usd"].percent == \
        pytest.approx(-20.0)
    assert by["spot_hourly_usd"].percent == pytest.approx(25.0)
    assert [(c.change, c.key) for c in d.changes if c.kind == "offers"] == [
        ("~", "clouda:us-a:one"), ("+", "cloudc:us-c:one"), ("-", "cloudb:eu-b:one")]


def test_catalog_diff_golden(pair):
    d = diff_catalogs(*pair)
    check("catalog_diff.txt", catalog_diff_to_text(d))
    doc = json.loads(catalog_diff_to_json(d))
    f = doc["changes"][0]["fields"][0]
    assert (f["field"], f["old"], f["new"], f["amount"], f["percent"]) == ("ondemand_hourly_usd", 1.0, 0.8, -0.2,
                                                                           -20.0)


def test_catalog_diff_filters(pair):
    d = diff_catalogs(*pair, cloud="cloudb")
    assert [(c.change, c.key) for c in d.changes] == [("-", "cloudb:eu-b:one")]
    d = diff_catalogs(*pair, kinds=("apis",))
    assert {c.kind for c in d.changes} == {"apis"} and list(d.counts) == ["apis"]


def test_cli_catalog_diff(pair):
    old, new = pair
    r = CliRunner().invoke(main, ["catalog", "diff", str(old.root), str(new.root), "--limit", "1"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Catalog diff: 2026-08-24 -> 2026-11-24")
    assert "more changes (raise --limit" in r.stdout
    r = CliRunner().invoke(main, ["catalog", "diff", str(old.root), str(new.root), "--gpu", "TG", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["filters"] == {"gpu": "TESTGPU"}
    r = CliRunner().invoke(main, ["catalog", "diff", str(old.root), str(old.root / "nope")])
    assert r.exit_code == 2 and "catalog folder does not exist" in r.stderr
