"""The result of a sweep: one row per scenario, written as CSV or Parquet (atomically).

Columns: `scenario` (its index), one column per axis (the field path as given, or `price[gpu=H100-SXM]` for a
price multiplier), then the outcome: `status` (optimal, feasible, infeasible, invalid, error), `monthly_cost_usd`,
`gap`, the chosen fleet (`gpus` by type, `gpu_count`, `self_hosted_share` and `api_share` of serving requests,
`self_hosted_monthly_usd`, `api_monthly_usd`), `message` (an infeasible scenario's explanation, first line) and
`solve_s` (seconds; the only column that differs between runs).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LlmplanError
from ..fsutil import write_atomic
from .run import OUTCOME

PARQUET_FIX = "pip install 'llmplan[parquet]' (pyarrow), or write CSV with -o results.csv"


@dataclass(frozen=True)
class AxisInfo:
    """What an axis varied, for the report: its column, how it was given and the field's current value."""

    label: str
    key: str
    range: str
    distribution: str | None
    current: object
    kind: str  # "field" or "price"


@dataclass(frozen=True)
class SweepResult:
    problem: str
    source: str
    catalog_version: str
    mode: str  # "grid" or "monte carlo"
    axes: tuple[AxisInfo, ...]
    rows: tuple[dict, ...] = field(repr=False)
    base: dict = field(default_factory=dict)  # the unmodified problem's outcome
    samples: int | None = None
    seed: int | None = None
    time_limit_s: float | None = None

    @property
    def columns(self) -> list[str]:
        return ["scenario", *(a.label for a in self.axes), *OUTCOME]

    def costs(self) -> list[float]:
        """Monthly costs of the scenarios that have a plan."""
        return [r["monthly_cost_usd"] for r in self.rows if r["monthly_cost_usd"] is not None]


def to_frame(result: SweepResult):
    import pandas as pd

    df = pd.DataFrame([[r.get(c) for c in result.columns] for r in result.rows], columns=result.columns)
    return df.astype({"gpu_count": "Int64"})  # whole numbers, empty where a scenario has no plan


def to_csv(result: SweepResult) -> str:
    return to_frame(result).to_csv(index=False, lineterminator="\n")


def to_parquet(result: SweepResult) -> bytes:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise LlmplanError("writing Parquet needs pyarrow, which is not installed", where="-o",
                           fix=PARQUET_FIX) from None
    buf = io.BytesIO()
    df = to_frame(result)
    for c in df.columns:  # axis columns may mix numbers and words: store those as text
        if df[c].dtype == object and df[c].map(type).nunique() > 1:
            df[c] = df[c].map(lambda v: None if v is None else str(v))
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise LlmplanError(f"cannot tell the format of '{path}' from its extension", where="-o",
                       fix="name the file results.csv or results.parquet")


def write_results(result: SweepResult, path: str | Path) -> None:
    """CSV or Parquet by the file's extension, written atomically."""
    fmt = output_format(path)
    write_atomic(path, to_csv(result) if fmt == "csv" else to_parquet(result))
