"""Solver status is honest: a time-limited answer is 'feasible' with its gap, never 'optimal'."""

import random

import pulp
import pytest

from optimizer.model.solve import Status, solve


def market_split(seed=1, m=4, n=40):
    """A market-split instance: tiny, and notoriously hard for branch and bound."""
    rng = random.Random(seed)
    p = pulp.LpProblem("market_split", pulp.LpMinimize)
    x = [p.add_variable(f"x{j}", 0, 1, "Binary") for j in range(n)]
    s = [p.add_variable(f"s{i}", 0) for i in range(m)]
    t = [p.add_variable(f"t{i}", 0) for i in range(m)]
    p += pulp.lpSum(s) + pulp.lpSum(t)
    for i in range(m):
        a = [rng.randint(0, 99) for _ in range(n)]
        p += pulp.lpSum(a[j] * x[j] for j in range(n)) + s[i] - t[i] == sum(a) // 2
    return p


def test_time_limited_answer_is_feasible_with_gap(solver):
    r = solve(market_split(), solver, time_limit=0.5)
    assert r.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    if r.status == Status.FEASIBLE:
        assert r.gap is not None and r.gap > 1e-4 and r.bound <= r.objective


def test_small_problem_is_optimal_with_zero_gap(solver):
    p = pulp.LpProblem("t", pulp.LpMinimize)
    x = p.add_variable("x", 0, 10, "Integer")
    y = p.add_variable("y", 0)
    p += 3 * x + 2 * y + 5  # a constant in the objective is reported too
    p += x + y >= 2.5
    p += x >= 1
    r = solve(p, solver)
    assert r.status == Status.OPTIMAL and r.objective == pytest.approx(11.0) and r.gap == pytest.approx(0.0)
    assert r.bound == pytest.approx(11.0)


def test_infeasible(solver):
    p = pulp.LpProblem("t", pulp.LpMinimize)
    x = p.add_variable("x", 0, 1)
    p += x
    p += x >= 2
    assert solve(p, solver).status == Status.INFEASIBLE


def test_solver_banner_never_reaches_stdout(capfd):
    p = pulp.LpProblem("t", pulp.LpMinimize)
    x = p.add_variable("x", 0, 1, "Integer")
    p += x
    solve(p, "highs")
    out, _ = capfd.readouterr()
    assert out == ""


def test_concurrent_solves_leave_stdout_where_it_was():
    """fd 1 is the process's: two threads inside quiet_stdout at once (A enters, B enters, A leaves, B leaves) must
    leave it on the real stdout, not on the /dev/null the other thread had put there."""
    import os
    import threading

    from optimizer.model.solve import quiet_stdout

    before = os.fstat(1)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with quiet_stdout():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with quiet_stdout():
            b_in.set()
            a_out.wait(5)

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    after = os.fstat(1)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
