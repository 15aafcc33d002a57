"""Import public price sources into a catalog folder (the quarterly refresh).

`import_skypilot_into` replaces the offers of the clouds it imports and keeps every other row (hand-curated
list-price rows among them), then applies the labelled commitment-discount and spot-interruption assumptions
(`assumptions.py`) to the imported offers; `import_litellm_into` replaces the LiteLLM-derived API rows (their
`source` starts with "LiteLLM ") and keeps the rest. A new dated folder is seeded from the newest existing one
(`base`) so GPUs, models and curated rows carry over. Source labels and `checked` dates come from the
`provenance.yaml` next to the source files, so re-running an import on the same files gives the same bytes.
`checked` is the date of the price snapshot as that provenance states it, never the import date: a cloud whose
provenance gives no date is refused unless the caller states the snapshot date (`checked_default`, `--checked`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from ..errors import CatalogError
from ..loaders import check_folder, load_yaml, read_csv_rows
from .assumptions import AssumptionSummary, apply_assumptions, load_commitment_discounts, load_spot_rates
from .importers.litellm import META_COLUMNS, LitellmSummary, import_litellm
from .importers.skypilot import ImportSummary, import_skypilot
from .load import ALL_FILES, load_catalog
from .schema import derived_offer_kind
from .write import merge, read_existing, write_rows

CURATED = "_curated"
DISCOUNTS = "commitment_discounts.csv"
SPOT_RATES = "spot_interruption.csv"
LITELLM_PREFIX = "LiteLLM "


def curated_file(name: str, into: Path, base: Path | None) -> Path:
    """`_curated/<name>` next to the catalog being written, else next to the base catalog."""
    for root in (into.parent, base.parent if base is not None else None):
        if root is not None and (root / CURATED / name).exists():
            return root / CURATED / name
    return into.parent / CURATED / name


def prepare_folder(into: Path, base: Path | None) -> None:
    """Create `into`, copying the base catalog's files that it lacks."""
    if base is not None:
        check_folder(base, what="--base catalog folder", error=CatalogError,
                     fix="pass --base with an existing catalog folder such as catalogs/2026-12-03")
    try:
        into.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CatalogError(f"cannot create the folder: {e.strerror or e}", file=str(into), where="--into",
                           fix="give a folder path you can write, e.g. catalogs/2026-12-01") from None
    if base is not None and base.resolve() != into.resolve():
        for kind in ALL_FILES:
            src, dst = base / f"{kind}.csv", into / f"{kind}.csv"
            if src.exists() and not dst.exists():
                shutil.copyfile(src, dst)
    missing = [k for k in ("gpus", "models") if not (into / f"{k}.csv").exists()]
    if missing:
        raise CatalogError(f"{', '.join(m + '.csv' for m in missing)} missing", file=str(into),
                           fix="pass --base with an existing catalog folder to copy GPUs and models from")


def _provenance(inputs: list[Path]) -> dict:
    for p in inputs:
        p = Path(p)
        try:
            f = (p if p.is_dir() else p.parent) / "provenance.yaml"
            found = f.exists()
        except OSError:  # an unusable input path: the importer reports it when it reads the input
            continue
        if found:
            data = load_yaml(f, what="provenance YAML", error=CatalogError,
                             fix="repair the provenance file (see catalogs/_sources/*/provenance.yaml)")
            if not isinstance(data, dict):
                raise CatalogError("expected a mapping", file=str(f), fix="see catalogs/_sources/*/provenance.yaml")
            return data
    return {}


