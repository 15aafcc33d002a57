"""Workloads of different lengths sharing a pool share its queue: the planner derates such a pool until the
shared queue meets every workload's TTFT target at the planned quantile, and `verify` checks it independently."""

import pytest

from optimizer import mixing
from optimizer.classes import expand_classes
from optimizer.pipeline import solve_problem
from optimizer.planner import plan
from optimizer.problem import parse_problem
from optimizer.verify import verify_plan


def _two_lengths(**policy):
    """One GPU type, two workloads (short prompts and long outputs) that fit one pool together."""
    return parse_problem(dict(name="mix", workloads=[
        dict(name="short", models=["llama-3.1-8b"], requests_per_month=6_000_000, peak_to_average=1.0,
             input_tokens=1000, output_tokens=13, latency_tier="interactive", precisions=["fp8"]),
        dict(name="long", models=["llama-3.1-8b"], requests_per_month=2_500_000, peak_to_average=1.0,
             input_tokens=2200, output_tokens=300, latency_tier="interactive", precisions=["fp8"])],
        policy=dict(include_gpus=["MI300X"], include_providers=["runpod"], **policy)))


def five_percent_headroom(monkeypatch) -> None:
    """Force the shared queue to allow 5% of each pool's capacity planned alone (`mixing.headroom` measures d
    against that capacity, the `capacity` it is given)."""
    monkeypatch.setattr(mixing, "headroom", lambda problem, pool, loads, capacity=None: 0.05)


def test_a_shared_pool_runs_within_its_mixed_headroom(default_catalog):
    prob = _two_lengths()
    cands, model, res = solve_problem(prob, default_catalog)
    assert not mixing.violations(prob, cands, model)
    p = plan(prob, default_catalog)
    assert p.status == "optimal" and verify_plan(p, prob, default_catalog).ok


def test_the_pipeline_derates_a_pool_to_its_headroom(default_catalog, monkeypatch):
    """With the shared queue allowing 5% of the planned capacity, the pool the additive optimum shares is
    derated to 0.05, the re-solve keeps it within that, and the plan carries the factor."""
    prob = _two_lengths()
    cands0, model0, _ = solve_problem(prob, default_catalog)
    shared0 = [p for p in cands0.pools if sum((model0.x[(w, p.id)].value() or 0) > 1e-7 for w in p.capacity) >= 2]
    assert shared0, "the additive optimum shares one pool between the two workloads"
    base = {p.id: p.capacity for p in cands0.pools}
    five_percent_headroom(monkeypatch)
    cands, model, res = solve_problem(prob, default_catalog)
    assert cands.derated and all(f == pytest.approx(0.05) for f in cands.derated.values())
    assert shared0[0].id in cands.derated
    assert not mixing.violations(prob, cands, model)
    for pid in cands.derated:
        assert all(cands.pool(pid).capacity[w] == pytest.approx(0.05 * base[pid][w]) for w in base[pid])


def test_verify_catches_a_shared_pool_above_its_headroom(default_catalog, monkeypatch):
    """verify recomputes the shared queue's headroom from the plan's lines: a plan made without a derating that
    the queue needs fails it (the headroom is forced low here; the math is tested in test_queueing.py)."""
    import optimizer.verify as verify_mod
    prob = _two_lengths()
    p = plan(prob, default_catalog)
    assert verify_plan(p, prob, default_catalog).ok
    monkeypatch.setattr(verify_mod, "mixed_headroom", lambda classes, q=None, ca2=1.0: 0.01)
    v = verify_plan(p, prob, default_catalog)
    assert not v.ok and any("share its queue" in x.message for x in v.violations)


def test_code_trace_example_is_checked_against_its_shared_queues(default_catalog):
    """The code trace example (planned from 5 s windows, arrival_cv2 2.42 inside them): every shared pool of its
    plan runs within its mixed headroom."""
    from pathlib import Path

    from optimizer.problem import load_problem
    root = Path(__file__).resolve().parents[1]
    prob = load_problem(root / "problems" / "trace_code.yaml")
    assert prob.workloads[0].arrival_cv2 == pytest.approx(2.42)
    cands, model, _ = solve_problem(expand_classes(prob), default_catalog)
    assert not mixing.violations(expand_classes(prob), cands, model)


