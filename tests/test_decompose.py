"""Failover models solved as independent components (optimizer/model/decompose.py, pipeline.solve_by_components):
the components are what the rows link; the combined plan is the single model's optimum whenever it satisfies the
global rows (spot cap, budget), with and without a time limit, under HiGHS and CBC; otherwise the single model is
solved and the components' bound still holds; the ops overhead is settled exactly; an infeasible component makes
the problem infeasible, explained."""

import random

import pytest
from helpers import api, measured, offer, serving, write_catalog

import optimizer.pipeline as pl
from optimizer.candidates import build_candidates
from optimizer.catalog import load_catalog
from optimizer.errors import InfeasibleError
from optimizer.model.decompose import component, components, self_hosting_forced, why_not
from optimizer.model.formulation import build_model
from optimizer.model.solve import Status, solve
from optimizer.planner import SolveOptions, plan, solve_problem
from optimizer.problem import parse_problem
from optimizer.verify import verify_plan


def separable(tmp_path, seed: int, *, spot_share: float = 1.0, ops: float = 300.0, api_for_b: bool = False,
              capped: bool = False, rpm: int | None = None):
    """Two US providers and two EU providers (two offers each, some with spot); workloads a and c may run only in
    the US, b only in the EU; a US API (RPM-limited) for a and c, optionally (`api_for_b`) a second US API and two
    EU APIs for b; failover 0.5 or 1.0.
    Components: {a, c} (shared US pools and API account) and {b}. Returns (problem, catalog)."""
    rng = random.Random(500 + seed)
    offers = []
    for i, jur in enumerate(["us", "us", "eu", "eu"]):
        for k in rng.sample([1, 2, 4], 2):
            od = round(rng.uniform(0.5, 3.0) * k, 2)
            offers.append(offer(f"p{i}:r{i}:x{k}", f"p{i}", f"r{i}", jur, k, od,
                                spot=round(od * rng.uniform(0.3, 0.6), 2) if k == 1 else None,
                                cap=2 if capped and i == 0 else None))
    apis = [api("apius/tiny-8b", "apius", "us", 0.2, 0.4, rpm=rpm or rng.choice([300, 900]))]
    if api_for_b:  # and a second API provider in each region: an API-only plan can then survive losing one
        apis += [api("apieu/tiny-8b", "apieu", "eu", 0.3, 0.6), api("apieu2/tiny-8b", "apieu2", "eu", 0.4, 0.8),
                 api("apius2/tiny-8b", "apius2", "us", 0.3, 0.6)]
    problem = {
        "workloads": [serving("a", peak=rng.uniform(5, 30), req=2_000_000, apis=["tiny-8b"], jurisdictions=["us"],
                              spot=True),
                      serving("b", peak=rng.uniform(5, 30), req=1_000_000, jurisdictions=["eu"], spot=True,
                              **({"apis": ["tiny-8b"]} if api_for_b else {})),
                      serving("c", peak=rng.uniform(2, 10), req=500_000, apis=["tiny-8b"], jurisdictions=["us"])],
        "measured": [measured(w, rps=rng.uniform(2, 6)) for w in "abc"],
        "policy": {"max_utilization": 1.0, "ops_overhead_monthly_usd": ops, "max_spot_share": spot_share,
                   "failover": {"fraction": rng.choice([0.5, 1.0])}}}
    folder = write_catalog(tmp_path / f"cat{seed}", offers=offers, apis=apis)
    return parse_problem(problem, "separable.yaml"), load_catalog(folder)


def single_model_optimum(prob, cat) -> float:
    res = solve(build_model(prob, build_candidates(prob, cat)).prob, time_limit=120)
    assert res.status == Status.OPTIMAL
    return res.objective


def spy(monkeypatch) -> list:
    """Records what each solve_by_components call returned (the combined plan, or None)."""
    calls = []
    real = pl.solve_by_components

    def recorded(*a, **k):
        out = real(*a, **k)
        calls.append(out)
        return out

    monkeypatch.setattr(pl, "solve_by_components", recorded)
    return calls


def test_components_are_what_pools_api_accounts_and_capped_offers_link(tmp_path):
    prob, cat = separable(tmp_path, 0)
    cands = build_candidates(prob, cat)
    assert components(prob, cands) == [["a", "c"], ["b"]]
    assert why_not(prob, cands, frozenset()) is None
    assert why_not(prob, cands, frozenset({"failover_demand"})) == "a relaxed model"
    assert why_not(prob, cands, frozenset({"budget", "spot_cap"})) is None  # global rows: left out of every part
    # b on EU API accounts too: still its own component (its accounts are its own)
    prob, cat = separable(tmp_path, 0, api_for_b=True)
    assert components(prob, build_candidates(prob, cat)) == [["a", "c"], ["b"]]
    # one global API account that every workload may use links them all: nothing to decompose
    raw = prob.model_dump(exclude_none=True)
    glob = load_catalog(write_catalog(tmp_path / "glob", offers=[offer("p0:r0:x1", "p0", "r0", "us", 1, 1.0),
                                                                  offer("p2:r2:x1", "p2", "r2", "eu", 1, 1.0)],
                                      apis=[api("apiall/tiny-8b", "apiall", "global", 0.2, 0.4, rpm=600)]))
    for w in raw["workloads"]:
        w["apis"], w["jurisdictions"] = ["tiny-8b"], ["any"]  # an EU-only workload may not use a global API
    one = parse_problem(raw, "one.yaml")
    cands = build_candidates(one, glob)
    assert components(one, cands) == [["a", "b", "c"]] and why_not(one, cands, frozenset()) == "one component"


@pytest.mark.parametrize("seed", range(6))
def test_the_combined_plan_is_the_single_models_optimum(tmp_path, seed, solver, monkeypatch):
    prob, cat = separable(tmp_path, seed)
    best = single_model_optimum(prob, cat)
    calls = spy(monkeypatch)
    for limit in (None, 60):
        _, model, res = solve_problem(prob, cat, SolveOptions(solver=solver, time_limit=limit))
        assert calls[-1][0] is not None  # decomposed, and the combination was the answer
        assert res.status == Status.OPTIMAL and res.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
        assert res.bound <= best + 1e-6
    p = plan(prob, cat, SolveOptions(solver=solver))
    assert p.status == "optimal" and p.monthly_cost_usd == pytest.approx(best, rel=1e-6)
    assert verify_plan(p, prob, cat).ok


@pytest.mark.parametrize("seed", range(4))
def test_a_binding_spot_cap_falls_back_to_the_single_model_with_the_components_bound(tmp_path, seed, monkeypatch):
    prob, cat = separable(tmp_path, seed, spot_share=0.05)
    best = single_model_optimum(prob, cat)
    calls = spy(monkeypatch)
    _, model, res = solve_problem(prob, cat, SolveOptions())
    combined, bound = calls[-1]
    if combined is None:  # the components' plan broke the cap: the single model answered
        assert bound is not None and bound <= best + 1e-6  # a relaxation's bound
    assert res.status == Status.OPTIMAL and res.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    p = plan(prob, cat, SolveOptions())
    assert verify_plan(p, prob, cat).ok and p.monthly_cost_usd == pytest.approx(best, rel=1e-6)


def test_at_least_one_instance_has_a_binding_spot_cap(tmp_path, monkeypatch):
    # the fallback above must be exercised, not only allowed
    fell_back = 0
    for seed in range(4):
        prob, cat = separable(tmp_path, seed, spot_share=0.05)
        calls = spy(monkeypatch)
        solve_problem(prob, cat, SolveOptions())
        fell_back += calls[-1][0] is None
    assert fell_back >= 1


