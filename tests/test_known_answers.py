"""Hand-solvable planning instances: the objective and the binding constraint, under HiGHS and CBC."""

import pytest
from helpers import OFFERS, api, measured, offer, serving, solve_problem

from optimizer.errors import InfeasibleError

H = 730.0


def lines(plan):
    return {(d.workload, d.pool.split("|")[0], d.capacity_type): d for d in plan.deployments}


def test_capacity_binds_three_single_gpu_instances(tmp_path, solver):
    # 30 req/s at peak, 10 req/s per replica: three 1-GPU instances at $1/h beat one 8-GPU instance at $7/h.
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
         "policy": {"ops_overhead_monthly_usd": 100, "max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver, apis=[])
    assert plan.status == "optimal"
    assert plan.monthly_cost_usd == pytest.approx(3 * 1.00 * H + 100)
    (d,) = plan.deployments
    assert (d.instance_type, d.instances, d.replicas) == ("one", 3, 3)
    assert d.load_rps == pytest.approx(30.0) and d.capacity_rps == pytest.approx(30.0)  # capacity binds
    assert [f.name for f in plan.fixed] == ["ops overhead (self-hosting)"]


def test_eight_gpu_instance_wins_when_it_is_cheaper_per_replica(tmp_path, solver):
    # 80 req/s: eight 1-GPU instances cost $8/h, one 8-GPU instance $7/h.
    p = {"workloads": [serving(peak=80.0)], "measured": [measured(rps=10.0)], "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver, apis=[])
    (d,) = plan.deployments
    assert (d.instance_type, d.instances, d.replicas, d.gpus_per_replica) == ("eight", 1, 8, 1)
    assert plan.monthly_cost_usd == pytest.approx(7.0 * H)


@pytest.mark.parametrize("req,expect_api", [(100_000, True), (1_000_000, False)])
def test_api_versus_self_hosting(tmp_path, solver, req, expect_api):
    # API: $0.002/request. Self-hosting: one $1/h instance ($730) + $100 ops = $830 covers the tiny peak.
    # 100k requests: API $200 < $830. 1M requests: API $2,000 > $830.
    p = {"workloads": [serving(peak=1.0, req=req, apis=["tiny-8b"])], "measured": [measured(rps=10.0)],
         "policy": {"ops_overhead_monthly_usd": 100, "max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver)
    if expect_api:
        assert plan.deployments == [] and plan.api[0].share == pytest.approx(1.0)
        assert plan.monthly_cost_usd == pytest.approx(req * 0.002)
    else:
        assert plan.api == [] and plan.monthly_cost_usd == pytest.approx(830.0)


def test_rate_limit_binds_and_splits_traffic(tmp_path, solver):
    # The API costs $0.0002/request (cheap) but allows 600 RPM; peak 20 req/s = 1,200 RPM, so it takes exactly
    # half; the other 10 req/s need one replica.
    cheap = api("apix/tiny-8b", "apix", "global", 0.1, 0.2, rpm=600)
    p = {"workloads": [serving(peak=20.0, req=2_000_000, apis=["tiny-8b"])], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver, apis=[cheap])
    (a,) = plan.api
    assert a.share == pytest.approx(0.5, abs=1e-6) and a.peak_rpm == pytest.approx(600.0)
    assert plan.monthly_cost_usd == pytest.approx(0.5 * 2_000_000 * 0.0002 + 1.0 * H)


def test_residency_forces_eu_offer(tmp_path, solver):
    p = {"workloads": [serving(peak=10.0, jurisdictions=["eu"], apis=["tiny-8b"])], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver)
    (d,) = plan.deployments
    assert (d.cloud, d.jurisdiction) == ("cloudb", "eu") and plan.api == []  # the global API is excluded
    assert plan.monthly_cost_usd == pytest.approx(1.5 * H)
    assert plan.candidates["excluded"]["w"]["residency"] >= 2


def test_spot_cap_binds(tmp_path, solver):
    # 4 replicas needed; spot $0.40 vs on-demand $1.00; at most half the GPU-hours on spot.
    p = {"workloads": [serving(peak=40.0, spot=True)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "max_spot_share": 0.5}}
    plan = solve_problem(tmp_path, p, solver, apis=[], offers=[o for o in OFFERS if o["gpus_per_instance"] == 1
                                                                 and o["provider"] == "clouda"])
    got = {d.capacity_type: d.instances for d in plan.deployments}
    assert got == {"spot": 2, "on_demand": 2}
    assert plan.monthly_cost_usd == pytest.approx(H * (2 * 0.40 + 2 * 1.00))


def test_spot_not_allowed_uses_on_demand(tmp_path, solver):
    p = {"workloads": [serving(peak=40.0, spot=False)], "measured": [measured(rps=10.0)], "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver, apis=[], offers=[OFFERS[0]])
    assert {d.capacity_type for d in plan.deployments} == {"on_demand"}
    assert plan.candidates["excluded"]["w"]["spot_allowed"] >= 1


def test_reserved_is_cheaper_when_available(tmp_path, solver):
    offers = [offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, r1=0.60)]
    p = {"workloads": [serving(peak=10.0)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "capacity_types": ["on_demand", "reserved_1y"]}}
    plan = solve_problem(tmp_path, p, solver, apis=[], offers=offers)
    (d,) = plan.deployments
    assert d.capacity_type == "reserved_1y" and plan.monthly_cost_usd == pytest.approx(0.6 * H)
    # reserved capacity is opt-in: by default the plan stays on demand
    p["policy"].pop("capacity_types")
    plan = solve_problem(tmp_path / "default", p, solver, apis=[], offers=offers)
    assert plan.deployments[0].capacity_type == "on_demand" and plan.monthly_cost_usd == pytest.approx(H)


def test_failover_half_peak_two_clouds(tmp_path, solver):
    # 30 req/s, 10 per replica; cloudA $1/h, cloudB $1.50/h. Losing either cloud must leave 15 req/s:
    # A=2, B=2 (normal 40 >= 30, lose A: 20 >= 15, lose B: 20 >= 15) at $5/h is the cheapest;
    # A=3,B=1 fails losing A (10 < 15), A=1,B=2 fails losing B.
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}
    plan = solve_problem(tmp_path, p, solver, apis=[], offers=[OFFERS[0], OFFERS[2]])
    got = {d.cloud: d.instances for d in plan.deployments}
    assert got == {"clouda": 2, "cloudb": 2}
    assert plan.monthly_cost_usd == pytest.approx(H * (2 * 1.0 + 2 * 1.5))


def test_failover_with_an_api_standby_costs_nothing_extra(tmp_path, solver):
    # An API is paid per request, so as a failover path it adds no cost while unused.
    p = {"workloads": [serving(peak=30.0, req=5_000_000, apis=["tiny-8b"])], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 1.0}}}
    plan = solve_problem(tmp_path, p, solver, offers=[OFFERS[0]])
    assert plan.api == [] and plan.monthly_cost_usd == pytest.approx(3 * H)


def test_failover_impossible_with_one_provider_is_explained(tmp_path, solver):
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}
    with pytest.raises(InfeasibleError) as e:
        solve_problem(tmp_path, p, solver, apis=[], offers=[OFFERS[0]])
    text = str(e.value)
    assert "failover_demand" in text and "clouda" in text and "15.00 req/s" in text


