"""API vs self-hosting breakeven: the seed's formula reproduced, and a capacity-aware version.

Seed (chapter 33.5.2, `BreakevenAnalysis`): self-hosting costs a fixed gpu_cost_per_hour x 730 x gpu_count +
ops_overhead per month whatever the volume, so breakeven = int(fixed / api_cost_per_request). Reproduced exactly
by `naive_breakeven` (same formula, same float arithmetic).

Capacity-aware: one instance of a self-hosted pool serves at most `kap` requests/s at peak, so at monthly volume
V (peak/average r, S seconds a month) self-hosting needs ceil(V r / (S kap)) instances:

    C_self(V) = ops + min over pools c of ceil(V r / (S kap_c)) * m_c      (a step function)
    C_api(V)  = V * pi, defined while the peak stays within the API's rate limit

Crossovers are the volumes where the cheaper of the two changes; they are computed exactly on the steps.
If the best pool's cost per request with its instances full at peak, min_c m_c r / (S kap_c), is not below pi,
self-hosting is never cheaper: C_self(V) >= V * min_c m_c r / (S kap_c) >= V pi for every V.
"""

from __future__ import annotations

import math

from ..candidates import ApiOption, Candidates, Pool
from ..result import Breakeven, Crossover, CurvePoint, NaiveBreakeven
from ..problem import Problem, ServingWorkload
from ..units import HOURS_PER_MONTH, SECONDS_PER_MONTH

MAX_STEPS_PER_POOL = 2000
CURVE_POINTS = 160


def naive_breakeven(api_input_per_million: float, api_output_per_million: float, avg_input_tokens: int,
                    avg_output_tokens: int, gpu_cost_per_hour: float, gpu_count: int,
                    throughput_requests_per_hour: float, ops_overhead_monthly: float) -> NaiveBreakeven:
    """The seed's BreakevenAnalysis, formula for formula."""
    api = (avg_input_tokens / 1_000_000 * api_input_per_million
           + avg_output_tokens / 1_000_000 * api_output_per_million)
    fixed = gpu_cost_per_hour * 730 * gpu_count + ops_overhead_monthly
    be = None if api <= 0 else int(fixed / api)
    return NaiveBreakeven(
        api_input_per_million=api_input_per_million, api_output_per_million=api_output_per_million,
        avg_input_tokens=avg_input_tokens, avg_output_tokens=avg_output_tokens, gpu_cost_per_hour=gpu_cost_per_hour,
        gpu_count=gpu_count, throughput_requests_per_hour=throughput_requests_per_hour,
        ops_overhead_monthly=ops_overhead_monthly, api_cost_per_request=api, breakeven_monthly_requests=be,
        breakeven_requests_per_day=None if be is None else be / 30,
        breakeven_requests_per_minute=None if be is None else be / (HOURS_PER_MONTH * 60))


def _label(pool: Pool) -> str:
    return (f"{pool.model.name} {pool.precision} tp{pool.tp} on {pool.offer.instance_type} "
            f"({pool.gpus_per_instance}x {pool.gpu.name}, {pool.capacity_type}, {pool.provider})")


def _pareto(pools: list[Pool], w: str) -> list[Pool]:
    """Drop pools with a higher monthly price and no more capacity for w than another."""
    out = []
    for p in sorted(pools, key=lambda p: (p.monthly_usd_per_instance, -p.capacity[w], p.id)):
        if not out or p.capacity[w] > max(q.capacity[w] for q in out) + 1e-12:
            out.append(p)
    return out


def _cheapest_api(cands: Candidates, w: ServingWorkload) -> ApiOption | None:
    opts = [cands.api(o) for o in cands.eligible[w.name] if o.startswith("api:")]
    return min(opts, key=lambda a: (a.usd_per_request[w.name], a.id)) if opts else None


def _api_cap(api: ApiOption | None, w: ServingWorkload, r: float) -> float | None:
    """Monthly volume above which the API alone exceeds its RPM or TPM at peak."""
    if api is None or api.mode != "realtime":
        return None
    caps = []
    if api.api.rpm:
        caps.append(api.api.rpm / 60 * SECONDS_PER_MONTH / r)
    if api.api.tpm:
        caps.append(api.api.tpm / 60 / (w.input_tokens + w.output_tokens) * SECONDS_PER_MONTH / r)
    return min(caps) if caps else None


