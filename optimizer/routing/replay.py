"""Replay a real trace through a plan: arrivals and lengths from the trace (not Poisson), each request assigned
to the plan's request class nearest its lengths (extras['classes']: the k-means centres in log space) or, for a
plan without classes, to the workload itself.

Time is compressed by `speedup`, or so that the trace's average rate equals `scale_to` requests a month
(SECONDS_PER_MONTH / scale_to seconds between requests on average), as `workload from-trace --scale-to` does; the
simulated run lasts the (compressed) span of the trace.
"""

from __future__ import annotations

import numpy as np

from ..errors import LlmplanError
from ..result import Plan
from ..trace_workload import classify
from ..traces import Trace
from ..units import SECONDS_PER_MONTH
from .simulate import Arrivals


def replay_arrivals(plan: Plan, trace: Trace, *, workload: str | None = None, scale_to: float | None = None,
                    speedup: float | None = None, source: str = "<plan>") -> tuple[Arrivals, float, dict]:
    """(arrivals, run seconds, parents: class workload -> the plan's workload)."""
    serving = [w.name for w in plan.workloads if w.kind == "serving"]
    classes = plan.extras.get("classes") or {}
    parents = sorted(set(classes) | {w for w in serving if "/" not in w})
    if workload is None:
        if len(parents) != 1:
            raise LlmplanError(f"the plan has {len(parents)} serving workloads; say which one the trace is",
                               where="--workload", fix=f"pass --workload with one of {', '.join(parents)}")
        workload = parents[0]
    if workload not in parents:
        raise LlmplanError(f"no serving workload '{workload}' in the plan", file=source, where="--workload",
                           fix=f"use one of {', '.join(parents)}")
    if scale_to is not None and speedup is not None:
        raise LlmplanError("give --scale-to or --speedup, not both", where="--scale-to",
                           fix="--scale-to sets the speedup from a monthly volume")
    factor = 1.0
    if scale_to is not None:
        if not scale_to > 0:
            raise LlmplanError(f"--scale-to must be positive, not {scale_to}", where="--scale-to", fix="e.g. 2e7")
        factor = scale_to / SECONDS_PER_MONTH / trace.rate_rps
    elif speedup is not None:
        if not speedup > 0:
            raise LlmplanError(f"--speedup must be positive, not {speedup}", where="--speedup", fix="e.g. 2")
        factor = speedup
    t = trace.t_s / factor
    if workload in classes:
        cls = classes[workload]
        idx = classify([{"center": c["center"]} for c in cls], trace.input_tokens, trace.output_tokens)
        names = np.array([c["workload"] for c in cls], dtype=object)[idx]
    else:
        names = np.full(trace.n, workload, dtype=object)
    arr = Arrivals(t_s=tuple(t.tolist()), workload=tuple(names.tolist()),
                   input_tokens=tuple(int(v) for v in trace.input_tokens),
                   output_tokens=tuple(int(v) for v in trace.output_tokens), source=trace.source)
    run_s = float(t[-1]) + 1e-6
    return arr, run_s, {n: workload for n in set(arr.workload)}
