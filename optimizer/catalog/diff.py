"""Compare two catalog versions: `llmplan catalog diff OLD NEW`.

Rows are matched by their key (offer_id, api_id, GPU name, model name). A matched row is *changed* when a price
or another substantive field differs; a row whose only differences are `source` and `checked` was re-checked
at an unchanged price and is only counted. Each price change has an amount and a percent; `up`/`down` count
price fields, not rows. The result is a frozen object; `optimizer/render/catalog_diff.py` renders it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from .load import Catalog
from .schema import KEY_FIELD

PRICE_FIELDS = {
    "offers": ("ondemand_hourly_usd", "spot_hourly_usd", "reserved_1y_hourly_usd", "reserved_3y_hourly_usd"),
    "apis": ("input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok", "batch_input_usd_per_mtok",
             "batch_output_usd_per_mtok"),
    "gpus": (),
    "models": (),
}
PROVENANCE = ("source", "checked", "reserved_source", "spot_interruption_source", "rate_limit_source",
              "latency_source", "notes")
KINDS = ("offers", "apis", "gpus", "models")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldChange(Frozen):
    field: str
    old: float | int | str | None
    new: float | int | str | None
    is_price: bool = False

    @property
    def amount(self) -> float | None:
        if self.is_price and isinstance(self.old, (int, float)) and isinstance(self.new, (int, float)):
            return self.new - self.old
        return None

    @property
    def percent(self) -> float | None:
        a = self.amount
        return None if a is None or not self.old else 100.0 * a / self.old


class RowChange(Frozen):
    kind: Literal["offers", "apis", "gpus", "models"]
    change: Literal["~", "+", "-"]
    key: str
    label: str
    fields: list[FieldChange]  # '~': what changed; '+'/'-': the row's prices


class KindCounts(Frozen):
    old: int
    new: int
    added: int
    removed: int
    changed: int
    rechecked: int  # matched rows whose only difference is source/checked
    prices_up: int
    prices_down: int
    prices_added: int  # a price field that was empty in the old row (e.g. a new reserved price)
    prices_removed: int


class CatalogDiff(Frozen):
    old_version: str
    new_version: str
    old_path: str
    new_path: str
    counts: dict[str, KindCounts]
    changes: list[RowChange]
    filters: dict = {}


def _rows(cat: Catalog, kind: str) -> dict[str, BaseModel]:
    items = {"offers": cat.offers, "apis": cat.apis, "gpus": tuple(cat.gpus.values()),
             "models": tuple(cat.models.values())}[kind]
    return {getattr(r, KEY_FIELD[kind]): r for r in items}


def _label(kind: str, r) -> str:
    if kind == "offers":
        return f"{r.gpus_per_instance}x {r.gpu}, {r.jurisdiction}"
    if kind == "apis":
        return f"{r.provider} {r.model}, {'/'.join(r.jurisdictions)}"
    if kind == "gpus":
        return f"{r.vram_gib:g} GiB"
    return f"{r.params_b:g}B {r.kind}"


def _plain(v):
    if isinstance(v, tuple):
        return ";".join(map(str, v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _selected(kind: str, r, gpu: str | None, cloud: str | None) -> bool:
    if kind == "offers":
        return (gpu is None or r.gpu == gpu) and (cloud is None or r.provider == cloud)
    if kind == "apis":
        return gpu is None and (cloud is None or r.provider == cloud)
    if kind == "gpus":
        return cloud is None and (gpu is None or r.name == gpu)
    return gpu is None and cloud is None


def _sort_key(c: RowChange):
    pcts = [abs(f.percent) for f in c.fields if f.percent is not None] if c.change == "~" else []
    return (KINDS.index(c.kind), "~+-".index(c.change), -max(pcts, default=0.0), c.key)


def diff_catalogs(old: Catalog, new: Catalog, *, kinds: tuple[str, ...] = KINDS, gpu: str | None = None,
                  cloud: str | None = None) -> CatalogDiff:
    """What changed between two catalog versions, optionally for one GPU or one cloud/provider."""
    counts, changes = {}, []
    for kind in kinds:
        a = {k: r for k, r in _rows(old, kind).items() if _selected(kind, r, gpu, cloud)}
        b = {k: r for k, r in _rows(new, kind).items() if _selected(kind, r, gpu, cloud)}
        up = down = added = removed = changed = rechecked = 0
        prices = PRICE_FIELDS[kind]
        for key in sorted(a.keys() & b.keys()):
            ra, rb = a[key].model_dump(), b[key].model_dump()
            fields = []
            for f in ra:
                if f in PROVENANCE or ra[f] == rb[f]:
                    continue
                fc = FieldChange(field=f, old=_plain(ra[f]), new=_plain(rb[f]), is_price=f in prices)
                fields.append(fc)
                if fc.amount is not None:
                    up += fc.amount > 0
                    down += fc.amount < 0
                elif fc.is_price:
                    added += fc.old is None
                    removed += fc.new is None
            if fields:
                changed += 1
                changes.append(RowChange(kind=kind, change="~", key=key, label=_label(kind, b[key]), fields=fields))
            elif any(ra[f] != rb[f] for f in PROVENANCE if f in ra):
                rechecked += 1
        for sign, keys, side in (("+", b.keys() - a.keys(), b), ("-", a.keys() - b.keys(), a)):
            for key in sorted(keys):
                r = side[key]
                fields = [FieldChange(field=f, old=None if sign == "+" else getattr(r, f),
                                      new=getattr(r, f) if sign == "+" else None, is_price=True)
                          for f in prices if getattr(r, f) is not None]
                changes.append(RowChange(kind=kind, change=sign, key=key, label=_label(kind, r), fields=fields))
        counts[kind] = KindCounts(old=len(a), new=len(b), added=len(b.keys() - a.keys()),
                                  removed=len(a.keys() - b.keys()), changed=changed, rechecked=rechecked,
                                  prices_up=up, prices_down=down, prices_added=added, prices_removed=removed)
    changes.sort(key=_sort_key)
    filters = {k: v for k, v in (("gpu", gpu), ("cloud", cloud)) if v is not None}
    if tuple(kinds) != KINDS:
        filters["kinds"] = list(kinds)
    return CatalogDiff(old_version=old.version, new_version=new.version, old_path=str(old.root),
                       new_path=str(new.root), counts=counts, changes=changes, filters=filters)
