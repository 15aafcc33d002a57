"""The default catalog ships as package data: a non-editable install finds it outside the checkout.

The lookup is tested directly (no catalogs/ folder anywhere -> the packaged one), and, in a test marked slow, a
wheel is built from the checkout, installed into a temporary folder and imported from a directory without a
catalogs/ folder."""

import filecmp
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from optimizer.catalog import load
from optimizer.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
NEWEST = max(p for p in (ROOT / "catalogs").iterdir() if p.is_dir() and load.DATE_DIR.match(p.name))


def test_the_packaged_catalog_is_found_when_no_catalogs_folder_is(tmp_path, monkeypatch):
    packaged = tmp_path / "site" / "optimizer" / "catalog" / "_default"
    shutil.copytree(NEWEST, packaged / NEWEST.name)
    monkeypatch.chdir(tmp_path)  # no ./catalogs here
    monkeypatch.delenv("LLMPLAN_CATALOGS", raising=False)
    monkeypatch.setattr(load, "__file__", str(tmp_path / "site" / "optimizer" / "catalog" / "load.py"))
    monkeypatch.setattr(load, "PACKAGED_CATALOGS", packaged)
    assert load.default_catalog_dir() == packaged / NEWEST.name
    cat = load.load_catalog()
    assert cat.version == NEWEST.name and len(cat.offers) == len(load.load_catalog(NEWEST).offers)
    # a catalogs/ folder where the user runs still wins over the packaged default
    mine = tmp_path / "catalogs" / "2030-01-01"
    shutil.copytree(NEWEST, mine)
    assert load.default_catalog_dir() == mine
    shutil.rmtree(tmp_path / "catalogs")
    shutil.rmtree(packaged)
    with pytest.raises(CatalogError, match="no catalog found") as e:
        load.default_catalog_dir()
    assert "an installed llmplan ships its default catalog" in str(e.value)


@pytest.mark.slow
def test_a_built_wheel_ships_and_finds_the_newest_catalog(tmp_path):
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                       capture_output=True, text=True)
    if r.returncode != 0 and ("No matching distribution" in r.stderr or "Could not find" in r.stderr):
        pytest.skip(f"the build backend cannot be installed here: {r.stderr.strip()[-200:]}")
    assert r.returncode == 0, r.stderr
    (whl,) = wheels.glob("llmplan-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    packaged = [n for n in names if "/catalog/_default/" in n]
    assert sorted(Path(n).name for n in packaged) == ["README.md", "apis.csv", "gpus.csv", "grid.csv",
                                                                  "models.csv", "offers.csv"]
    assert all(f"_default/{NEWEST.name}/" in n for n in packaged)
    assert not [n for n in names if n.startswith("catalogs/") or "_sources" in n]
    site = tmp_path / "site"
    zipfile.ZipFile(whl).extractall(site)  # what `pip install --target` lays out, without the network
    for kind in ("gpus", "offers", "models", "apis", "grid"):
        assert filecmp.cmp(site / "optimizer" / "catalog" / "_default" / NEWEST.name / f"{kind}.csv",
                           NEWEST / f"{kind}.csv", shallow=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LLMPLAN_CATALOGS"}
    env["PYTHONPATH"] = str(site)
    code = ("import optimizer; from optimizer.catalog import load_catalog; c = load_catalog(); "
            "print(optimizer.__file__); print(c.root); print(c.version, len(c.offers))")
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    mod, root, summary = out.stdout.splitlines()
    assert mod.startswith(str(site)) and root == str(site / "optimizer" / "catalog" / "_default" / NEWEST.name)
    assert summary.split()[0] == NEWEST.name
