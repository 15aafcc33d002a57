"""--time-limit covers the whole run: one deadline for candidates, every solve and the report's optional re-solves
(skipped, and said so, when too little time is left); MIP starts never change an optimum."""

import time

import pulp
import pytest
from helpers import serving, write_catalog

from optimizer.catalog import load_catalog
from optimizer.model.solve import Status, solve
from optimizer.pipeline import EXTRA_SHARE, MIN_SOLVE_S, SolveOptions, solve_limit, time_for_extra, with_deadline
from optimizer.planner import plan
from optimizer.problem import parse_problem


def test_the_deadline_is_set_once_and_shared():
    o = with_deadline(SolveOptions(time_limit=10))
    assert o.deadline is not None and with_deadline(o).deadline == o.deadline  # a caller's deadline is kept
    assert with_deadline(SolveOptions()).deadline is None and solve_limit(SolveOptions()) is None
    assert 8.9 < solve_limit(o, reserve=1.0) <= 9.0
    late = SolveOptions(time_limit=10, deadline=time.perf_counter() + 1.0)
    assert solve_limit(late, reserve=5.0) == MIN_SOLVE_S  # however late, a solve gets its minimum
    assert not time_for_extra(late) and time_for_extra(o)
    assert time_for_extra(SolveOptions(time_limit=10, deadline=time.perf_counter() + 10 * EXTRA_SHARE + 0.5))
    # an extra rebuilds its candidates, which nothing interrupts: 2.7 s left of 10 is not enough after 4.4 s of them
    left = SolveOptions(time_limit=10, deadline=time.perf_counter() + 2.7)
    assert time_for_extra(left, 0.5) and not time_for_extra(left, 4.4)


def _problem():
    # modelled capacity (no measured figure): the plan re-solves at the point estimates unless time is short
    return parse_problem({"workloads": [serving(peak=5.0)]}, "t.yaml")


def test_optional_re_solves_are_skipped_and_named_when_time_runs_short(tmp_path):
    cat = load_catalog(write_catalog(tmp_path / "cat"))
    full = plan(_problem(), cat, SolveOptions(time_limit=60), explain=True)
    assert full.point_estimate_cost_usd is not None and full.constraint_costs is not None
    assert not any("not computed within --time-limit" in w for w in full.warnings)
    # a run whose deadline is nearly spent: the main solve still gets its minimum and the plan is optimal, the
    # extras are not started, and the plan says which
    short = plan(_problem(), cat, SolveOptions(time_limit=60, deadline=time.perf_counter() + 0.05), explain=True)
    assert short.status == "optimal" and short.monthly_cost_usd == full.monthly_cost_usd
    assert short.point_estimate_cost_usd is None and short.constraint_costs is None
    (w,) = [w for w in short.warnings if "not computed within --time-limit 60 s" in w]
    assert "point estimates" in w and "what each constraint costs" in w and "raise the limit" in w


def _knapsack():
    p = pulp.LpProblem("k", pulp.LpMinimize)
    xs = [p.add_variable(f"x{i}", 0, 5, "Integer") for i in range(6)]
    w = [3, 5, 7, 11, 13, 17]
    p += pulp.lpSum((i + 2) * x for i, x in enumerate(xs))
    p += pulp.lpSum(wi * x for wi, x in zip(w, xs)) >= 50
    return p, xs


@pytest.mark.parametrize("start", [None, "feasible", "infeasible"])
def test_a_mip_start_never_changes_the_optimum(start):
    p, xs = _knapsack()
    base = solve(p, "highs")
    assert base.status == Status.OPTIMAL
    p2, xs2 = _knapsack()
    s = None
    if start == "feasible":
        s = {x.name: 5.0 for x in xs2}  # all at their bound: feasible, far from optimal
    elif start == "infeasible":
        s = {x.name: 0.0 for x in xs2}  # violates the cover row: HiGHS ignores it
    r = solve(p2, "highs", start=s)
    assert r.status == Status.OPTIMAL and r.objective == pytest.approx(base.objective)


def test_a_derated_re_solve_keeps_the_earlier_bound():
    from optimizer.model.solve import SolveResult
    from optimizer.pipeline import keep_bound
    before = SolveResult(Status.OPTIMAL, 100.0, 100.0, 0.0, 1.0, "highs")
    # a re-solve stopped by the time limit before it had a bound: the earlier (less constrained) model's holds
    res = keep_bound(SolveResult(Status.FEASIBLE, 104.0, None, None, 0.5, "highs"), before)
    assert res.bound == 100.0 and res.gap == pytest.approx(4 / 104) and res.status == Status.FEASIBLE
    # one that proves its own, better bound keeps it; one that reaches the earlier bound is optimal
    assert keep_bound(SolveResult(Status.OPTIMAL, 104.0, 104.0, 0.0, 1, "highs"), before).bound == 104.0
    assert keep_bound(SolveResult(Status.FEASIBLE, 100.0, None, None, 1, "highs"), before).status == Status.OPTIMAL


@pytest.mark.parametrize("command", ["solve", "budget", "breakeven"])
def test_the_cli_time_limit_counts_from_the_commands_start(command, monkeypatch):
    """Loading the problem and the catalog is part of the run --time-limit bounds: the planner's deadline is the
    command's start plus the limit, not the moment the planner starts (a slow load here: 0.3 s)."""
    from click.testing import CliRunner

    import optimizer.cli as cli
    import optimizer.problem as problem_mod
    seen = {}
    real_load = problem_mod.load_problem

    def slow_load(path):
        time.sleep(0.3)
        return real_load(path)

    def fake_plan(path, prob, cat, options, **kw):
        seen["options"], seen["at"] = options, time.perf_counter()
        raise cli.LlmplanError("stop here")

    monkeypatch.setattr(problem_mod, "load_problem", slow_load)
    monkeypatch.setattr(cli, "_plan", fake_plan)
    before = time.perf_counter()
    CliRunner().invoke(cli.main, [command, "problems/seed_budget.yaml", "--time-limit", "20"])
    started = seen["options"].deadline - 20
    assert before <= started <= seen["at"] - 0.3


def test_the_time_kept_for_the_plan_grows_with_the_workloads_up_to_a_tenth(tmp_path, monkeypatch):
    """`finish_reserve`: 0.3 s plus 12 ms per serving workload, at most 10% of the limit; solve_problem sets it from
    the problem (seen here by the first solve's options)."""
    import optimizer.pipeline as pl
    from optimizer.pipeline import finish_reserve
    assert finish_reserve(SolveOptions()) == 0.0
    assert finish_reserve(SolveOptions(time_limit=10)) == pytest.approx(1.0)  # not set: a tenth
    assert finish_reserve(SolveOptions(time_limit=10, finish_s=0.588)) == pytest.approx(0.588)
    assert finish_reserve(SolveOptions(time_limit=3, finish_s=0.588)) == pytest.approx(0.3)  # at most a tenth
    seen = []
    monkeypatch.setattr(pl, "_solve", lambda problem, cands, options, relax, start=None: seen.append(options)
                        or (_ for _ in ()).throw(RuntimeError("seen")))
    prob = parse_problem({"workloads": [serving("a", peak=1.0, req=100_000), serving("b", peak=1.0, req=100_000)]},
                         "p.yaml")
    with pytest.raises(RuntimeError):
        pl.solve_problem(prob, load_catalog(write_catalog(tmp_path / "cat")), SolveOptions(time_limit=10))
    assert seen[0].finish_s == pytest.approx(0.3 + 2 * 0.012)