@pytest.mark.parametrize("ops", [0.0, 300.0, 1e6])
def test_the_ops_overhead_is_settled_between_self_hosting_and_the_apis(tmp_path, ops, monkeypatch):
    # every workload has an API: y is free; a huge overhead makes the API-only plan the optimum
    prob, cat = separable(tmp_path, 1, ops=ops, api_for_b=True, rpm=100_000)
    cands = build_candidates(prob, cat)
    assert not self_hosting_forced(cands)
    best = single_model_optimum(prob, cat)
    calls = spy(monkeypatch)
    _, model, res = solve_problem(prob, cat, SolveOptions())
    assert calls[-1][0] is not None
    assert res.status == Status.OPTIMAL and res.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    uses_pools = any((v.value() or 0) > 0.5 for v in model.n.values())
    assert (model.y.value() > 0.5) == uses_pools
    if ops == 1e6:
        assert not uses_pools
    p = plan(prob, cat, SolveOptions())
    assert verify_plan(p, prob, cat).ok


def test_an_infeasible_component_makes_the_problem_infeasible_and_explained(tmp_path):
    # b may run only in the EU, on two providers capped at one instance each (5 req/s each): 40 req/s cannot fit
    cat = load_catalog(write_catalog(tmp_path / "capped", offers=[
        offer("p0:r0:x1", "p0", "r0", "us", 1, 1.0), offer("p1:r1:x1", "p1", "r1", "us", 1, 1.2),
        offer("p2:r2:x1", "p2", "r2", "eu", 1, 1.0, cap=1), offer("p3:r3:x1", "p3", "r3", "eu", 1, 1.1, cap=1)],
        apis=[api("apius/tiny-8b", "apius", "us", 0.2, 0.4)]))
    p = {"workloads": [serving("a", peak=10, apis=["tiny-8b"], jurisdictions=["us"]),
                       serving("b", peak=40, jurisdictions=["eu"])],
         "measured": [measured("a", rps=5), measured("b", rps=5)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}
    prob = parse_problem(p, "inf.yaml")
    assert components(prob, build_candidates(prob, cat)) == [["a"], ["b"]]
    for limit in (None, 30):
        with pytest.raises(InfeasibleError) as e:
            solve_problem(prob, cat, SolveOptions(time_limit=limit))
        assert "availability" in " ".join(e.value.report)


@pytest.mark.parametrize("seed", range(3))
def test_without_time_for_the_exact_parts_their_first_plans_are_combined_with_honest_bounds(tmp_path, seed,
                                                                                            monkeypatch):
    """When no component's own model fits in the time (its build is estimated at BUILD_S_PER_ROUTE), each keeps
    its first plan (its cheapest pools' neighbourhood): the combination is feasible (verify passes), never below
    the optimum, and its bound (the parts' demand bounds) never above it."""
    from optimizer.model.decompose import component
    from optimizer.model.neighbourhood import demand_bound
    prob, cat = separable(tmp_path, seed)
    best = single_model_optimum(prob, cat)
    monkeypatch.setattr(pl, "BUILD_S_PER_ROUTE", 1e6)
    calls = spy(monkeypatch)
    cands = build_candidates(prob, cat)
    _, model, res = solve_problem(prob, cat, SolveOptions(time_limit=30))
    assert calls[-1][0] is not None
    assert res.objective >= best - 1e-6 and res.bound <= best + 1e-6
    parts = [component(prob, cands, ws) for ws in components(prob, cands)]
    assert res.bound >= sum(demand_bound(*part) for part in parts) - 1e-6
    p = plan(prob, cat, SolveOptions(time_limit=30))
    assert verify_plan(p, prob, cat).ok


def test_every_failover_example_that_separates_matches_the_single_model(default_catalog, monkeypatch):
    """portfolio.yaml separates (two workloads on different models, and fixed-hours blocks, which are components of
    their own): the combined plan is the single model's optimum, and passes verify."""
    from pathlib import Path

    from optimizer.problem import load_problem
    checked = 0
    for f in sorted(Path(__file__).resolve().parents[1].joinpath("problems").glob("*.yaml")):
        prob = load_problem(f)
        if prob.policy.failover is None or prob.horizon is not None:
            continue
        cands = build_candidates(prob, default_catalog)
        if why_not(prob, cands, frozenset()) is not None:
            continue
        checked += 1
        best = solve(build_model(prob, cands).prob, time_limit=120)
        assert best.status == Status.OPTIMAL
        calls = spy(monkeypatch)
        _, model, res = solve_problem(prob, default_catalog, SolveOptions())
        assert calls[-1][0] is not None, f.name
        assert res.status == Status.OPTIMAL and res.objective == pytest.approx(best.objective, rel=1e-6), f.name
        p = plan(prob, default_catalog, SolveOptions(time_limit=60))
        assert p.status == "optimal" and verify_plan(p, prob, default_catalog).ok, f.name
    assert checked >= 1  # portfolio.yaml


# --- pools a component leaves out (decompose.replaced_pools) -----------------------------------------------------


def small_workloads(tmp_path, seed: int, *, spot_share: float = 1.0):
    """Workloads of a few requests/s (one instance of a small offer often carries a whole workload) on three
    providers of three offers each (1, 2 and 4 GPUs, prices drawn so that either may be the cheaper per GPU, spot
    on some), one offer capped; a and c in the US, b in the EU, an API for a; failover 0.5 or 1.0."""
    rng = random.Random(900 + seed)
    offers = []
    for i, jur in enumerate(["us", "us", "eu", "eu"]):
        for k in (1, 2, 4):
            od = round(rng.uniform(0.4, 1.6) * k ** rng.uniform(0.6, 1.1), 2)
            offers.append(offer(f"p{i}:r{i}:x{k}", f"p{i}", f"r{i}", jur, k, od,
                                spot=round(od * rng.uniform(0.3, 0.6), 2) if rng.random() < 0.4 else None,
                                cap=1 if (i, k) == (1, 1) else None))
    problem = {
        "workloads": [serving("a", peak=rng.uniform(0.3, 8), req=300_000, apis=["tiny-8b"], jurisdictions=["us"],
                              spot=True),
                      serving("b", peak=rng.uniform(0.3, 8), req=200_000, jurisdictions=["eu"], spot=True),
                      serving("c", peak=rng.uniform(0.3, 4), req=100_000, jurisdictions=["us"])],
        "measured": [measured(w, rps=rng.uniform(1, 6)) for w in "abc"],
        "policy": {"max_utilization": 1.0, "ops_overhead_monthly_usd": 0.0, "max_spot_share": spot_share,
                   "failover": {"fraction": rng.choice([0.5, 1.0])}}}
    folder = write_catalog(tmp_path / f"small{seed}", offers=offers,
                           apis=[api("apius/tiny-8b", "apius", "us", 2.0, 4.0, rpm=60)])
    return parse_problem(problem, "small.yaml"), load_catalog(folder)


def test_a_pool_is_replaced_by_one_instance_that_carries_its_workloads_on_its_provider(tmp_path):
    """Hand-checked: p0's 1-GPU offer ($1/h, 2 req/s) carries a workload of 1.5 req/s alone, so it replaces p0's
    4-GPU offer ($3/h, 8 req/s) though it has less capacity; not at 3 req/s; never another provider's pool, and a
    capped offer never replaces."""
    from optimizer.model.decompose import replaced_pools
    offers = [offer("p0:r:x1", "p0", "r", "us", 1, 1.0), offer("p0:r:x4", "p0", "r", "us", 4, 3.0),
              offer("p1:r:x4", "p1", "r", "us", 4, 3.5), offer("p2:r:x1", "p2", "r", "us", 1, 0.5, cap=3),
              offer("p2:r:x4", "p2", "r", "us", 4, 2.0)]
    cat = load_catalog(write_catalog(tmp_path / "cat", offers=offers, apis=[]))

    def replaced(peak):
        prob = parse_problem({"workloads": [serving("w", peak=peak)], "measured": [measured("w", rps=2.0)],
                              "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}, "p.yaml")
        cands = build_candidates(prob, cat)
        assert {p.offer.offer_id for p in cands.pools} == {o["offer_id"] for o in offers}
        return {cands.pool(pid).offer.offer_id for pid in replaced_pools(prob, cands.pools)}

    assert replaced(1.5) == {"p0:r:x4"}  # 1.5 / 2 <= 1: one x1 instance carries w; p2's x1 is capped
    assert replaced(3.0) == set()  # one x1 instance (2 req/s) no longer carries w
    assert replaced(2.02) == set()  # nor 1% over its capacity
    assert replaced(2.0) == {"p0:r:x4"}  # exactly one instance's worth


@pytest.mark.parametrize("seed", range(8))
def test_the_pools_a_component_leaves_out_change_no_components_optimum(tmp_path, seed, monkeypatch):
    """Each component of a small-workload instance solved with every pool and without the replaced ones: the same
    optimum (HiGHS); the whole problem decomposed equals the single model's optimum and passes verify."""
    import optimizer.model.decompose as dec
    prob, cat = small_workloads(tmp_path, seed)
    cands = build_candidates(prob, cat)
    left_out = 0
    for ws in components(prob, cands):
        sub, reduced = dec.component(prob, cands, ws)
        with monkeypatch.context() as m:
            m.setattr(dec, "replaced_pools", lambda *a: set())
            _, whole = dec.component(prob, cands, ws)
        left_out += len(whole.pools) - len(reduced.pools)
        assert {p.id for p in reduced.pools} < {p.id for p in whole.pools} or reduced.pools == whole.pools
        a, b = (solve(build_model(sub, c).prob, time_limit=60) for c in (whole, reduced))
        assert a.status == b.status == Status.OPTIMAL
        assert b.objective == pytest.approx(a.objective, rel=1e-6, abs=1e-6)
    assert left_out > 0  # every seed leaves some pool out: the test exercises the rule
    best = single_model_optimum(prob, cat)
    p = plan(prob, cat, SolveOptions())
    assert p.status == "optimal" and p.monthly_cost_usd == pytest.approx(best, rel=1e-6)
    assert verify_plan(p, prob, cat).ok


@pytest.mark.parametrize("seed", range(4))
def test_with_a_binding_spot_cap_the_left_out_pools_keep_the_bound_valid(tmp_path, seed, monkeypatch):
    """Under a 10% spot cap the components leave out non-spot pools with more GPUs per instance, which the cap could
    need: the combined plan is returned only if it meets the cap, and the answer is the single model's optimum."""
    prob, cat = small_workloads(tmp_path, seed, spot_share=0.1)
    best = single_model_optimum(prob, cat)
    calls = spy(monkeypatch)
    _, _, res = solve_problem(prob, cat, SolveOptions())
    assert res.status == Status.OPTIMAL and res.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    combined, bound = calls[-1]
    assert bound is None or bound <= best + 1e-6


def _replaced_reference(problem, pools) -> set[str]:
    """replaced_pools' rule, pair by pair as its docstring states it (the module computes it on arrays)."""
    lam = {w.name: w.peak for w in problem.serving}
    ranked = sorted(pools, key=lambda p: (p.hourly_usd, p.id))

    def replaces(a, b) -> bool:
        ws = b.capacity
        if (a.failover_provider != b.failover_provider or (a.capacity_type == "spot") != (b.capacity_type == "spot")
                or a.offer.max_instances is not None or not all(a.capacity.get(w, 0.0) > 0 for w in ws)):
            return False
        return (all(a.capacity[w] >= k for w, k in ws.items())
                or sum(max(lam[w] / a.capacity[w], 1e-6) for w in ws) <= 1)

    return {b.id for i, b in enumerate(ranked) if any(replaces(a, b) for a in ranked[:i])}


@pytest.mark.parametrize("seed", range(8))
def test_the_left_out_pools_are_the_rule_pair_by_pair(tmp_path, seed):
    from optimizer.model.decompose import replaced_pools
    prob, cat = small_workloads(tmp_path, seed)
    cands = build_candidates(prob, cat)
    for ws in components(prob, cands):
        sub, _ = component(prob, cands, ws)
        pools = [p for p in cands.pools if set(p.capacity) <= set(ws)]
        assert replaced_pools(sub, pools) == _replaced_reference(sub, pools)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("spot_share", [1.0, 0.1])
def test_the_pools_a_whole_model_leaves_out_change_no_optimum(tmp_path, seed, spot_share):
    """The whole failover model (as the neighbourhood search builds it, global rows and all) without the replaced
    pools has the same optimum, with and without a binding spot cap (under it, case ii replaces spot pools only)."""
    from optimizer.model.decompose import replaced_pools
    from optimizer.model.neighbourhood import subset
    prob, cat = small_workloads(tmp_path, seed, spot_share=spot_share)
    cands = build_candidates(prob, cat)
    gone = replaced_pools(prob, cands.pools)
    assert gone or spot_share < 1, "some pool is left out"  # under the cap: in 6 of the 8 seeds
    if spot_share < 1:
        for pid in gone:  # a non-spot pool goes only when a pool of at least its capacity replaces it (case i)
            b = cands.pool(pid)
            if b.capacity_type != "spot":
                assert any(a.id != pid and a.hourly_usd <= b.hourly_usd and a.failover_provider == b.failover_provider
                           and all(a.capacity.get(w, 0) >= k for w, k in b.capacity.items())
                           and a.gpus_per_instance >= b.gpus_per_instance for a in cands.pools), pid
    whole = solve(build_model(prob, cands).prob, time_limit=60)
    reduced = solve(build_model(prob, subset(cands, {p.id for p in cands.pools} - gone)).prob, time_limit=60)
    assert whole.status == reduced.status == Status.OPTIMAL
    assert reduced.objective == pytest.approx(whole.objective, rel=1e-6, abs=1e-6)


def test_nothing_is_left_out_where_rows_see_more_than_capacity_and_price(tmp_path):
    """A carbon cap (energy per request), autoscaling (hour by hour), techniques: replaced_pools leaves nothing out."""
    from optimizer.model.decompose import replaced_pools
    prob, cat = small_workloads(tmp_path, 0)
    cands = build_candidates(prob, cat)
    assert replaced_pools(prob, cands.pools)
    capped = prob.model_copy(update={"policy": prob.policy.model_copy(update={"max_co2e_kg_month": 1e9})})
    assert replaced_pools(capped, cands.pools) == set()


def test_under_a_spot_cap_one_instance_replaces_spot_pools_only(tmp_path):
    """Hand-checked. Two workloads (0.9 and 0.1 req/s) on p0: pool a (GPU A, $1/h, 1.0 and 1.0 req/s) carries both
    with one instance (0.9 + 0.1 = 1); pool b (GPU B, $2/h, 0.5 and 10 req/s) has more capacity for the second,
    so only case (ii) replaces it. Without a spot cap b goes; under one it stays when it is on demand (one a
    instead of b's two instances would take GPU-hours the cap may need) and goes when it is spot."""
    from optimizer.model.decompose import replaced_pools
    from helpers import GPU
    gpus = [dict(GPU, name="GPUA", aliases=""), dict(GPU, name="GPUB", aliases="")]
    offers = [dict(offer("p0:r:a", "p0", "r", "us", 1, 1.0, spot=0.4), gpu="GPUA"),
              dict(offer("p0:r:b", "p0", "r", "us", 1, 2.0, spot=0.8), gpu="GPUB")]
    cat = load_catalog(write_catalog(tmp_path / "cat", offers=offers, apis=[], gpus=gpus))

    def replaced(spot_share):
        prob = parse_problem({
            "workloads": [serving("w1", peak=0.9, req=100_000, spot=True), serving("w2", peak=0.1, req=100_000, spot=True)],
            "measured": [dict(measured("w1", rps=1.0), gpu="GPUA"), dict(measured("w2", rps=1.0), gpu="GPUA"),
                         dict(measured("w1", rps=0.5), gpu="GPUB"), dict(measured("w2", rps=10.0), gpu="GPUB")],
            "policy": {"max_utilization": 1.0, "max_spot_share": spot_share, "failover": {"fraction": 0.5}}},
            "p.yaml")
        cands = build_candidates(prob, cat)
        return {(cands.pool(pid).offer.offer_id, cands.pool(pid).capacity_type)
                for pid in replaced_pools(prob, cands.pools)}

    assert replaced(1.0) == {("p0:r:b", "on_demand"), ("p0:r:b", "spot")}
    assert replaced(0.5) == {("p0:r:b", "spot")}