def test_out_of_time_the_derated_pools_are_scaled_up_instead_of_re_solved(default_catalog, monkeypatch):
    """When the time limit leaves no time to rebuild and re-solve, the plan keeps its routing and buys
    ceil(n / d) instances of each derated pool: feasible for the shared queue, reported as feasible, never optimal,
    with the earlier bound."""
    import time

    from optimizer.pipeline import SolveOptions
    prob = _two_lengths()
    cands0, model0, res0 = solve_problem(prob, default_catalog)
    five_percent_headroom(monkeypatch)
    shared = [p.id for p in cands0.pools if sum((model0.x[(w, p.id)].value() or 0) > 1e-7 for w in p.capacity) >= 2]
    n0 = {pid: round(model0.n[pid].value()) for pid in shared}
    # a deadline already nearly spent: the first solve gets its minimum, the derating cannot be re-solved
    late = SolveOptions(time_limit=60, deadline=time.perf_counter() + 0.01)
    cands, model, res = solve_problem(prob, default_catalog, late)
    assert res.status.value == "feasible" and res.bound == pytest.approx(res0.objective)
    assert not mixing.violations(prob, cands, model)
    for pid in shared:
        assert round(model.n[pid].value()) == 20 * n0[pid]  # ceil(n / 0.05)
    p = plan(prob, default_catalog, late)
    assert p.status == "feasible" and p.verification["violations"] == []


def test_a_derating_re_solve_out_of_time_keeps_the_scaled_up_plan(default_catalog, monkeypatch):
    """When the derating re-solve ends without a plan (its time ran out before it read its start), the plan before
    it with ceil(n / d) instances of each derated pool is returned: feasible, never optimal, verified."""
    import optimizer.pipeline as pl
    from optimizer.model.solve import SolveResult, Status
    from optimizer.pipeline import SolveOptions
    prob = _two_lengths()
    cands0, model0, res0 = solve_problem(prob, default_catalog)
    five_percent_headroom(monkeypatch)
    real, calls = pl._solve, []

    def starved(problem, cands, options, relax, start=None):
        calls.append(start)
        factors, model, res = real(problem, cands, options, relax, start)
        if start is not None:  # the re-solve: no plan in its time
            return factors, model, SolveResult(Status.NO_SOLUTION, None, None, None, 0.5, res.solver)
        return factors, model, res

    monkeypatch.setattr(pl, "_solve", starved)
    shared = [p.id for p in cands0.pools if sum((model0.x[(w, p.id)].value() or 0) > 1e-7 for w in p.capacity) >= 2]
    assert shared
    cands, model, res = pl.solve_problem(prob, default_catalog, SolveOptions(time_limit=60))
    assert len(calls) == 2 and calls[1] is not None
    assert res.status == Status.FEASIBLE and res.objective > res0.objective
    assert not mixing.violations(prob, cands, model)
    p = plan(prob, default_catalog, SolveOptions(time_limit=60))
    assert p.status == "feasible" and p.verification["violations"] == []


