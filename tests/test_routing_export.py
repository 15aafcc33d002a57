"""Exports to LiteLLM, Portkey and OpenRouter: golden files, weights equal to the plan's shares, and the LiteLLM
config loaded by LiteLLM itself (skipped only where the `litellm` package is not installed).
Regenerate the golden files with: UPDATE_GOLDEN=1 pytest tests/test_routing_export.py"""

import json
import os

import pytest
import yaml
from click.testing import CliRunner
from routing_helpers import routing_plan
from test_render_golden import check

from optimizer.cli import main
from optimizer.errors import LlmplanError
from optimizer.render.json_out import to_json
from optimizer.routing.export import export, litellm_model, openrouter_model
from optimizer.routing.targets import route_tables


@pytest.fixture
def plan(tmp_path):
    return routing_plan(tmp_path)


@pytest.mark.parametrize("fmt,golden", [("litellm", "route_litellm.yaml"), ("portkey", "route_portkey.json"),
                                        ("openrouter", "route_openrouter.json")])
def test_export_golden(plan, fmt, golden):
    text, _ = export(plan, fmt)
    check(golden, text)


def shares(plan):
    out = {(d.workload, d.pool): d.share for d in plan.deployments if d.share is not None}
    out.update({(a.workload, a.api_id): a.share for a in plan.api})
    out.update({(a.workload, a.api_id): 0.0 for a in plan.standby_api})
    return out


def test_litellm_weights_limits_regions_and_costs(plan):
    cfg = yaml.safe_load(export(plan, "litellm")[0])
    ml = cfg["model_list"]
    primary = [m for m in ml if m["model_name"] == "chat"]
    got = {("chat", m["model_info"]["id"].split("/", 1)[1]): m["litellm_params"]["weight"] for m in primary}
    want = {k: v for k, v in shares(plan).items() if v > 0}
    assert got == want  # the primary group's weights are exactly the plan's shares
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-5)
    pool = next(m["litellm_params"] for m in primary if m["litellm_params"]["model"].startswith("hosted_vllm/"))
    assert pool["model"] == "hosted_vllm/test/tiny-8b" and pool["api_base"].endswith(".invalid:8000/v1")
    assert (pool["rpm"], pool["tpm"], pool["region_name"]) == (480, 480 * 1500, "us")  # 8 req/s planned
    (r,) = route_tables(plan).values()
    unit = r.target(plan.deployments[0].pool).usd_per_request
    assert 1000 * pool["input_cost_per_token"] + 500 * pool["output_cost_per_token"] == pytest.approx(unit, rel=1e-5)
    oa = next(m["litellm_params"] for m in primary if m["model_info"]["id"] == "chat/openai/tiny-8b")
    assert oa["model"] == "openai/tiny-8b"
    assert (oa["rpm"], "region_name" in oa, oa["api_key"]) == (600, False, "os.environ/OPENAI_API_KEY")
    # the standby API is its own group, reached through the fallbacks in failover order
    standby = [m for m in ml if m["model_name"] != "chat"]
    assert [m["model_name"] for m in standby] == ["chat/standby-1"]
    assert standby[0]["litellm_params"]["weight"] == 0.0
    rs = cfg["router_settings"]
    assert rs["fallbacks"] == [{"chat": ["chat/standby-1"]}]
    assert rs["enable_pre_call_checks"] is True and rs["routing_strategy"] == "simple-shuffle"


def test_no_failover_plan_exports_no_fallbacks(tmp_path):
    cfg = yaml.safe_load(export(routing_plan(tmp_path, failover=None), "litellm")[0])
    assert "fallbacks" not in cfg["router_settings"]
    assert {m["model_name"] for m in cfg["model_list"]} == {"chat"}


