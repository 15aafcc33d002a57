"""Hour-by-hour planning: autoscaling pools with billed warm-ups and API overflow. Known answers (both solvers),
brute force per hour on random profiles, LP <= MILP, and that problems without autoscale keep their plans."""

import math

import numpy as np
import pytest
from helpers import api, measured, offer, serving, solve_problem, write_catalog

from optimizer.catalog import load_catalog
from optimizer.errors import ProblemError
from optimizer.model.formulation import build_model
from optimizer.model.hourly import DAYS_PER_MONTH
from optimizer.model.solve import solve
from optimizer.pipeline import solve_problem as pipeline_solve
from optimizer.planner import plan
from optimizer.problem import parse_problem

D = DAYS_PER_MONTH  # 730 / 24
# 20 quiet hours at 0.8 of the average, 4 busy hours at 2.0 (mean 1); the peak is the busy hours' rate
PROFILE = [0.8] * 10 + [2.0] * 4 + [0.8] * 10
AVG = 15.0  # req/s: quiet hours 12 req/s, busy hours 30 req/s
VOLUME = AVG * 730 * 3600  # 39,420,000 requests/month
CHEAP_API = api("apix/tiny-8b", "apix", "global", 0.05, 0.1)  # 1000 in + 500 out -> $0.0001 per request


def overflow_problem(provider_offer, warmup=0.0, autoscale=True):
    w = serving(peak=2.0 * AVG, req=VOLUME, apis=["tiny-8b"], daily_profile=PROFILE)
    return {"workloads": [w], "measured": [measured(rps=10.0)],
            "policy": {"max_utilization": 1.0, "autoscale": autoscale, "autoscale_warmup_min": warmup}}


ONE = offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00)  # clouda: not in the billing table (per hour)
AWS = offer("aws:us-east-1:one", "aws", "us-east-1", "us", 1, 1.00)  # per second, 60 s minimum


def test_self_host_the_base_send_the_peaks_to_the_api(tmp_path, solver):
    # Quiet hours: 12 req/s = one instance (10 req/s) + 2 req/s overflow to the API: 2 x 3600 x $0.0001 = $0.72
    # an hour against $1 for a second instance. Busy hours: 30 req/s = 3 instances (the API for 10 req/s would
    # cost $3.60 an hour). Month: pools D x (20 x 1 + 4 x 3) x $1 = $973.33; API 2 req/s x 3600 s x 20 h x D x
    # $0.0001 = $438.00. Total $1,411.33, against $2,190 always on (3 instances x 730 h).
    p = solve_problem(tmp_path, overflow_problem(ONE), solver, offers=[ONE], apis=[CHEAP_API])
    assert p.status == "optimal"
    assert p.monthly_cost_usd == pytest.approx(D * 32 + 438.0, abs=0.01)
    hourly = p.extras["hourly"]
    (pool,) = hourly["pools"].values()
    assert pool["instances_by_hour"] == [1] * 10 + [3] * 4 + [1] * 10
    api_share = hourly["workloads"]["w"]["api_share_by_hour"]["apix/tiny-8b"]
    assert api_share == pytest.approx([2 / 12] * 10 + [0.0] * 4 + [2 / 12] * 10, abs=1e-6)
    (a,) = p.api
    assert a.requests_per_month == pytest.approx(2 * 3600 * 20 * D, rel=1e-6)
    (d,) = p.deployments
    assert d.instances == 3 and d.monthly_cost_usd == pytest.approx(D * 32, abs=0.01)
    always_on = solve_problem(tmp_path / "b", overflow_problem(ONE, autoscale=False), solver, offers=[ONE],
                              apis=[CHEAP_API])
    assert always_on.monthly_cost_usd == pytest.approx(3 * 730.0) and "hourly" not in always_on.extras


@pytest.mark.parametrize("off,warm_h", [(AWS, 10 / 60), (ONE, 1.0)])
def test_warmup_is_billed_at_the_providers_granularity(tmp_path, off, warm_h):
    # Two instances start every day at the busy hours: each pays 10 min of warm-up per second (aws) or a whole
    # started hour (a provider without a published increment)
    p = solve_problem(tmp_path, overflow_problem(off, warmup=10.0), offers=[off], apis=[CHEAP_API])
    (pool,) = p.extras["hourly"]["pools"].values()
    assert pool["instances_by_hour"] == [1] * 10 + [3] * 4 + [1] * 10
    assert pool["warmup_billed_hours"] == pytest.approx(warm_h, abs=1e-6)
    assert p.monthly_cost_usd == pytest.approx(D * (32 + 2 * warm_h) + 438.0, abs=0.01)


def test_lp_relaxation_is_below_the_milp(tmp_path):
    cat = load_catalog(write_catalog(tmp_path / "cat", offers=[ONE], apis=[CHEAP_API]))
    prob = parse_problem(overflow_problem(ONE), "t.yaml")
    cands, model, res = pipeline_solve(prob, cat)
    lp = solve(build_model(prob, cands, integer=False).prob, "highs")
    # LP: 1.2 instances in the quiet hours ($1.20 an hour, under the MILP's $1 + $0.72 of API), 3 in the busy ones
    assert lp.objective == pytest.approx(D * (20 * 1.2 + 4 * 3)) and lp.objective < res.objective


