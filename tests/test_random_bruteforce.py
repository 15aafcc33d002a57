"""Random small instances from fixed seeds against brute-force enumeration, and LP relaxation <= MILP."""

import itertools
import math
import random

import pulp
import pytest
from helpers import api, failover_instance, measured, offer, serving, write_catalog

from optimizer.candidates import build_candidates
from optimizer.catalog import load_catalog
from optimizer.model.formulation import build_model
from optimizer.model.solve import Status, solve
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem

H = 730.0
SEEDS = range(12)


def random_instance(seed: int):
    """One workload; 2-3 single-GPU offers (distinct providers so pruning keeps them); maybe an API with an RPM
    limit; maybe spot with a cap; capacity per replica measured; ops overhead."""
    rng = random.Random(seed)
    offers = []
    for i in range(rng.randint(2, 3)):
        od = round(rng.uniform(0.5, 3.0), 2)
        spot = round(od * rng.uniform(0.3, 0.7), 2) if rng.random() < 0.5 else None
        offers.append(offer(f"p{i}:r:one", f"p{i}", "r", "us", 1, od, spot=spot))
    rps = round(rng.uniform(2.0, 8.0), 2)
    peak = round(rng.uniform(3.0, 25.0), 2)
    req = rng.choice([200_000, 1_000_000, 5_000_000])
    apis = []
    w = serving(peak=peak, req=req, spot=rng.random() < 0.6)
    if rng.random() < 0.7:
        rpm = rng.choice([None, int(peak * 60 * rng.uniform(0.2, 0.9))])
        apis.append(api("apix/tiny-8b", "apix", "global", round(rng.uniform(0.2, 3), 2), round(rng.uniform(0.5, 6), 2),
                        rpm=rpm))
        w["apis"] = ["tiny-8b"]
    policy = {"max_utilization": 1.0, "ops_overhead_monthly_usd": rng.choice([0, 200, 800])}
    if rng.random() < 0.5:
        policy["max_spot_share"] = rng.choice([0.25, 0.5])
    return offers, apis, {"workloads": [w], "measured": [measured(rps=rps)], "policy": policy}


def brute_force(offers, apis, problem) -> float:
    """Enumerate instance counts per (offer, capacity type); the API takes the rest of the traffic, up to its RPM
    limit; cost in closed form. Independent of the MILP formulation."""
    w = problem["workloads"][0]
    rps = problem["measured"][0]["requests_per_s"]
    pol = problem["policy"]
    lam, V = w["peak_rps"], w["requests_per_month"]
    options = []
    for o in offers:
        options.append((o["ondemand_hourly_usd"], False))
        if o["spot_hourly_usd"] is not None and w.get("spot"):
            options.append((o["spot_hourly_usd"], True))
    api_max, api_usd = 0.0, None
    if apis:
        a = apis[0]
        api_usd = (1000 * a["input_usd_per_mtok"] + 500 * a["output_usd_per_mtok"]) / 1e6
        api_max = 1.0 if a["rpm"] is None else min(1.0, a["rpm"] / (60 * lam))
    ub = math.ceil(lam / rps)
    best = math.inf
    for ns in itertools.product(range(ub + 1), repeat=len(options)):
        cap = sum(ns) * rps
        self_share = min(1.0, cap / lam)
        api_share = 1.0 - self_share
        if api_share > api_max + 1e-9:
            continue
        total = sum(ns)
        spot = sum(n for n, (_, s) in zip(ns, options) if s)
        if total and spot > pol.get("max_spot_share", 1.0) * total + 1e-9:
            continue
        cost = sum(n * p * H for n, (p, _) in zip(ns, options))
        cost += pol["ops_overhead_monthly_usd"] if total else 0.0
        cost += V * api_share * api_usd if api_share > 1e-12 else 0.0
        best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", SEEDS)
