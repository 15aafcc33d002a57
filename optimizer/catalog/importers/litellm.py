"""LiteLLM's `model_prices_and_context_window.json` -> llmplan API offers.

Prices come from LiteLLM (USD per token, converted to USD per million tokens); what LiteLLM does not carry
(the logical model name shared across providers, account-tier rate limits, typical TTFT/TPOT, a quality tier)
comes from a curated metadata table, `api_meta.csv`, keyed by LiteLLM key. Keys are imported when they are chat
models (or embedding models, for embeddings workloads) with a price and have a metadata row (keys past their
`deprecation_date` too, with that date: the planner excludes them with the reason); every other key is counted
in the summary with the reason it was skipped. Residency variants (Azure data zones `azure/eu/...`, Bedrock
geo prefixes `eu.` / `us.`) become separate offers with their jurisdictions and the uplift against the global
price of the same model at the same provider.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import CatalogError
from ..regions import jurisdiction_of
from ...loaders import load_json as read_json

MTOK = 1e6


@dataclass
class LitellmSummary:
    keys_read: int = 0
    imported: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def skip(self, reason: str, key: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, key)

    def lines(self) -> list[str]:
        out = [f"litellm: {self.keys_read} keys read, {self.imported} API offers imported"]
        for reason, n in self.skipped.most_common():
            out.append(f"  skipped {n:5d} keys: {reason} (e.g. {self.examples[reason]})")
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def scope_of(key: str) -> tuple[str, tuple[str, ...]]:
    """(scope, jurisdictions) from a LiteLLM key's residency prefix."""
    k = key.lower()
    for prefix, scope, jur in (("azure/eu/", "data-zone-eu", ("eu",)), ("azure/us/", "data-zone-us", ("us",)),
                               ("eu.", "geo-eu", ("eu",)), ("us-gov.", "us-gov", ("us-gov",)),
                               ("us.", "geo-us", ("us",)), ("apac.", "geo-apac", ("apac",)),
                               ("global.", "global", ("global",))):
        if k.startswith(prefix):
            return scope, jur
    region = re.match(r"bedrock(?:_mantle)?/([a-z]{2}(?:-gov)?-[a-z]+-\d)/", k)
    if region:  # in-region Bedrock endpoint, e.g. bedrock/us-gov-west-1/... (AWS GovCloud: jurisdiction us-gov)
        j = jurisdiction_of("aws", region.group(1))
        if j:
            return region.group(1), (j,)
    return "global", ("global",)


def _per_mtok(v) -> float | None:
    return None if v is None else round(float(v) * MTOK, 6)


def load_json(path: Path) -> dict:
    data = read_json(path, what="LiteLLM price JSON", error=CatalogError,
                     fix="pass LiteLLM's model_prices_and_context_window.json (download it again)")
    if not isinstance(data, dict):
        raise CatalogError("expected a JSON object keyed by model", file=str(path), fix="pass the LiteLLM price table")
    return data


META_COLUMNS = ("litellm_key", "provider", "model", "ttft_ms", "tpot_ms", "quality_tier")
PRICE_FIELDS = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
                "input_cost_per_token_batches", "output_cost_per_token_batches")


def index_meta(meta: list[dict], meta_file: str) -> dict[str, dict]:
    """Metadata rows by LiteLLM key; a missing column or a duplicate key is an error naming the line."""
    if meta:
        missing = [c for c in META_COLUMNS if c not in meta[0]]
        if missing:
            raise CatalogError(f"missing columns {missing}", file=meta_file,
                               fix=f"the metadata table needs {', '.join(META_COLUMNS)}")
    by_key: dict[str, dict] = {}
    for i, m in enumerate(meta):
        key = str(m.get("litellm_key") or "").strip()
        if not key:
            raise CatalogError("litellm_key is empty", file=meta_file, where=f"line {i + 2}",
                               fix="give the LiteLLM key the row describes")
        if key in by_key:
            raise CatalogError(f"duplicate litellm_key '{key}'", file=meta_file, where=f"line {i + 2}",
                               fix="keep one metadata row per LiteLLM key")
        by_key[key] = m
    return by_key


def _bad_price(e: dict) -> str | None:
    for f in PRICE_FIELDS:
        v = e.get(f)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0 or v == float("inf"):
            return f
    u = e.get("regional_endpoint_uplift_multiplier")
    if u is not None and (isinstance(u, bool) or not isinstance(u, (int, float)) or not (0 < u < float("inf"))):
        return "regional_endpoint_uplift_multiplier"
    return None


