"""The shipped horizon examples: Exercise 33.5.3 and the 8M chatbot rented vs bought, through the CLI and the
planner; every plan verified."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.horizon_plan import plan_horizon
from optimizer.horizon_result import load_horizon_plan
from optimizer.problem import load_problem

from conftest import ROOT

EX = ROOT / "problems" / "seed_exercise_33_5_3.yaml"
RVB = ROOT / "problems" / "seed_chatbot_8m_rent_vs_buy.yaml"


def test_exercise_33_5_3_timeline_through_the_cli(tmp_path):
    out = tmp_path / "h.json"
    r = CliRunner().invoke(main, ["solve", str(EX), "--format", "json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    plan = load_horizon_plan(out.read_text())
    assert plan.status == "optimal" and plan.verification["violations"] == []
    assert plan.months == 6 and len(plan.timeline) == 6
    vols = [mo.requests["chat"] for mo in plan.timeline]
    assert vols[0] == pytest.approx(152083) and vols[5] == pytest.approx(152083 * 1.2 ** 5, rel=1e-6)
    assert plan.npv_usd < plan.total_usd  # discounted
    assert plan.decisions
    r = CliRunner().invoke(main, ["verify", str(out), "--problem", str(EX)])
    assert r.exit_code == 0 and "meets" in r.output
    html = CliRunner().invoke(main, ["report", str(out), "--format", "html"]).output
    assert "<svg" in html and "stacked by kind" in html
    table = CliRunner().invoke(main, ["solve", str(EX)]).output
    assert "Decision points" in table and "NPV over 6 months" in table


def test_chatbot_rent_vs_buy_over_36_months(default_catalog):
    p = load_problem(RVB)
    rent = plan_horizon(p.model_copy(update={"quotes": ()}), default_catalog)
    buy = plan_horizon(p.model_copy(update={
        "quotes": tuple(q.model_copy(update={"lead_time_months": 0}) for q in p.quotes),
        "policy": p.policy.model_copy(update={"deployment": "on_prem"})}), default_catalog)
    either = plan_horizon(p, default_catalog)
    for plan in (rent, buy, either):
        assert plan.status == "optimal" and plan.verification["violations"] == []
    assert not rent.purchases and all(f.capacity_type == "on_demand" for mo in rent.timeline for f in mo.fleet)
    assert buy.purchases and all(f.capacity_type == "owned" for mo in buy.timeline for f in mo.fleet)
    # owned servers' monthly running cost recomputed by hand: kW x PUE x 730 h x $/kWh + $/kW-month x kW
    n = sum(f.instances for f in buy.timeline[5].fleet)
    q = next(q for q in p.quotes if q.gpus_per_instance == 8)
    assert buy.timeline[5].cost_usd["owned_opex"] == pytest.approx(n * (4.2 * 1.4 * 730 * 0.12 + 150 * 4.2), abs=0.02)
    # with a 2-month lead time the best plan rents until the servers arrive, then owns: between the two
    assert buy.npv_usd <= either.npv_usd <= rent.npv_usd
    assert either.purchases[0].delivery_month == 1 + q.lead_time_months
    assert all(f.capacity_type == "on_demand" for f in either.timeline[0].fleet)
    assert json.loads(CliRunner().invoke(main, ["solve", str(RVB), "--format", "json"]).stdout)["npv_usd"] \
        == pytest.approx(either.npv_usd)


def test_unsupported_fields_over_a_horizon_are_clear_errors(tmp_path):
    """The 8M chatbot with failover over a horizon: exit 2 naming the field and the fix, never a traceback."""
    text = (ROOT / "problems" / "seed_chatbot_8m.yaml").read_text() + "horizon: {months: 3}\n"
    path = tmp_path / "p.yaml"
    path.write_text(text)
    r = CliRunner().invoke(main, ["solve", str(path)])
    assert r.exit_code == 2
    assert "failover is not planned over a horizon yet" in r.stderr and "policy.failover" in r.stderr
    r = CliRunner().invoke(main, ["solve", str(EX), "--compare-to", str(path)])
    assert r.exit_code == 2 and "--compare-to" in r.stderr


GOV = ROOT / "problems" / "seed_exercise_33_5_5.yaml"


def test_exercise_33_5_5_government_cloud_on_prem_air_gapped(default_catalog):
    """The same classified-document workload three ways. Government cloud: only rows in jurisdiction us-gov serve it
    (the catalog's Bedrock GovCloud API rows, the GovCloud quote); the API is cheapest. On premises: the API is still
    allowed, so the same plan. Air-gapped: owned servers only, dearer. Every plan verified."""
    base = load_problem(GOV)
    plans = {}
    for dep in ("cloud", "on_prem", "air_gapped"):
        p = base.model_copy(update={"policy": base.policy.model_copy(update={"deployment": dep})})
        plans[dep] = plan_horizon(p, default_catalog)
        assert plans[dep].status == "optimal" and plans[dep].verification["violations"] == [], dep
    options = {s.option for mo in plans["cloud"].timeline for s in mo.shares}
    apis = {a.api_id: a for a in default_catalog.apis}
    assert options and all(o.startswith("api:") and apis[o.removeprefix("api:")].jurisdictions == ("us-gov",)
                           for o in options), options
    assert plans["on_prem"].npv_usd == pytest.approx(plans["cloud"].npv_usd, abs=0.01)
    air = plans["air_gapped"]
    assert all(f.capacity_type == "owned" for mo in air.timeline for f in mo.fleet)
    assert all(not s.option.startswith("api:") for mo in air.timeline for s in mo.shares)
    assert air.npv_usd > plans["cloud"].npv_usd
    # without the API, the government cloud rents the GovCloud quote: no commercial-region offer may serve us-gov
    w = base.workloads[0].model_copy(update={"apis": ()})
    rent = plan_horizon(base.model_copy(update={"workloads": (w,), "quotes": base.rented_quotes}), default_catalog)
    assert rent.verification["violations"] == []
    assert {f.region for mo in rent.timeline for f in mo.fleet} == {"us-gov-west-1"}
    assert rent.npv_usd > air.npv_usd


def test_us_gov_rows_serve_only_us_gov_workloads(default_catalog):
    """The catalog's GovCloud API rows are in jurisdiction us-gov: a workload in `us` does not get them, and a
    workload in `us-gov` gets nothing else (a commercial US region is not GovCloud)."""
    from optimizer.candidates import build_candidates
    from optimizer.catalog.importers.litellm import scope_of
    from optimizer.problem import Problem
    assert scope_of("bedrock/us-gov-west-1/anthropic.claude-haiku-4-5-20251001-v1:0") == ("us-gov-west-1", ("us-gov",))
    assert scope_of("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0") == ("us-gov", ("us-gov",))
    gov = [a.api_id for a in default_catalog.apis if "us-gov" in a.jurisdictions]
    assert sorted(gov) == ["bedrock/claude-haiku-4-5@us-gov-west-1", "bedrock/claude-sonnet-4-5@us-gov"]

    def options(jur):
        p = Problem.model_validate({"name": "g", "workloads": [{
            "name": "d", "models": ["llama-3.1-8b"], "apis": ["claude-haiku-4-5", "claude-sonnet-4-5"],
            "requests_per_month": 1e6, "peak_to_average": 2, "input_tokens": 800, "output_tokens": 200,
            "latency_tier": "batch",
            "jurisdictions": [jur]}]})
        c = build_candidates(p, default_catalog)
        return {a.api.api_id for a in c.apis}, {pool.offer.jurisdiction for pool in c.pools}
    apis, pools = options("us-gov")
    assert apis == set(gov) and pools == set()
    apis, pools = options("us")
    assert not apis & set(gov) and pools == {"us"}
    # 'any' does not include GovCloud (it takes an account only vetted US persons hold): it must be named
    apis, _ = options("any")
    assert apis and not apis & set(gov)
    from optimizer.problem import jurisdictions_allow
    assert jurisdictions_allow(("any", "us-gov"), ("us-gov",)) and not jurisdictions_allow(("any",), ("us-gov",))
    assert jurisdictions_allow(("any",), ("global",)) and jurisdictions_allow(("any",), ("eu",))


def test_explain_prices_the_deployment_over_a_horizon(tmp_path, default_catalog):
    """`solve --explain` on the air-gapped Exercise 33.5.5: the deployment costs the air-gapped NPV minus the
    government cloud's."""
    text = GOV.read_text().replace("  deployment: cloud", "  deployment: air_gapped")
    path = tmp_path / "air.yaml"
    path.write_text(text)
    r = CliRunner().invoke(main, ["solve", str(path), "--explain", "--format", "json"])
    assert r.exit_code == 0, r.output
    plan = load_horizon_plan(r.stdout)
    (c,) = plan.constraint_costs
    cloud = plan_horizon(load_problem(GOV), default_catalog)
    assert c.field == "policy.deployment" and c.npv_without_usd == pytest.approx(cloud.npv_usd, abs=0.01)
    assert c.costs_npv_usd == pytest.approx(plan.npv_usd - cloud.npv_usd, abs=0.01)
    table = CliRunner().invoke(main, ["solve", str(path), "--explain"]).stdout
    assert f"policy.deployment (air_gapped): costs ${c.costs_npv_usd:,.2f} of NPV" in table
