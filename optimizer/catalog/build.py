"""Import public price sources into a catalog folder (the quarterly refresh).

`import_skypilot_into` replaces the offers of the clouds it imports and keeps every other row (hand-curated
list-price rows among them); `import_litellm_into` replaces the LiteLLM-derived API rows and keeps the rest.
A new dated folder is seeded from the newest existing one (`base`) so GPUs and models carry over.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import yaml

from ..errors import CatalogError
from .importers.litellm import LitellmSummary, import_litellm
from .importers.skypilot import ImportSummary, import_skypilot
from .load import FILES, load_catalog
from .write import merge, read_existing, write_rows

CURATED = "_curated"


def prepare_folder(into: Path, base: Path | None) -> None:
    """Create `into`, copying the base catalog's files that it lacks."""
    into.mkdir(parents=True, exist_ok=True)
    if base is not None and base.resolve() != into.resolve():
        for kind in FILES:
            src, dst = base / f"{kind}.csv", into / f"{kind}.csv"
            if src.exists() and not dst.exists():
                shutil.copyfile(src, dst)
    missing = [k for k in ("gpus", "models") if not (into / f"{k}.csv").exists()]
    if missing:
        raise CatalogError(f"{', '.join(m + '.csv' for m in missing)} missing", file=str(into),
                           fix="pass --base with an existing catalog folder to copy GPUs and models from")


def _provenance(inputs: list[Path]) -> dict:
    for p in inputs:
        f = (p if p.is_dir() else p.parent) / "provenance.yaml"
        if f.exists():
            data = yaml.safe_load(f.read_text()) or {}
            return {k: v for k, v in data.items() if isinstance(v, dict)}
    return {}


def import_skypilot_into(inputs: list[Path], into: Path, *, base: Path | None = None,
                         today: dt.date | None = None) -> ImportSummary:
    today = today or dt.date.today()
    prepare_folder(into, base)
    cat = _gpu_only_catalog(into)
    prov = _provenance(inputs)
    checked = {c: dt.date.fromisoformat(str(v["checked"])) for c, v in prov.items() if v.get("checked")}
    sources = {c: v["source"] for c, v in prov.items() if v.get("source")}
    offers, summary = import_skypilot(inputs, cat["gpus"], cat["names"], checked=checked, sources=sources)
    for c in summary.rows_read:
        checked.setdefault(c, today)
    clouds = set(summary.rows_read)
    existing = read_existing(into / "offers.csv")
    write_rows(into, "offers", merge(existing, offers, lambda r: r.get("provider") in clouds))
    return summary


def import_litellm_into(path: Path, into: Path, *, meta: Path, base: Path | None = None,
                        today: dt.date | None = None, label: str | None = None) -> LitellmSummary:
    today = today or dt.date.today()
    prepare_folder(into, base)
    meta_rows = read_existing(meta)
    if not meta_rows:
        raise CatalogError("metadata table is missing or empty", file=str(meta),
                           fix="pass --meta catalogs/_curated/api_meta.csv")
    rows, summary = import_litellm(path, meta_rows, today=today,
                                   source_label=label or f"LiteLLM {Path(path).name} (imported {today})")
    existing = read_existing(into / "apis.csv")
    write_rows(into, "apis", merge(existing, rows, lambda r: str(r.get("source", "")).startswith("LiteLLM ")))
    return summary


def _gpu_only_catalog(folder: Path) -> dict:
    from .load import _read_rows, _validate
    from .names import NameIndex, normalize_gpu

    gl = _validate(folder / "gpus.csv", "gpus", _read_rows(folder / "gpus.csv"))
    return {"gpus": {g.name: g for g in gl}, "names": NameIndex("GPU", normalize_gpu, {g.name: g.aliases for g in gl})}


def validate_folder(folder: Path):
    """Load the folder as a catalog (raises CatalogError naming the file, row and field)."""
    return load_catalog(folder)
