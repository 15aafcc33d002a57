"""`llmplan catalog fetch`: download current prices and build a new dated catalog from exactly those files.

Sources: SkyPilot's hosted catalogs, `<base-url>/<schema version>/<cloud>/vms.csv` (one file per cloud; GCP's file
holds its host VMs beside the accelerator rows, so one file prices GCP), and LiteLLM's
`model_prices_and_context_window.json`. Each download is checked before anything is imported:

- the HTTP status is 200 and the bytes received equal the `Content-Length` the server announced (a cut connection
  is reported as truncated, never imported);
- a CSV ends with a line break, has SkyPilot's required columns and the same number of fields in every row (the
  importer's reader, so a file cut at a row boundary without `Content-Length` is still caught by its last line);
  a JSON file parses whole into an object of model entries, at least one of them priced.

Provenance is written by the fetch itself: per file the URL, the time of the download (UTC), its size and sha256,
and `checked`, the date of the price snapshot: the server's `Last-Modified` date when it sends one (S3 mirrors do),
else the download date (SkyPilot regenerates its hosted files every few hours). The files and their
`provenance.yaml` go to a staging folder, are imported into a staging catalog seeded from the newest existing one,
the result is validated, and only then are both folders renamed into place (`<catalogs>/_sources/fetched/<date>/`
and `<catalogs>/<date>/`). Any error removes the staging folders: nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import http.client
import json
import os
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import CatalogError
from .build import curated_file, import_litellm_into, import_skypilot_into
from .importers.skypilot import REQUIRED, _read_csv
from .load import load_catalog

SKYPILOT_BASE_URL = "https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs"
SCHEMA_VERSION = "v8"  # SkyPilot's CATALOG_SCHEMA_VERSION (sky/skylet/constants.py)
LITELLM_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
LITELLM_FILE = "model_prices_and_context_window.json"
DEFAULT_CLOUDS = ("aws", "gcp", "azure", "lambda", "runpod", "cudo")
CHUNK = 1 << 16


@dataclass(frozen=True)
class Download:
    url: str
    path: Path
    bytes: int
    sha256: str
    fetched_at: dt.datetime
    checked: dt.date

    def provenance(self, source: str) -> dict:
        return {"checked": self.checked.isoformat(), "source": source, "url": self.url,
                "fetched_at": self.fetched_at.isoformat(timespec="seconds"), "bytes": self.bytes,
                "sha256": self.sha256}


@dataclass
class FetchResult:
    catalog: Path
    sources: Path
    base: Path | None
    downloads: list[Download] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def download(url: str, dest: Path, *, timeout: float = 60.0, now: dt.datetime | None = None) -> Download:
    """GET `url` into `dest`, checking the status and the announced length; CatalogError on any failure."""
    fix = "check the network connection, or pass --base-url / --litellm-url with a reachable mirror"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "llmplan"}), timeout=timeout)
    except urllib.error.HTTPError as e:
        raise CatalogError(f"download failed: HTTP {e.code} {e.reason}", file=url,
                           fix="the file is not there: drop that cloud from --clouds, or pass --schema with a "
                               "version that has it" if e.code == 404 else fix) from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CatalogError(f"cannot download (offline or unreachable: {reason})", file=url, fix=fix) from None
    h = hashlib.sha256()
    got = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with resp, open(dest, "wb") as out:
            announced = resp.headers.get("Content-Length")
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                got += len(chunk)
    except http.client.IncompleteRead as e:
        raise CatalogError(f"download truncated: the connection closed after {got + len(e.partial):,} bytes of "
                           f"{announced} announced", file=url, fix="run the fetch again") from None
    except (socket.timeout, ConnectionError, OSError) as e:
        raise CatalogError(f"download interrupted after {got:,} bytes ({e})", file=url,
                           fix="run the fetch again") from None
    if announced is not None and announced.isdigit() and int(announced) != got:
        raise CatalogError(f"download truncated: {got:,} bytes received, {int(announced):,} announced "
                           f"(Content-Length)", file=url, fix="run the fetch again")
    if got == 0:
        raise CatalogError("download is empty (0 bytes)", file=url, fix="run the fetch again, or check the URL")
    fetched = now or dt.datetime.now(dt.timezone.utc)
    checked = fetched.date()
    modified = resp.headers.get("Last-Modified")
    if modified:
        try:
            checked = min(checked, email.utils.parsedate_to_datetime(modified).astimezone(dt.timezone.utc).date())
        except (TypeError, ValueError):
            pass
    return Download(url, dest, got, h.hexdigest(), fetched, checked)


def verify_skypilot_csv(path: Path, url: str) -> int:
    """Rows in a downloaded vms.csv; CatalogError when it is not a whole SkyPilot catalog file."""
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        raise CatalogError("download truncated: the CSV does not end with a line break", file=url,
                           fix="run the fetch again")
    df = _read_csv(path)  # every row must have the header's fields (a row cut short is caught here)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise CatalogError(f"not a SkyPilot vms.csv: missing columns {missing} (has {list(df.columns)[:8]})",
                           file=url, fix="check --base-url and --schema (SkyPilot's layout: <base>/v8/<cloud>/vms.csv)")
    if len(df) == 0:
        raise CatalogError("the CSV has a header and no rows", file=url, fix="run the fetch again")
    return len(df)


def verify_litellm_json(path: Path, url: str) -> int:
    """Model entries in a downloaded LiteLLM price table; CatalogError when it is not one."""
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CatalogError(f"not valid JSON, truncated or damaged ({e})", file=url, fix="run the fetch again") from None
    if not isinstance(data, dict):
        raise CatalogError("not a LiteLLM price table (expected an object keyed by model)", file=url,
                           fix="check --litellm-url")
    priced = [k for k, v in data.items() if isinstance(v, dict) and v.get("input_cost_per_token") is not None]
    if not priced:
        raise CatalogError("no model entry has input_cost_per_token", file=url, fix="check --litellm-url")
    return len([k for k in data if k != "sample_spec"])


def _write_yaml(path: Path, header: str, data: dict) -> None:
    path.write_text(header + yaml.safe_dump(data, sort_keys=True, width=200))


def fetch_catalog(into: Path, *, clouds: tuple[str, ...] = DEFAULT_CLOUDS, litellm: bool = False,
                  base: Path | None = None, base_url: str = SKYPILOT_BASE_URL, schema: str = SCHEMA_VERSION,
                  litellm_url: str = LITELLM_URL, sources: Path | None = None, timeout: float = 60.0,
                  now: dt.datetime | None = None, log=lambda line: None) -> FetchResult:
    """Download, verify, record provenance, import into a staging catalog, validate, then move into place."""
    into = Path(into)
    sources = Path(sources) if sources is not None else into.parent / "_sources" / "fetched" / into.name
    if not clouds and not litellm:
        raise CatalogError("nothing to fetch", where="--clouds", fix="name clouds (--clouds aws,gcp) or add --litellm")
    for target, opt in ((into, "--into"), (sources, "--sources")):
        if target.exists():
            raise CatalogError("already exists: a fetch never overwrites a catalog or its sources", file=str(target),
                               fix=f"pass another {opt} folder, or remove this one")
    if base is not None and not (base / "gpus.csv").exists():
        raise CatalogError("not a catalog folder (no gpus.csv)", file=str(base),
                           fix="pass --base with an existing dated catalog folder")
    tag = f".{into.name}.fetch-{os.getpid()}"
    stage_cat, stage_src = into.parent / tag, into.parent / (tag + "-sources")
    result = FetchResult(catalog=into, sources=sources, base=base)
    try:
        for d in (stage_cat, stage_src):
            if d.exists():
                shutil.rmtree(d)
        base_url = base_url.rstrip("/")
        sky_prov = {}
        for cloud in clouds:
            url = f"{base_url}/{schema}/{cloud}/vms.csv"
            d = download(url, stage_src / "skypilot" / cloud / "vms.csv", timeout=timeout, now=now)
            rows = verify_skypilot_csv(d.path, url)
            sky_prov[cloud] = d.provenance(f"SkyPilot catalog {url} (fetched {d.fetched_at:%Y-%m-%d %H:%M} UTC, "
                                           f"sha256 {d.sha256[:12]})")
            result.downloads.append(d)
            log(f"fetched {url}: {d.bytes:,} bytes, {rows:,} rows, sha256 {d.sha256[:12]}, checked {d.checked}")
        if clouds:
            _write_yaml(stage_src / "skypilot" / "provenance.yaml",
                        "# Written by `llmplan catalog fetch`: per cloud, the URL, download time (UTC), size, sha256\n"
                        "# and `checked` (the price snapshot: the server's Last-Modified date, else the download "
                        "date).\n", sky_prov)
        if litellm:
            d = download(litellm_url, stage_src / "litellm" / LITELLM_FILE, timeout=timeout, now=now)
            keys = verify_litellm_json(d.path, litellm_url)
            result.downloads.append(d)
            prov = d.provenance(f"fetched from {litellm_url}")
            prov["label"] = f"LiteLLM {LITELLM_FILE} fetched {d.fetched_at:%Y-%m-%d} (sha256 {d.sha256[:12]})"
            _write_yaml(stage_src / "litellm" / "provenance.yaml",
                        "# Written by `llmplan catalog fetch` (see optimizer/catalog/fetch.py).\n", prov)
            log(f"fetched {litellm_url}: {d.bytes:,} bytes, {keys:,} keys, sha256 {d.sha256[:12]}, "
                f"checked {d.checked}")
        today = (now or dt.datetime.now(dt.timezone.utc)).date()
        _import_staged(stage_src, stage_cat, into, base, clouds, litellm, today, result)
        load_catalog(stage_cat)  # validate the whole staged catalog before it becomes visible
        sources.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage_src, sources)
        try:
            os.replace(stage_cat, into)
        except OSError:
            os.replace(sources, stage_src)
            raise
    finally:
        for d in (stage_cat, stage_src):
            if d.exists():
                shutil.rmtree(d, ignore_errors=True)
    return result


def _import_staged(src: Path, stage: Path, into: Path, base: Path | None, clouds, litellm: bool, today: dt.date,
                   result: FetchResult) -> None:
    """The two import commands, run on exactly the fetched files (curated tables next to `into`, else `base`);
    what is not fetched (the other clouds' offers, the API rows when LiteLLM is not fetched) carries over from
    `base`, as with the import commands."""
    if clouds:
        summary, assumed = import_skypilot_into([src / "skypilot"], stage, base=base, today=today,
                                                discounts=curated_file("commitment_discounts.csv", into, base),
                                                spot_rates=curated_file("spot_interruption.csv", into, base))
        result.log += summary.lines() + assumed.lines()
    if litellm:
        lit = import_litellm_into(src / "litellm" / LITELLM_FILE, stage, base=base, today=today,
                                  meta=curated_file("api_meta.csv", into, base))
        result.log += lit.lines()
