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


# --- the wait's quantile, burstiness, and workloads sharing one queue (mixing.py) --------------------------------

from optimizer.perf.queueing import mixed_headroom, mixed_wait_s, wait_quantile_s  # noqa: E402


def test_wait_quantile_is_the_mm_c_tail():
    """M/M/c: P(W > t) = C exp(-c (1 - rho) t / S); the 0.99 quantile is S / (c (1 - rho)) ln(100 C)."""
    c, lam, s = 4, 3.0, 1.0
    a = lam * s
    theta = s / (c * (1 - a / c))
    pw = erlang_c(c, a)
    q99 = queue_wait_s(c, lam, s, quantile=0.99)
    assert q99 == pytest.approx(theta * np.log(pw / 0.01))
    assert pw * np.exp(-q99 / theta) == pytest.approx(0.01)  # exactly 1% wait longer
    assert queue_wait_s(c, lam, s) == pytest.approx(pw * theta)  # the mean, as before
    assert wait_quantile_s(0.005, theta, 0.99) == 0.0  # fewer than 1% wait at all
    # burstier arrivals scale the wait by (C_a^2 + C_s^2) / 2 (Allen-Cunneen)
    assert queue_wait_s(c, lam, s, quantile=0.99, ca2=9.0) == pytest.approx(5 * q99)


def test_wait_quantile_matches_a_simulated_mm1_tail():
    rng = np.random.default_rng(5)
    lam, s = 0.8, 1.0
    arrivals = np.cumsum(rng.exponential(1 / lam, size=200_000))
    free, waits = 0.0, []
    for t, x in zip(arrivals, rng.exponential(s, size=len(arrivals))):
        start = max(t, free)
        waits.append(start - t)
        free = start + x
    sim_q99 = float(np.quantile(waits[20_000:], 0.99))
    assert queue_wait_s(1, lam, s, quantile=0.99) == pytest.approx(sim_q99, rel=0.1)


def test_one_class_mix_is_the_single_class_queue():
    for q in (None, 0.9, 0.99):
        for ca2 in (1.0, 4.0):
            assert mixed_wait_s([(5.0, 10.0, 12, 1.5)], q, ca2) == pytest.approx(
                queue_wait_s(12, 5.0, 1.5, quantile=q, ca2=ca2))


def test_two_class_mix_by_hand():
    """Two classes on one replica, each at half its planned capacity: f = (0.5, 0.5), c = floor((0.5*8 +
    0.5*24) / 1) = 16 slots; slot times t = s c / b = (0.5*16/8, 4*16/24) = (1, 8/3) s; a = 4*1 + 3*8/3 = 12,
    rho = 0.75; E[T] = 12/7, E[T^2] = (4*2*1 + 3*2*64/9)/7, C_s^2 = E[T^2]/E[T]^2 - 1."""
    classes = [(4.0, 8.0, 8, 0.5), (3.0, 6.0, 24, 4.0)]
    a, c = 12.0, 16
    et = a / 7
    cs2 = (4 * 2 * 1 + 3 * 2 * (8 / 3) ** 2) / 7 / et ** 2 - 1
    want = erlang_c(c, a) * et * (1 + cs2) / 2 / (c * (1 - a / c))
    assert mixed_wait_s(classes) == pytest.approx(want)
    # mixing a long class in makes the short one wait longer than it would alone at the same utilisation
    assert mixed_wait_s(classes) > queue_wait_s(8, 8.0 * 0.875, 0.5)


def test_headroom_is_the_largest_fraction_that_meets_every_slack():
    classes = [(4.0, 8.0, 8, 0.5, 0.3), (3.0, 6.0, 24, 4.0, 0.6)]
    d = mixed_headroom(classes, 0.99)
    assert 0 < d < 1
    per_f = 4 / 8 + 3 / 6

    def wait(scale):
        return mixed_wait_s([(q * scale / per_f, k, b, s) for q, k, b, s, _ in classes], 0.99)
    assert wait(d) <= 0.3 + 1e-9 and wait(d * 1.001) > 0.3
    assert mixed_headroom([(1.0, 8.0, 8, 0.5, 5.0), (1.0, 6.0, 24, 4.0, 5.0)], 0.99) == 1.0  # slack to spare
    assert mixed_headroom([(1.0, 8.0, 8, 0.5, -0.1), (1.0, 6.0, 24, 4.0, 5.0)]) == 0.0  # misses even empty
