"""Write catalog files: merge imported rows into a catalog folder, validate, and replace files atomically.

An import replaces the rows of the sources it imports (the clouds of a SkyPilot import, the LiteLLM-derived API
rows of a LiteLLM import) and keeps every other row, so hand-curated rows (the list-price provider, APIs no
importer covers) survive a refresh.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from ..errors import CatalogError
from ..fsutil import write_atomic
from ..loaders import read_csv_rows
from .schema import ROW_TYPES


def columns(kind: str) -> list[str]:
    model = ROW_TYPES[kind]
    first = {"gpus": "name", "offers": "offer_id", "models": "name", "apis": "api_id", "grid": "provider"}[kind]
    names = [first] + [f for f in model.model_fields if f not in (first, "source", "checked")]
    return names + ["source", "checked"]


def read_existing(path: Path) -> list[dict]:
    """The rows already in a catalog file (none when it does not exist yet)."""
    if not Path(path).exists():
        return []
    return read_csv_rows(path, what="catalog table", error=CatalogError,
                         fix="repair or delete the file in the folder given to --into")


def to_csv(kind: str, rows: list[dict]) -> str:
    cols = columns(kind)
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue()


def write_rows(folder: Path, kind: str, rows: list[dict]) -> Path:
    """Validate rows against the schema, then write `<kind>.csv` atomically."""
    path = Path(folder) / f"{kind}.csv"
    text = to_csv(kind, rows)
    parsed = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    recs = parsed.astype(object).where(parsed.notna(), None).to_dict(orient="records")
    try:
        TypeAdapter(list[ROW_TYPES[kind]]).validate_python(recs)
    except ValidationError as e:
        err = e.errors()[0]
        raise CatalogError(f"imported row would be invalid: {err['msg']}", file=str(path),
                           where=f"row {err['loc'][0]} field {'.'.join(map(str, err['loc'][1:]))}",
                           fix="report this importer bug with the source row") from None
    write_atomic(path, text)
    return path


def merge(existing: list[dict], new: list[dict], replace) -> list[dict]:
    """Existing rows that `replace(row)` does not claim, then the new rows."""
    return [r for r in existing if not replace(r)] + new
