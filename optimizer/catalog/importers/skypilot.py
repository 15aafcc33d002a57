"""SkyPilot `vms.csv` price catalogs -> llmplan offers.

Columns are mapped by name (their order differs per cloud). Rules:
- one offer per (cloud, region, instance type); the on-demand price is the cheapest zone's, the spot price is the
  cheapest zone's and `spot_hourly_usd_max` keeps the spread;
- GCP prices a GPU VM in two parts: a host VM row (a2/a3/a4/g2 family, AcceleratorName empty) plus an accelerator
  row (InstanceType empty); the offer price is their sum in the same zone, as SkyPilot's gcp_catalog does;
- GPU names are normalised through the catalog's GPU aliases; rows whose GPU is not in the catalog, fractional
  GPUs, placeholder prices (<= 0 or >= 99,999,999), regions without a known jurisdiction and GPUs whose reported
  memory disagrees with the catalog's (e.g. an H100 NVL 94 GB listed as "H100") are rejected and counted.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...errors import CatalogError
from ..names import NameIndex
from ..regions import jurisdiction_of

PLACEHOLDER_PRICE = 99_999_999.0

# GCP host VM per (accelerator, count), as SkyPilot's gcp_catalog picks them.
_GCP_HOST = {
    ("A100", 1): "a2-highgpu-1g", ("A100", 2): "a2-highgpu-2g", ("A100", 4): "a2-highgpu-4g",
    ("A100", 8): "a2-highgpu-8g", ("A100", 16): "a2-megagpu-16g",
    ("A100-80GB", 1): "a2-ultragpu-1g", ("A100-80GB", 2): "a2-ultragpu-2g", ("A100-80GB", 4): "a2-ultragpu-4g",
    ("A100-80GB", 8): "a2-ultragpu-8g",
    ("H100", 1): "a3-highgpu-1g", ("H100", 2): "a3-highgpu-2g", ("H100", 4): "a3-highgpu-4g",
    ("H100", 8): "a3-highgpu-8g", ("H100-MEGA", 8): "a3-megagpu-8g", ("H200", 8): "a3-ultragpu-8g",
    ("B200", 8): "a4-highgpu-8g",
    ("L4", 1): "g2-standard-4", ("L4", 2): "g2-standard-24", ("L4", 4): "g2-standard-48", ("L4", 8): "g2-standard-96",
}


@dataclass
class ImportSummary:
    """What an import kept and rejected, per cloud and reason."""

    rows_read: Counter = field(default_factory=Counter)
    offers_kept: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)  # (cloud, reason) -> rows
    examples: dict = field(default_factory=dict)  # (cloud, reason) -> one example

    def reject(self, cloud: str, reason: str, example: str) -> None:
        self.rejected[(cloud, reason)] += 1
        self.examples.setdefault((cloud, reason), example)

    def lines(self) -> list[str]:
        out = []
        for cloud in sorted(self.rows_read):
            out.append(f"{cloud}: {self.rows_read[cloud]} rows read, {self.offers_kept[cloud]} offers kept")
            for (c, reason), n in sorted(self.rejected.items()):
                if c == cloud:
                    out.append(f"  rejected {n:5d} rows: {reason} (e.g. {self.examples[(c, reason)]})")
        return out


def _price(v) -> float | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "":
        return None
    try:
        p = float(v)
    except ValueError:
        return None
    if not (0 < p < PLACEHOLDER_PRICE):
        return None
    return p


def _gpu_mib(info: str | None) -> float | None:
    if not info:
        return None
    m = re.search(r"sizeinmib'?\s*:\s*([\d.]+)", str(info), re.I)
    return float(m.group(1)) if m else None


def _cloud_of(path: Path, df: pd.DataFrame) -> str:
    if "cloud" in df.columns and df["cloud"].notna().any():
        return str(df["cloud"].dropna().iloc[0]).lower()
    if path.name == "vms.csv":
        return path.parent.name.lower()
    return path.name.split("_")[0].lower()


def _files(inputs: list[Path]) -> list[Path]:
    out = []
    for p in inputs:
        if p.is_dir():
            out += sorted(p.rglob("*.csv"))
        elif p.exists():
            out.append(p)
        else:
            raise CatalogError("no such file or folder", file=str(p), fix="give SkyPilot vms.csv files or a folder")
    return out


def read_skypilot(inputs: list[Path]) -> dict[str, pd.DataFrame]:
    """All rows per cloud, columns by name."""
    by_cloud: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for f in _files(inputs):
        try:
            df = pd.read_csv(f, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise CatalogError(f"not a readable CSV ({e})", file=str(f), fix="repair the file's quoting") from None
        need = {"InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "Region"}
        missing = need - set(df.columns)
        if missing:
            raise CatalogError(f"not a SkyPilot vms.csv: missing columns {sorted(missing)}", file=str(f),
                               fix="pass SkyPilot catalog files (catalogs/v*/<cloud>/vms.csv)")
        by_cloud[_cloud_of(f, df)].append(df)
    return {c: pd.concat(dfs, ignore_index=True) for c, dfs in by_cloud.items()}


def import_skypilot(inputs: list[Path], gpus: dict, gpu_names: NameIndex, *, checked: dict[str, dt.date],
                    sources: dict[str, str]) -> tuple[list[dict], ImportSummary]:
    """Offer rows (dicts in the offers.csv schema) and a summary of what was kept and rejected."""
    summary = ImportSummary()
    offers: list[dict] = []
    for cloud, df in sorted(read_skypilot(inputs).items()):
        summary.rows_read[cloud] += len(df)
        if cloud == "gcp":
            rows = _gcp_rows(df, summary)
        else:
            rows = [r for r in df.to_dict(orient="records") if r.get("AcceleratorName", "").strip()]
            summary.rows_read[cloud] -= len(df) - len(rows)  # host-only rows of non-GCP clouds are not GPU rows
        grouped: dict[tuple, dict] = {}
        for r in rows:
            key = _map_row(cloud, r, gpus, gpu_names, summary)
            if key is None:
                continue
            (region, itype, gpu, count, jur), od, spot = key
            g = grouped.setdefault((region, itype), {"gpu": gpu, "count": count, "jur": jur, "od": [], "spot": []})
            if od is not None:
                g["od"].append(od)
            if spot is not None:
                g["spot"].append(spot)
        for (region, itype), g in sorted(grouped.items()):
            if not g["od"] and not g["spot"]:
                summary.reject(cloud, "no usable on-demand or spot price in any zone", f"{itype} {region}")
                continue
            offers.append({
                "offer_id": f"{cloud}:{region}:{itype}", "provider": cloud, "region": region,
                "jurisdiction": g["jur"], "instance_type": itype, "gpu": g["gpu"], "gpus_per_instance": g["count"],
                "ondemand_hourly_usd": round(min(g["od"]), 6) if g["od"] else None,
                "spot_hourly_usd": round(min(g["spot"]), 6) if g["spot"] else None,
                "spot_hourly_usd_max": round(max(g["spot"]), 6) if len(g["spot"]) > 1 and max(g["spot"]) > min(
                    g["spot"]) else None,
                "reserved_1y_hourly_usd": None, "reserved_3y_hourly_usd": None, "max_instances": None,
                "price_basis": "catalog", "source": sources.get(cloud, f"SkyPilot catalog {cloud} vms.csv"),
                "checked": checked.get(cloud, dt.date.today()).isoformat(),
            })
            summary.offers_kept[cloud] += 1
    return offers, summary


def _gcp_rows(df: pd.DataFrame, summary: ImportSummary) -> list[dict]:
    """Join GCP accelerator rows with their host VM rows in the same zone (price = host + accelerator)."""
    acc = df[df["AcceleratorName"].str.strip() != ""]
    host = df[(df["AcceleratorName"].str.strip() == "") & (df["InstanceType"].str.strip() != "")]
    host_price = {(r["InstanceType"], r["AvailabilityZone"]): (r["Price"], r.get("SpotPrice", ""))
                  for r in host.to_dict(orient="records")}
    out = []
    for r in acc.to_dict(orient="records"):
        name = r["AcceleratorName"].strip()
        try:
            count = float(r["AcceleratorCount"])
        except ValueError:
            count = 0.0
        hvm = _GCP_HOST.get((name, int(count))) if count == int(count) else None
        if name.startswith("tpu"):
            summary.reject("gcp", "TPU, not a GPU", name)
            continue
        if hvm is None:
            summary.reject("gcp", "accelerator without a known host VM family (e.g. n1-hosted T4/V100/P100)",
                           f"{name} x{r['AcceleratorCount']}")
            continue
        hp = host_price.get((hvm, r["AvailabilityZone"]))
        if hp is None:
            summary.reject("gcp", "host VM not priced in that zone", f"{hvm} {r['AvailabilityZone']}")
            continue
        od_a, od_h = _price(r["Price"]), _price(hp[0])
        sp_a, sp_h = _price(r.get("SpotPrice")), _price(hp[1])
        r = dict(r)
        r["InstanceType"] = hvm
        r["Price"] = od_a + od_h if od_a is not None and od_h is not None else ""
        r["SpotPrice"] = sp_a + sp_h if sp_a is not None and sp_h is not None else ""
        out.append(r)
    return out


def _map_row(cloud: str, r: dict, gpus: dict, gpu_names: NameIndex, summary: ImportSummary):
    name = str(r.get("AcceleratorName", "")).strip()
    itype = str(r.get("InstanceType", "")).strip()
    region = str(r.get("Region", "")).strip()
    ex = f"{itype or name} {region}".strip()
    try:
        count = float(r.get("AcceleratorCount") or 0)
    except ValueError:
        count = 0.0
    if count <= 0 or count != int(count):
        summary.reject(cloud, "fractional or missing GPU count", f"{ex} x{r.get('AcceleratorCount')}")
        return None
    count = int(count)
    lookup = name
    if cloud == "lambda" and "pcie" in itype.lower() and name.upper() == "H100":
        lookup = "H100-PCIe"
    gpu = gpu_names.get(lookup)
    if gpu is None:
        summary.reject(cloud, "GPU not in the catalog", name)
        return None
    mib = _gpu_mib(r.get("GpuInfo"))
    if mib:
        want = gpus[gpu].vram_gib * 1024
        if not any(abs(m - want) / want < 0.10 for m in (mib, mib / count)):
            summary.reject(cloud, "reported GPU memory differs from the catalog GPU",
                           f"{name} {mib:.0f} MiB ({itype})")
            return None
    jur = jurisdiction_of(cloud, region)
    if jur is None:
        summary.reject(cloud, "region has no known jurisdiction", region or "(empty)")
        return None
    od, spot = _price(r.get("Price")), _price(r.get("SpotPrice"))
    raw_od = str(r.get("Price", "")).strip()
    if od is None and raw_od not in ("", "nan"):
        summary.reject(cloud, "placeholder on-demand price (<= 0 or >= 99,999,999)", f"{ex} {raw_od}")
    return (region, itype, gpu, count, jur), od, spot