def capacity_breakeven(problem: Problem, cands: Candidates, w: ServingWorkload,
                       naive: NaiveBreakeven | None = None) -> Breakeven:
    ops = problem.policy.ops_overhead_monthly_usd
    r = w.peak / w.average_rps
    api = _cheapest_api(cands, w)
    pi = api.usd_per_request[w.name] if api else None
    pools = _pareto([cands.pool(o) for o in cands.eligible[w.name] if not o.startswith("api:")], w.name)
    cap_api = _api_cap(api, w, r)

    import numpy as np
    by_id = sorted(pools, key=lambda p: p.id)
    caps = np.array([p.capacity[w.name] for p in by_id])
    prices = np.array([p.monthly_usd_per_instance for p in by_id])

    def self_costs(vs) -> list[tuple[float, Pool]]:
        """self_cost at each volume of `vs`, all pools at once: the cheapest whole number of instances
        ceil(v r / (S kap_c)) x m_c (ties: the smaller id), at least one instance of it."""
        v = np.asarray(vs, dtype=float)[:, None]
        k = np.ceil(v * r / (SECONDS_PER_MONTH * caps) - 1e-12)  # the same float steps as one pool at a time
        best = np.argmin(k * prices, axis=1)  # the first minimum: the smallest id
        kb = np.maximum(k[np.arange(len(best)), best], 1.0)
        return [(ops + float(n) * by_id[i].monthly_usd_per_instance, by_id[i]) for n, i in zip(kb, best)]

    def self_cost(v: float) -> tuple[float, Pool] | None:
        return self_costs([v])[0] if pools else None

    def api_cost(v: float) -> float | None:
        if pi is None or (cap_api is not None and v > cap_api * (1 + 1e-12)):
            return None
        return v * pi

    per_req = None
    if pools:
        per_req = min(p.monthly_usd_per_instance * r / (SECONDS_PER_MONTH * p.capacity[w.name]) for p in pools)
    best_pool = min(pools, key=lambda p: p.monthly_usd_per_instance / p.capacity[w.name]) if pools else None
    first_step = SECONDS_PER_MONTH * best_pool.capacity[w.name] / r if best_pool else 0.0
    vmax = max(10 * w.requests_per_month, 3 * first_step if pi is not None else 0.0,
               3 * (naive.breakeven_monthly_requests or 0) if naive else 0.0)
    if pi and per_req and per_req < pi:
        vmax = max(vmax, 2 * (ops + min(p.monthly_usd_per_instance for p in pools)) / (pi - per_req))

    crossovers: list[Crossover] = []
    if pools and pi is not None:
        bps = {vmax}
        for p in pools:
            step = SECONDS_PER_MONTH * p.capacity[w.name] / r
            n = min(int(vmax / step), MAX_STEPS_PER_POOL)
            bps.update(k * step for k in range(1, n + 1))
        if cap_api is not None and cap_api < vmax:
            bps.add(cap_api)
        intervals = []  # (lo, hi) where self-hosting is strictly cheaper
        prev = 0.0
        points = sorted(b for b in bps if b > 0)
        costs = {}
        for i in range(0, len(points), 4096):  # a block of volumes at a time: a volume x pool matrix each
            block = points[i:i + 4096]
            costs.update(zip(block, (c for c, _ in self_costs(block))))
        for b in points:
            if b <= prev:
                continue
            k_cost = costs[b]
            if cap_api is not None and b > cap_api * (1 + 1e-12):
                lo = max(prev, cap_api)  # the API alone cannot serve: self-hosting is the only pure option
            else:
                lo = max(prev, k_cost / pi)
            if lo < b:
                if intervals and abs(intervals[-1][1] - lo) <= 1e-9 * b:
                    intervals[-1] = (intervals[-1][0], b)
                else:
                    intervals.append((lo, b))
            prev = b
        for lo, hi in intervals:
            _, pool = self_cost(lo * (1 + 1e-9) + 1e-9)
            capped = cap_api is not None and abs(lo - cap_api) <= 1e-9 * max(cap_api, 1.0)
            crossovers.append(Crossover(requests_per_month=round(lo, 2), requests_per_minute=round(
                lo / (HOURS_PER_MONTH * 60), 3),
                cheaper_above="self-hosted (the API alone is rate-limited above this volume)" if capped else "self-hosted",
                self_hosted_option=_label(pool)))
            if hi < vmax * (1 - 1e-12):
                crossovers.append(Crossover(requests_per_month=round(hi, 2), requests_per_minute=round(
                    hi / (HOURS_PER_MONTH * 60), 3), cheaper_above="api", self_hosted_option=_label(pool)))

    verdict, reason = _verdict(w, api, pi, pools, per_req, crossovers, cap_api, naive, r, ops)
    nvc = None
    if naive is not None and naive.breakeven_monthly_requests and pools and pi is not None:
        v = naive.breakeven_monthly_requests
        sc, pool = self_cost(v)
        k = round((sc - ops) / pool.monthly_usd_per_instance)
        nvc = (f"at the seed formula's breakeven of {v:,.0f} requests/month, self-hosting needs {k} instance(s) of "
               f"{_label(pool)} for the peak: ${sc:,.2f}/month against the API's ${v * pi:,.2f}; the seed formula "
               f"counts one fleet of {naive.gpu_count} GPU(s) at ${naive.gpu_cost_per_hour * 730 * naive.gpu_count + naive.ops_overhead_monthly:,.2f} "
               f"whatever the volume")
    curve = []
    vs = [vmax * i / CURVE_POINTS for i in range(CURVE_POINTS + 1)]
    at = dict(zip(vs[1:], self_costs(vs[1:]))) if pools else {}
    for v in vs:
        sc = at.get(v) if v > 0 else (None if not pools else (ops + 0.0, None))
        curve.append(CurvePoint(requests_per_month=round(v, 2),
                                api_usd=None if api_cost(v) is None else round(api_cost(v), 2),
                                self_hosted_usd=None if sc is None else round(sc[0], 2)))
    return Breakeven(
        workload=w.name, api_option=api.id.removeprefix("api:") if api else None, api_usd_per_request=pi,
        api_max_requests_per_month=None if cap_api is None else round(cap_api, 2),
        self_hosted_options=[_label(p) for p in pools], self_hosted_usd_per_request_at_full=per_req,
        peak_to_average=round(r, 6), ops_overhead_monthly_usd=ops, crossovers=crossovers, verdict=verdict,
        reason=reason, naive=naive, curve=curve, volume_examined_max=round(vmax, 2), naive_vs_capacity=nvc,
        self_hosted_usd_per_request_at_volume=None if naive is None else
        (naive.gpu_cost_per_hour * 730 * naive.gpu_count + naive.ops_overhead_monthly) / w.requests_per_month)