def test_budget_infeasible_names_the_shortfall(tmp_path, solver):
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "budget_monthly_usd": 2000}}
    with pytest.raises(InfeasibleError) as e:
        solve_problem(tmp_path, p, solver, apis=[])
    text = str(e.value)
    assert "budget" in text and "$2,190.00" in text and "$190.00 over" in text


def test_rate_limit_infeasible_names_the_api(tmp_path, solver):
    only = api("apix/tiny-8b", "apix", "global", 1.0, 2.0, rpm=600)
    p = {"workloads": [serving(peak=20.0, models=[], apis=["tiny-8b"])]}
    with pytest.raises(InfeasibleError) as e:
        solve_problem(tmp_path, p, solver, apis=[only])
    assert "rate_limit_rpm" in str(e.value) and "apix/tiny-8b" in str(e.value) and "short by 600" in str(e.value)


def test_no_eligible_option_is_explained_before_solving(tmp_path):
    p = {"workloads": [serving(peak=10.0, jurisdictions=["jp"], apis=["tiny-8b"])], "measured": [measured(rps=10.0)]}
    with pytest.raises(InfeasibleError) as e:
        solve_problem(tmp_path, p)
    assert "residency" in str(e.value) and "jurisdictions" in str(e.value)


def test_fixed_hours_block_cheapest_and_spot(tmp_path, solver):
    # 4 GPUs for 40 h: four 1-GPU instances at $1/h ($160) beat one 8-GPU instance ($280); with spot, $64.
    block = {"name": "ft", "category": "fine-tuning", "gpu": "TESTGPU", "gpu_count": 4, "hours_per_month": 40}
    plan = solve_problem(tmp_path, {"workloads": [block]}, solver)
    assert plan.monthly_cost_usd == pytest.approx(160.0) and plan.fixed == []
    plan = solve_problem(tmp_path, {"workloads": [dict(block, spot=True)]}, solver)
    assert plan.monthly_cost_usd == pytest.approx(64.0)
    (d,) = plan.deployments
    assert (d.capacity_type, d.instances, d.hours_per_month) == ("spot", 4, 40)


