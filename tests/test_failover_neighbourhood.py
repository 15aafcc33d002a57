"""The failover search under a time limit (pipeline.failover_search, optimizer/model/neighbourhood.py): each
neighbourhood's MIP is a restriction of the full model, so its plan satisfies every row of the full model and never
costs less than the full optimum; the LP and the demand bound are never above it; a restriction without a plan is
never reported infeasible; and the time-limited run reaches the full model's and the lazy method's optimum, under
HiGHS and CBC, with every plan passing verify."""

import pytest
from helpers import OFFERS, failover_instance, measured, serving, write_catalog

import optimizer.pipeline as pl
from optimizer.candidates import build_candidates
from optimizer.catalog import load_catalog
from optimizer.model.formulation import build_model
from optimizer.model.neighbourhood import (cheapest_pools, demand_bound, infeasible_rows, lp_neighbourhood,
                                           scenario_routes, subset)
from optimizer.model.solve import Status, relaxation_values, solve
from optimizer.planner import SolveOptions, plan, solve_problem
from optimizer.problem import parse_problem
from optimizer.verify import verify_plan

H = 730.0


def two_clouds(tmp_path):
    """The hand-solvable failover problem of tests/test_known_answers.py: 30 req/s, 10 per replica, cloudA $1/h and
    cloudB $1.50/h, failover 0.5 (optimum A=2, B=2 at $5/h): (problem, catalog, candidates, full model)."""
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}
    cat = load_catalog(write_catalog(tmp_path / "cat", apis=[], offers=[OFFERS[0], OFFERS[2]]))
    prob = parse_problem(p, "hand.yaml")
    cands = build_candidates(prob, cat)
    return prob, cat, cands, build_model(prob, cands)


def values_of(model) -> dict:
    return pl.plan_values(model)


def in_full_model(full_model, restricted_model, phi: float) -> dict:
    """The restricted model's plan as values of the full model's variables: a provider with no pool in the
    neighbourhood carries no traffic, so its scenario (absent from the restricted model) keeps the normal routing at
    the failover fraction, z_pwo = phi x_wo, which fits wherever the normal routing fits."""
    values = values_of(restricted_model)
    for (prov, w, o), var in full_model.z.items():
        if var.name not in values:
            x = restricted_model.x.get((w, o))
            values[var.name] = phi * (x.value() or 0.0) if x is not None else 0.0
    return values


@pytest.mark.parametrize("seed", range(8))
def test_each_neighbourhood_is_a_feasible_upper_bound_and_the_timed_solve_reaches_the_optimum(tmp_path, seed,
                                                                                             solver):
    prob, cat = failover_instance(tmp_path, seed)
    cands = build_candidates(prob, cat)
    full_model = build_model(prob, cands)
    full = solve(full_model.prob, solver)
    lazy = solve_problem(prob, cat, SolveOptions(solver=solver))[2]
    assert full.status == lazy.status == Status.OPTIMAL
    assert lazy.objective == pytest.approx(full.objective, abs=1e-6)
    _, lp_bound = relaxation_values(build_model(prob, cands).prob, 30)
    assert demand_bound(prob, cands) <= lp_bound + 1e-6 <= full.objective + 2e-6  # demand <= LP <= MILP
    peaks = {w.name: w.peak for w in prob.serving}
    opts = SolveOptions(solver=solver)
    for k in (1, 2, None):
        keep = cheapest_pools(cands, peaks, k)
        found = pl.restricted_solve(prob, cands, keep, {}, None, 30, opts, frozenset())
        if found is None:  # a restriction may have no plan (one provider cannot survive its own loss)
            continue
        assert set(found.model.n) == keep  # the neighbourhood's pools only
        assert found.res.status == Status.FEASIBLE and found.res.bound is None  # optimal only for its neighbourhood
        assert found.res.objective >= full.objective - 1e-6  # a restriction: never below the full optimum
        phi = prob.policy.failover.fraction
        assert infeasible_rows(full_model, in_full_model(full_model, found.model, phi)) == 0  # feasible for the full model
    timed = solve_problem(prob, cat, SolveOptions(solver=solver, time_limit=60))[2]
    assert timed.status == Status.OPTIMAL and timed.objective == pytest.approx(full.objective, abs=1e-6)
    p = plan(prob, cat, SolveOptions(solver=solver, time_limit=60))
    assert p.status == "optimal" and p.monthly_cost_usd == pytest.approx(full.objective, rel=1e-6)
    assert verify_plan(p, prob, cat).ok


