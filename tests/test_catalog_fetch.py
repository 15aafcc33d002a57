"""`llmplan catalog fetch` against a local HTTP server (http.server on 127.0.0.1 in a thread) serving SkyPilot's
layout (`<base>/v8/<cloud>/vms.csv`) and a LiteLLM price table built from subsets of catalogs/_sources: the fetch
builds exactly the catalog that importing the same files by hand builds, records URL, time, size and sha256,
and fails cleanly, writing nothing, when offline, when a download is truncated, or when a file is damaged."""

import csv
import hashlib
import json
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.catalog.fetch import verify_litellm_json, verify_skypilot_csv
from optimizer.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
SKY = ROOT / "catalogs" / "_sources" / "skypilot"
LITELLM = ROOT / "catalogs" / "_sources" / "litellm" / "model_prices_and_context_window.json"
DEFAULT = ROOT / "catalogs" / "2026-12-03"
META = ROOT / "catalogs" / "_curated" / "api_meta.csv"


def _subset(src: Path, dest: Path, keep, extra: Path | None = None) -> None:
    """Rows of `src` (and `extra`) that `keep` accepts, without our trailing `cloud` column: the upstream layout."""
    rows = [r for f in (src, extra) if f for r in csv.DictReader(open(f)) if keep(r)]
    cols = [c for c in next(csv.reader(open(src))) if c != "cloud"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The files the server serves: three clouds (GCP with its host VMs in the same file, as upstream) and a
    LiteLLM table holding the keys api_meta.csv describes plus one it does not."""
    root = tmp_path_factory.mktemp("www")
    v8 = root / "catalogs" / "v8"
    _subset(SKY / "aws_gpu_vms.csv", v8 / "aws" / "vms.csv",
            lambda r: r["InstanceType"] in ("g5.xlarge", "g4dn.xlarge", "p4d.24xlarge"))
    _subset(SKY / "gcp_gpu_vms.csv", v8 / "gcp" / "vms.csv",
            lambda r: (r["AcceleratorName"] == "L4" and float(r["AcceleratorCount"] or 0) == 1) or
            r["InstanceType"] == "g2-standard-4" or r["AcceleratorName"] == "tpu-v2-8",
            extra=SKY / "gcp_gpu_host_vms.csv")
    _subset(SKY / "runpod_gpu_vms.csv", v8 / "runpod" / "vms.csv",
            lambda r: r["InstanceType"] in ("1x_L4_SECURE", "1x_MI300X_SECURE", "1x_A100-80GB_SECURE"))
    data = json.loads(LITELLM.read_text())
    keys = {r["litellm_key"] for r in csv.DictReader(open(META))} | {"sample_spec", "gpt-3.5-turbo"}
    (root / "litellm").mkdir()
    (root / "litellm" / "prices.json").write_text(json.dumps({k: v for k, v in data.items() if k in keys}))
    return root


class Handler(SimpleHTTPRequestHandler):
    truncate: set = set()  # paths answered with a Content-Length 100 bytes longer than the body sent

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path in self.truncate:
            body = Path(self.directory, self.path.lstrip("/")).read_bytes()[:-50]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(served):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(served)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _fetch(server, into, *extra, base_url=None):
    return CliRunner().invoke(main, ["catalog", "fetch", "--clouds", "aws,gcp,runpod", "--litellm", "--into",
                                     str(into), "--base", str(DEFAULT), "--base-url",
                                     base_url or f"{server}/catalogs", "--litellm-url",
                                     f"{server}/litellm/prices.json", *extra])


def test_fetch_builds_the_catalog_that_importing_the_fetched_files_by_hand_builds(tmp_path, server, served):
    into = tmp_path / "catalogs" / "2026-12-04"
    r = _fetch(server, into)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Catalog diff: 2026-12-03 -> 2026-12-04")  # stdout: the diff only
    assert "fetched " in r.stderr and "wrote " in r.stderr
    src = tmp_path / "catalogs" / "_sources" / "fetched" / "2026-12-04"
    # provenance written by the fetch: URL, time, size, sha256 of exactly the served bytes
    prov = yaml.safe_load((src / "skypilot" / "provenance.yaml").read_text())
    assert sorted(prov) == ["aws", "gcp", "runpod"]
    for cloud, p in prov.items():
        body = (served / "catalogs" / "v8" / cloud / "vms.csv").read_bytes()
        assert p["url"] == f"{server}/catalogs/v8/{cloud}/vms.csv" and p["bytes"] == len(body)
        assert p["sha256"] == hashlib.sha256(body).hexdigest() == hashlib.sha256(
            (src / "skypilot" / cloud / "vms.csv").read_bytes()).hexdigest()
        assert p["fetched_at"] and p["checked"] and p["source"].startswith("SkyPilot catalog http://127.0.0.1")
    lit = yaml.safe_load((src / "litellm" / "provenance.yaml").read_text())
    assert lit["sha256"] == hashlib.sha256((served / "litellm" / "prices.json").read_bytes()).hexdigest()
    assert lit["label"].startswith("LiteLLM ")
    # the same files imported by hand, with the two import commands
    hand = tmp_path / "hand" / "2026-12-04"
    for args in (["skypilot", str(src / "skypilot")],
                 ["litellm", str(src / "litellm" / "model_prices_and_context_window.json"), "--meta", str(META)]):
        r2 = CliRunner().invoke(main, ["catalog", "import", *args, "--into", str(hand), "--base", str(DEFAULT)])
        assert r2.exit_code == 0, r2.output
    for kind in ("gpus", "offers", "models", "apis"):
        assert (into / f"{kind}.csv").read_bytes() == (hand / f"{kind}.csv").read_bytes(), kind
    cat = load_catalog(into)
    fetched = {o.provider for o in cat.offers if o.source.startswith("SkyPilot catalog http://127.0.0.1")}
    assert fetched == {"aws", "gcp", "runpod"}
    # the other clouds' offers carry over from the base catalog, as with an import
    assert {o.provider for o in cat.offers} >= {"azure", "lambda", "vast", "listprice"}
    assert any(o.gpu == "MI300X" and o.provider == "runpod" for o in cat.offers)
    assert not [p for p in (tmp_path / "catalogs").iterdir() if p.name.startswith(".")]  # no staging left


def _nothing_written(tmp_path):
    files = [p for p in tmp_path.rglob("*") if not p.is_dir()]
    assert files == [], files
    assert not [p for p in tmp_path.rglob(".*")]  # no staging folder left behind


def test_offline_gives_a_clear_error_and_writes_nothing(tmp_path, server):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    r = _fetch(server, tmp_path / "catalogs" / "2026-12-04", base_url=f"http://127.0.0.1:{port}/catalogs")
    assert r.exit_code == 2 and r.stdout == ""
    assert "cannot download (offline or unreachable" in r.stderr and f"127.0.0.1:{port}/catalogs/v8/aws" in r.stderr
    assert "fix:" in r.stderr
    _nothing_written(tmp_path)


def test_a_truncated_download_is_refused_and_nothing_is_written(tmp_path, server):
    Handler.truncate = {"/catalogs/v8/gcp/vms.csv"}
    try:
        r = _fetch(server, tmp_path / "catalogs" / "2026-12-04")
    finally:
        Handler.truncate = set()
    assert r.exit_code == 2 and "download truncated" in r.stderr and "gcp/vms.csv" in r.stderr
    _nothing_written(tmp_path)


def test_a_missing_cloud_names_the_url_and_the_fix(tmp_path, server):
    r = CliRunner().invoke(main, ["catalog", "fetch", "--clouds", "aws,nocloud", "--into",
                                  str(tmp_path / "c" / "2026-12-04"), "--base", str(DEFAULT), "--base-url",
                                  f"{server}/catalogs"])
    assert r.exit_code == 2 and "HTTP 404" in r.stderr and "v8/nocloud/vms.csv" in r.stderr
    assert "drop that cloud from --clouds" in r.stderr
    _nothing_written(tmp_path)


def test_an_existing_folder_is_never_overwritten(tmp_path, server):
    into = tmp_path / "catalogs" / "2026-12-04"
    into.mkdir(parents=True)
    r = _fetch(server, into)
    assert r.exit_code == 2 and "already exists" in r.stderr and list(into.iterdir()) == []


@pytest.mark.parametrize("text,expect", [
    ("InstanceType,AcceleratorName,AcceleratorCount,Price,Region\ng5.xlarge,A10G,1,1.006,us-east-1",
     "does not end with a line break"),
    ("InstanceType,AcceleratorName,AcceleratorCount,Price,Region\ng5.xlarge,A10G,1\n", "3 fields where the header"),
    ("InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n", "a header and no rows"),
    ("<html>rate limited</html>\n", "not a SkyPilot vms.csv"),
])
def test_damaged_csv_downloads_are_refused(tmp_path, text, expect):
    f = tmp_path / "vms.csv"
    f.write_text(text)
    with pytest.raises(CatalogError, match=expect):
        verify_skypilot_csv(f, "http://x/v8/aws/vms.csv")


@pytest.mark.parametrize("text,expect", [('{"gpt-4o": {"input_cost_per_token": 2.5e-06}', "not valid JSON"),
                                         ("[1, 2]", "expected an object"), ('{"a": {"mode": "chat"}}', "no model")])
def test_damaged_litellm_downloads_are_refused(tmp_path, text, expect):
    f = tmp_path / "p.json"
    f.write_text(text)
    with pytest.raises(CatalogError, match=expect):
        verify_litellm_json(f, "http://x/p.json")
