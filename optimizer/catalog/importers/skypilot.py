"""SkyPilot `vms.csv` price catalogs -> llmplan offers.

Columns are mapped by name (their order differs per cloud). Rules:
- one offer per (cloud, region, instance type); the spot price is the MEDIAN over the region's zones that list one
  (never the cheapest zone: a buyer rarely gets to pick it), with `spot_hourly_usd_min`/`_max` keeping the spread;
  the on-demand price is the median over zones too (in every source read so far it is the same in all zones);
- one snapshot per cloud: two files of one cloud that price the same (instance type, accelerator, region, zone)
  are refused (an old and a new file side by side would silently mix two snapshots); disjoint files of one cloud
  (GCP's host VM file beside its accelerator file) are read together;
- `offer_kind`: marketplace for marketplace providers (`schema.MARKETPLACE_PROVIDERS`) and RunPod Community Cloud
  instance types, cloud otherwise;
- GCP prices a GPU VM in two parts: a host VM row (a2/a3/a4/g2 family, AcceleratorName empty) plus an accelerator
  row (InstanceType empty); the offer price is their sum in the same zone, as SkyPilot's gcp_catalog does;
- GPU names are normalised through the catalog's GPU aliases; rows whose GPU is not in the catalog, fractional
  GPUs, rows with no usable price (missing, placeholder <= 0 or >= 99,999,999, or not a number), regions without a
  known jurisdiction and GPUs whose reported memory disagrees with the catalog's (e.g. an H100 NVL 94 GB listed as
  "H100") are rejected (a reported memory that names a sibling part, "<name>-<GB>GB" such as V100-32GB or
  A100-80GB, maps to that part) and counted per reason; a placeholder spot price next to a real on-demand price drops only
  the spot price (counted too). Every row read is accounted for once (see `ImportSummary`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...errors import CatalogError
from ...loaders import read_text
from ..names import NameIndex
from ..regions import jurisdiction_of
from ..schema import MARKETPLACE_PROVIDERS

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
    """What an import kept and rejected, per cloud and reason.

    Every row read is accounted for exactly once: `rows_read == rows_used + host_rows + sum(rejected)` per cloud.
    A used row priced an offer (on-demand, spot or both); a host row is a GCP host VM row, used only to price the
    accelerator rows joined to it; a rejected row has one reason. `dropped` counts price fields discarded from
    used rows (e.g. a placeholder spot price next to a real on-demand price).
    """

    rows_read: Counter = field(default_factory=Counter)
    rows_used: Counter = field(default_factory=Counter)
    host_rows: Counter = field(default_factory=Counter)
    offers_kept: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)  # (cloud, reason) -> rows
    dropped: Counter = field(default_factory=Counter)  # (cloud, reason) -> price fields
    examples: dict = field(default_factory=dict)  # (cloud, reason) -> one example
    files: list = field(default_factory=list)
    files_by_cloud: dict = field(default_factory=dict)  # cloud -> [file, ...]

    def reject(self, cloud: str, reason: str, example: str) -> None:
        self.rejected[(cloud, reason)] += 1
        self.examples.setdefault((cloud, reason), example)

    def drop(self, cloud: str, reason: str, example: str) -> None:
        self.dropped[(cloud, reason)] += 1
        self.examples.setdefault((cloud, reason), example)

    def rejected_in(self, cloud: str) -> int:
        return sum(n for (c, _), n in self.rejected.items() if c == cloud)

    def balanced(self) -> bool:
        """Every row read is used, a host row, or rejected with one reason."""
        return all(self.rows_read[c] == self.rows_used[c] + self.host_rows[c] + self.rejected_in(c)
                   for c in self.rows_read)

    def by_reason(self) -> Counter:
        out = Counter()
        for (_, reason), n in self.rejected.items():
            out[reason] += n
        return out

    def lines(self) -> list[str]:
        out = []
        for cloud in sorted(self.rows_read):
            host = f", {self.host_rows[cloud]} host VM rows" if self.host_rows[cloud] else ""
            if len(self.files_by_cloud.get(cloud, ())) > 1:
                out.append(f"{cloud}: {len(self.files_by_cloud[cloud])} files read together (no row in common): "
                           f"{', '.join(Path(f).name for f in self.files_by_cloud[cloud])}")
            out.append(f"{cloud}: {self.rows_read[cloud]} rows read: {self.rows_used[cloud]} used in "
                       f"{self.offers_kept[cloud]} offers{host}, {self.rejected_in(cloud)} rejected")
            for (c, reason), n in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
                if c == cloud:
                    out.append(f"  rejected {n:5d} rows: {reason} (e.g. {self.examples[(c, reason)]})")
            for (c, reason), n in sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0])):
                if c == cloud:
                    out.append(f"  dropped  {n:5d} prices: {reason} (e.g. {self.examples[(c, reason)]})")
        if self.rejected:
            out.append("rejected rows by reason, all clouds:")
            for reason, n in self.by_reason().most_common():
                out.append(f"  {n:5d}  {reason}")
        return out


_MISSING, _PLACEHOLDER, _INVALID = "missing", "placeholder", "invalid"
REASON = {
    _MISSING: "no price (Price and SpotPrice empty)",
    _PLACEHOLDER: "placeholder price only (<= 0 or >= 99,999,999)",
    _INVALID: "price is not a number",
}


def _price(v) -> tuple[float | None, str | None]:
    """(price, None) for a usable price, else (None, why): missing, placeholder or invalid."""
    if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() in ("", "nan"):
        return None, _MISSING
    try:
        p = float(v)
    except ValueError:
        return None, _INVALID
    if p != p or not (0 < p < PLACEHOLDER_PRICE):
        return None, _PLACEHOLDER
    return p, None


def _gpu_mib(info: str | None) -> float | None:
    if not info:
        return None
    m = re.search(r"sizeinmib'?\s*:\s*([\d.]+)", str(info), re.I)
    return float(m.group(1)) if m else None


def _cloud_of(path: Path, df: pd.DataFrame) -> str:
    if "cloud" in df.columns and df["cloud"].str.strip().ne("").any():
        return str(df.loc[df["cloud"].str.strip().ne(""), "cloud"].iloc[0]).strip().lower()
    if path.name == "vms.csv":
        return path.parent.name.lower()
    return path.name.split("_")[0].lower()


def _files(inputs: list[Path]) -> list[Path]:
    """Files named on the command line, and the `vms.csv` / `*_vms.csv` files under folders."""
    out = []
    for p in inputs:
        p = Path(p)
        try:
            p.is_dir(), p.exists()
        except OSError as e:  # a name too long, a symlink loop
            raise CatalogError(f"cannot read: {e.strerror or e}", file=str(p),
                               fix="give SkyPilot vms.csv files or a folder") from None
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.csv") if f.name == "vms.csv" or f.name.endswith("_vms.csv"))
            if not found:
                raise CatalogError("folder holds no SkyPilot vms.csv or *_vms.csv files", file=str(p),
                                   fix="pass SkyPilot catalog files (catalogs/v8/<cloud>/vms.csv) or their folder")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise CatalogError("no such file or folder", file=str(p), fix="give SkyPilot vms.csv files or a folder")
    return out


MAX_GPUS_PER_INSTANCE = 64
REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "Region")
ROW_KEY = ("InstanceType", "AcceleratorName", "Region", "AvailabilityZone")


def _read_csv(f: Path) -> pd.DataFrame:
    """A vms.csv as strings. Rows with more fields than the header are an error, except Azure's known upstream
    defect: a `Generation` value `V1,V2` written unquoted (the two trailing fields are joined back into one)."""
    text = read_text(f, what="SkyPilot vms.csv", error=CatalogError, fix="download the SkyPilot vms.csv again")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise CatalogError(f"not a readable CSV ({e})", file=str(f), fix="repair the file's quoting") from None
    if not rows or not rows[0]:
        raise CatalogError("file is empty", file=str(f), fix="download the SkyPilot vms.csv again")
    header, body = rows[0], []
    for i, r in enumerate(rows[1:], start=2):
        if not r:
            continue
        if len(r) == len(header) + 1 and header[-1] == "Generation":
            r = r[:-2] + [f"{r[-2]},{r[-1]}"]
        if len(r) != len(header):
            raise CatalogError(f"{len(r)} fields where the header has {len(header)} (a truncated or damaged file?)",
                               file=str(f), where=f"line {i}", fix="download the SkyPilot vms.csv again")
        body.append(r)
    return pd.DataFrame(body, columns=header, dtype=object)


def read_skypilot(inputs: list[Path], summary: ImportSummary | None = None) -> dict[str, pd.DataFrame]:
    """All rows per cloud, columns by name; refuses two files of one cloud that price the same rows."""
    by_cloud: dict[str, list[tuple[Path, pd.DataFrame]]] = defaultdict(list)
    for f in _files(inputs):
        df = _read_csv(f)
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            raise CatalogError(f"not a SkyPilot vms.csv: missing columns {missing} (has {list(df.columns)[:8]})",
                               file=str(f), fix="pass SkyPilot catalog files (catalogs/v*/<cloud>/vms.csv)")
        if "SpotPrice" not in df.columns:
            df["SpotPrice"] = ""
        if "AvailabilityZone" not in df.columns:
            df["AvailabilityZone"] = ""
        if summary is not None:
            summary.files.append(str(f))
        by_cloud[_cloud_of(f, df)].append((f, df))
    for cloud, parts in by_cloud.items():
        _one_snapshot(cloud, parts)
        if summary is not None:
            summary.files_by_cloud[cloud] = [str(f) for f, _ in parts]
    return {c: pd.concat([df for _, df in parts], ignore_index=True) for c, parts in by_cloud.items()}


def _one_snapshot(cloud: str, parts: list[tuple[Path, pd.DataFrame]]) -> None:
    """Two files of one cloud may be read together only when no (instance, accelerator, region, zone) is in both."""
    seen: dict[tuple, Path] = {}
    for f, df in parts:
        keys = set(zip(*(df[c].str.strip() for c in ROW_KEY)))
        for k in keys:
            if k in seen:
                raise CatalogError(
                    f"{cloud} is priced by two files: {seen[k].name} and {f.name} both list "
                    f"{' '.join(x for x in k if x)} (two snapshots of one cloud would be mixed row by row)",
                    file=str(f), where=str(seen[k]),
                    fix=f"pass one file per cloud: move the older {cloud} file out of the folder, or import the "
                        f"two files into separate catalogs and compare them with `llmplan catalog diff`")
        seen.update((k, f) for k in keys)


def import_skypilot(inputs: list[Path], gpus: dict, gpu_names: NameIndex, *, checked: dict[str, dt.date],
                    sources: dict[str, str], today: dt.date | None = None) -> tuple[list[dict], ImportSummary]:
    """Offer rows (dicts in the offers.csv schema) and a summary of what was kept and rejected."""
    today = today or dt.date.today()
    summary = ImportSummary()
    offers: list[dict] = []
    for cloud, df in sorted(read_skypilot(inputs, summary).items()):
        summary.rows_read[cloud] += len(df)
        if cloud == "gcp":
            rows = _gcp_rows(df, summary)
        else:
            has_acc = df["AcceleratorName"].str.strip() != ""
            for r in df[~has_acc].to_dict(orient="records"):
                summary.reject(cloud, "CPU-only instance (no accelerator)", r.get("InstanceType") or "(empty)")
            rows = df[has_acc].to_dict(orient="records")
        grouped: dict[tuple, dict] = {}
        for r in rows:
            mapped = _map_row(cloud, r, gpus, gpu_names, summary)
            if mapped is None:
                continue
            (region, itype, gpu, count, jur), od, spot = mapped
            g = grouped.setdefault((region, itype), {"gpu": gpu, "count": count, "jur": jur, "od": [], "spot": [],
                                                     "kind": _offer_kind(cloud, itype)})
            if od is not None:
                g["od"].append(od)
            if spot is not None:
                g["spot"].append(spot)
        for (region, itype), g in sorted(grouped.items()):
            offers.append({
                "offer_id": f"{cloud}:{region}:{itype}", "provider": cloud, "region": region,
                "jurisdiction": g["jur"], "instance_type": itype, "gpu": g["gpu"], "gpus_per_instance": g["count"],
                "ondemand_hourly_usd": _median(g["od"]),
                "spot_hourly_usd": _median(g["spot"]),
                "spot_hourly_usd_min": round(min(g["spot"]), 6) if _spread(g["spot"]) else None,
                "spot_hourly_usd_max": round(max(g["spot"]), 6) if _spread(g["spot"]) else None,
                "reserved_1y_hourly_usd": None, "reserved_3y_hourly_usd": None, "max_instances": None,
                "price_basis": "catalog", "offer_kind": g["kind"], "source": sources.get(cloud, f"SkyPilot catalog {cloud} vms.csv"),
                "checked": checked.get(cloud, today).isoformat(),
            })
            summary.offers_kept[cloud] += 1
    return offers, summary


def _median(prices: list[float]) -> float | None:
    """Median over a region's zones (of the zones that list the price); None when no zone does."""
    return round(statistics.median(prices), 6) if prices else None