def test_quoted_price_block(tmp_path, solver):
    # The seed's budget rows: 4x A100 for 40 h at $2.75 = $440.
    block = {"name": "ft", "category": "fine-tuning", "gpu": "A100", "gpu_count": 4, "hours_per_month": 40,
             "price_per_gpu_hour_usd": 2.75}
    plan = solve_problem(tmp_path, {"workloads": [block]}, solver)
    assert plan.monthly_cost_usd == pytest.approx(440.0)


def test_shared_pool_serves_two_workloads_and_splits_cost(tmp_path, solver):
    # Two workloads on the same model share replicas: 6 + 4 req/s at 10 req/s per replica = one replica.
    p = {"workloads": [serving("a", peak=6.0), serving("b", peak=4.0)],
         "measured": [measured("a", rps=10.0), measured("b", rps=10.0)], "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver, apis=[])
    assert len(plan.pools) == 1 and plan.pools[0].instances == 1
    shares = {d.workload: d.pool_share for d in plan.deployments}
    assert shares == {"a": pytest.approx(0.6), "b": pytest.approx(0.4)}
    assert sum(d.monthly_cost_usd for d in plan.deployments) == pytest.approx(H)
    assert {w.name: w.monthly_cost_usd for w in plan.workloads} == {"a": pytest.approx(0.6 * H),
                                                                   "b": pytest.approx(0.4 * H)}


def test_availability_cap(tmp_path, solver):
    # cloudA's single-GPU offer is capped at 2 instances: the third replica must come from cloudB.
    offers = [offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, cap=2), OFFERS[2]]
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)], "policy": {"max_utilization": 1.0}}
    plan = solve_problem(tmp_path, p, solver, apis=[], offers=offers)
    assert {d.cloud: d.instances for d in plan.deployments} == {"clouda": 2, "cloudb": 1}
    assert plan.monthly_cost_usd == pytest.approx(H * (2 * 1.0 + 1.5))


def test_batch_api_mode_for_batch_tier(tmp_path, solver):
    # Batch-tier workloads may use the provider's batch API at half price.
    a = api("apix/tiny-8b", "apix", "global", 1.0, 2.0, batch=(0.5, 1.0))
    p = {"workloads": [serving(peak=1.0, req=100_000, models=[], apis=["tiny-8b"], latency_tier="batch")]}
    plan = solve_problem(tmp_path, p, solver, apis=[a])
    (line,) = plan.api
    assert line.mode == "batch" and plan.monthly_cost_usd == pytest.approx(100_000 * 0.001)


def test_api_without_a_known_rate_limit_is_flagged(tmp_path, solver):
    p = {"workloads": [serving(peak=1.0, req=100_000, apis=["tiny-8b"])], "measured": [measured(rps=10.0)]}
    plan = solve_problem(tmp_path, p, solver)  # the fixture API has no rpm/tpm
    assert plan.api and any("no rate limit is known for apix/tiny-8b" in w for w in plan.warnings)