def test_neighbourhoods_keep_the_cheapest_providers_and_the_lp_support(tmp_path):
    # cloudA $1/h is cheaper per unit than cloudB $1.50/h: N0(1) is cloudA's pool, N0(2) and N0(all) both; N1 adds
    # the LP's support. The restriction to cloudA alone cannot survive cloudA's loss: no plan, and not "infeasible".
    prob, cat, cands, model = two_clouds(tmp_path)
    peaks = {"w": 30.0}
    one = cheapest_pools(cands, peaks, 1)
    assert {cands.pool(pid).failover_provider for pid in one} == {"clouda"}
    assert {cands.pool(pid).failover_provider for pid in cheapest_pools(cands, peaks, None)} == {"clouda", "cloudb"}
    assert cheapest_pools(cands, peaks, 2) == cheapest_pools(cands, peaks, None)
    values, lp = relaxation_values(model.prob, 30)
    n1 = lp_neighbourhood(model, values, one)
    assert one <= n1 and {pid for pid, var in model.n.items() if values[var.name] > 1e-9} <= n1
    assert lp <= 5 * H + 1e-6
    assert pl.restricted_solve(prob, cands, one, {}, None, 30, SolveOptions(), frozenset()) is None
    sub = build_model(prob, subset(cands, one))
    assert set(sub.n) == one and solve(sub.prob).status == Status.INFEASIBLE
    # z variables: one option per workload and provider, each surviving every provider but its own
    assert scenario_routes(cands) == len(model.z)
    for solver in ("highs", "cbc"):
        timed = plan(prob, cat, SolveOptions(solver=solver, time_limit=30))
        assert timed.status == "optimal" and timed.monthly_cost_usd == pytest.approx(5 * H)
        assert {d.cloud: d.instances for d in timed.deployments} == {"clouda": 2, "cloudb": 2}
        assert verify_plan(timed, prob, cat).ok


def test_infeasible_rows_counts_the_rows_a_plan_breaks(tmp_path):
    prob, cat, cands, model = two_clouds(tmp_path)
    res = solve(model.prob)
    good = values_of(model)
    assert res.status == Status.OPTIMAL and infeasible_rows(model, good) == 0
    short = dict(good)
    for var in model.n.values():
        short[var.name] = 0.0  # no instances: every capacity row with traffic breaks
    assert infeasible_rows(model, short) >= 2


def test_the_demand_bound_is_the_cheapest_option_per_unit_of_peak(tmp_path):
    # one workload, 30 req/s, 10 per instance: at least 3 instances of cloudA at $1/h, $2,190 a month
    prob, cat, cands, model = two_clouds(tmp_path)
    assert demand_bound(prob, cands) == pytest.approx(3 * H)


def test_every_failover_example_reaches_the_lazy_methods_optimum_under_a_time_limit(default_catalog):
    """On every shipped example with failover, the time-limited search and the exact lazy scenario loop (no limit)
    prove the same optimum, and both plans pass verify."""
    from pathlib import Path

    from optimizer.problem import load_problem
    found = 0
    for f in sorted(Path(__file__).resolve().parents[1].joinpath("problems").glob("*.yaml")):
        prob = load_problem(f)
        if prob.policy.failover is None or prob.horizon is not None:
            continue
        found += 1
        lazy = plan(prob, default_catalog, SolveOptions())
        timed = plan(prob, default_catalog, SolveOptions(time_limit=120))
        assert lazy.status == timed.status == "optimal", f.name
        assert timed.monthly_cost_usd == pytest.approx(lazy.monthly_cost_usd, rel=2e-4), f.name  # both within 1e-4
        assert verify_plan(timed, prob, default_catalog).ok and verify_plan(lazy, prob, default_catalog).ok, f.name
    assert found >= 2  # portfolio.yaml and seed_chatbot_8m.yaml (the rent-vs-buy one has a horizon)


