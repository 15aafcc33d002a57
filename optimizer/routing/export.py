"""Exports of a plan's routing to real routers: LiteLLM proxy config, Portkey gateway configs, OpenRouter
provider preferences. Pure functions of a `Plan` (through its route tables); each returns (text, warnings).

LiteLLM (`model_list` + `router_settings`, YAML):
- one model group per workload (`model_name` = the workload): a deployment per pool or API that carries its
  traffic, `weight` = the plan's share; self-hosted pools are `hosted_vllm/<HF id>` with an `api_base`
  placeholder (a reserved `.invalid` host to replace), and their unit cost as `input_cost_per_token` /
  `output_cost_per_token` (prefill/decode split, see targets.py); `rpm`/`tpm` are an API account's limits or a
  pool's planned capacity (capacity_rps x 60); `region_name` is the processing jurisdiction (with
  `enable_pre_call_checks`, a request's `allowed_model_region` keeps it there);
- standby targets (share 0: they take traffic only after a failure) are single-deployment groups
  `<workload>/standby-<n>` listed in `router_settings.fallbacks` in failover order (largest planned failover
  traffic first);
- `allowed_fails` and `cooldown_time` match the simulation's circuit breaker, so `llmplan simulate` replays what
  this config does. API keys are `os.environ/<PROVIDER>_API_KEY` references; nothing secret is written.
Portkey: per workload a config `{"strategy": {"mode": "fallback"}, "targets": [loadbalance over the primary
targets with the plan's shares as weights, then each standby target in failover order]}`; APIs are Model
Catalog providers `@<provider>` (create them with those slugs), pools are OpenAI-compatible `custom_host`s.
OpenRouter: per workload a request fragment `{"models": [...], "provider": {...}}`: OpenRouter has no weights,
so the plan's shares become an order (largest share first); `only` keeps traffic on the plan's providers and
`allow_fallbacks` follows the plan's failover policy. Self-hosted pools cannot be reached through OpenRouter:
their share is reported as a warning, as is a residency requirement OpenRouter's preferences cannot pin.
"""

from __future__ import annotations

import json
import math
import re

import yaml

from ..errors import LlmplanError
from ..result import Plan
from .targets import Target, WorkloadRoutes, route_tables

FORMATS = ("litellm", "portkey", "openrouter")
ALLOWED_FAILS = 3  # the simulation's defaults (simulate.SimOptions)
COOLDOWN_S = 30
RETRY_STATUS = [429, 500, 502, 503, 504]

# Providers whose LiteLLM deployments authenticate with an API key (the others use cloud credentials).
_KEYLESS = {"bedrock", "vertex_ai"}
# OpenRouter provider slugs for our provider names (verify against OpenRouter's provider list).
OPENROUTER_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "azure": "azure", "bedrock": "amazon-bedrock",
                        "vertex_ai": "google-vertex", "gemini": "google-ai-studio", "groq": "groq",
                        "deepinfra": "deepinfra", "fireworks_ai": "fireworks", "together_ai": "together",
                        "mistral": "mistral"}


def export(plan: Plan, fmt: str, source: str = "<plan>") -> tuple[str, list[str]]:
    if fmt not in FORMATS:
        raise LlmplanError(f"unknown export format '{fmt}'", fix=f"use one of {', '.join(FORMATS)}")
    tables = route_tables(plan, source)
    if not tables:
        raise LlmplanError("the plan routes no serving traffic: nothing to export", file=source,
                           fix="export a plan with serving workloads")
    return {"litellm": to_litellm, "portkey": to_portkey, "openrouter": to_openrouter}[fmt](plan, tables)


def slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def api_base_placeholder(t: Target) -> str:
    """A placeholder URL on the reserved .invalid TLD: it never resolves, so an unedited config fails loudly."""
    return f"http://{slug(t.id)[:60].strip('-')}.invalid:8000/v1"


def _region(t: Target) -> str | None:
    j = [x for x in t.jurisdictions if x not in ("global", "any")]
    return j[0] if len(j) == 1 else None


def _primary_and_standby(r: WorkloadRoutes) -> tuple[list[Target], list[Target]]:
    return [t for t in r.targets if not t.standby], [t for t in r.targets if t.standby]


