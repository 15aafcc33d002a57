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

PLANNING_CS2 = 1.0  # service-time variability assumed when planning (output lengths vary)


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a (Erlangs); 1 when a >= c."""
    if c < 1:
        raise ValueError("c must be >= 1")
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho * (1 - b))


def queue_wait_s(c: int, arrival_rps: float, service_s: float, cs2: float = PLANNING_CS2) -> float:
    """Mean wait for a slot (seconds): Allen-Cunneen's M/G/c approximation; inf at or above saturation."""
    if arrival_rps <= 0:
        return 0.0
    a = arrival_rps * service_s
    if a >= c:
        return float("inf")
    rho = a / c
    return erlang_c(c, a) * service_s / (c * (1 - rho)) * (1 + cs2) / 2