@pytest.mark.parametrize("seed", range(4))
def test_without_time_for_the_full_model_the_neighbourhoods_plan_is_the_answer(tmp_path, seed, monkeypatch):
    """When the full model has no time left to improve on them, the neighbourhoods' plan is returned: feasible (it
    passes verify), never below the full optimum, bounded by the LP, OPTIMAL only when the LP bound proves it."""
    prob, cat = failover_instance(tmp_path, seed)
    full_model = build_model(prob, build_candidates(prob, cat))
    full = solve(full_model.prob)
    monkeypatch.setattr(pl, "full_model_has_time", lambda left, lp_s: False)
    sizes = []
    real = pl.solve
    monkeypatch.setattr(pl, "solve", lambda prob_, *a, **k: sizes.append(len(prob_.variables())) or real(prob_, *a, **k))
    _, model, res = pl.solve_problem(prob, cat, SolveOptions(time_limit=60))
    assert sizes and max(sizes) < len(full_model.prob.variables())  # only neighbourhoods were solved as MIPs
    assert res.objective >= full.objective - 1e-6 and res.bound <= full.objective + 1e-6
    assert res.status == (Status.OPTIMAL if res.gap <= 1e-4 else Status.FEASIBLE)
    p = plan(prob, cat, SolveOptions(time_limit=60))
    assert verify_plan(p, prob, cat).ok and p.monthly_cost_usd == pytest.approx(res.objective, rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_without_time_for_the_lp_the_gap_is_against_the_demand_bound(tmp_path, seed, monkeypatch):
    """When even the full model's build and LP do not fit, the plan comes from the neighbourhoods alone and its
    bound is the demand bound: below the optimum, so the gap is honest (and large)."""
    prob, cat = failover_instance(tmp_path, seed)
    cands = build_candidates(prob, cat)
    full = solve(build_model(prob, cands).prob)
    monkeypatch.setattr(pl, "full_step_s", lambda *a: 1e9)
    _, model, res = pl.solve_problem(prob, cat, SolveOptions(time_limit=30))
    assert res.objective is not None and res.objective >= full.objective - 1e-6
    assert res.bound == pytest.approx(demand_bound(prob, cands)) and res.bound <= full.objective + 1e-6
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective, rel=1e-6)
    p = plan(prob, cat, SolveOptions(time_limit=30))
    assert verify_plan(p, prob, cat).ok


def test_a_failover_problem_without_pools_is_solved_under_a_time_limit(tmp_path):
    """Only APIs (no neighbourhood to search, found by hypothesis): the full model answers, and the plan survives
    the loss of either API provider (failover 0.5 across two of them)."""
    from helpers import api
    cat = load_catalog(write_catalog(tmp_path / "apis", offers=[], apis=[
        api("apix/tiny-8b", "apix", "global", 1.0, 2.0, rpm=600), api("apiy/tiny-8b", "apiy", "global", 2.0, 4.0)]))
    prob = parse_problem({"workloads": [serving(peak=5.0, apis=["tiny-8b"], models=[])],
                          "policy": {"failover": {"fraction": 0.5}}}, "apis.yaml")
    lazy = plan(prob, cat, SolveOptions())
    for solver in ("highs", "cbc"):
        timed = plan(prob, cat, SolveOptions(solver=solver, time_limit=30))
        assert timed.status == "optimal" and timed.monthly_cost_usd == pytest.approx(lazy.monthly_cost_usd)
        assert verify_plan(timed, prob, cat).ok
