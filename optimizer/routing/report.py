"""Render a simulation result as a text report or JSON (pure functions of `SimResult`).

The failover verdict: at peak load, the plan's promise (serve `fraction` of every workload's peak after losing
one provider) holds in an outage window when the requests served there are at least that fraction of the
requests that arrived there. At average load the numbers are shown but not judged: they cannot test a promise
made about the peak.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .simulate import SimResult


def _mmss(s: float) -> str:
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}"


def verdict(res: SimResult) -> dict:
    """{'promise': fraction or None, 'judged': bool, 'holds': bool or None, 'worst': served fraction or None}."""
    fracs = [w.served_fraction for s in res.workloads.values() for w in s.windows if w.arrived]
    worst = min(fracs) if fracs else None
    promise = res.failover_fraction
    judged = res.options.load == "peak" and worst is not None and promise is not None
    return {"promise": promise, "judged": judged, "holds": (worst >= promise - 1e-12) if judged else None,
            "worst_served_fraction": worst}


def to_dict(res: SimResult) -> dict:
    o = res.options
    out = {
        "problem": res.problem,
        "options": {"hours": o.hours, "load": o.load, "strategy": o.strategy, "seed": o.seed,
                    "failures": [{"provider": f.provider, "start_s": f.start_s, "end_s": f.end_s}
                                 for f in o.failures],
                    "spot_preemption_per_instance_hour": o.spot_rate, "spot_recovery_s": o.spot_recovery_s,
                    "allowed_fails": o.allowed_fails, "cooldown_s": o.cooldown_s},
        "provider_peak_rps": {k: round(v, 4) for k, v in sorted(res.provider_loads.items())},
        "interrupted": res.interrupted,
        "spot_reclaims": res.spot_reclaims,
        "workloads": [],
        "failover": verdict(res),
    }
    if o.trace:
        out["options"]["trace"] = o.trace
        out["replay"] = replay_summary(res)
    for name, s in sorted(res.workloads.items()):
        out["workloads"].append({
            "workload": name, "rate_rps": round(s.rate_rps, 4), "peak_rps": round(s.peak_rps, 4),
            "ttft_target_ms": s.ttft_target_ms, "arrived": s.arrived, "served": s.served,
            "failed_over": s.failed_over, "rejected": s.rejected, "rate_limit_hits": s.rate_limit_hits,
            "errors": s.errors, "shed": s.shed, "late": s.late, "within_slo": s.within,
            "within_slo_fraction": round(s.within / s.arrived, 6) if s.arrived else None,
            "ttft_ms": {k: round(v, 3) for k, v in s.ttft_percentiles().items()},
            "queue_ms": {k: round(v, 3) for k, v in s.queue_percentiles().items()},
            "served_by": dict(sorted(s.served_by.items())),
            "outages": [{"provider": w.provider, "start_s": w.start_s, "end_s": w.end_s, "arrived": w.arrived,
                         "served": w.served, "served_fraction": round(w.served_fraction, 6),
                         "fraction_of_peak": round(w.fraction_of_peak(s.peak_rps), 6)} for w in s.windows],
        })
    return out


def _finite(v):
    """The same structure with NaN and infinities as None: JSON has no NaN (an empty window has no fraction)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def replay_summary(res: SimResult) -> dict:
    """All replayed requests together (every class of the workload): served, rejected, within the SLO."""
    arrived = sum(s.arrived for s in res.workloads.values())
    within = sum(s.within for s in res.workloads.values())
    ttft = [v for s in res.workloads.values() for v in s.ttft_ms]
    p = [round(float(x), 3) for x in np.percentile(ttft, [50, 95, 99])] if ttft else [0.0, 0.0, 0.0]
    return {"arrived": arrived, "served": sum(s.served for s in res.workloads.values()),
            "rejected": sum(s.rejected for s in res.workloads.values()), "within_slo": within,
            "within_slo_fraction": round(within / arrived, 6) if arrived else None,
            "ttft_ms": {"p50": p[0], "p95": p[1], "p99": p[2]}}


def to_json(res: SimResult) -> str:
    return json.dumps(_finite(to_dict(res)), indent=2, allow_nan=False) + "\n"