def test_random_instance_matches_brute_force(tmp_path, seed, solver):
    offers, apis, problem = random_instance(seed)
    expected = brute_force(offers, apis, problem)
    folder = write_catalog(tmp_path / "cat", offers=offers, apis=apis)
    prob = parse_problem(problem, "random.yaml")
    if math.isinf(expected):
        from optimizer.errors import InfeasibleError
        with pytest.raises(InfeasibleError):
            plan(prob, load_catalog(folder), SolveOptions(solver=solver))
        return
    result = plan(prob, load_catalog(folder), SolveOptions(solver=solver))
    assert result.status == "optimal"
    assert result.monthly_cost_usd == pytest.approx(expected, abs=0.02)


def test_random_instances_are_not_trivial():
    # The seeds cover self-hosting, APIs, mixes and spot: the brute-force test would pass vacuously otherwise.
    kinds = set()
    for seed in SEEDS:
        offers, apis, problem = random_instance(seed)
        kinds.add(("api" if apis else "noapi", "spotcap" if "max_spot_share" in problem["policy"] else "nocap"))
    assert len(kinds) >= 3


@pytest.mark.parametrize("seed", SEEDS)
def test_lp_relaxation_bounds_milp(tmp_path, seed):
    offers, apis, problem = random_instance(seed)
    folder = write_catalog(tmp_path / "cat", offers=offers, apis=apis)
    prob = parse_problem(problem, "random.yaml")
    cands = build_candidates(prob, load_catalog(folder))
    milp = solve(build_model(prob, cands).prob)
    lp = solve(build_model(prob, cands, integer=False).prob)
    if milp.status == Status.INFEASIBLE:
        assert lp.status in (Status.INFEASIBLE, Status.OPTIMAL)
        return
    assert lp.status == Status.OPTIMAL
    assert lp.objective <= milp.objective + 1e-6
    assert all(v.cat == pulp.const.LpContinuous for v in build_model(prob, cands, integer=False).prob.variables())


def test_lp_relaxation_bounds_milp_on_examples(default_catalog):
    from pathlib import Path

    from optimizer.problem import load_problem
    for f in sorted(Path(__file__).resolve().parents[1].joinpath("problems").glob("*.yaml")):
        prob = load_problem(f)
        if prob.horizon is not None:  # one MILP over months: tests/test_horizon.py::test_lp_relaxation_below_milp
            continue
        cands = build_candidates(prob, default_catalog)
        milp = solve(build_model(prob, cands).prob)
        lp = solve(build_model(prob, cands, integer=False).prob)
        assert lp.objective <= milp.objective + 1e-6, f.name


@pytest.mark.parametrize("seed", range(8))
def test_lazy_failover_scenarios_match_the_full_model(tmp_path, seed):
    """Generating failover scenarios lazily (only providers that carry traffic) gives the full model's optimum."""
    from optimizer.planner import solve_problem
    prob, cat = failover_instance(tmp_path, seed)
    _, _, lazy = solve_problem(prob, cat, SolveOptions())
    full = solve(build_model(prob, build_candidates(prob, cat)).prob)
    assert lazy.status == full.status == Status.OPTIMAL
    assert lazy.objective == pytest.approx(full.objective, abs=1e-6)
    # under a time limit: one model with every scenario, started from the restricted MIP (tests/
    # test_failover_neighbourhood.py); same optimum, and the rounded LP start (its fallback) is a feasible plan whose
    # LP objective bounds the optimum from below
    _, model, timed = solve_problem(prob, cat, SolveOptions(time_limit=60))
    assert timed.status == Status.OPTIMAL and timed.objective == pytest.approx(full.objective, abs=1e-6)
    from optimizer.pipeline import rounded_relaxation_start
    m = build_model(prob, build_candidates(prob, cat))
    start, lp_bound = rounded_relaxation_start(m, 60)
    assert lp_bound <= full.objective + 1e-6
    for con in m.prob.constraints():
        val = sum(a * start.get(v.name, 0.0) for v, a in con.items()) + con.constant
        assert (con.sense != -1 or val <= 1e-7) and (con.sense != 1 or val >= -1e-7) and (
            con.sense != 0 or abs(val) <= 1e-7), con.name
