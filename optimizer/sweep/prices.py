"""Price multipliers on catalog rows, selected by GPU, provider or API: `gpu=H100`, `provider=aws`, `api=gpt-4o`.

A multiplier m scales every price of the selected rows: an offer's on-demand, spot (and its zone maximum) and
reserved hourly prices; an API's input, cached-input, output and batch prices per million tokens. Rows selected
by several multipliers get their product. Prices quoted in the problem itself (`quotes:`, a fixed workload's
`price_per_gpu_hour_usd`) are problem fields: vary them with `--vary`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..catalog import Catalog
from ..errors import ProblemError, did_you_mean

KINDS = ("gpu", "provider", "api")
OFFER_PRICES = ("ondemand_hourly_usd", "spot_hourly_usd", "spot_hourly_usd_max", "reserved_1y_hourly_usd",
                "reserved_3y_hourly_usd")
API_PRICES = ("input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok", "batch_input_usd_per_mtok",
              "batch_output_usd_per_mtok")


@dataclass(frozen=True)
class Selector:
    """Catalog rows one multiplier applies to: `kind` gpu|provider|api and the canonical `name`."""

    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"price[{self.kind}={self.name}]"

    def offer(self, o) -> bool:
        return (self.kind == "gpu" and o.gpu == self.name) or (self.kind == "provider" and o.provider == self.name)

    def api(self, a) -> bool:
        if self.kind == "provider":
            return a.provider == self.name
        return self.kind == "api" and self.name in (a.model, a.api_id, f"{a.provider}/{a.model}", a.provider_model_id)


def parse_selector(text: str, catalog: Catalog) -> Selector:
    """'gpu=H100' -> Selector('gpu', 'H100-SXM'); names are checked against the catalog (with near misses)."""
    where = "--price-multiplier"
    kind, sep, name = text.partition("=")
    kind, name = kind.strip().lower(), name.strip()
    if not sep or kind not in KINDS or not name:
        raise ProblemError(f"cannot read selector '{text}'", where=where,
                           fix="write gpu=NAME, provider=NAME or api=NAME, then =RANGE (e.g. gpu=H100=0.8:1.2:5)")
    if kind == "gpu":
        try:
            return Selector(kind, catalog.gpu(name).name)
        except KeyError as e:
            raise ProblemError(e.args[0], where=where, fix="use a GPU from `llmplan catalog list gpus`") from None
    if kind == "provider":
        names = sorted({o.provider for o in catalog.offers} | {a.provider for a in catalog.apis})
        if name.lower() not in names:
            raise ProblemError(f"no provider '{name}' in catalog {catalog.version}.{did_you_mean(name, names)}",
                               where=where, fix=f"use one of: {', '.join(names)}")
        return Selector(kind, name.lower())
    sel = Selector(kind, name)
    if not any(sel.api(a) for a in catalog.apis):
        known = sorted({a.model for a in catalog.apis} | {a.api_id for a in catalog.apis})
        raise ProblemError(f"no API '{name}' in catalog {catalog.version}.{did_you_mean(name, known)}", where=where,
                           fix="use a model or api_id from `llmplan catalog list apis`")
    return sel


def _scaled(row, fields: tuple[str, ...], m: float):
    update = {f: getattr(row, f) * m for f in fields if getattr(row, f) is not None}
    return row.model_copy(update=update)


def apply_multipliers(catalog: Catalog, multipliers: list[tuple[Selector, float]]) -> Catalog:
    """A copy of the catalog with the selected rows' prices scaled (the catalog itself is left unchanged)."""
    active = [(s, m) for s, m in multipliers if m != 1.0]
    if not active:
        return catalog
    if any(not m > 0 for _, m in active):
        bad = next(m for _, m in active if not m > 0)
        raise ProblemError(f"price multiplier {bad:g} is not positive", where="--price-multiplier",
                           fix="give multipliers above 0 (1 = catalog price)")
    offers = []
    for o in catalog.offers:
        m = 1.0
        for s, k in active:
            if s.offer(o):
                m *= k
        offers.append(o if m == 1.0 else _scaled(o, OFFER_PRICES, m))
    apis = []
    for a in catalog.apis:
        m = 1.0
        for s, k in active:
            if s.api(a):
                m *= k
        apis.append(a if m == 1.0 else _scaled(a, API_PRICES, m))
    return dataclasses.replace(catalog, offers=tuple(offers), apis=tuple(apis))