def pool_rpm(t: Target) -> int:
    """A pool's planned capacity as requests/minute, rounded up (never below the load the plan puts on it)."""
    return int(math.ceil(60 * (t.planned_rps or 0.0) - 1e-9))


def _sig(x: float) -> float:
    return float(f"{x:.6g}")


# --- LiteLLM ----------------------------------------------------------------------------------------------

def litellm_model(t: Target) -> str:
    """LiteLLM's model string for an API target (provider prefix + the provider's model id)."""
    pmid = t.provider_model_id or t.model
    if t.provider == "azure":  # LiteLLM's price keys carry the data zone (azure/eu/gpt-4o); a deployment does not
        pmid = re.sub(r"^azure/(eu|us)/", "azure/", pmid)
    return pmid if pmid.startswith(f"{t.provider}/") else f"{t.provider}/{pmid}"


def _litellm_params(r: WorkloadRoutes, t: Target) -> dict:
    p: dict = {}
    if t.kind == "pool":
        p["model"] = f"hosted_vllm/{t.hf_id or t.model}"
        p["api_base"] = api_base_placeholder(t)
    else:
        p["model"] = litellm_model(t)
        if t.provider not in _KEYLESS:
            p["api_key"] = f"os.environ/{t.provider.upper()}_API_KEY"
        if t.provider == "azure":
            p["api_base"] = "os.environ/AZURE_API_BASE"
    p["weight"] = t.share
    if t.kind == "pool":
        rpm = pool_rpm(t)
        p["rpm"] = rpm
        p["tpm"] = rpm * r.tokens_per_request
    else:
        if t.rpm_limit:
            p["rpm"] = t.rpm_limit
        if t.tpm_limit:
            p["tpm"] = t.tpm_limit
    reg = _region(t)
    if reg:
        p["region_name"] = reg
    if t.kind == "pool":
        cin, cout = r.token_prices(t)
        p["input_cost_per_token"] = _sig(cin)
        p["output_cost_per_token"] = _sig(cout)
    return p


def litellm_config(plan: Plan, tables: dict[str, WorkloadRoutes]) -> dict:
    model_list, fallbacks = [], []
    regions = False
    for name in sorted(tables):
        r = tables[name]
        primary, standby = _primary_and_standby(r)
        for t in primary:
            params = _litellm_params(r, t)
            regions |= "region_name" in params
            model_list.append({"model_name": name, "litellm_params": params, "model_info": {"id": f"{name}/{t.id}"}})
        groups = []
        for i, t in enumerate(standby, 1):
            group = f"{name}/standby-{i}"
            params = _litellm_params(r, t)
            regions |= "region_name" in params
            model_list.append({"model_name": group, "litellm_params": params, "model_info": {"id": f"{group}/{t.id}"}})
            groups.append(group)
        if groups:
            fallbacks.append({name: groups})
    settings: dict = {"routing_strategy": "simple-shuffle", "num_retries": 2, "allowed_fails": ALLOWED_FAILS,
                      "cooldown_time": COOLDOWN_S}
    if regions:
        settings["enable_pre_call_checks"] = True
    if fallbacks:
        settings["fallbacks"] = fallbacks
    return {"model_list": model_list, "router_settings": settings}


def to_litellm(plan: Plan, tables: dict[str, WorkloadRoutes]) -> tuple[str, list[str]]:
    cfg = litellm_config(plan, tables)
    head = [f"# LiteLLM proxy config generated by llmplan from plan '{plan.problem}' "
            f"(status {plan.status}, ${plan.monthly_cost_usd:,.2f}/month, catalog {plan.catalog.get('version')}).",
            "# weight = the plan's share of each workload's traffic; rpm/tpm = API account limits or a pool's",
            "# planned capacity; standby groups take traffic only through router_settings.fallbacks.",
            "# Replace every api_base on the .invalid domain with your vLLM endpoint; API keys come from the",
            "# environment (os.environ/...)."]
    if plan.failover:
        head.append(f"# Failover promise: {plan.failover['fraction']:.0%} of every workload's peak after losing "
                    f"any one provider; check it with `llmplan simulate PLAN --fail largest@30m`.")
    warnings = []
    shared = _shared_accounts(tables)
    if shared:
        warnings.append(f"API accounts used by several workloads ({', '.join(shared)}): each deployment carries the "
                        f"account's whole RPM/TPM, so the provider, not the proxy, enforces the shared limit")
    body = yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False, width=120)
    return "\n".join(head) + "\n" + body, warnings


