"""Plan diff: one problem solved on two catalog versions, diffed. The demonstration the issue asks for: the price
change that moved the plan is named, with known amounts. Golden file for the text renderer; CLI `llmplan diff` and
`llmplan solve --compare-to`. Regenerate golden files with: UPDATE_GOLDEN=1 pytest tests/test_diff.py"""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import OFFERS, api, measured, serving, write_catalog, check_golden

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.explain.diff import diff_plans
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem
from optimizer.render.diff import plan_diff_to_json, plan_diff_to_text
from optimizer.render.json_out import load_plan, to_json

GOLDEN = Path(__file__).parent / "golden"
TODAY = dt.date(2026, 11, 24)
H = 730.0


check = check_golden


# The API: $0.1 / $0.2 per MTok -> 1000 in + 500 out = $0.0002 per request, far cheaper than a GPU, but its
# 600 RPM limit carries only 10 of the 30 req/s peak, so self-hosted instances (10 req/s each) carry the rest.
API = api("apix/tiny-8b", "apix", "global", 0.1, 0.2, rpm=600)
PROBLEM = {
    "name": "quarterly",
    "workloads": [serving("chat", peak=30.0, req=1_000_000, apis=["tiny-8b"]),
                  {"name": "ft", "category": "fine-tuning", "gpu": "TESTGPU", "gpu_count": 4, "hours_per_month": 40}],
    "measured": [measured("chat", rps=10.0)],
    "policy": {"ops_overhead_monthly_usd": 250, "max_utilization": 1.0, "capacity_types": ["on_demand"]},
}


def price(offers, oid, od):
    return [dict(o, ondemand_hourly_usd=od) if o["offer_id"] == oid else o for o in offers]


def solve_on(folder: Path, problem=PROBLEM):
    return plan(parse_problem(problem, "quarterly.yaml"), load_catalog(folder), SolveOptions(), today=TODAY)


@pytest.fixture
def versions(tmp_path):
    """Two catalog versions a quarter apart; the only change: clouda's one-GPU instance $1.00/h -> $2.00/h."""
    old = write_catalog(tmp_path / "catalogs" / "2026-08-24", apis=[API])
    new = write_catalog(tmp_path / "catalogs" / "2026-11-24", offers=price(OFFERS, "clouda:us-a:one", 2.00), apis=[API])
    return old, new


def test_a_price_change_moves_the_plan_and_the_diff_names_it(versions):
    old_cat, new_cat = versions
    a, b = solve_on(old_cat), solve_on(new_cat)
    # known answers: old = 2 x $1.00 x 730 + API 1/3 of 1M requests x $0.0002 + ft 4 x 40 h x $1.00 + ops $250
    api_cost = 1_000_000 / 3 * 0.0002
    assert a.monthly_cost_usd == pytest.approx(2 * 1.00 * H + api_cost + 160 + 250, abs=0.01)
    # new: clouda doubled, so both the pool and the fine-tuning block move to cloudb at $1.50/h
    assert b.monthly_cost_usd == pytest.approx(2 * 1.50 * H + api_cost + 4 * 40 * 1.50 + 250, abs=0.01)
    assert {d.cloud for d in a.deployments} == {"clouda"} and {d.cloud for d in b.deployments} == {"cloudb"}

    d = diff_plans(a, b, old_catalog=load_catalog(old_cat), new_catalog=load_catalog(new_cat))
    assert d.amount == pytest.approx(2 * 0.5 * H + 4 * 40 * 0.5, abs=0.01)  # +$810
    assert d.percent == pytest.approx(100 * d.amount / a.monthly_cost_usd)
    (chat,) = [w for w in d.workloads if w.name == "chat"]
    assert [(ln.change, ln.kind) for ln in chat.lines] == [("-", "pool"), ("+", "pool")]
    assert chat.lines[0].old_cost == pytest.approx(1460) and chat.lines[1].new_cost == pytest.approx(2190)
    assert "clouda us-a" in chat.lines[0].label and "cloudb eu-b" in chat.lines[1].label
    (ft,) = [w for w in d.workloads if w.name == "ft"]
    assert [(ln.change, ln.old_cost, ln.new_cost) for ln in ft.lines] == [("-", 160.0, 0.0), ("+", 0.0, 240.0)]
    assert d.shared == [] and d.unchanged_workloads == []  # ops overhead unchanged
    # the why: the catalog price of the offer the old plan used
    (why,) = [r for r in d.reasons if r.kind == "offer-price"]
    assert (why.key, why.old, why.new, why.evidence) == ("clouda:us-a:one|on_demand", 1.0, 2.0, "catalogs")
    assert why.percent == pytest.approx(100.0)
    text = plan_diff_to_text(d)
    assert "~ clouda us-a one on_demand: $1.0000/h -> $2.0000/h (+100.0%)  [catalogs]" in text
    assert "Amount:  +$810 ($1,937 -> $2,747)" in text and "Percent: +42%" in text
    check("plan_diff.txt", text)