def import_litellm(path: Path, meta: list[dict], *, today: dt.date, source_label: str,
                   meta_file: str = "api_meta.csv", checked: dt.date | None = None) -> tuple[list[dict], LitellmSummary]:
    """API offer rows (dicts in the apis.csv schema) for every LiteLLM key that has a metadata row.

    A row's `checked` is the older of the price snapshot's date (`checked`, from the file's provenance) and its
    metadata row's `checked`: the date of its oldest figure. `today` decides only what is past its deprecation."""
    snapshot = checked or today
    data = load_json(path)
    by_key = index_meta(meta, meta_file)
    summary = LitellmSummary()
    rows = []
    for key in sorted(set(by_key) - set(data)):
        summary.warnings.append(f"{meta_file} describes '{key}', which is not in {Path(path).name} (renamed or "
                                f"removed upstream?): no API offer imported for it")
    for key, e in data.items():
        if key == "sample_spec":
            continue
        summary.keys_read += 1
        if not isinstance(e, dict):
            summary.skip("not a model entry (value is not an object)", key)
            continue
        if e.get("mode") not in ("chat", "embedding"):
            summary.skip(f"not a chat or embedding model (mode {e.get('mode')})", key)
            continue
        if e.get("input_cost_per_token") is None or (e.get("output_cost_per_token") is None
                                                      and e.get("mode") == "chat"):
            summary.skip("no input or output price", key)
            continue
        bad = _bad_price(e)
        if bad is not None:
            summary.skip("a price is not a non-negative number", f"{key} {bad}={e.get(bad)!r}")
            continue
        dep = e.get("deprecation_date")
        if dep:
            try:
                dep_d = dt.date.fromisoformat(str(dep)[:10])
            except ValueError:
                dep_d = None
            if dep_d and dep_d <= today and key in by_key:
                # kept, with its date: the planner excludes it and says why ("deprecated since ..."), where a
                # missing row would make a problem naming it read as a typo
                summary.warnings.append(f"{key} is past its deprecation date {dep_d}: imported so that plans can "
                                        f"say why they do not use it")
            elif dep_d and key in by_key and (dep_d - today).days <= 90:
                summary.warnings.append(f"{key} is deprecated on {dep_d} ({(dep_d - today).days} days)")
        m = by_key.get(key)
        if m is None:
            summary.skip("no metadata row in api_meta.csv (quality tier, latency, rate limits)", key)
            continue
        scope, jur = scope_of(key)
        if m.get("jurisdictions"):
            jur = tuple(j.strip() for j in str(m["jurisdictions"]).split(";") if j.strip())
        rpm = m.get("rpm") or e.get("rpm")
        tpm = m.get("tpm") or e.get("tpm")
        upstream = e.get("source", "")
        rows.append({
            "api_id": f"{m['provider']}/{m['model']}" + ("" if scope == "global" else f"@{scope}"),
            "provider": m["provider"], "model": m["model"], "provider_model_id": key, "scope": scope,
            "jurisdictions": ";".join(jur),
            "input_usd_per_mtok": _per_mtok(e["input_cost_per_token"]),
            "output_usd_per_mtok": _per_mtok(e.get("output_cost_per_token") or 0.0),
            "cached_input_usd_per_mtok": _per_mtok(e.get("cache_read_input_token_cost")),
            "batch_input_usd_per_mtok": _per_mtok(e.get("input_cost_per_token_batches")),
            "batch_output_usd_per_mtok": _per_mtok(e.get("output_cost_per_token_batches")),
            "residency_uplift": e.get("regional_endpoint_uplift_multiplier") or 1.0,
            "account_tier": m.get("account_tier"), "rpm": rpm, "tpm": tpm,
            "ttft_ms": m["ttft_ms"], "tpot_ms": m["tpot_ms"], "quality_tier": m["quality_tier"],
            "max_context": e.get("max_input_tokens"), "deprecation_date": (str(dep)[:10] if dep else None),
            "rate_limit_source": m.get("rate_limit_source"), "latency_source": m.get("latency_source"),
            "source": f"{source_label} key '{key}'" + (f" (upstream: {upstream})" if upstream else ""),
            "checked": min([snapshot] + ([dt.date.fromisoformat(str(m["checked"]).strip())] if m.get("checked")
                                         else [])).isoformat(),
        })
        summary.imported += 1
        uplift = e.get("regional_endpoint_uplift_multiplier")
        base = rows[-1]
        for region_j in [j.strip() for j in str(m.get("regional_variants") or "").split(";") if j.strip()]:
            if not uplift:
                summary.warnings.append(f"{key}: regional_variants asked but LiteLLM has no regional uplift")
                break
            v = dict(base)
            v.update({"api_id": f"{m['provider']}/{m['model']}@regional-{region_j}", "scope": f"regional-{region_j}",
                      "jurisdictions": region_j, "residency_uplift": uplift})
            for col in ("input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok",
                        "batch_input_usd_per_mtok", "batch_output_usd_per_mtok"):
                if v[col] is not None:
                    v[col] = round(v[col] * uplift, 6)
            v["source"] += f"; regional endpoint x{uplift} (regional_endpoint_uplift_multiplier)"
            rows.append(v)
            summary.imported += 1
    _uplifts(rows)
    return rows, summary


def _uplifts(rows: list[dict]) -> None:
    """Residency uplift = regional input price / global input price of the same provider and model."""
    glob = {(r["provider"], r["model"]): r for r in rows if r["scope"] == "global"}
    for r in rows:
        g = glob.get((r["provider"], r["model"]))
        if r["scope"] != "global" and not r["scope"].startswith("regional-") and g and g["input_usd_per_mtok"]:
            r["residency_uplift"] = round(r["input_usd_per_mtok"] / g["input_usd_per_mtok"], 4)
