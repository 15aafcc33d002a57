"""Queueing delay before a request gets a batch slot: an M/G/c approximation (Allen-Cunneen).

A replica running continuous batching at `batch` sequences is c = batch parallel servers; a request holds one
for its service time S = batch / requests_per_s (prefill plus osl decode steps at the operating point). With
Poisson arrivals at rate lambda (the planned load), offered load a = lambda S and utilisation rho = a / c < 1:

    P_wait = Erlang C(c, a)            (probability an arrival finds every slot busy)
    W_q    = P_wait S / (c (1 - rho)) x (C_a^2 + C_s^2) / 2

C_a^2 = 1 (Poisson arrivals); C_s^2 is the squared coefficient of variation of the service time: 0 for equal
requests (the simulator's deterministic slot times), about 1 for real output lengths (the planning default).
Erlang C comes from the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), which is stable for c in the
thousands: C = B / (1 - rho (1 - B)).
"""

from __future__ import annotations

import math
from functools import lru_cache

PLANNING_CS2 = 1.0  # service-time variability assumed when planning (output lengths vary)


@lru_cache(maxsize=1 << 17)
def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a (Erlangs); 1 when a >= c.

    Remembered per (c, a): sizing a pool bisects the load of many operating points with the same c, and their
    offered loads a = rho x c meet at the same bisection points rho, so most calls repeat one already made
    (about 5 in 6 on the large benchmark problem). The recursion computes a B(k-1) once per step."""
    if c < 1:
        raise ValueError("c must be >= 1")
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    rho = a / c
    return b / (1 - rho * (1 - b))


def queue_wait_s(c: int, arrival_rps: float, service_s: float, cs2: float = PLANNING_CS2,
                 quantile: float | None = None, ca2: float = 1.0) -> float:
    """Wait for a slot (seconds): the mean (quantile None) or the `quantile` of the wait, from Allen-Cunneen's
    M/G/c approximation; inf at or above saturation. See `wait_quantile_s`."""
    if arrival_rps <= 0:
        return 0.0
    a = arrival_rps * service_s
    if a >= c:
        return float("inf")
    rho = a / c
    return wait_quantile_s(erlang_c(c, a), service_s * (ca2 + cs2) / 2 / (c * (1 - rho)), quantile)


def wait_at_load(c: int, rate_rps: float, service_s: float, cs2: float = PLANNING_CS2,
                 quantile: float | None = None, ca2: float = 1.0):
    """wait(rho) = queue_wait_s(c, rho x rate_rps, service_s, cs2, quantile, ca2) as one function of the
    utilisation rho, for a search over rho: the constant part of the scale, S (C_a^2 + C_s^2) / 2, is computed
    once; each value is the same number queue_wait_s gives (the same operations in the same order)."""
    spread = service_s * (ca2 + cs2) / 2

    def wait(rho: float) -> float:
        arrival = rho * rate_rps
        if arrival <= 0:
            return 0.0
        a = arrival * service_s
        if a >= c:
            return float("inf")
        return wait_quantile_s(erlang_c(c, a), spread / (c * (1 - a / c)), quantile)

    return wait


def wait_quantile_s(p_wait: float, scale_s: float, quantile: float | None) -> float:
    """The wait of an M/G/c queue from P_wait = ErlangC and its exponential scale theta = S (1 + C_s^2) / 2 /
    (c (1 - rho)): the mean is P_wait theta; the waiting time is 0 with probability 1 - P_wait and exponential with
    mean theta otherwise (exact for M/M/c), so P(W > t) = P_wait exp(-t / theta) and its q-quantile is
    theta ln(P_wait / (1 - q)) when P_wait > 1 - q, else 0."""
    if quantile is None:
        return p_wait * scale_s
    if p_wait <= 1 - quantile:
        return 0.0
    return scale_s * math.log(p_wait / (1 - quantile))


# --- several request classes on one replica --------------------------------------------------------------------
#
# The planner adds the loads of the workloads (or request classes) that share a pool: class w at per-replica rate
# lam_w uses f_w = lam_w / k_w of a replica, k_w being its planned capacity alone (its own batch b_w, service time
# s_w and queue). The sum of f_w <= 1 is exact for throughput when each class could have whole replicas, but the
# classes share one queue: a short request waits behind long ones. `mixed_wait_s` evaluates that queue with the
# same Allen-Cunneen approximation as one class:
#
#     slots  c = floor(sum_w f_w b_w / sum_w f_w)     (the replica's time split between the classes' batches)
#     slot time of a class-w request  t_w = s_w c / b_w  (a class-w request is 1/b_w of a replica's batch for s_w,
#                                                         that is c/b_w of the pool's c slots)
#     load   a = sum_w lam_w t_w,  rho = a / c  (= sum_w lam_w / r_w, r_w = b_w / s_w the class's raw rate)
#     W_q    = ErlangC(c, a) / (c (1 - rho)) x E[T] (C_a^2 + C_s^2) / 2,   C_s^2 = E[T^2] / E[T]^2 - 1
#
# with C_s^2 = 1 within each class (planning default), so E[T_w^2] = 2 t_w^2. For one class this is exactly
# `queue_wait_s(b, lam, s)`: the pool's check reduces to the one the class was planned with. A class meets its TTFT
# target when its service TTFT plus W_q does; `mixed_headroom` gives the largest fraction of the pool's planned
# capacity (for the same mix) at which every class does.


def mixed_wait_s(classes: list[tuple[float, float, int, float]], quantile: float | None = None,
                 ca2: float = 1.0) -> float:
    """Mean wait for a slot on one replica serving several classes; `classes` holds, per class, (lam: arrivals/s
    on the replica, k: the class's planned capacity of one replica in requests/s, b: its batch, s: seconds a
    request holds a slot). inf at or above saturation."""
    live = [(lam, k, b, s) for lam, k, b, s in classes if lam > 0]
    if not live:
        return 0.0
    f = [lam / k for lam, k, _, _ in live]
    c = max(1, int(sum(fi * b for fi, (_, _, b, _) in zip(f, live)) / sum(f) + 1e-9))
    t = [s * c / b for _, _, b, s in live]
    a = sum(lam * ti for (lam, _, _, _), ti in zip(live, t))
    if a >= c:
        return float("inf")
    total = sum(lam for lam, _, _, _ in live)
    mean_t = a / total
    cs2 = sum(lam * 2 * ti * ti for (lam, _, _, _), ti in zip(live, t)) / total / mean_t ** 2 - 1
    return wait_quantile_s(erlang_c(c, a), mean_t * (ca2 + cs2) / 2 / (c * (1 - a / c)), quantile)


def mixed_headroom(classes: list[tuple[float, float, int, float, float]], quantile: float | None = None,
                   ca2: float = 1.0) -> float:
    """The largest d in (0, 1] such that the mix at d x its planned capacity (rates scaled so that sum lam/k = d)
    keeps every class's wait within its slack; `classes` holds (share of the pool's load in requests, k, b, s,
    slack_s = TTFT target - service TTFT). 0 when even a trickle misses a target."""
    live = [c for c in classes if c[0] > 0]
    if not live:
        return 1.0
    slack = min(c[4] for c in live)
    if slack <= 0:
        return 0.0
    per_f = sum(c[0] / c[1] for c in live)  # fraction of a replica used per unit of the load vector

    def ok(d: float) -> bool:
        scale = d / per_f
        return mixed_wait_s([(q * scale, k, b, s) for q, k, b, s, _ in live], quantile, ca2) <= slack

    if ok(1.0):
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo
