"""TTFT under load: the M/G/c (Allen-Cunneen) queueing delay, against closed forms, against the simulator's pool
model (`llmplan simulate`), and on plans simulated end to end."""

import statistics

import numpy as np
import pytest

from optimizer.perf.queueing import erlang_c, queue_wait_s
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem
from optimizer.routing.simulate import SimOptions, _Pool, simulate


def test_erlang_c_closed_forms():
    for rho in (0.1, 0.5, 0.9):
        assert erlang_c(1, rho) == pytest.approx(rho)  # M/M/1: P(wait) = rho
        a = 2 * rho
        assert erlang_c(2, a) == pytest.approx(2 * rho ** 2 / (1 + rho))  # M/M/2
    assert erlang_c(8, 8.0) == 1.0 and erlang_c(8, 0.0) == 0.0
    # M/M/1 mean wait rho S / (1 - rho); deterministic service halves it (Pollaczek-Khinchine, exact for c=1)
    assert queue_wait_s(1, 0.5, 1.0, cs2=1.0) == pytest.approx(1.0)
    assert queue_wait_s(1, 0.5, 1.0, cs2=0.0) == pytest.approx(0.5)
    assert queue_wait_s(4, 4.0, 1.0) == float("inf")


@pytest.mark.parametrize("c", [1, 4, 16])
@pytest.mark.parametrize("rho", [0.7, 0.85, 0.95])
def test_allen_cunneen_matches_the_simulators_pool(c, rho):
    """The simulator's pool is c FIFO slots held for a fixed time (M/D/c): the approximation with C_s^2 = 0 is
    within 20% of its mean wait."""
    rng = np.random.default_rng(c * 100 + int(rho * 100))
    service = 10.0
    lam = rho * c / service
    arrivals = np.cumsum(rng.exponential(1 / lam, size=120_000))
    pool = _Pool("p", "prov", 1, False, c)
    waits = [pool.start(t, service) for t in arrivals]
    sim = statistics.fmean(waits[10_000:])
    assert queue_wait_s(c, lam, service, cs2=0.0) == pytest.approx(sim, rel=0.2)


def _one_pool_plan(catalog, gpu, tier, requests_per_month):
    prob = parse_problem(dict(name="q", workloads=[dict(
        name="chat", models=["llama-3.1-8b"], requests_per_month=requests_per_month, peak_to_average=1.0,
        input_tokens=800, output_tokens=300, latency_tier=tier, precisions=["fp16"])],
        policy=dict(include_gpus=[gpu], max_utilization=0.85)))
    return plan(prob, catalog, SolveOptions())


@pytest.mark.parametrize("gpu,tier,volume", [("L40S", "interactive", 3_000_000), ("A10G", "standard", 2_000_000),
                                             ("H100-SXM", "interactive", 20_000_000)])
def test_plans_meet_ttft_at_load_in_simulation(default_catalog, gpu, tier, volume):
    p = _one_pool_plan(default_catalog, gpu, tier, volume)
    (d,) = p.deployments
    target = p.workloads[0].ttft_target_ms
    # the plan's TTFT includes its modelled wait and meets the tier at the planned load
    assert d.queue_ms is not None and d.queue_ms > 0 and d.ttft_ms <= target
    res = simulate(p, SimOptions(hours=1.0, seed=3))
    s = res.workloads["chat"]
    # the replica-by-replica, variable-length model (C_s^2 = 1) is the conservative side of the simulated wait
    assert statistics.fmean(s.queue_ms) <= d.queue_ms
    assert s.late <= 0.02 * s.arrived
