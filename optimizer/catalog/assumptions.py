"""Labelled assumptions applied to imported offers: commitment discounts and spot interruption rates.

No price source in `catalogs/_sources/` gives reserved (1-year / 3-year commitment) prices or spot interruption
rates, so two small curated tables supply documented per-provider figures:

- `commitment_discounts.csv` (provider, capacity_type, discount, source, checked): an offer of that provider with
  an on-demand price and no source-given reserved price gets `reserved_<term>_hourly_usd = on-demand x (1 -
  discount)`, with `reserved_price_basis = assumption` and `reserved_source` naming the table row. On-demand and
  spot prices are never touched; a reserved price the source gives is kept as it is.
- `spot_interruption.csv` (provider, spot_interruption_rate, source, checked; a `default` row for providers not
  listed): an offer with a spot price and no rate of its own gets the provider's rate and its source. The planner
  counts spot capacity at its expected availability, 1 - rate.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


from ..errors import CatalogError
from ..loaders import read_csv_rows

RESERVED = ("reserved_1y", "reserved_3y")
DEFAULT = "default"


@dataclass(frozen=True)
class Figure:
    value: float
    source: str
    checked: dt.date


def _read(path: Path, need: tuple[str, ...]) -> list[dict]:
    return read_csv_rows(path, what="curated table", error=CatalogError, required=need,
                         fix=f"pass the curated table (catalogs/_curated/) or restore it from git; the header must "
                             f"be {','.join(need)}")


def _figure(path: Path, i: int, row: dict, col: str, lo: float, hi: float) -> Figure:
    where = f"line {i + 2} ({row.get('provider')}), field '{col}'"
    try:
        v = float(row[col])
    except (TypeError, ValueError):
        raise CatalogError(f"'{row[col]}' is not a number", file=str(path), where=where,
                           fix=f"give a fraction between {lo} and {hi}, e.g. 0.3 for 30%") from None
    if not (lo <= v < hi):
        raise CatalogError(f"{v} is outside [{lo}, {hi})", file=str(path), where=where,
                           fix="give a fraction, e.g. 0.3 for 30%")
    if len(str(row.get("source") or "").strip()) < 3:
        raise CatalogError("source is empty", file=str(path), where=f"line {i + 2}, field 'source'",
                           fix="name where the figure comes from ('assumption: ...' with the document it rests on)")
    try:
        checked = dt.date.fromisoformat(str(row.get("checked") or "").strip())
    except ValueError:
        raise CatalogError(f"checked '{row.get('checked')}' is not a date", file=str(path),
                           where=f"line {i + 2}, field 'checked'", fix="give YYYY-MM-DD") from None
    if checked > dt.date.today():
        raise CatalogError(f"checked {checked} is in the future", file=str(path),
                           where=f"line {i + 2}, field 'checked'",
                           fix="give the date the figure was read (today or earlier)")
    return Figure(v, str(row["source"]).strip(), checked)


def load_commitment_discounts(path: Path) -> dict[tuple[str, str], Figure]:
    """(provider, reserved_1y|reserved_3y) -> discount off on-demand."""
    out: dict[tuple[str, str], Figure] = {}
    for i, row in enumerate(_read(path, ("provider", "capacity_type", "discount", "source", "checked"))):
        ct = str(row["capacity_type"]).strip()
        if ct not in RESERVED:
            raise CatalogError(f"capacity_type '{ct}' is not one of {list(RESERVED)}", file=str(path),
                               where=f"line {i + 2}, field 'capacity_type'", fix="use reserved_1y or reserved_3y")
        key = (str(row["provider"]).strip().lower(), ct)
        if key in out:
            raise CatalogError(f"duplicate row for {key}", file=str(path), where=f"line {i + 2}",
                               fix="keep one row per provider and capacity type")
        out[key] = _figure(path, i, row, "discount", 0.0, 1.0)
    return out


def load_spot_rates(path: Path) -> dict[str, Figure]:
    """provider (or 'default') -> expected spot interruption rate."""
    out: dict[str, Figure] = {}
    for i, row in enumerate(_read(path, ("provider", "spot_interruption_rate", "source", "checked"))):
        key = str(row["provider"]).strip().lower()
        if key in out:
            raise CatalogError(f"duplicate row for provider '{key}'", file=str(path), where=f"line {i + 2}",
                               fix="keep one row per provider")
        out[key] = _figure(path, i, row, "spot_interruption_rate", 0.0, 1.0)
    return out


@dataclass
class AssumptionSummary:
    reserved: Counter = field(default_factory=Counter)  # provider -> offers given assumed reserved prices
    spot_rates: Counter = field(default_factory=Counter)  # provider -> offers given a default interruption rate

    def lines(self) -> list[str]:
        out = []
        for p, n in sorted(self.reserved.items()):
            out.append(f"  {p}: {n} offers get reserved 1y/3y prices from documented discounts (assumption)")
        for p, n in sorted(self.spot_rates.items()):
            out.append(f"  {p}: {n} spot offers get the provider's spot interruption rate (assumption)")
        return ["assumptions applied:", *out] if out else []


def _pct(v: float) -> str:
    return f"{100 * v:g}%"


def apply_assumptions(offers: list[dict], discounts: dict[tuple[str, str], Figure], rates: dict[str, Figure],
                      *, discounts_file: str = "commitment_discounts.csv",
                      rates_file: str = "spot_interruption.csv") -> AssumptionSummary:
    """Fill reserved prices and spot interruption rates in offer rows (dicts in the offers.csv schema), in place."""
    summary = AssumptionSummary()
    for o in offers:
        provider = str(o["provider"]).lower()
        od = o.get("ondemand_hourly_usd")
        has_reserved = any(o.get(f"{ct}_hourly_usd") is not None for ct in RESERVED)
        terms = [(ct, discounts[(provider, ct)]) for ct in RESERVED if (provider, ct) in discounts]
        if od is not None and terms and not has_reserved:
            parts = []
            for ct, fig in terms:
                o[f"{ct}_hourly_usd"] = round(od * (1 - fig.value), 6)
                parts.append(f"{ct} = on-demand x (1 - {fig.value:g})")
            checked = max(f.checked for _, f in terms)
            o["reserved_price_basis"] = "assumption"
            o["reserved_source"] = (f"assumption: documented {provider} commitment discount ({'; '.join(parts)}), "
                                    f"catalogs/_curated/{discounts_file} checked {checked}")
            summary.reserved[provider] += 1
        if o.get("spot_hourly_usd") is not None and o.get("spot_interruption_rate") is None:
            fig = rates.get(provider) or rates.get(DEFAULT)
            if fig is not None:
                which = provider if provider in rates else f"{DEFAULT} (no {provider} row)"
                o["spot_interruption_rate"] = fig.value
                o["spot_interruption_source"] = (f"assumption: {which} spot interruption rate {_pct(fig.value)}, "
                                                 f"catalogs/_curated/{rates_file} checked {fig.checked}")
                summary.spot_rates[provider] += 1
    return summary