def _shared_accounts(tables: dict[str, WorkloadRoutes]) -> list[str]:
    users: dict[str, set] = {}
    for r in tables.values():
        for t in r.targets:
            if t.rate_group:
                users.setdefault(t.rate_group, set()).add(r.workload)
    return sorted(g for g, ws in users.items() if len(ws) > 1)


# --- Portkey ----------------------------------------------------------------------------------------------

def _portkey_target(t: Target, weight: bool) -> dict:
    if t.kind == "pool":
        d = {"provider": "openai", "custom_host": api_base_placeholder(t),
             "override_params": {"model": t.hf_id or t.model}}
    else:
        d = {"provider": f"@{t.provider}", "override_params": {"model": (t.provider_model_id or t.model)
                                                                 .removeprefix(f"{t.provider}/")}}
    if weight:
        d["weight"] = t.share
    return d


def portkey_configs(plan: Plan, tables: dict[str, WorkloadRoutes]) -> dict:
    out = {}
    for name in sorted(tables):
        primary, standby = _primary_and_standby(tables[name])
        lb = {"strategy": {"mode": "loadbalance"}, "targets": [_portkey_target(t, True) for t in primary]}
        out[name] = {"strategy": {"mode": "fallback", "on_status_codes": RETRY_STATUS},
                     "targets": [lb] + [_portkey_target(t, False) for t in standby]}
    return out


def to_portkey(plan: Plan, tables: dict[str, WorkloadRoutes]) -> tuple[str, list[str]]:
    return json.dumps(portkey_configs(plan, tables), indent=2) + "\n", []


# --- OpenRouter -------------------------------------------------------------------------------------------

def openrouter_model(model: str) -> str:
    """OpenRouter's model slug for a catalog model name (best effort by family; verify on openrouter.ai)."""
    m = re.match(r"^claude-(\w+)-(\d+)-(\d+)$", model)
    if m:
        return f"anthropic/claude-{m.group(1)}-{m.group(2)}.{m.group(3)}"
    if model.startswith(("gpt-", "o1", "o3", "o4")):
        return f"openai/{model}"
    if model.startswith("gemini-"):
        return f"google/{model}"
    if model.startswith("llama-"):
        return f"meta-llama/{model}-instruct"
    if model.startswith("mistral-"):
        return f"mistralai/{model}"
    return model


def openrouter_prefs(plan: Plan, tables: dict[str, WorkloadRoutes]) -> tuple[dict, list[str]]:
    out, warnings = {}, []
    for name in sorted(tables):
        r = tables[name]
        apis = [t for t in r.targets if t.kind == "api"]
        pooled = sum(t.share for t in r.targets if t.kind == "pool")
        if pooled > 0:
            warnings.append(f"workload '{name}': {pooled:.1%} of its traffic runs on self-hosted pools, which "
                            f"OpenRouter cannot reach; route that share with the LiteLLM or Portkey export")
        if not apis:
            warnings.append(f"workload '{name}': no API in the plan, nothing to send through OpenRouter")
            continue
        if any(j != "any" for j in r.jurisdictions):
            warnings.append(f"workload '{name}' must be processed in {list(r.jurisdictions)}: OpenRouter's provider "
                            f"preferences cannot pin a region; `only` restricts it to the plan's providers")
        models = list(dict.fromkeys(openrouter_model(t.model) for t in apis))
        provs = list(dict.fromkeys(OPENROUTER_PROVIDERS.get(t.provider, t.provider) for t in apis))
        out[name] = {"models": models,
                     "provider": {"order": provs, "only": sorted(provs), "allow_fallbacks": bool(plan.failover),
                                  "data_collection": "deny"}}
        if len(models) == 1:
            out[name] = {"model": models[0], "provider": out[name]["provider"]}
    return out, warnings


def to_openrouter(plan: Plan, tables: dict[str, WorkloadRoutes]) -> tuple[str, list[str]]:
    prefs, warnings = openrouter_prefs(plan, tables)
    return json.dumps(prefs, indent=2) + "\n", warnings
