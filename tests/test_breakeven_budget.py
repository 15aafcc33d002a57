"""Breakeven (the seed's formula and the capacity-aware one) and the budget, against the seed's inputs."""

import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import api, measured, offer, serving, write_catalog

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.explain.breakeven import naive_breakeven
from optimizer.explain.budget import seed_compute_budget
from optimizer.planner import plan
from optimizer.problem import load_problem, parse_problem
from optimizer.units import SECONDS_PER_MONTH

ROOT = Path(__file__).resolve().parents[1]
CAT = str(ROOT / "catalogs" / "2026-12-03")


def test_seed_formula_reproduced_from_its_inputs():
    n = naive_breakeven(0.15, 0.60, 800, 300, 1.60, 1, 1800, 500)
    assert n.api_cost_per_request == pytest.approx(0.00030)
    assert n.breakeven_monthly_requests == 5_560_000  # the chapter prints 5,266,666, which does not follow
    assert n.breakeven_requests_per_day == pytest.approx(185_333.33, abs=0.01)


def test_seed_exercise_33_5_2_is_about_31_per_minute():
    n = naive_breakeven(2.50, 10.00, 500, 200, 3.00, 2, 1500, 0)  # $6/hour for the pair
    assert n.api_cost_per_request == pytest.approx(0.00325)
    assert n.breakeven_requests_per_minute == pytest.approx(30.77, abs=0.01)


def test_breakeven_cli_on_the_seed_scenario():
    r = CliRunner().invoke(main, ["breakeven", str(ROOT / "problems" / "seed_breakeven.yaml"), "--catalog", CAT])
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "naive (seed formula): breakeven at 5,560,000 requests/month" in out
    assert "capacity-aware: never" in out
    assert "$0.000889 per request, not below the API's $0.000300" in out  # 1.60 / 1,800 requests
    assert "serves at most 1,314,000 requests/month" in out  # 1,800/h x 730 h
    assert "chapter 33.5.2 prints 5,266,666: does not follow from the inputs" in out
    assert "self-hosted cost per request at this workload's volume: $0.00334" in out  # the chapter's 500K figure


def test_exercise_crossovers_are_the_steps():
    p = plan(load_problem(ROOT / "problems" / "seed_exercise_33_5_2.yaml"), load_catalog(CAT))
    (b,) = p.breakeven
    per_min = [(round(c.requests_per_minute, 1), c.cheaper_above) for c in b.crossovers]
    # self-hosting wins from 30.8/min until one instance (50/min) is full; a second $6/h instance is dearer
    # than the API until 61.5/min ($12/h / $0.00325 / 60)
    assert per_min == [(30.8, "self-hosted"), (50.0, "api"), (61.5, "self-hosted")]
    assert b.naive.breakeven_requests_per_minute == pytest.approx(30.77, abs=0.01)


@pytest.mark.parametrize("seed", range(6))
def test_crossovers_match_dense_sampling(tmp_path, seed):
    """Sign changes of C_api - C_self on a fine grid happen only next to reported crossovers."""
    rng = random.Random(seed)
    offers = [offer(f"p{i}:r:x{k}", f"p{i}", "r", "us", k, round(rng.uniform(0.5, 4) * k, 2))
              for i, k in enumerate(rng.sample([1, 2, 4, 8], 2))]
    a = api("apix/tiny-8b", "apix", "global", round(rng.uniform(0.1, 3), 2), round(rng.uniform(0.3, 8), 2))
    prob = parse_problem({"workloads": [serving(peak=None, peak_to_average=rng.choice([1.0, 2.0]),
                                                req=rng.choice([1e6, 5e6]), apis=["tiny-8b"])],
                          "measured": [measured(rps=rng.uniform(0.2, 3))],
                          "policy": {"ops_overhead_monthly_usd": rng.choice([0, 500]), "max_utilization": 1.0}}, "x")
    p = plan(prob, load_catalog(write_catalog(tmp_path / "c", offers=offers, apis=[a])))
    (b,) = p.breakeven
    pi, ops, r = b.api_usd_per_request, b.ops_overhead_monthly_usd, b.peak_to_average
    caps = [(o["ondemand_hourly_usd"] * 730, prob.measured[0].rps * o["gpus_per_instance"]) for o in offers]

    def diff(v):
        c_self = ops + min(math.ceil(v * r / (SECONDS_PER_MONTH * k) - 1e-12) * m for m, k in caps)
        return v * pi - c_self

    xs = [b.volume_examined_max * i / 4000 for i in range(1, 4001)]
    changes = [(x0, x1) for x0, x1 in zip(xs, xs[1:]) if (diff(x0) > 1e-6) != (diff(x1) > 1e-6)]
    marks = [c.requests_per_month for c in b.crossovers]
    for x0, x1 in changes:
        assert any(x0 - 1 <= m <= x1 + 1 for m in marks), (x0, x1, marks)
    assert len(marks) <= len(changes) + 1


def test_seed_compute_budget_reproduced():
    rows = [("Inference (prod)", "L40S", 2, 730, 1.60), ("Fine-tuning", "A100", 4, 40, 2.75),
            ("Embeddings", "A10G", 1, 730, 0.95), ("Experimentation", "A100", 2, 80, 2.75)]
    b = seed_compute_budget(rows)
    assert b["total_monthly"] == 3910  # round(3909.5); the chapter prints $3,895
    assert b["workloads"]["Inference (prod)"] == {"monthly_cost": 2336, "pct_of_total": 59.8, "gpu_spec": "2x L40S"}
    assert b["workloads"]["Embeddings"]["pct_of_total"] == 17.7  # the chapter prints 17.8
    assert b["workloads"]["Fine-tuning"]["monthly_cost"] == 440


def test_budget_cli_on_the_seed_workloads():
    r = CliRunner().invoke(main, ["budget", str(ROOT / "problems" / "seed_budget.yaml"), "--catalog", CAT])
    assert r.exit_code == 0, r.output
    assert "Total monthly compute: $3,909.50" in r.stdout
    assert "$2,336.00/mo  ( 59.8%)" in r.stdout and "$693.50/mo  ( 17.7%)" in r.stdout
    assert "chapter 33.5.3 prints monthly cost usd 3,895.00: does not follow from the inputs" in r.stdout


def test_every_plan_carries_its_budget_breakdown(default_catalog):
    p = plan(load_problem(ROOT / "problems" / "portfolio.yaml"), default_catalog)
    assert abs(sum(c.monthly_cost_usd for c in p.categories) - p.monthly_cost_usd) <= 0.05
    assert abs(sum(c.percent for c in p.categories) - 100) <= 0.3


def test_breakeven_unknown_workload_suggests():
    r = CliRunner().invoke(main, ["breakeven", str(ROOT / "problems" / "seed_breakeven.yaml"), "--workload", "chta",
                                  "--catalog", CAT])
    assert r.exit_code == 2 and "Did you mean: chat" in r.stderr
