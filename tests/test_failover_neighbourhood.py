"""The restricted-MIP heuristic for failover models under a time limit (optimizer/model/neighbourhood.py,
pipeline.neighbourhood_start): a restriction of the full model, so its plan is feasible and never below the full
optimum; the LP bound is never above it; and the time-limited solve started from it reaches the full model's and
the lazy method's optimum, under HiGHS and CBC, with every plan passing verify."""

import pytest
from helpers import OFFERS, failover_instance, measured, serving, write_catalog

from optimizer.candidates import build_candidates
from optimizer.catalog import load_catalog
from optimizer.model.formulation import build_model
from optimizer.model.neighbourhood import lp_neighbourhood, restricted
from optimizer.model.solve import SolveResult, Status, relaxation_values, solve
from optimizer.pipeline import better_of, neighbourhood_start
from optimizer.planner import SolveOptions, plan, solve_problem
from optimizer.problem import parse_problem
from optimizer.verify import verify_plan

H = 730.0


def satisfies_every_row(model, values: dict) -> list[str]:
    """Names of the model's rows that `values` violates (beyond 1e-7)."""
    bad = []
    for con in model.prob.constraints():
        val = sum(a * values.get(v.name, 0.0) for v, a in con.items()) + con.constant
        if (con.sense == -1 and val > 1e-7) or (con.sense == 1 and val < -1e-7) or (con.sense == 0 and abs(val) > 1e-7):
            bad.append(con.name)
    return bad


def two_clouds(tmp_path):
    """The hand-solvable failover problem of tests/test_known_answers.py: 30 req/s, 10 per replica, cloudA $1/h and
    cloudB $1.50/h, failover 0.5 (optimum A=2, B=2 at $5/h): (problem, catalog, candidates, full model)."""
    p = {"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
         "policy": {"max_utilization": 1.0, "failover": {"fraction": 0.5}}}
    cat = load_catalog(write_catalog(tmp_path / "cat", apis=[], offers=[OFFERS[0], OFFERS[2]]))
    prob = parse_problem(p, "hand.yaml")
    cands = build_candidates(prob, cat)
    return prob, cat, cands, build_model(prob, cands)


@pytest.mark.parametrize("seed", range(8))
def test_restricted_mip_is_a_feasible_upper_bound_and_the_timed_solve_reaches_the_optimum(tmp_path, seed, solver):
    prob, cat = failover_instance(tmp_path, seed)
    cands = build_candidates(prob, cat)
    full = solve(build_model(prob, cands).prob, solver)
    lazy = solve_problem(prob, cat, SolveOptions(solver=solver))[2]
    assert full.status == lazy.status == Status.OPTIMAL
    assert lazy.objective == pytest.approx(full.objective, abs=1e-6)
    model = build_model(prob, cands)
    start, lp_bound, heur, _ = neighbourhood_start(prob, cands, model, SolveOptions(solver=solver), 60)
    assert heur is not None and heur.status == Status.OPTIMAL
    assert lp_bound <= full.objective + 1e-6 <= heur.objective + 2e-6  # LP <= MILP <= restricted MILP
    assert satisfies_every_row(model, start) == []  # a restriction: its plan is feasible for the full model
    assert {pid: var.upBound for pid, var in model.n.items()} == model.upper  # bounds restored
    timed = solve_problem(prob, cat, SolveOptions(solver=solver, time_limit=60))[2]
    assert timed.status == Status.OPTIMAL and timed.objective == pytest.approx(full.objective, abs=1e-6)
    p = plan(prob, cat, SolveOptions(solver=solver, time_limit=60))
    assert p.status == "optimal" and p.monthly_cost_usd == pytest.approx(full.objective, rel=1e-6)
    assert verify_plan(p, prob, cat).ok