def test_portkey_loadbalance_inside_fallback(plan):
    cfg = json.loads(export(plan, "portkey")[0])["chat"]
    assert cfg["strategy"]["mode"] == "fallback" and 429 in cfg["strategy"]["on_status_codes"]
    lb, standby = cfg["targets"]
    assert lb["strategy"]["mode"] == "loadbalance"
    w = {t.get("custom_host") or t["provider"]: t["weight"] for t in lb["targets"]}
    assert w["@openai"] == plan.api[0].share
    assert [v for k, v in w.items() if k.endswith(".invalid:8000/v1")] == [plan.deployments[0].share]
    assert standby == {"provider": "@anthropic", "override_params": {"model": "tiny-8b"}}


def test_openrouter_orders_by_share_and_warns_about_pools(plan):
    text, warnings = export(plan, "openrouter")
    prefs = json.loads(text)["chat"]
    assert prefs["model"] == "tiny-8b"
    assert prefs["provider"]["order"] == ["openai", "anthropic"] and prefs["provider"]["allow_fallbacks"] is True
    assert any("44.4% of its traffic runs on self-hosted pools" in w for w in warnings)


def test_model_name_mappings():
    from optimizer.routing.targets import Target
    t = Target(id="x", kind="api", workload="w", provider="azure", model="gpt-4o", share=1, usd_per_request=0,
               ttft_ms=1, tpot_ms=1, quality_tier=3, jurisdictions=("eu",), provider_model_id="azure/eu/gpt-4o")
    assert litellm_model(t) == "azure/gpt-4o"
    assert litellm_model(t.__class__(**{**t.__dict__, "provider": "openai", "provider_model_id": "gpt-4o"})) \
        == "openai/gpt-4o"
    assert litellm_model(t.__class__(**{**t.__dict__, "provider": "bedrock",
                                        "provider_model_id": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"})) \
        == "bedrock/eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert openrouter_model("claude-sonnet-4-5") == "anthropic/claude-sonnet-4.5"
    assert openrouter_model("gpt-4o") == "openai/gpt-4o"
    assert openrouter_model("llama-3.1-70b") == "meta-llama/llama-3.1-70b-instruct"


def test_cli_route_export_writes_atomically_and_rejects_bad_input(plan, tmp_path):
    pj = tmp_path / "plan.json"
    pj.write_text(to_json(plan))
    out = tmp_path / "litellm.yaml"
    res = CliRunner().invoke(main, ["route", "export", str(pj), "--to", "litellm", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(out.read_text())["model_list"]
    res = CliRunner().invoke(main, ["route", "export", str(pj), "--to", "openrouter"])
    assert res.exit_code == 0 and json.loads(res.stdout)["chat"]["model"] == "tiny-8b"
    assert "warning:" in res.stderr and "warning" not in res.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = CliRunner().invoke(main, ["route", "export", str(bad), "--to", "litellm"])
    assert res.exit_code == 2 and "bad.json" in res.stderr and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["route", "export", str(pj), "--to", "nginx"])
    assert res.exit_code == 2


def test_export_rejects_unknown_format(plan):
    with pytest.raises(LlmplanError, match="unknown export format"):
        export(plan, "nginx")


# --- LiteLLM's own parser ---------------------------------------------------------------------------------

def load_like_the_litellm_proxy(text: str, environ: dict):
    """What LiteLLM's proxy does with a config file: read the YAML, resolve `os.environ/` references in
    litellm_params, keep only router_settings keys that Router.__init__ accepts (the proxy warns and drops
    others; we fail instead), and build the Router from model_list + router_settings."""
    import litellm
    cfg = yaml.safe_load(text)
    unknown = set(cfg) - {"model_list", "router_settings", "litellm_settings", "general_settings",
                          "environment_variables"}
    assert not unknown, f"sections the proxy does not know: {unknown}"
    for m in cfg["model_list"]:
        for k, v in list(m["litellm_params"].items()):
            if isinstance(v, str) and v.startswith("os.environ/"):
                m["litellm_params"][k] = environ[v.removeprefix("os.environ/")]
    return cfg, litellm.Router(model_list=cfg["model_list"], **cfg.get("router_settings", {}))


def _deployments(router, name):
    if hasattr(router, "registry"):
        return list(router.registry().deployments(name))
    return [d for d in router.get_model_list() if d["model_name"] == name]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic notes about LiteLLM's own TypedDicts
def test_litellm_loads_the_export_and_its_weights_equal_the_shares(plan, monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch of the price map
    pytest.importorskip("litellm")
    text, _ = export(plan, "litellm")
    env = {"OPENAI_API_KEY": "test-key", "ANTHROPIC_API_KEY": "test-key"}
    cfg, router = load_like_the_litellm_proxy(text, env)
    deps = _deployments(router, "chat")
    assert len(deps) == 2
    want = {k[1]: v for k, v in shares(plan).items() if v > 0}
    got = {d["model_info"]["id"].removeprefix("chat/"): d["litellm_params"]["weight"] for d in deps}
    assert got == want
    pool = next(d for d in deps if d["litellm_params"]["model"].startswith("hosted_vllm/"))
    assert pool["litellm_params"]["rpm"] == 480 and pool["litellm_params"]["region_name"] == "us"
    (r,) = route_tables(plan).values()
    cin, cout = r.token_prices(r.target(plan.deployments[0].pool))
    assert pool["litellm_params"]["input_cost_per_token"] == pytest.approx(cin, rel=1e-5)
    assert pool["litellm_params"]["output_cost_per_token"] == pytest.approx(cout, rel=1e-5)
    (sb,) = _deployments(router, "chat/standby-1")
    assert sb["litellm_params"]["weight"] == 0.0 and sb["litellm_params"]["rpm"] == 6000
    fallbacks = router.settings().fallbacks if hasattr(router, "settings") else router.fallbacks
    assert list(fallbacks) == [{"chat": ["chat/standby-1"]}]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_litellm_rejects_a_broken_config_so_the_check_can_fail(plan, monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    pytest.importorskip("litellm")
    cfg = yaml.safe_load(export(plan, "litellm")[0])
    env = {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}
    broken = json.loads(json.dumps(cfg))
    del broken["model_list"][0]["litellm_params"]["model"]
    with pytest.raises(Exception):
        load_like_the_litellm_proxy(yaml.safe_dump(broken), env)
    broken = json.loads(json.dumps(cfg))
    broken["router_settings"]["no_such_setting"] = 1
    with pytest.raises(TypeError):
        load_like_the_litellm_proxy(yaml.safe_dump(broken), env)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_litellm_resolves_every_catalog_api(default_catalog, monkeypatch):
    """Every API row of the shipped catalog becomes a deployment LiteLLM can resolve to a provider."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm = pytest.importorskip("litellm")
    from optimizer.routing.export import _litellm_params
    from optimizer.routing.targets import Target, WorkloadRoutes
    r = WorkloadRoutes("w", 1.0, 1.0, 100, 100, 2000, 100, "standard", ("any",), ())
    failed = []
    for a in default_catalog.apis:
        t = Target(id=a.api_id, kind="api", workload="w", provider=a.provider, model=a.model, share=1.0,
                   usd_per_request=0.001, ttft_ms=a.ttft_ms, tpot_ms=a.tpot_ms, quality_tier=a.quality_tier,
                   jurisdictions=tuple(a.jurisdictions), rpm_limit=a.rpm, tpm_limit=a.tpm, rate_group=a.api_id,
                   provider_model_id=a.provider_model_id)
        params = _litellm_params(r, t)
        params = {k: ("https://example.invalid" if str(v).endswith("_API_BASE") else "k")
                  if str(v).startswith("os.environ/") else v for k, v in params.items()}
        try:
            litellm.Router(model_list=[{"model_name": "w", "litellm_params": params}])
        except Exception as e:  # noqa: BLE001 - collect every failure for one message
            failed.append(f"{a.api_id}: {params['model']}: {e}")
    assert not failed, failed
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
