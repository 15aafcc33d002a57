"""What each constraint costs, the alternatives and entry prices, on hand-solvable instances."""

import pytest
from helpers import OFFERS, api, measured, serving, write_catalog

from optimizer.catalog import load_catalog
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem

H = 730.0


def explained(tmp_path, problem, **cat):
    return plan(parse_problem(problem, "t.yaml"), load_catalog(write_catalog(tmp_path / "c", **cat)), SolveOptions(),
                explain=True)


def test_residency_and_failover_costs(tmp_path):
    # EU-only, 30 req/s at 10 per replica: 3 x cloudB ($1.50/h). Without residency: 3 x cloudA ($1/h).
    p = explained(tmp_path, {"workloads": [serving(peak=30.0, jurisdictions=["eu"])], "measured": [measured(rps=10.0)],
                             "policy": {"max_utilization": 1.0}}, apis=[], offers=[OFFERS[0], OFFERS[2]])
    costs = {c.family: c for c in p.constraint_costs}
    assert p.monthly_cost_usd == pytest.approx(3 * 1.5 * H)
    assert costs["residency"].binding and costs["residency"].monthly_cost_usd == pytest.approx(3 * 0.5 * H)
    assert not costs["latency_tier"].binding and costs["latency_tier"].monthly_cost_usd == pytest.approx(0.0)

    # failover 50% across two clouds: $5/h (2+2) against $3/h without failover (3 x cloudA)
    p = explained(tmp_path / "f", {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
                                   "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}},
                  apis=[], offers=[OFFERS[0], OFFERS[2]])
    fo = next(c for c in p.constraint_costs if c.family == "failover")
    assert fo.binding and fo.monthly_cost_usd == pytest.approx(2.0 * H) and fo.relaxed_cost_usd == pytest.approx(3 * H)


def test_rate_limit_and_spot_cap_costs(tmp_path):
    cheap = api("apix/tiny-8b", "apix", "global", 0.1, 0.2, rpm=600)  # $0.0002/request, half the peak
    p = explained(tmp_path, {"workloads": [serving(peak=20.0, req=2_000_000, apis=["tiny-8b"], spot=True)],
                             "measured": [measured(rps=10.0)],
                             "policy": {"max_utilization": 1.0, "max_spot_share": 0.0}},
                  apis=[cheap], offers=[OFFERS[0]])
    costs = {c.family: c for c in p.constraint_costs}
    # with the limit: half API ($200) + 1 on-demand instance ($730); without: all API ($400)
    assert costs["rate_limits"].monthly_cost_usd == pytest.approx(200 + 730 - 400)
    # spot cap 0: the instance is on-demand ($1/h); spot would be $0.40/h
    assert costs["spot_cap"].monthly_cost_usd == pytest.approx(0.6 * H)


def test_alternatives_side_by_side(tmp_path):
    # 1M requests, peak 10: self-hosting 1 x $1/h = $730 beats the API at $0.002 x 1M = $2,000.
    p = explained(tmp_path, {"workloads": [serving(peak=10.0, req=1_000_000, apis=["tiny-8b"])],
                             "measured": [measured(rps=10.0)], "policy": {"max_utilization": 1.0}})
    alts = {a.name.split(" (")[0]: a for a in p.alternatives}
    assert alts["all-API"].monthly_cost_usd == pytest.approx(2000.0)
    assert alts["all-API"].delta_usd == pytest.approx(2000.0 - 730.0)
    assert alts["all-self-hosted"].monthly_cost_usd == pytest.approx(730.0)
    assert alts["single-GPU-type"].monthly_cost_usd == pytest.approx(730.0)


def test_alternative_infeasible_is_explained(tmp_path):
    p = explained(tmp_path, {"workloads": [serving(peak=10.0)], "measured": [measured(rps=10.0)],
                             "policy": {"max_utilization": 1.0}})
    alt = next(a for a in p.alternatives if a.name == "all-API")
    assert alt.monthly_cost_usd is None and alt.summary.startswith("infeasible")


def test_entry_price_of_the_api(tmp_path):
    # Self-hosting costs $730 + $100 ops for 1M requests; the API ($0.002) enters below $830 / 1M = $0.00083.
    p = explained(tmp_path, {"workloads": [serving(peak=1.0, req=1_000_000, apis=["tiny-8b"])],
                             "measured": [measured(rps=10.0)],
                             "policy": {"max_utilization": 1.0, "ops_overhead_monthly_usd": 100}})
    e = next(x for x in p.entry_prices if x.kind == "api")
    assert e.current_price == pytest.approx(0.002) and e.entry_price == pytest.approx(0.00083, rel=1e-6)


def test_entry_price_of_a_pool(tmp_path):
    # 80 req/s: one 8-GPU instance ($7/h) is chosen over eight 1-GPU instances ($1/h each = $8/h);
    # the 1-GPU offer would enter below $7/8 = $0.875/h.
    p = explained(tmp_path, {"workloads": [serving(peak=80.0)], "measured": [measured(rps=10.0)],
                             "policy": {"max_utilization": 1.0}}, apis=[], offers=OFFERS[:2])
    e = next(x for x in p.entry_prices if x.kind == "pool")
    assert e.option.startswith("clouda:us-a:one") and e.entry_price == pytest.approx(0.875, rel=1e-6)


def test_commitment_is_priced_when_reserved_is_not_allowed(tmp_path):
    from helpers import offer
    offers = [offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, r1=0.60)]
    p = explained(tmp_path, {"workloads": [serving(peak=20.0)], "measured": [measured(rps=10.0)],
                             "policy": {"max_utilization": 1.0}}, apis=[], offers=offers)
    c = next(x for x in p.constraint_costs if x.family == "no_commitment")
    assert c.binding and c.monthly_cost_usd == pytest.approx(2 * 0.4 * H)