def _spread(prices: list[float]) -> bool:
    return len(prices) > 1 and max(prices) > min(prices)


def _offer_kind(cloud: str, itype: str) -> str:
    if cloud in MARKETPLACE_PROVIDERS or (cloud == "runpod" and itype.upper().endswith("_COMMUNITY")):
        return "marketplace"
    return "cloud"


def _gcp_rows(df: pd.DataFrame, summary: ImportSummary) -> list[dict]:
    """Join GCP accelerator rows with their host VM rows in the same zone (price = host + accelerator)."""
    is_acc = df["AcceleratorName"].str.strip() != ""
    is_host = ~is_acc & (df["InstanceType"].str.strip() != "")
    summary.host_rows["gcp"] += int(is_host.sum())
    for _ in range(int((~is_acc & ~is_host).sum())):
        summary.reject("gcp", "neither an accelerator nor a host VM row", "(empty InstanceType and AcceleratorName)")
    host_price = {(r["InstanceType"], r["AvailabilityZone"]): (r["Price"], r.get("SpotPrice", ""))
                  for r in df[is_host].to_dict(orient="records")}
    out = []
    for r in df[is_acc].to_dict(orient="records"):
        name = r["AcceleratorName"].strip()
        if name.lower().startswith("tpu"):
            summary.reject("gcp", "TPU, not a GPU", name)
            continue
        count = _gpu_count(r["AcceleratorCount"])
        hvm = _GCP_HOST.get((name, count)) if count else None
        if hvm is None:
            summary.reject("gcp", "accelerator without a known host VM family (e.g. n1-hosted T4/V100/P100)",
                           f"{name} x{r['AcceleratorCount']}")
            continue
        hp = host_price.get((hvm, r["AvailabilityZone"]))
        if hp is None:
            summary.reject("gcp", "host VM not priced in that zone", f"{hvm} {r['AvailabilityZone']}")
            continue
        r = dict(r)
        r["InstanceType"] = hvm
        r["Price"] = _sum_prices(r["Price"], hp[0])
        r["SpotPrice"] = _sum_prices(r.get("SpotPrice"), hp[1])
        out.append(r)
    return out