def test_a_component_whose_derating_rounds_run_out_is_repaired_not_scaled_up(default_catalog, monkeypatch):
    """A component's exact solve (`solve_part`, used by the decomposition) with no derating round left repairs the
    shared pool (re-routes within the plan, `repair_rounds`) instead of buying ceil(n / d) instances: no pool runs
    above its headroom, the cost is below the scaled-up plan's, and the bound is the model's before the repair."""
    import optimizer.pipeline as pl
    from optimizer.candidates import build_candidates
    from optimizer.model.formulation import build_model
    from optimizer.model.solve import solve
    prob = _two_lengths()
    cands = build_candidates(prob, default_catalog)
    five_percent_headroom(monkeypatch)
    model0 = build_model(prob, cands)
    res0 = solve(model0.prob)
    over = mixing.violations(prob, cands, model0)
    assert over, "the additive optimum shares a pool above its (forced) headroom"
    scaled = res0.objective + pl.scale_up_usd(model0, mixing.derate(cands, over), over)
    monkeypatch.setattr(pl, "PART_ROUNDS", 0)
    found = pl.solve_part(prob, cands, pl.SolveOptions(), None)
    assert not mixing.violations(prob, mixing.derate(cands, found.factors), found.model)
    assert found.res.objective < scaled - 1.0
    assert found.res.bound == pytest.approx(res0.objective) and found.res.bound <= found.res.objective


def test_a_resumed_component_goes_on_from_its_derating(default_catalog, monkeypatch):
    """`solve_part(..., resume=True)` (the decomposition's second try at a part still open) starts from the plan's
    derating factors, not from none, and keeps the bound the plan's model proved."""
    import optimizer.pipeline as pl
    from optimizer.candidates import build_candidates
    prob = _two_lengths()
    cands = build_candidates(prob, default_catalog)
    five_percent_headroom(monkeypatch)
    first = pl.solve_part(prob, cands, pl.SolveOptions(), None)
    assert first.factors, "the first solve derated the shared pool"
    seen = []
    real = pl._exact_part
    monkeypatch.setattr(pl, "_exact_part", lambda *a: seen.append(dict(a[5])) or real(*a))  # a[5]: factors
    again = pl.solve_part(prob, cands, pl.SolveOptions(time_limit=60), 30, first, resume=True)
    fresh = pl.solve_part(prob, cands, pl.SolveOptions(time_limit=60), 30, first)
    assert seen == [first.factors, {}]
    assert all(again.factors[pid] <= d + 1e-12 for pid, d in first.factors.items())
    # the bound stays the one proven before any derating (pipeline.derated_bound)
    assert again.res.bound == pytest.approx(first.res.bound) and again.res.objective <= first.res.objective + 1e-6
    assert fresh.res.objective == pytest.approx(first.res.objective)


def test_a_derated_plan_is_bounded_by_the_model_before_any_derating(default_catalog, monkeypatch):
    """The derated model is not a relaxation of the problem (its factors fit the mix of the plan before): the bound
    reported after a derating is the one the model without derating proved, so a plan whose derating cost more than
    0.01% is feasible with that cost in its gap, never optimal (before: optimal, with the derated model's bound)."""
    prob = _two_lengths()
    _, _, res0 = solve_problem(prob, default_catalog)  # no derating needed: the additive optimum
    five_percent_headroom(monkeypatch)
    cands, model, res = solve_problem(prob, default_catalog)
    assert cands.derated and res.objective > res0.objective * 1.01
    assert res.bound == pytest.approx(res0.objective) and res.status.value == "feasible"
    assert res.gap == pytest.approx((res.objective - res0.objective) / res.objective)
    p = plan(prob, default_catalog)
    assert p.status == "feasible" and p.lower_bound_usd <= res0.objective + 1e-6


def test_a_derated_component_solved_to_its_own_optimum_is_settled(default_catalog, monkeypatch):
    """A component whose derated model was solved to its optimum with no queue over is `settled`: the second try
    of the decomposition (which skips settled parts) could not improve it, though `derated_bound` keeps it
    feasible; a component that needed no derating is settled and optimal."""
    import optimizer.pipeline as pl
    from optimizer.candidates import build_candidates
    prob = _two_lengths()
    cands = build_candidates(prob, default_catalog)
    plain = pl.solve_part(prob, cands, pl.SolveOptions(), None)
    assert plain.settled and plain.res.status.value == "optimal" and not plain.factors
    five_percent_headroom(monkeypatch)
    derated = pl.solve_part(prob, cands, pl.SolveOptions(), None)
    assert derated.factors and derated.settled and derated.res.status.value == "feasible"
