"""Load a catalog folder (CSV files read by `loaders.read_csv_rows`), validate every row with pydantic, check
cross-references.

A catalog is a dated folder `catalogs/<YYYY-MM-DD>/` holding `gpus.csv`, `offers.csv`, `models.csv` and
`apis.csv`, and optionally `grid.csv` (grid carbon intensity and PUE per provider region; without it every plan's
carbon is unknown). The newest dated folder is the default. Errors name the file, the row (as the line number a
spreadsheet shows: header = line 1) and the field, and say how to fix it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from ..errors import CatalogError
from .names import NameIndex, normalize_gpu, normalize_model
from .schema import KEY_FIELD, ROW_TYPES, ApiOffer, GpuSpec, GridRow, ModelSpec, Offer

DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILES = ("gpus", "offers", "models", "apis")
OPTIONAL_FILES = ("grid",)
ALL_FILES = FILES + OPTIONAL_FILES

_FIX = {
    "source": "name where the figure comes from (URL, file, or 'assumption: ...')",
    "checked": "give the date the figure was read, as YYYY-MM-DD",
    "gpu": "use a GPU name from gpus.csv, or add the GPU there first",
    "jurisdiction": "use a jurisdiction code such as us, eu, uk, ca, jp",
}


@dataclass(frozen=True)
class Catalog:
    """A validated catalog version. Lookups accept aliases and suggest near misses."""

    root: Path
    version: str
    gpus: dict[str, GpuSpec]
    offers: tuple[Offer, ...]
    models: dict[str, ModelSpec]
    apis: tuple[ApiOffer, ...]
    gpu_names: NameIndex = field(repr=False)
    model_names: NameIndex = field(repr=False)
    grid: dict = field(default_factory=dict, repr=False)  # "provider/region" -> GridRow (grid.csv)

    def grid_row(self, provider: str, region: str) -> tuple[GridRow | None, GridRow | None]:
        """(the region's own row, the row whose PUE applies): the region's row, else the provider's '*' row, else
        the '*'/'*' default. Both None without grid.csv."""
        own = self.grid.get(f"{provider}/{region}")
        return own, own or self.grid.get(f"{provider}/*") or self.grid.get("*/*")

    def gpu(self, name: str) -> GpuSpec:
        return self.gpus[self.gpu_names.resolve(name)]

    def model(self, name: str) -> ModelSpec:
        return self.models[self.model_names.resolve(name)]

    def oldest_price_date(self) -> dt.date:
        dates = [o.checked for o in self.offers] + [a.checked for a in self.apis]
        return min(dates) if dates else dt.date.fromisoformat(self.version)

    def api_models(self) -> set[str]:
        return {a.model for a in self.apis}


# An installed (non-editable) llmplan ships the newest dated catalog here (setup.py copies it at build time).
PACKAGED_CATALOGS = Path(__file__).resolve().parent / "_default"


def catalog_search_roots() -> list[Path]:
    """Where the default catalog is looked for: $LLMPLAN_CATALOGS, ./catalogs, the source checkout, then the
    catalog packaged with an installed llmplan."""
    roots = []
    if os.environ.get("LLMPLAN_CATALOGS"):
        roots.append(Path(os.environ["LLMPLAN_CATALOGS"]))
    roots.append(Path.cwd() / "catalogs")
    roots.append(Path(__file__).resolve().parents[2] / "catalogs")
    roots.append(PACKAGED_CATALOGS)
    return roots


def default_catalog_dir() -> Path:
    """The newest dated catalog folder."""
    for root in catalog_search_roots():
        if root.is_dir():
            dated = sorted(p for p in root.iterdir() if p.is_dir() and DATE_DIR.match(p.name))
            if dated:
                return dated[-1]
    raise CatalogError("no catalog found", where=" or ".join(str(r) for r in catalog_search_roots()),
                       fix="pass --catalog DIR or set LLMPLAN_CATALOGS (an installed llmplan ships its default "
                           "catalog; reinstall it if that is missing)")


def _read_rows(path: Path) -> list[dict]:
    """The rows of one catalog CSV (strings, empty cells as None), read through `loaders.read_csv_rows`."""
    from ..loaders import read_csv_rows
    return read_csv_rows(path, what=f"catalog {path.stem} table", error=CatalogError,
                         fix=f"a catalog folder needs {', '.join(f + '.csv' for f in FILES)}: restore it from git "
                             f"or pass another --catalog")


def _check_numbers(path: Path, kind: str, rows: list[dict]) -> None:
    """Reject nan/inf spelled in a cell before pydantic coerces them."""
    for i, row in enumerate(rows):
        for col, v in row.items():
            if isinstance(v, str) and v.strip().lower() in {"nan", "inf", "-inf", "infinity", "-infinity"}:
                raise CatalogError(f"field '{col}' is '{v}'", file=str(path), where=f"line {i + 2}",
                                   fix="give a finite number, or leave the cell empty where the field is optional")


def _validate(path: Path, kind: str, rows: list[dict]) -> list:
    _check_numbers(path, kind, rows)
    try:
        return TypeAdapter(list[ROW_TYPES[kind]]).validate_python(rows)
    except ValidationError as e:
        err = e.errors()[0]
        loc = list(err["loc"])
        idx = loc[0] if loc and isinstance(loc[0], int) else 0
        fld = ".".join(str(p) for p in loc[1:]) or "(row)"
        key = rows[idx].get(KEY_FIELD[kind]) if idx < len(rows) else None
        where = f"line {idx + 2}" + (f" ({key})" if key else "") + f", field '{fld}'"
        got = err.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"
        fix = _FIX.get(fld, "correct the value in that row, or remove the row")
        raise CatalogError(f"{err['msg']}{got_s}", file=str(path), where=where, fix=fix) from None


def _unique(path: Path, kind: str, items: list) -> None:
    seen = {}
    key = KEY_FIELD[kind]
    for i, it in enumerate(items):
        k = getattr(it, key)
        if k in seen:
            raise CatalogError(f"duplicate {key} '{k}' (first at line {seen[k] + 2})", file=str(path),
                               where=f"line {i + 2}", fix=f"make {key} unique or merge the rows")
        seen[k] = i


def _name_indexes(root: Path, gpus: dict, models: dict) -> tuple[NameIndex, NameIndex]:
    try:
        gpu_names = NameIndex("GPU", normalize_gpu, {g.name: g.aliases for g in gpus.values()})
    except ValueError as e:
        raise CatalogError(str(e), file=str(root / "gpus.csv"), fix="an alias may name only one GPU") from None
    try:
        model_names = NameIndex("model", normalize_model, {m.name: m.aliases for m in models.values()})
    except ValueError as e:
        raise CatalogError(str(e), file=str(root / "models.csv"), fix="an alias may name only one model") from None
    return gpu_names, model_names


def _catalog_root(path: str | Path | None) -> Path:
    """The catalog folder to read: `path`, or the newest dated one; an error when it does not exist."""
    from ..loaders import check_folder
    root = Path(path) if path is not None else default_catalog_dir()
    return check_folder(root, what="catalog folder", error=CatalogError,
                        fix="pass a folder such as catalogs/2026-12-03 to --catalog")


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate a catalog folder (default: the newest dated one)."""
    root = _catalog_root(path)
    parsed = {}
    for kind in FILES:
        p = root / f"{kind}.csv"
        parsed[kind] = _validate(p, kind, _read_rows(p))
        _unique(p, kind, parsed[kind])

    gpus = {g.name: g for g in parsed["gpus"]}
    models = {m.name: m for m in parsed["models"]}
    gpu_names, model_names = _name_indexes(root, gpus, models)

    for i, o in enumerate(parsed["offers"]):
        if o.gpu not in gpus:
            try:
                hint = gpu_names.resolve(o.gpu)
                msg, fix = f"GPU '{o.gpu}' is an alias", f"write the canonical name '{hint}'"
            except KeyError as e:
                msg, fix = str(e.args[0]), _FIX["gpu"]
            raise CatalogError(msg, file=str(root / "offers.csv"), where=f"line {i + 2} ({o.offer_id}), field 'gpu'",
                               fix=fix)
    grid = {}
    for kind in OPTIONAL_FILES:
        p = root / f"{kind}.csv"
        if p.exists():
            parsed[kind] = _validate(p, kind, _read_rows(p))
            _unique(p, kind, parsed[kind])
            grid = {g.key: g for g in parsed[kind]}
    version = root.name
    if not DATE_DIR.match(version):
        version = max((o.checked for o in parsed["offers"]), default=dt.date.today()).isoformat()
    return Catalog(root=root, version=version, gpus=gpus, offers=tuple(parsed["offers"]), models=models,
                   apis=tuple(parsed["apis"]), gpu_names=gpu_names, model_names=model_names, grid=grid)


def load_catalog_specs(path: str | Path | None = None) -> Catalog:
    """GPUs and models only (no offers, no APIs), validated like `load_catalog`: what `llmplan estimate` needs, in
    a fraction of the start-up time."""
    root = _catalog_root(path)
    parsed = {}
    for kind in ("gpus", "models"):
        p = root / f"{kind}.csv"
        parsed[kind] = _validate(p, kind, _read_rows(p))
        _unique(p, kind, parsed[kind])
    gpus = {g.name: g for g in parsed["gpus"]}
    models = {m.name: m for m in parsed["models"]}
    gpu_names, model_names = _name_indexes(root, gpus, models)
    return Catalog(root=root, version=root.name, gpus=gpus, offers=(), models=models, apis=(), gpu_names=gpu_names,
                   model_names=model_names)