def _date(v, f: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise CatalogError(f"checked '{v}' is not a date", file=f, where=key, fix="give YYYY-MM-DD") from None


def import_skypilot_into(inputs: list[Path], into: Path, *, base: Path | None = None, today: dt.date | None = None,
                         discounts: Path | None = None, spot_rates: Path | None = None,
                         assumptions: bool = True,
                         checked_default: dt.date | None = None) -> tuple[ImportSummary, AssumptionSummary]:
    """Import SkyPilot files into `into`/offers.csv; returns what was kept/rejected and what was assumed."""
    today = today or dt.date.today()
    into = Path(into)
    if base is not None:
        check_folder(base, what="--base catalog folder", error=CatalogError,
                     fix="pass --base with an existing catalog folder such as catalogs/2026-12-03")
    if assumptions:  # read the curated tables first: a bad table must fail before anything is written
        discounts = discounts or curated_file(DISCOUNTS, into, base)
        spot_rates = spot_rates or curated_file(SPOT_RATES, into, base)
        disc, rates = load_commitment_discounts(discounts), load_spot_rates(spot_rates)
    gpu_folder = into if (into / "gpus.csv").exists() or base is None else base
    cat = _gpu_only_catalog(gpu_folder)
    prov = {k: v for k, v in _provenance(inputs).items() if isinstance(v, dict)}
    checked = {c: _date(v["checked"], "provenance.yaml", c) for c, v in prov.items() if v.get("checked")}
    sources = {c: v["source"] for c, v in prov.items() if v.get("source")}
    offers, summary = import_skypilot(inputs, cat["gpus"], cat["names"], checked=checked, sources=sources,
                                      today=checked_default or today)
    undated = sorted(c for c in summary.rows_read if c not in checked)
    if undated and checked_default is None:
        raise CatalogError(f"no snapshot date for {', '.join(undated)}: its offers would carry the import date as "
                           f"`checked`", file=str(Path(summary.files_by_cloud[undated[0]][0])),
                           where="provenance.yaml next to the files",
                           fix=f"add `{undated[0]}: {{checked: YYYY-MM-DD, source: ...}}` to provenance.yaml, or pass "
                               f"--checked YYYY-MM-DD (the date the prices were read)")
    prepare_folder(into, base)
    assumed = AssumptionSummary()
    if assumptions:
        assumed = apply_assumptions(offers, disc, rates, discounts_file=Path(discounts).name,
                                    rates_file=Path(spot_rates).name)
    clouds = set(summary.rows_read)
    existing = [r if r.get("offer_kind") else {**r, "offer_kind": derived_offer_kind(r)}
                for r in read_existing(into / "offers.csv")]
    write_rows(into, "offers", merge(existing, offers, lambda r: r.get("provider") in clouds))
    return summary, assumed


def litellm_label(path: Path, label: str | None, today: dt.date) -> str:
    """The source label of imported API rows: --label, else provenance.yaml's `label`, else the file name.
    It always starts with "LiteLLM " so that the next import recognises (and replaces) these rows."""
    if label is None:
        prov = _provenance([Path(path)])
        label = prov.get("label") or f"{Path(path).name} (imported {today})"
    label = str(label).strip()
    return label if label.startswith(LITELLM_PREFIX) else LITELLM_PREFIX + label


def import_litellm_into(path: Path, into: Path, *, meta: Path, base: Path | None = None,
                        today: dt.date | None = None, label: str | None = None,
                        checked: dt.date | None = None) -> LitellmSummary:
    """Import LiteLLM's price table into `into`/apis.csv. The price snapshot date is `checked`, else the
    `checked` of the file's provenance.yaml; neither is an error (the import date is never used)."""
    today = today or dt.date.today()
    into = Path(into)
    meta_rows = read_csv_rows(meta, what="API metadata CSV", error=CatalogError, required=META_COLUMNS,
                              fix="pass --meta catalogs/_curated/api_meta.csv")  # read first: fail before writing
    if checked is None:
        prov = _provenance([Path(path)])
        if not prov.get("checked"):
            raise CatalogError("no snapshot date for the LiteLLM price table: its API offers would carry the import "
                               "date as `checked`", file=str(path), where="provenance.yaml next to the file",
                               fix="add `checked: YYYY-MM-DD` to provenance.yaml, or pass --checked YYYY-MM-DD")
        checked = _date(prov["checked"], "provenance.yaml", "checked")
    if not meta_rows:
        raise CatalogError("metadata table has no rows", file=str(meta),
                           fix="pass --meta catalogs/_curated/api_meta.csv")
    prepare_folder(into, base)
    rows, summary = import_litellm(path, meta_rows, today=today, source_label=litellm_label(path, label, today),
                                   meta_file=str(meta), checked=checked)
    existing = read_existing(into / "apis.csv")
    write_rows(into, "apis", merge(existing, rows, lambda r: str(r.get("source", "")).startswith(LITELLM_PREFIX)))
    return summary


def _gpu_only_catalog(folder: Path) -> dict:
    from .load import _read_rows, _validate
    from .names import NameIndex, normalize_gpu

    gl = _validate(folder / "gpus.csv", "gpus", _read_rows(folder / "gpus.csv"))
    return {"gpus": {g.name: g for g in gl}, "names": NameIndex("GPU", normalize_gpu, {g.name: g.aliases for g in gl})}


def validate_folder(folder: Path):
    """Load the folder as a catalog (raises CatalogError naming the file, row and field)."""
    return load_catalog(folder)
