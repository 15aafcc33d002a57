"""Every example in problems/ solves to optimal on the default catalog; line items add up; CBC agrees."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.planner import SolveOptions, plan
from optimizer.problem import load_problem

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "problems").glob("*.yaml")
                  if "\nhorizon:" not in p.read_text())  # plans over months: tests/test_horizon_examples.py
CATALOG = ROOT / "catalogs" / "2026-12-03"


def test_there_are_the_four_examples():
    names = {p.stem for p in EXAMPLES}
    assert {"seed_breakeven", "seed_chatbot_8m", "eu_only", "portfolio"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_solves_and_adds_up(path, default_catalog):
    highs = plan(load_problem(path), default_catalog, SolveOptions(solver="highs"))
    assert highs.status == "optimal"
    lines = (sum(d.monthly_cost_usd for d in highs.deployments) + sum(a.monthly_cost_usd for a in highs.api)
             + sum(f.monthly_cost_usd for f in highs.fixed))
    assert abs(lines - highs.monthly_cost_usd) <= 1.0
    by_workload = sum(w.monthly_cost_usd for w in highs.workloads) + sum(f.monthly_cost_usd for f in highs.fixed)
    assert abs(by_workload - highs.monthly_cost_usd) <= 1.0
    assert abs(sum(c.monthly_cost_usd for c in highs.categories) - highs.monthly_cost_usd) <= 1.0
    assert highs.lower_bound_usd <= highs.monthly_cost_usd + 0.01  # both rounded to cents
    cbc = plan(load_problem(path), default_catalog, SolveOptions(solver="cbc"))
    assert cbc.status == "optimal"
    assert cbc.monthly_cost_usd == pytest.approx(highs.monthly_cost_usd, abs=0.01)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_json_has_the_documented_keys(path):
    r = CliRunner().invoke(main, ["solve", str(path), "--format", "json", "--catalog", str(CATALOG)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)  # stdout is pure JSON: no banner, no warnings
    for k in ("schema_version", "status", "monthly_cost_usd", "lower_bound_usd", "gap", "solver", "deployments",
              "api", "fixed", "workloads"):
        assert k in d
    assert set(d["solver"]) >= {"name", "seconds"}
    for dep in d["deployments"]:
        assert set(dep) >= {"workload", "model", "gpu", "gpus_per_replica", "replicas", "precision", "capacity_type",
                            "cloud", "region", "hourly_usd_per_replica", "monthly_cost_usd", "capacity_rps"}
    for a in d["api"]:
        assert set(a) >= {"workload", "provider", "model", "share", "monthly_cost_usd"}
    for f in d["fixed"]:
        assert set(f) >= {"name", "monthly_cost_usd"}
    for w in d["workloads"]:
        assert set(w) >= {"name", "category", "monthly_cost_usd"}
    for v in _floats(d):
        assert type(v) in (int, float)  # plain JSON numbers


def _floats(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _floats(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _floats(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj
