"""Nothing the user wrote is dropped silently (issue 9): each case with its known answer."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import APIS, MODEL, OFFERS, api, measured, offer, serving, solve_problem

from optimizer.errors import InfeasibleError, ProblemError
from optimizer.render.html import to_html
from optimizer.render.markdown import to_markdown
from optimizer.render.table import to_table


def test_an_api_too_slow_for_the_tier_is_listed_with_its_number(tmp_path):
    slow = api("apix/tiny-8b", "apix", "global", 0.1, 0.1, ttft=770)
    p = {"workloads": [serving(peak=1.0, apis=["tiny-8b"], latency_tier="interactive")],
         "measured": [measured(rps=10.0)]}
    plan = solve_problem(tmp_path, p, apis=[slow])
    (c,) = [c for c in plan.considered if c.kind == "api"]
    assert (c.name, c.status) == ("apix/tiny-8b", "excluded")
    assert c.reason == "latency_tier: typical TTFT 770 ms > interactive target 500 ms"
    for text in (to_table(plan), to_markdown(plan), to_html(plan)):
        assert "typical TTFT 770 ms &gt; interactive target 500 ms" in text or \
            "typical TTFT 770 ms > interactive target 500 ms" in text


def test_a_model_that_fits_nowhere_is_listed_as_excluded_with_the_filter(tmp_path):
    huge = {**MODEL, "name": "huge-400b", "hf_id": "test/huge", "aliases": "", "params_b": 405, "active_params_b": 405,
            "layers": 126, "hidden_size": 16384, "intermediate_size": 53248, "attention_heads": 128}
    p = {"workloads": [serving(peak=1.0, models=["tiny-8b", "huge-400b"])], "measured": [measured(rps=10.0)]}
    plan = solve_problem(tmp_path, p, apis=[], models=[MODEL, huge])
    by = {c.name: c for c in plan.considered if c.kind == "model"}
    assert by["tiny-8b"].status == "used"
    assert by["huge-400b"].status == "excluded" and by["huge-400b"].reason.startswith("vram_fit")


@pytest.mark.parametrize("field,value,message", [
    ("jurisdictions", ["germany"], "'germany' is a country name: its jurisdiction is 'eu'"),
    ("jurisdictions", ["de"], "'de' is an EU member state: its jurisdiction is 'eu'"),
])
def test_unknown_jurisdiction_names_are_bad_input(tmp_path, field, value, message):
    p = {"workloads": [serving(peak=1.0, **{field: value})], "measured": [measured()]}
    with pytest.raises(ProblemError) as e:
        solve_problem(tmp_path, p)
    assert message in str(e.value) and "jurisdictions[0]" in str(e.value)


def test_unknown_provider_gets_did_you_mean_and_a_known_one_is_honoured(tmp_path):
    p = {"workloads": [serving(peak=1.0)], "measured": [measured()], "policy": {"exclude_providers": ["clouda_"]}}
    with pytest.raises(ProblemError, match="unknown provider 'clouda_'. Did you mean: clouda"):
        solve_problem(tmp_path, p)
    p["policy"]["exclude_providers"] = ["clouda"]
    plan = solve_problem(tmp_path, p, apis=[])
    assert {d.cloud for d in plan.deployments} == {"cloudb"}


def test_a_quantised_spelling_is_honoured_or_rejected(tmp_path):
    p = {"workloads": [serving(peak=1.0, models=["tiny-8b-awq"], precisions=["fp16", "fp8"])]}
    with pytest.raises(ProblemError, match="(?s)quantised as AWQ \\(int4\\).*add int4"):
        solve_problem(tmp_path, p, apis=[])
    p["workloads"][0]["precisions"] = ["fp16", "int4"]
    plan = solve_problem(tmp_path, p, apis=[])
    assert {d.precision for d in plan.deployments} == {"int4"}


def test_a_deprecated_api_is_excluded_after_its_date_and_warned_before(tmp_path):
    today = dt.date.today()
    old = {**api("apix/tiny-8b", "apix", "global", 0.1, 0.1), "deprecation_date": str(today - dt.timedelta(days=1))}
    p = {"workloads": [serving(peak=1.0, req=1000, models=[], apis=["tiny-8b"])]}
    with pytest.raises(InfeasibleError, match="deprecated removed 1"):
        solve_problem(tmp_path, p, apis=[old])
    soon = {**old, "deprecation_date": str(today + dt.timedelta(days=30))}
    plan = solve_problem(tmp_path, p, apis=[soon])
    assert any("deprecated on" in w and "apix/tiny-8b" in w for w in plan.warnings)


def test_failover_routes_and_standby_are_shown_in_every_report(tmp_path):
    apis = [api("apix/tiny-8b", "apix", "global", 5.0, 5.0)]
    p = {"workloads": [serving(peak=10.0, apis=["tiny-8b"])], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}
    plan = solve_problem(tmp_path, p, apis=apis, offers=[OFFERS[0]])
    assert plan.standby_api and plan.failover_routes
    for text in (to_table(plan), to_markdown(plan), to_html(plan)):
        assert "apix/tiny-8b" in text and "clouda" in text and "5" in text
        assert ("without clouda" in text) or ("Lost provider" in text)


def test_a_shared_pool_is_split_in_the_budget_view(tmp_path):
    from optimizer.explain.budget import plan_budget
    p = {"workloads": [serving("a", peak=12.0), serving("b", peak=4.0)],
         "measured": [measured("a", 10.0), measured("b", 10.0)], "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, apis=APIS[:0], offers=[offer("clouda:us-a:two", "clouda", "us-a", "us", 2,
                                                                   2.0)])
    rows, total = plan_budget(plan)
    specs = {r.name: r.spec for r in rows}
    assert specs == {"a": "1.5 of 2x TESTGPU (shared pool)", "b": "0.5 of 2x TESTGPU (shared pool)"}
    assert sum(r.monthly_cost_usd for r in rows) == pytest.approx(total) == pytest.approx(2 * 730)