def test_diff_json_carries_amount_percent_and_reasons(versions):
    old_cat, new_cat = versions
    d = diff_plans(solve_on(old_cat), solve_on(new_cat), old_catalog=load_catalog(old_cat),
                   new_catalog=load_catalog(new_cat))
    doc = json.loads(plan_diff_to_json(d))
    assert doc["schema_version"] == "1.0" and doc["amount_usd"] == pytest.approx(810.0)
    assert doc["old_catalog"] == "2026-08-24" and doc["new_catalog"] == "2026-11-24"
    assert doc["reasons"][0]["percent"] == pytest.approx(100.0)
    assert doc["fleet"] == []  # 2 + 4 TESTGPU on demand in both plans: only the cloud moved


def test_without_catalogs_only_prices_both_plans_carry_are_named(versions):
    """A line in both plans at a different price is its own evidence; a plan that moved away needs the catalogs."""
    old_cat, _ = versions
    # a quarter later the same offers are all 20% dearer: the plan keeps its lines, the price moves
    dearer = [dict(o, ondemand_hourly_usd=round(o["ondemand_hourly_usd"] * 1.2, 6)) for o in OFFERS]
    new_cat = write_catalog(old_cat.parent / "2026-11-30", offers=dearer, apis=[API])
    a, b = solve_on(old_cat), solve_on(new_cat)
    d = diff_plans(a, b)
    keys = {r.key for r in d.reasons}
    assert "clouda:us-a:one|on_demand" in keys and all(r.evidence == "plans" for r in d.reasons)
    (chat,) = [w for w in d.workloads if w.name == "chat"]
    (line,) = chat.lines
    assert line.change == "~" and "price $1.0000/h -> $1.2000/h (+20.0%)" in line.details
    assert any("catalog prices not compared" in n for n in d.notes)


def test_api_price_rise_moves_traffic_to_self_hosting(versions):
    old_cat, _ = versions
    dear = api("apix/tiny-8b", "apix", "global", 10.0, 20.0, rpm=600)  # 100x: $0.02 per request
    new_cat = write_catalog(old_cat.parent / "2026-12-01", apis=[dear])
    a, b = solve_on(old_cat), solve_on(new_cat)
    d = diff_plans(a, b, old_catalog=load_catalog(old_cat), new_catalog=load_catalog(new_cat))
    (chat,) = [w for w in d.workloads if w.name == "chat"]
    by_kind = {ln.kind: ln for ln in chat.lines}
    assert by_kind["api"].change == "-" and "was 33% of traffic" in by_kind["api"].details[0]
    assert by_kind["pool"].change == "~" and "instances 2 -> 3" in by_kind["pool"].details
    assert "share of traffic 67% -> 100%" in by_kind["pool"].details
    texts = [r.text for r in d.reasons]
    assert "API apix/tiny-8b input: $0.100 -> $10.000 per MTok (+9900.0%)" in texts
    assert "API apix/tiny-8b output: $0.200 -> $20.000 per MTok (+9900.0%)" in texts
    assert [(f.change, f.old_gpus, f.new_gpus) for f in d.fleet] == [("~", 6, 7)]  # 2 + 4 ft -> 3 + 4 ft


def test_demand_change_is_a_reason(versions):
    old_cat, _ = versions
    bigger = json.loads(json.dumps(PROBLEM))
    bigger["workloads"][0]["peak_rps"] = 40.0
    bigger["workloads"][0]["requests_per_month"] = 1_500_000
    d = diff_plans(solve_on(old_cat), solve_on(old_cat, bigger))
    (chat,) = d.workloads
    assert chat.details == ["requests per month 1,000,000 -> 1,500,000 (+50.0%)", "peak 30 req/s -> 40 req/s (+33.3%)"]
    assert {r.kind for r in d.reasons} == {"demand"} and d.unchanged_workloads == ["ft"]


def test_identical_plans_diff_to_nothing(versions):
    old_cat, _ = versions
    a = solve_on(old_cat)
    d = diff_plans(a, a, old_catalog=load_catalog(old_cat), new_catalog=load_catalog(old_cat))
    assert d.workloads == [] and d.fleet == [] and d.reasons == [] and d.amount == 0
    text = plan_diff_to_text(d)
    assert "Amount:  $0 ($1,937 -> $1,937)" in text and "Percent: 0%" in text


def _save(tmp_path, name, p) -> Path:
    f = tmp_path / name
    f.write_text(to_json(p))
    return f


def test_cli_diff_reads_the_catalogs_the_plans_record(tmp_path, versions):
    old_cat, new_cat = versions
    fa, fb = _save(tmp_path, "old.json", solve_on(old_cat)), _save(tmp_path, "new.json", solve_on(new_cat))
    r = CliRunner().invoke(main, ["diff", str(fa), str(fb)])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Plan diff: quarterly    catalog: 2026-08-24 -> 2026-11-24")
    assert "clouda us-a one on_demand: $1.0000/h -> $2.0000/h (+100.0%)  [catalogs]" in r.stdout
    r = CliRunner().invoke(main, ["diff", str(fa), str(fb), "--format", "json"])
    assert json.loads(r.stdout)["amount_usd"] == pytest.approx(810.0)
    # the old catalog is gone: the diff still works, says so on stderr, and names what the plans carry
    shutil.rmtree(old_cat)
    r = CliRunner().invoke(main, ["diff", str(fa), str(fb)])
    assert r.exit_code == 0 and "old plan's catalog" in r.stderr and "[catalogs]" not in r.stdout
    assert "catalog prices not compared" in r.stdout


def test_cli_diff_ignores_a_catalog_folder_refreshed_in_place(tmp_path, versions):
    old_cat, new_cat = versions
    fa, fb = _save(tmp_path, "old.json", solve_on(old_cat)), _save(tmp_path, "new.json", solve_on(new_cat))
    write_catalog(old_cat, offers=price(OFFERS, "clouda:us-a:one", 1.25), apis=[API])  # refreshed in place
    r = CliRunner().invoke(main, ["diff", str(fa), str(fb)])
    assert r.exit_code == 0 and "changed since the old plan was made (clouda us-a one on_demand: plan $1.0000/h, " \
                                "catalog $1.2500/h)" in r.stderr
    assert "[catalogs]" not in r.stdout
    r = CliRunner().invoke(main, ["diff", str(fa), str(fb), "--old-catalog", str(old_cat)])  # the user insists
    assert "clouda us-a one on_demand: $1.2500/h -> $2.0000/h (+60.0%)  [catalogs]" in r.stdout


def test_cli_diff_errors(tmp_path):
    r = CliRunner().invoke(main, ["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert r.exit_code == 2 and "a.json: file not found" in r.stderr and "fix:" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "1.0", "problem": 3}')
    r = CliRunner().invoke(main, ["diff", str(bad), str(bad)])
    assert r.exit_code == 2 and "bad.json" in r.stderr and "not a valid plan" in r.stderr


def test_solve_compare_to(tmp_path, versions):
    old_cat, new_cat = versions
    old = _save(tmp_path, "old.json", solve_on(old_cat))
    prob = tmp_path / "quarterly.yaml"
    prob.write_text(json.dumps(PROBLEM))  # JSON is YAML
    r = CliRunner().invoke(main, ["solve", str(prob), "--catalog", str(new_cat), "--compare-to", str(old)])
    assert r.exit_code == 0, r.output
    plan_part, diff_part = r.stdout.split("\nPlan diff: ", 1)
    assert "OVERALL TOTAL" in plan_part and "$2,746.67" in plan_part
    assert "Amount:  +$810 ($1,937 -> $2,747)" in diff_part and "[catalogs]" in diff_part
    out = tmp_path / "new.json"
    r = CliRunner().invoke(main, ["solve", str(prob), "--catalog", str(new_cat), "--compare-to", str(old),
                                  "--format", "json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    saved = load_plan(out.read_text(), "new.json")  # still a plan, usable as next quarter's --compare-to
    assert saved.extras["diff"]["amount_usd"] == pytest.approx(810.0)
    r = CliRunner().invoke(main, ["solve", str(prob), "--catalog", str(new_cat), "--compare-to",
                                  str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "missing.json: file not found" in r.stderr
