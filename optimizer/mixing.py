"""Pools shared by request classes of different lengths: the queue they share, checked and priced.

The formulation adds the loads of the workloads sharing a pool (sum_w a_cw x_wc <= n_c), each at the capacity it
was planned with alone (its own batch and queue, `candidates.replica_point`). That is exact for throughput, but not
for the queue: a short request waits behind long ones, and the pool's slots are split between batches of different
sizes. `perf/queueing.py` (`mixed_wait_s`) evaluates the shared queue; this module applies it to a solution:

- `headroom(problem, cands, loads)`: for one pool state (the loads of the workloads on it), the largest fraction
  d of the pool's planned capacity at which every workload still meets its TTFT target at the planned quantile
  with that mix (1 when the pool serves one workload: the check reduces to the one it was planned with);
- `violations(problem, cands, model)`: the pools of a solved model that run above their headroom (at peak, and
  hour by hour for autoscaled workloads);
- `derate(cands, factors)`: candidates whose pools serve every workload at d x their capacity.

`pipeline.solve_problem` re-solves with derated pools until no shared pool runs above its headroom (a pool keeps
the smallest factor any of its mixes needed, so the rounds end). The derating is a restriction found for the mixes
the solver chose, not a convex model of every mix: the plan is checked and verified against the shared-queue
model (`verify.py` recomputes it from the plan's lines), and its optimality is relative to the derated pools.
Pools with a measured capacity have no modelled operating point and are not checked (the measurement is the
real system's). Failover re-routing is checked with the planned (additive) capacity only.
"""

from __future__ import annotations

from dataclasses import replace

from .candidates import Candidates
from .perf.queueing import mixed_headroom
from .problem import Problem

EPS = 1e-7
MAX_ROUNDS = 6


def headroom(problem: Problem, pool, loads: dict[str, float], capacity: dict[str, float] | None = None) -> float:
    """d in [0, 1] for the pool serving `loads` (workload -> req/s at peak); `capacity` (default: the pool's)
    gives each workload's requests/s per instance as planned alone."""
    capacity = capacity if capacity is not None else pool.capacity
    live = {w: q for w, q in loads.items() if q > EPS}
    if len(live) < 2 or any(pool.points.get(w) is None for w in live):
        return 1.0
    serving = {w.name: w for w in problem.serving}
    rpi = pool.replicas_per_instance
    classes = []
    for w, q in live.items():
        pt = pool.points[w]
        slack_s = (serving[w].ttft_target_ms - pt.service_ttft_ms) / 1000.0
        classes.append((q, capacity[w] / rpi, pt.batch, pt.slot_s, slack_s))
    ca2 = max(serving[w].arrival_cv2 for w in live)  # the merged stream: no burstier than its burstiest part
    return mixed_headroom(classes, problem.policy.ttft_quantile, ca2)


def _val(v) -> float:
    return float(v.value() or 0.0) if v is not None else 0.0


def violations(problem: Problem, cands: Candidates, model) -> dict[str, float]:
    """Pool id -> d / f, for pools of the solution that use more than the headroom d of their planned capacity:
    the factor to derate the model's capacity by (f, `cands.derated`, is the derating it already has). The queue
    and the use are both measured against the pool's own capacity, not the derated one: derating is a planning
    limit, the servers are as fast as before (verify's shared-queue check measures the same way)."""
    lam = {w.name: w.peak for w in problem.serving}
    hp = model.hourly
    out: dict[str, float] = {}
    derated = getattr(cands, "derated", None) or {}
    for pool in cands.pools:
        f = derated.get(pool.id, 1.0)
        base = {w: k / f for w, k in pool.capacity.items()}
        states = []
        if hp is None:
            n = _val(model.n.get(pool.id))
            loads = {w: _val(model.x.get((w, pool.id))) * lam[w] for w in pool.capacity}
            states.append((n, loads))
        else:
            for t in range(24):
                n = _val(hp.n.get((pool.id, t)))
                loads = {w: _val(hp.x.get((w, pool.id, t))) * lam[w] * hp.r[(w, t)] for w in pool.capacity}
                states.append((n, loads))
        for n, loads in states:
            if n < 0.5 or sum(1 for q in loads.values() if q > EPS) < 2:
                continue
            used = sum(q / base[w] for w, q in loads.items() if q > EPS) / n
            d = headroom(problem, pool, loads, base)
            if used > d * (1 + 1e-6) + 1e-9:
                out[pool.id] = min(out.get(pool.id, 1.0), d / f)
    return out


def derate(cands: Candidates, factors: dict[str, float]) -> Candidates:
    """The candidates with pool p serving every workload at factors[p] x its capacity (its bands and operating
    points unchanged: the plan reports the derated capacity, and `derated` says by how much)."""
    pools = [replace(p, capacity={w: k * factors[p.id] for w, k in p.capacity.items()}) if p.id in factors else p
             for p in cands.pools]
    out = replace(cands, pools=pools)
    out.derated = dict(factors)
    return out