def _gpu_count(v) -> int | None:
    """A whole, positive GPU count of at most MAX_GPUS_PER_INSTANCE, else None (NaN, inf, fractions, text)."""
    try:
        c = float(v or 0)
    except (TypeError, ValueError):
        return None
    if not (0 < c <= MAX_GPUS_PER_INSTANCE) or c != int(c):
        return None
    return int(c)


def _sum_prices(a, b) -> str | float:
    """Accelerator + host price; a missing or unusable part leaves the raw part that explains why."""
    pa, wa = _price(a)
    pb, wb = _price(b)
    if pa is not None and pb is not None:
        return pa + pb
    return a if pa is None else b


def _memory_matches(gpu, mib: float, count: int) -> bool:
    """GpuInfo memory (per GPU or per instance) within 10% of the catalog GPU's."""
    want = gpu.vram_gib * 1024
    return any(abs(m - want) / want < 0.10 for m in (mib, mib / count))


def _map_row(cloud: str, r: dict, gpus: dict, gpu_names: NameIndex, summary: ImportSummary):
    name = str(r.get("AcceleratorName", "")).strip()
    itype = str(r.get("InstanceType", "")).strip()
    region = str(r.get("Region", "")).strip()
    ex = f"{itype or name} {region}".strip()
    count = _gpu_count(r.get("AcceleratorCount"))
    if count is None:
        summary.reject(cloud, "fractional or missing GPU count", f"{ex} x{r.get('AcceleratorCount')}")
        return None
    lookup = name
    if cloud == "lambda" and "pcie" in itype.lower() and name.upper() == "H100":
        lookup = "H100-PCIe"
    if cloud == "runpod" and name.upper() == "H100":  # RunPod's plain "H100" is the PCIe card (H100-SXM, H100-NVL)
        lookup = "H100-PCIe"
    gpu = gpu_names.get(lookup)
    if gpu is None:
        summary.reject(cloud, "GPU not in the catalog", name)
        return None
    mib = _gpu_mib(r.get("GpuInfo"))
    if mib and not _memory_matches(gpus[gpu], mib, count):
        siblings = [gpu_names.get(f"{name}-{round(m / 1024)}GB") for m in (mib, mib / count)]
        sibling = next((s for s in siblings if s is not None and _memory_matches(gpus[s], mib, count)), None)
        if sibling is None:
            summary.reject(cloud, "reported GPU memory differs from the catalog GPU",
                           f"{name} {mib:.0f} MiB ({itype})")
            return None
        gpu = sibling
    jur = jurisdiction_of(cloud, region)
    if jur is None:
        summary.reject(cloud, "region has no known jurisdiction", region or "(empty)")
        return None
    (od, why_od), (spot, why_spot) = _price(r.get("Price")), _price(r.get("SpotPrice"))
    if od is None and spot is None:
        why = _INVALID if _INVALID in (why_od, why_spot) else _PLACEHOLDER if _PLACEHOLDER in (
            why_od, why_spot) else _MISSING
        summary.reject(cloud, REASON[why], f"{ex} Price={r.get('Price')!s} SpotPrice={r.get('SpotPrice')!s}")
        return None
    for price_name, p, why, raw in (("on-demand", od, why_od, r.get("Price")),
                                    ("spot", spot, why_spot, r.get("SpotPrice"))):
        if p is None and why != _MISSING:
            reason = (f"{price_name} price is a placeholder (<= 0 or >= 99,999,999)" if why == _PLACEHOLDER
                      else f"{price_name} price is not a number")
            summary.drop(cloud, reason, f"{ex} {raw}")
    summary.rows_used[cloud] += 1
    return (region, itype, gpu, count, jur), od, spot