def _brute(levels, cap, price, api_usd, peak, volume, minimum=1):
    """Per hour (no warm-up): n instances take min(rate, n cap); the API the rest. A pool in use runs >= minimum
    instances every hour; or no pool at all."""
    rates = [peak * lv / max(levels) for lv in levels]
    def api_cost(t, served):  # requests of hour t not served by the pool, priced per request
        share = (rates[t] - served) / rates[t] if rates[t] > 0 else 0.0
        return share * volume * levels[t] / 24 * api_usd
    all_api = sum(api_cost(t, 0.0) for t in range(24))
    with_pool = 0.0
    for t in range(24):
        with_pool += min(D * price * n + api_cost(t, min(rates[t], n * cap))
                         for n in range(minimum, math.ceil(rates[t] / cap) + 1))
    return min(all_api, with_pool)


@pytest.mark.parametrize("seed", range(6))
def test_random_profiles_match_brute_force(tmp_path, seed):
    rng = np.random.default_rng(seed)
    lv = rng.uniform(0.1, 2.0, 24)
    lv = [float(v) for v in np.round(lv / lv.mean(), 4)]
    lv[0] = round(24 - sum(lv[1:]), 4)
    avg = float(rng.uniform(2, 20))
    peak = avg * max(lv) / (sum(lv) / 24)
    volume = avg * 730 * 3600
    cap = float(round(rng.uniform(2, 8), 2))
    inp = float(round(rng.uniform(0.02, 0.5), 3))
    a = api("apix/tiny-8b", "apix", "global", inp, 2 * inp)
    w = serving(peak=peak, req=volume, apis=["tiny-8b"], daily_profile=lv)
    p = {"workloads": [w], "measured": [measured(rps=cap)],
         "policy": {"max_utilization": 1.0, "autoscale": True, "autoscale_warmup_min": 0}}
    got = solve_problem(tmp_path, p, offers=[ONE], apis=[a])
    usd = (1000 * inp + 500 * 2 * inp) / 1e6
    assert got.monthly_cost_usd == pytest.approx(_brute(lv, cap, 1.0, usd, peak, volume), abs=0.05)


def test_without_autoscale_plans_are_unchanged(tmp_path):
    # a daily profile alone changes nothing: the pool is sized for the peak all month, as before
    base = serving(peak=30.0, req=1_000_000)
    p1 = solve_problem(tmp_path / "a", {"workloads": [base], "measured": [measured(rps=10.0)],
                                        "policy": {"max_utilization": 1.0}}, apis=[])
    prof = dict(base, daily_profile=PROFILE, peak_rps=30.0)
    p2 = solve_problem(tmp_path / "b", {"workloads": [prof], "measured": [measured(rps=10.0)],
                                        "policy": {"max_utilization": 1.0}}, apis=[])
    assert p1.monthly_cost_usd == p2.monthly_cost_usd == pytest.approx(3 * 730.0)
    assert "hourly" not in p2.extras


def test_profile_validation():
    w = serving(peak=30.0, req=1_000_000, daily_profile=[1.0] * 23)
    with pytest.raises(ProblemError, match="24 hourly levels"):
        parse_problem({"workloads": [w]}, "t.yaml")
    w = serving(peak=30.0, req=1_000_000, daily_profile=[2.0] * 24)
    with pytest.raises(ProblemError, match="average 2.0000"):
        parse_problem({"workloads": [w]}, "t.yaml")
    w = serving(peak=20.0, req=VOLUME, daily_profile=PROFILE)  # peak below the busy hours' 30 req/s
    with pytest.raises(ProblemError, match="busiest hour"):
        parse_problem({"workloads": [w]}, "t.yaml")


def test_min_and_max_instances(tmp_path):
    # a quota of 2 instances per pool: busy hours send 10 req/s to the API; minimum 2: quiet hours run 2
    p = overflow_problem(ONE)
    p["policy"]["autoscale_max_instances"] = 2
    got = solve_problem(tmp_path / "a", p, offers=[ONE], apis=[CHEAP_API])
    (pool,) = got.extras["hourly"]["pools"].values()
    assert max(pool["instances_by_hour"]) == 2
    p = overflow_problem(ONE)
    p["policy"]["autoscale_min_instances"] = 2
    got = solve_problem(tmp_path / "b", p, offers=[ONE], apis=[CHEAP_API])
    (pool,) = got.extras["hourly"]["pools"].values()
    assert pool["instances_by_hour"] == [2] * 10 + [3] * 4 + [2] * 10


def test_portfolio_chat_daily_autoscaling_beats_always_on(default_catalog):
    from pathlib import Path

    from optimizer.problem import load_problem
    from optimizer.render.html import to_html
    from optimizer.render.table import to_table
    prob = load_problem(Path(__file__).resolve().parents[1] / "problems" / "portfolio_daily.yaml")
    scaled = plan(prob, default_catalog)
    always = plan(prob.model_copy(update={"policy": prob.policy.model_copy(update={"autoscale": False})}),
                  default_catalog)
    assert scaled.status == always.status == "optimal"
    assert scaled.monthly_cost_usd < always.monthly_cost_usd - 100
    pools = scaled.extras["hourly"]["pools"].values()
    # it scales with the day: fewer instances at night than at midday
    assert any(p["instances_by_hour"][3] < p["instances_by_hour"][12] for p in pools)
    # recomputed: each pool's cost is its instance-hours x its hourly price
    for d in scaled.deployments:
        assert d.monthly_cost_usd == pytest.approx(d.instances * d.hours_per_month * d.hourly_usd_per_instance,
                                                   abs=0.05)
    assert "Instances running by hour of day" in to_html(scaled) and "Hour by hour" in to_table(scaled)