def _fmt_v(v: float) -> str:
    return f"{v:,.0f} requests/month ({v / (HOURS_PER_MONTH * 60):,.1f}/min)"


def _verdict(w, api, pi, pools, per_req, crossovers, cap_api, naive, r, ops) -> tuple[str, str]:
    if not pools and api is None:
        return "no options", "the workload has neither a self-hosted nor an API option"
    if not pools:
        return "API only", "no self-hosted option is eligible for this workload (models, residency, latency, VRAM)"
    if api is None:
        return "self-hosted only", "no API option is eligible for this workload (apis, residency, latency tier)"
    best = min(pools, key=lambda p: p.monthly_usd_per_instance * r / (SECONDS_PER_MONTH * p.capacity[w.name]))
    per_inst = SECONDS_PER_MONTH * best.capacity[w.name] / r
    why_cap = (f"one instance of the best pool ({_label(best)}, ${best.monthly_usd_per_instance:,.2f}/month) serves at "
               f"most {per_inst:,.0f} requests/month at peak/average {r:.2f} and "
               f"{best.capacity[w.name]:.3f} req/s per instance")
    if per_req >= pi:
        cap_note, verdict = "", "never"
        if cap_api is not None:
            cap_note = f"; above {_fmt_v(cap_api)} the API alone exceeds its rate limit, so a mix is needed there"
            if cap_api < vmax_of(crossovers):
                verdict = f"never while the API alone can serve (up to {_fmt_v(cap_api)}; a mix is needed above it)"
        return (verdict, f"with its instances full at peak, self-hosting costs ${per_req:.6f} per request, not below the "
                f"API's ${pi:.6f}: {why_cap}{cap_note}")
    parts = []
    for i, c in enumerate(crossovers):
        if c.cheaper_above.startswith("self-hosted"):
            last = i == len(crossovers) - 1
            parts.append(f"{'above' if last else 'from'} {_fmt_v(c.requests_per_month)}")
        else:
            parts[-1] += f" to {_fmt_v(c.requests_per_month)}"
    verdict = "self-hosting is cheaper " + ", and ".join(parts) if parts else "never within the examined range"
    reason = (f"at full utilisation self-hosting costs ${per_req:.6f} per request against the API's ${pi:.6f}, but it "
              f"buys whole instances: {why_cap}, plus ${ops:,.0f}/month ops overhead")
    return verdict, reason


def vmax_of(crossovers) -> float:
    return max((c.requests_per_month for c in crossovers), default=0.0) + 1.0


def naive_for(problem: Problem, cands: Candidates, w: ServingWorkload, pool: Pool | None) -> NaiveBreakeven | None:
    """The seed's formula fed with this workload's cheapest API and a self-hosted pool (the plan's, if any)."""
    api = _cheapest_api(cands, w)
    if api is None or pool is None or api.mode != "realtime":
        return None
    a = api.api
    raw_rps = pool.capacity[w.name] / problem.policy.max_utilization  # per instance, before the headroom
    return naive_breakeven(a.input_usd_per_mtok, a.output_usd_per_mtok, w.input_tokens, w.output_tokens,
                           pool.hourly_usd / pool.gpus_per_instance, pool.gpus_per_instance,
                           raw_rps * 3600 / pool.gpus_per_instance, problem.policy.ops_overhead_monthly_usd)


def breakevens(problem: Problem, cands: Candidates, chosen_pools: dict[str, str] | None = None) -> list[Breakeven]:
    """One breakeven per serving workload; the naive figure uses the plan's pool for it when there is one."""
    out = []
    for w in problem.serving:
        pool = None
        pid = (chosen_pools or {}).get(w.name)
        if pid:
            pool = cands.pool(pid)
        else:
            opts = [cands.pool(o) for o in cands.eligible[w.name] if not o.startswith("api:")]
            if opts:
                pool = min(opts, key=lambda p: (math.ceil(w.peak / p.capacity[w.name] - 1e-12)
                                                * p.monthly_usd_per_instance, p.id))
        out.append(capacity_breakeven(problem, cands, w, naive_for(problem, cands, w, pool)))
    return out
