"""Discrete-event replay of a plan's traffic through the router and the planned capacity.

Traffic: each serving workload sends Poisson arrivals at its peak (default) or average rate for `hours`; the
streams are merged in time order. Events (provider outages, spot reclaims and returns) are processed in time
order between arrivals. Everything random comes from one seed: numpy's generator for arrivals and reclaims,
`random.Random` inside each workload's router.

Each request asks its workload's router for a ranked list (first choice, then fallbacks in failover order) and
tries the targets in turn:
- a target whose provider is down fails at once: the router records the failure (circuit breaker: after
  `allowed_fails` in a row the target cools down for `cooldown_s`), and the request tries the next target;
- an API at its account limit (RPM or TPM over a sliding 60 s window, shared by every workload on the account)
  or a pool at its planned capacity (the `rpm` the LiteLLM export sets: capacity_rps x 60) answers 429: a
  rate-limit hit, and the request tries the next target;
- a pool queues the request unless its queueing delay would exceed the workload's TTFT target (then it sheds
  it: the request tries the next target). A pool is `slots` parallel FIFO servers, the concurrency of
  continuous batching: slots = full_rps x (TTFT + output tokens x TPOT) at the plan's operating point, split
  evenly over its instances (full_rps = capacity_rps / max_utilization, the modelled throughput; for the plan's
  own operating point this is batch x replicas). A request of workload w holds a slot for slots / full_rps_w
  seconds, so the pool serves exactly full_rps_w when busy; a pool shared by several workloads shares its
  slots. The queueing delay is the wait for the first free slot;
- a request served by a target other than its first choice counts as failed over; one no target takes is
  rejected.
A request's time to first token is its queueing delay plus the target's TTFT at its operating point (an API's
typical TTFT); it is late when that exceeds the workload's TTFT target.
Outages: `Failure(provider, start_s, end_s)`; requests in flight on the provider's targets at the start are
counted as interrupted. Spot reclaims: each running spot instance is reclaimed at `spot_rate` per
instance-hour (a Poisson process) and replaced after `spot_recovery_s`; the requests in flight on it (the pool's
in-flight requests / running instances) are counted as interrupted.
Replayed arrivals (`Arrivals`, from a trace: optimizer/routing/replay.py) replace the Poisson streams: each
request keeps its own input and output tokens. Its slot is held in proportion to its own service time at the
target's operating point (TTFT x input / the workload's mean input + output tokens x TPOT), its TTFT is the
queueing delay plus the target's TTFT x input / mean input (prefill grows with the prompt), and it counts against
TPM with its own tokens. A request is within its SLO when it is served with TTFT and TPOT within the workload's
targets.
Limits of the model: one operating point per pool (the plan's batch, TTFT and TPOT at peak), no retries of
interrupted requests, and clients that do not time out beyond the TTFT target.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..bounds import MAX_SIM_ARRIVALS
from ..errors import LlmplanError
from ..result import Plan
from .export import pool_rpm
from .router import STRATEGIES, router_for
from .targets import WorkloadRoutes, largest_provider, provider_loads, route_tables

API_WINDOW_S = 60.0


@dataclass(frozen=True)
class Failure:
    provider: str
    start_s: float
    end_s: float  # exclusive; the run's end for "until the end"


@dataclass(frozen=True)
class Arrivals:
    """Replayed requests in time order: seconds from the start, workload name, input and output tokens."""

    t_s: tuple
    workload: tuple
    input_tokens: tuple
    output_tokens: tuple
    source: str = "<trace>"


@dataclass(frozen=True)
class SimOptions:
    hours: float = 1.0
    load: str = "peak"  # "peak" or "average"
    strategy: str = "balanced"
    seed: int = 0
    failures: tuple[Failure, ...] = ()
    spot_rate: float = 0.0  # reclaims per spot instance-hour
    spot_recovery_s: float = 600.0
    allowed_fails: int = 3
    cooldown_s: float = 30.0
    trace: str | None = None  # the replayed trace (None: Poisson arrivals)


@dataclass
class WindowStats:
    provider: str
    start_s: float
    end_s: float
    arrived: int = 0
    served: int = 0

    def fraction_of_peak(self, peak_rps: float) -> float:
        dur = self.end_s - self.start_s
        return self.served / (peak_rps * dur) if dur > 0 and peak_rps > 0 else 0.0

    @property
    def served_fraction(self) -> float:
        return self.served / self.arrived if self.arrived else 1.0


@dataclass
class WorkloadStats:
    workload: str
    rate_rps: float
    peak_rps: float
    ttft_target_ms: float
    arrived: int = 0
    served: int = 0
    failed_over: int = 0
    rejected: int = 0
    rate_limit_hits: int = 0
    errors: int = 0  # attempts that hit a down target
    shed: int = 0  # attempts a full pool queue turned away
    late: int = 0  # served with TTFT over the target
    within: int = 0  # served with TTFT and TPOT within the targets
    ttft_ms: list = field(default_factory=list)  # TTFT of every served request (queueing + the target's TTFT)
    served_by: dict = field(default_factory=dict)  # target id -> requests
    queue_ms: list = field(default_factory=list)  # queueing delay of every served request
    windows: list = field(default_factory=list)  # WindowStats per failure

    def queue_percentiles(self) -> dict:
        if not self.queue_ms:
            return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
        a = np.asarray(self.queue_ms)
        p50, p95, p99 = np.percentile(a, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(a.max())}

    def ttft_percentiles(self) -> dict:
        if not self.ttft_ms:
            return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
        a = np.asarray(self.ttft_ms)
        p50, p95, p99 = np.percentile(a, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(a.max())}


@dataclass
class SimResult:
    problem: str
    options: SimOptions
    workloads: dict  # name -> WorkloadStats
    interrupted: int
    spot_reclaims: int
    failover_fraction: float | None
    provider_loads: dict
    wall_s: float = 0.0

    @property
    def arrived(self) -> int:
        return sum(w.arrived for w in self.workloads.values())


# --- parsing ----------------------------------------------------------------------------------------------

_DUR = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*$")


def _floor_sig(x: float) -> str:
    """x rounded down to 2 significant digits, as text: the largest round value that still fits."""
    if x <= 0:
        return "0"
    e = math.floor(math.log10(x)) - 1
    return f"{math.floor(x / 10 ** e) * 10 ** e:.{max(0, -e)}f}"


def parse_duration(text: str, what: str) -> float:
    """'30m', '1800s', '0.5h' or a bare number of minutes -> seconds."""
    m = _DUR.match(text)
    if not m:
        raise LlmplanError(f"cannot read {what} '{text}'", where="--fail",
                           fix="write a time like 30m, 1800s or 0.5h (a bare number means minutes)")
    v = float(m.group(1))
    return v * {"s": 1.0, "m": 60.0, "h": 3600.0, "": 60.0}[m.group(2)]


def parse_failure(spec: str, tables: dict[str, WorkloadRoutes], run_s: float) -> Failure:
    """'PROVIDER@START' (down until the end) or 'PROVIDER@START+DURATION'; PROVIDER 'largest' is the provider
    carrying the most planned traffic at peak."""
    if "@" not in spec:
        raise LlmplanError(f"cannot read --fail '{spec}'", where="--fail",
                           fix="write PROVIDER@TIME, e.g. aws@30m or openai@10m+15m")
    prov, when = spec.split("@", 1)
    prov = prov.strip()
    if prov == "largest":
        prov = largest_provider(tables)
    known = sorted({t.provider for r in tables.values() for t in r.targets})
    if prov not in known:
        raise LlmplanError(f"provider '{prov}' carries nothing in this plan", where="--fail",
                           fix=f"name one of {', '.join(known)} (or 'largest')")
    start_txt, _, dur_txt = when.partition("+")
    start = parse_duration(start_txt, "start time")
    end = start + parse_duration(dur_txt, "duration") if dur_txt else run_s
    if start >= run_s:
        raise LlmplanError(f"--fail '{spec}' starts at {start / 60:.1f} min, after the {run_s / 60:.1f} min run",
                           where="--fail", fix="start the outage within --hours")
    return Failure(prov, start, min(end, run_s))


# --- state ------------------------------------------------------------------------------------------------

class _Pool:
    """A pool as `slots` parallel servers (continuous batching: the plan's batch x replicas), FIFO. `free` is a
    min-heap of the times at which each running slot frees up."""

    __slots__ = ("id", "provider", "instances", "up", "per_instance", "free", "spot", "down", "reclaimed")

    def __init__(self, pid, provider, instances, spot, slots):
        self.id, self.provider, self.instances, self.spot = pid, provider, instances, spot
        # never more slots than requests a run replays: more could not change the result, only exhaust memory
        cap = MAX_SIM_ARRIVALS // max(instances, 1) + 1
        self.per_instance = max(1, int(round(min(slots / max(instances, 1), cap))))
        self.up = instances
        self.free = [0.0] * (self.per_instance * instances)
        self.down = False
        self.reclaimed = 0  # instances reclaimed and not yet replaced

    def wait(self, t: float) -> float:
        return max(0.0, self.free[0] - t) if self.free else float("inf")

    def start(self, t: float, occupancy_s: float) -> float:
        """Queue a request arriving at t; returns its queueing delay."""
        start = max(t, self.free[0])
        heapq.heapreplace(self.free, start + occupancy_s)
        return start - t

    def in_flight(self, t: float) -> int:
        return sum(1 for f in self.free if f > t)

    def lose(self, t: float, instances: int) -> int:
        """Instances go away at t; returns the requests in flight on them (a proportional share)."""
        if self.up <= 0:
            return 0
        lost = round(self.in_flight(t) * instances / self.up)
        for _ in range(min(len(self.free), instances * self.per_instance)):
            heapq.heappop(self.free)
        self.up -= instances
        return lost

    def gain(self, t: float, instances: int) -> None:
        for _ in range(instances * self.per_instance):
            heapq.heappush(self.free, t)
        self.up += instances


class _Window:
    """Requests and tokens accepted in the last 60 s (a sliding window), for an API account or a pool line."""

    __slots__ = ("rpm", "tpm", "times", "tokens", "tok_sum")

    def __init__(self, rpm, tpm):
        self.rpm, self.tpm = rpm, tpm
        self.times: deque = deque()
        self.tokens: deque = deque()
        self.tok_sum = 0

    def _expire(self, t: float) -> None:
        cut = t - API_WINDOW_S
        while self.times and self.times[0] <= cut:
            self.times.popleft()
            self.tok_sum -= self.tokens.popleft()

    def admits(self, t: float, tokens: int) -> bool:
        self._expire(t)
        if self.rpm and len(self.times) + 1 > self.rpm:
            return False
        if self.tpm and self.tok_sum + tokens > self.tpm:
            return False
        return True

    def add(self, t: float, tokens: int) -> None:
        self.times.append(t)
        self.tokens.append(tokens)
        self.tok_sum += tokens

    def use_rps(self, t: float, tokens: int) -> float:
        """Current use as requests/s at this token length (whichever of RPM and TPM is nearer its limit)."""
        self._expire(t)
        return max(len(self.times), self.tok_sum / max(tokens, 1)) / API_WINDOW_S


# --- the simulation ---------------------------------------------------------------------------------------

def _pool_slots(tables: dict[str, WorkloadRoutes]) -> dict[str, tuple[float, int]]:
    """Batch slots of each pool whose every workload has a modelled operating point: replicas x the batch the
    plan runs, the batches of the workloads sharing the pool weighted by the fraction of the pool each uses at
    peak (perf/queueing.py's `mixed_wait_s` counts slots the same way, so a replayed pool is the queue the plan
    was checked with; one workload: its planned batch). Pools with a measured capacity are left out.
    Returns pool id -> (slots, batch per replica)."""
    by_pool: dict[str, list] = {}
    for r in tables.values():
        for t in r.targets:
            if t.kind == "pool":
                by_pool.setdefault(t.id, []).append((r, t))
    out = {}
    for pid, ts in by_pool.items():
        if any(t.batch is None or not t.planned_rps for _, t in ts):
            continue
        f = [t.share * r.peak_rps / t.planned_rps for r, t in ts]
        if sum(f) <= 0:
            f = [1.0] * len(ts)
        batch = max(1, int(sum(fi * t.batch for fi, (_, t) in zip(f, ts)) / sum(f) + 1e-9))
        out[pid] = (float(max(t.replicas for _, t in ts) * batch), batch)
    return out


def simulate(plan: Plan, options: SimOptions = SimOptions(), *, source: str = "<plan>", progress=None,
             tables: dict[str, WorkloadRoutes] | None = None, arrivals: Arrivals | None = None) -> SimResult:
    """Replay the plan's traffic (Poisson, or `arrivals` from a trace); `progress(fraction)` is called now and
    then (for a progress bar)."""
    import time
    t_wall = time.perf_counter()
    if options.strategy not in STRATEGIES:
        raise LlmplanError(f"unknown strategy '{options.strategy}'", fix=f"choose one of {', '.join(STRATEGIES)}")
    if not options.hours > 0:
        raise LlmplanError(f"--hours must be positive, not {options.hours}", fix="e.g. --hours 1")
    if options.load not in ("peak", "average"):
        raise LlmplanError(f"unknown load '{options.load}'", fix="use peak or average")
    tables = tables if tables is not None else route_tables(plan, source)
    if not tables:
        raise LlmplanError("the plan routes no serving traffic", file=source,
                           fix="simulate a plan with serving workloads")
    run_s = options.hours * 3600.0
    rng = np.random.default_rng(options.seed)
    names = sorted(tables)
    expected = sum((tables[n].peak_rps if options.load == "peak" else tables[n].average_rps) for n in names) * run_s
    spot_instances = sum({t.id: t.instances for r in tables.values() for t in r.targets
                          if t.kind == "pool" and t.capacity_type == "spot"}.values())
    reclaims_expected = options.spot_rate * options.hours * spot_instances
    if not reclaims_expected <= MAX_SIM_ARRIVALS:
        raise LlmplanError(f"{reclaims_expected:,.0f} spot reclaims expected ({spot_instances:,} spot instances at "
                           f"{options.spot_rate:g} per instance-hour for {options.hours:g} h): more than the "
                           f"{MAX_SIM_ARRIVALS:,} events a simulation replays", file=source, where="--spot-preemption",
                           fix="give a smaller --spot-preemption or --hours")
    if not expected <= MAX_SIM_ARRIVALS:
        rate = expected / run_s
        hours_ok = MAX_SIM_ARRIVALS / rate / 3600.0
        raise LlmplanError(f"{expected:,.0f} arrivals expected ({rate:,.1f} req/s at {options.load} load for "
                           f"{options.hours:g} h): more than the {MAX_SIM_ARRIVALS:,} a simulation replays",
                           file=source, where="--hours",
                           fix=f"simulate at most --hours {_floor_sig(hours_ok)}"
                               + (" or use --load average" if options.load == "peak" else ""))

    # arrivals: exponential gaps at the workload's rate, merged over workloads (or replayed)
    times_l, idx_l = [], []
    for i, name in enumerate(names if arrivals is None else []):
        r = tables[name]
        rate = r.peak_rps if options.load == "peak" else r.average_rps
        n_est = int(rate * run_s + 10 * math.sqrt(rate * run_s + 1) + 10)
        t = np.cumsum(rng.exponential(1.0 / rate, size=n_est)) if rate > 0 else np.empty(0)
        while len(t) and t[-1] < run_s:  # rare: draw more
            more = t[-1] + np.cumsum(rng.exponential(1.0 / rate, size=n_est))
            t = np.concatenate([t, more])
        t = t[t < run_s]
        times_l.append(t)
        idx_l.append(np.full(len(t), i, dtype=np.int32))
    times = np.concatenate(times_l) if times_l else np.empty(0)
    widx = np.concatenate(idx_l) if idx_l else np.empty(0, dtype=np.int32)
    order = np.argsort(times, kind="stable")
    times, widx = times[order].tolist(), widx[order].tolist()
    lens = None
    if arrivals is not None:
        pos = {n: i for i, n in enumerate(names)}
        missing = sorted(set(arrivals.workload) - set(pos))
        if missing:
            raise LlmplanError(f"the replay names workloads the plan does not route: {missing}", file=source,
                               fix="replay a trace against the plan made for it")
        times, widx = list(arrivals.t_s), [pos[w] for w in arrivals.workload]
        lens = (arrivals.input_tokens, arrivals.output_tokens)

    # state
    pools: dict[str, _Pool] = {}
    api_windows: dict[str, _Window] = {}
    api_inflight: dict[str, list] = {}
    pool_windows: dict[tuple, _Window] = {}
    api_provider: dict[str, str] = {}
    slotted = _pool_slots(tables)
    for r in tables.values():
        for t in r.targets:
            if t.kind == "pool":
                if t.id not in pools:
                    slots = slotted[t.id][0] if t.id in slotted else None
                    if slots is None:  # a measured capacity: slots = its throughput x time a request holds one
                        slots = (t.full_rps or 0.0) * r.service_s(t)
                    pools[t.id] = _Pool(t.id, t.provider, t.instances, t.capacity_type == "spot", slots)
                pool_windows[(t.id, r.workload)] = _Window(pool_rpm(t), None)
            else:
                api_windows.setdefault(t.rate_group, _Window(t.rpm_limit, t.tpm_limit))
                api_inflight.setdefault(t.rate_group, [])
                api_provider[t.rate_group] = t.provider
    down: set[str] = set()

    stats = {n: WorkloadStats(n, tables[n].peak_rps if options.load == "peak" else tables[n].average_rps,
                              tables[n].peak_rps, tables[n].ttft_target_ms) for n in names}
    for f in options.failures:
        for n in names:
            stats[n].windows.append(WindowStats(f.provider, f.start_s, f.end_s))
    routers = {n: router_for(tables[n], seed=options.seed * 1000 + i, allowed_fails=options.allowed_fails,
                             cooldown_s=options.cooldown_s) for i, n in enumerate(names)}
    # per workload: target id -> (target, slot occupancy s, service s, rate window)
    tinfo = {}
    for n in names:
        r = tables[n]
        d = {}
        for t in r.targets:
            svc = r.service_s(t)
            if t.kind == "pool":
                if t.id in slotted:  # the performance model's slot time at the planned operating point, in the
                    # pool's slots (a request is 1/batch of a replica: slots_per_replica / batch of its slots)
                    occ = t.slot_s(r.input_tokens, r.output_tokens, r.output_tokens) * slotted[t.id][1] / t.batch
                else:  # measured: a slot is held for slots / full_rps s, so the pool serves full_rps for w
                    occ = pools[t.id].per_instance * t.instances / t.full_rps if t.full_rps else float("inf")
                d[t.id] = (t, occ, svc, pool_windows[(t.id, n)])
            else:
                d[t.id] = (t, 0.0, svc, api_windows[t.rate_group])
        tinfo[n] = d

    # events: (time, seq, kind, payload)
    events: list = []
    seq = 0
    for f in options.failures:
        events.append((f.start_s, seq, "down", f.provider))
        seq += 1
        if f.end_s < run_s:
            events.append((f.end_s, seq, "up", f.provider))
            seq += 1
    reclaims = 0
    if options.spot_rate > 0:
        for p in sorted(pools.values(), key=lambda p: p.id):
            if not p.spot:
                continue
            for _ in range(p.instances):
                t = 0.0
                while True:
                    t += rng.exponential(3600.0 / options.spot_rate)
                    if t >= run_s:
                        break
                    events.append((t, seq, "reclaim", p.id))
                    seq += 1
                    t += options.spot_recovery_s
                    if t < run_s:
                        events.append((t, seq, "return", p.id))
                        seq += 1
    events.sort()
    interrupted = 0

    def handle(ev):
        nonlocal interrupted, reclaims
        t, _, kind, what = ev
        if kind in ("down", "up"):
            if kind == "down":
                down.add(what)
                for p in pools.values():
                    if p.provider == what and not p.down:
                        interrupted += p.lose(t, p.up)
                        p.down = True
                for g, h in api_inflight.items():
                    if api_provider[g] == what:
                        interrupted += sum(1 for f in h if f > t)
                        h.clear()
            else:
                down.discard(what)
                for p in pools.values():
                    if p.provider == what and p.down:
                        p.gain(t, p.instances - p.up - p.reclaimed)
                        p.down = False
        elif kind == "reclaim":
            p = pools[what]
            p.reclaimed += 1
            reclaims += 1
            if not p.down and p.up > 0:
                interrupted += p.lose(t, 1)
        elif kind == "return":
            p = pools[what]
            p.reclaimed -= 1
            if not p.down:
                p.gain(t, 1)

    rla = options.strategy == "rate_limit_aware"
    ev_i, n_ev = 0, len(events)
    total = len(times)
    step = max(1, total // 100)
    for k in range(total):
        t = times[k]
        while ev_i < n_ev and events[ev_i][0] <= t:
            handle(events[ev_i])
            ev_i += 1
        name = names[widx[k]]
        st = stats[name]
        r = tables[name]
        if lens is None:
            tokens, scale_in, svc_scale = r.input_tokens + r.output_tokens, 1.0, None
        else:
            isl, osl = lens[0][k], lens[1][k]
            tokens, scale_in, svc_scale = isl + osl, isl / r.input_tokens, (isl, osl)
        router = routers[name]
        info = tinfo[name]
        st.arrived += 1
        in_window = [w for w in st.windows if w.start_s <= t < w.end_s]
        for w in in_window:
            w.arrived += 1
        budget = r.ttft_target_ms / 1000.0
        if rla:
            for prov in router.providers:
                tg, occ, svc, win = info[prov.name]
                full = not win.admits(t, tokens)
                if tg.kind == "pool":
                    p = pools[tg.id]
                    full = full or (p.up > 0 and p.wait(t) > budget)  # an outage is not a limit
                prov.current_rps = prov.max_rps if full else win.use_rps(t, tokens)
        ranked = router.ranked(options.strategy, t)
        served_by = None
        for attempt, prov in enumerate(ranked):
            tg, occ, svc, win = info[prov.name]
            if tg.provider in down:
                st.errors += 1
                router.record_failure(prov, t)
                continue
            if not win.admits(t, tokens):
                st.rate_limit_hits += 1
                continue
            if tg.kind == "pool":
                p = pools[tg.id]
                if p.up == 0:
                    st.errors += 1
                    router.record_failure(prov, t)
                    continue
                wait = p.wait(t)
                if wait > budget:
                    st.shed += 1
                    continue
                if svc_scale is not None and tg.id in slotted:  # a slot held for this request's own lengths
                    occ = tg.slot_s(svc_scale[0], svc_scale[1], r.output_tokens) * slotted[tg.id][1] / tg.batch
                elif svc_scale is not None and svc > 0:
                    occ = occ * (tg.ttft_ms * scale_in + svc_scale[1] * tg.tpot_ms) / 1000.0 / svc
                p.start(t, occ)
            else:
                wait = 0.0
                heapq.heappush(api_inflight[tg.rate_group], t + svc)
            win.add(t, tokens)
            router.record_success(prov)
            served_by = tg.id
            st.queue_ms.append(wait * 1000.0)
            ttft = wait * 1000.0 + tg.ttft_ms * scale_in
            st.ttft_ms.append(ttft)
            if ttft > r.ttft_target_ms:
                st.late += 1
            elif tg.tpot_ms <= r.tpot_target_ms:
                st.within += 1
            if attempt > 0:
                st.failed_over += 1
            break
        if served_by is None:
            st.rejected += 1
        else:
            st.served += 1
            st.served_by[served_by] = st.served_by.get(served_by, 0) + 1
            for w in in_window:
                w.served += 1
        if progress is not None and k % step == 0:
            progress(k / total)
    while ev_i < n_ev:  # events after the last arrival still count (interruptions, reclaims)
        handle(events[ev_i])
        ev_i += 1
    if progress is not None:
        progress(1.0)
    return SimResult(problem=plan.problem, options=options, workloads=stats, interrupted=interrupted,
                     spot_reclaims=reclaims, failover_fraction=(plan.failover or {}).get("fraction"),
                     provider_loads=provider_loads(tables), wall_s=time.perf_counter() - t_wall)