def test_neighbourhood_keeps_the_lp_support_and_the_cheapest_pool_of_each_provider(tmp_path):
    # 30 req/s, 10 per replica; cloudA $1/h, cloudB $1.50/h, failover 0.5 (tests/test_known_answers.py): the optimum
    # is A=2, B=2 at $5/h. Each provider's cheapest pool per unit of peak is in N whatever the LP uses.
    prob, cat, cands, model = two_clouds(tmp_path)
    values, lp = relaxation_values(model.prob, 30)
    keep = lp_neighbourhood(model, cands, {"w": 30.0}, values)
    assert {cands.pool(pid).failover_provider for pid in keep} == {"clouda", "cloudb"}
    assert {pid for pid, var in model.n.items() if values[var.name] > 1e-9} <= keep
    assert lp <= 5 * H + 1e-6
    for solver in ("highs", "cbc"):
        timed = plan(prob, cat, SolveOptions(solver=solver, time_limit=30))
        assert timed.status == "optimal" and timed.monthly_cost_usd == pytest.approx(5 * H)
        assert {d.cloud: d.instances for d in timed.deployments} == {"clouda": 2, "cloudb": 2}
        assert verify_plan(timed, prob, cat).ok


def test_restricted_fixes_pools_outside_the_neighbourhood_to_zero_and_restores_their_bounds(tmp_path):
    prob, cat, cands, model = two_clouds(tmp_path)
    before = {pid: var.upBound for pid, var in model.n.items()}
    only_a = {pid for pid in model.n if cands.pool(pid).failover_provider == "clouda"}
    res, values = restricted(model, only_a, lambda prob_: solve(prob_))
    # with cloudB closed, losing cloudA leaves nothing: the restriction is infeasible, and says so
    assert res.status == Status.INFEASIBLE and values is None
    assert {pid: var.upBound for pid, var in model.n.items()} == before


def test_better_of_takes_the_heuristic_plan_when_the_full_solve_found_none(tmp_path):
    prob, cat, cands, model = two_clouds(tmp_path)
    start, lp_bound, heur, _ = neighbourhood_start(prob, cands, model, SolveOptions(), 30)
    none = SolveResult(Status.NO_SOLUTION, None, None, None, 1.0, "highs")
    got = better_of(model, none, heur, start)
    assert got.status == Status.FEASIBLE and got.objective == pytest.approx(heur.objective)
    assert got.bound is None and got.gap is None  # no bound of its own: keep_bound adds the LP's
    assert sum(var.value() for var in model.n.values()) == pytest.approx(4)
    # a full solve that did better is kept as it is
    better = SolveResult(Status.FEASIBLE, heur.objective - 1.0, heur.objective - 2.0, 1e-3, 1.0, "highs")
    assert better_of(model, better, heur, start) is better


def test_every_failover_example_reaches_the_lazy_methods_optimum_under_a_time_limit(default_catalog):
    """On every shipped example with failover, the time-limited path (LP, restricted MIP, full model from its plan)
    and the exact lazy scenario loop (no limit) prove the same optimum, and both plans pass verify."""
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
def test_without_time_for_the_full_model_the_restricted_plan_is_the_answer(tmp_path, seed, monkeypatch):
    """When the full model has no time left to improve on it, the restricted MIP's plan is returned: feasible (it
    passes verify), never below the full optimum, OPTIMAL only when the LP bound proves it."""
    import optimizer.pipeline as pl
    prob, cat = failover_instance(tmp_path, seed)
    full = solve(build_model(prob, build_candidates(prob, cat)).prob)
    monkeypatch.setattr(pl, "full_model_has_time", lambda left, lp_s: False)
    calls = []
    real = pl.solve
    monkeypatch.setattr(pl, "solve", lambda *a, **k: calls.append(1) or real(*a, **k))
    _, model, res = pl.solve_problem(prob, cat, SolveOptions(time_limit=60))
    assert len(calls) == 1  # the restricted MIP only
    assert res.objective >= full.objective - 1e-6 and res.bound <= full.objective + 1e-6
    assert res.status == (Status.OPTIMAL if res.gap <= 1e-4 else Status.FEASIBLE)
    p = plan(prob, cat, SolveOptions(time_limit=60))
    assert verify_plan(p, prob, cat).ok and p.monthly_cost_usd == pytest.approx(res.objective, rel=1e-6)