def to_text(res: SimResult) -> str:
    o = res.options
    out = [f"Simulation: {res.problem}    {o.hours:g} h at {o.load} load    strategy {o.strategy}    seed {o.seed}"]
    for f in o.failures:
        end = "the end" if f.end_s >= o.hours * 3600 - 1e-9 else _mmss(f.end_s)
        load = res.provider_loads.get(f.provider, 0.0)
        tot = sum(res.provider_loads.values())
        out.append(f"Injected: {f.provider} down from {_mmss(f.start_s)} to {end} "
                   f"(it carries {load:,.2f} of {tot:,.2f} req/s planned at peak)")
    if o.spot_rate > 0:
        out.append(f"Spot reclaims: {res.spot_reclaims} ({o.spot_rate:g} per spot instance-hour, each replaced "
                   f"after {o.spot_recovery_s / 60:g} min)")
    out.append(f"Requests in flight when their instance or provider went away (interrupted): {res.interrupted:,}")
    promise = res.failover_fraction
    for name, s in sorted(res.workloads.items()):
        q = s.queue_percentiles()
        pct = (lambda n: f"{100 * n / s.arrived:.1f}%") if s.arrived else (lambda n: "-")
        out += ["", f" {name}  (peak {s.peak_rps:,.2f} req/s, simulated {s.rate_rps:,.2f} req/s, "
                    f"TTFT target {s.ttft_target_ms:,.0f} ms)",
                f"   arrived {s.arrived:,}   served {s.served:,} ({pct(s.served)})   failed over {s.failed_over:,}"
                f"   rejected {s.rejected:,} ({pct(s.rejected)})",
                f"   rate-limit hits {s.rate_limit_hits:,}   errors from down targets {s.errors:,}   "
                f"shed by full queues {s.shed:,}",
                f"   queueing delay p50 {q['p50']:,.0f} ms  p95 {q['p95']:,.0f} ms  p99 {q['p99']:,.0f} ms  "
                f"max {q['max']:,.0f} ms;  TTFT over target: {s.late:,} ({pct(s.late)} of arrivals)"]
        if o.trace:
            tq = s.ttft_percentiles()
            out.append(f"   TTFT p50 {tq['p50']:,.0f} ms  p95 {tq['p95']:,.0f} ms  p99 {tq['p99']:,.0f} ms;  within the "
                       f"TTFT and TPOT targets: {s.within:,} ({pct(s.within)} of arrivals)")
        width = max((len(k) for k in s.served_by), default=0)
        for i, (tid, n) in enumerate(sorted(s.served_by.items(), key=lambda kv: (-kv[1], kv[0]))):
            out.append(f"   {'served by:' if i == 0 else '':<10} {tid:<{width}}  {n:>9,} ({pct(n)})")
        for w in s.windows:
            line = (f"   during the {w.provider} outage ({_mmss(w.start_s)}-{_mmss(w.end_s)}): served {w.served:,} "
                    f"of {w.arrived:,} arrivals ({w.served_fraction:.1%}) = {w.fraction_of_peak(s.peak_rps):.2f} "
                    f"x peak")
            if promise is None:
                line += "; the plan makes no failover promise"
            elif o.load == "peak":
                line += f"; promise {promise:.2f}: {'HOLDS' if w.served_fraction >= promise - 1e-12 else 'FAILS'}"
            out.append(line)
    v = verdict(res)
    out.append("")
    if promise is None:
        out.append("Failover: the plan was solved without policy.failover; it promises nothing after an outage.")
    elif not o.failures:
        out.append(f"Failover: the plan promises {promise:.0%} of peak after losing any one provider; inject an "
                   f"outage with --fail PROVIDER@TIME (or largest@TIME) to test it.")
    elif not v["judged"]:
        out.append(f"Failover: promise {promise:.0%} of peak; not judged at {o.load} load (run with --load peak).")
    else:
        out.append(f"Failover: promise {promise:.0%} of peak after losing one provider: "
                   f"{'HOLDS' if v['holds'] else 'FAILS'} (worst outage window served "
                   f"{v['worst_served_fraction']:.1%} of its arrivals).")
    if o.trace:
        r = replay_summary(res)
        out.append(f"Trace replay ({o.trace}): {r['arrived']:,} requests; served {r['served']:,}, rejected "
                   f"{r['rejected']:,}; within the TTFT and TPOT targets: {r['within_slo']:,} "
                   f"({r['within_slo_fraction']:.2%}); TTFT p50 {r['ttft_ms']['p50']:,.0f} ms, p99 "
                   f"{r['ttft_ms']['p99']:,.0f} ms.")
    return "\n".join(out) + "\n"
