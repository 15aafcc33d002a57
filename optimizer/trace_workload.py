"""A serving workload's traffic from a trace: volume, peak, request classes and a daily profile.

- Volume: the trace's average arrival rate (`Trace.rate_rps`) x 730 h, or `scale_to` requests/month. Scaling
  compresses time by the same factor for every request, so ratios (peak to average, class shares) are unchanged.
- Peak: arrivals are counted in consecutive windows of `window_s` seconds (a trailing partial window is left
  out: it would under-count); the peak rate is the `quantile` of the windows' rates, and `peak_to_average` is that
  over the average rate (at least 1).
- Burstiness at peak (`arrival_cv2`): the squared coefficient of variation of the gaps between consecutive
  requests inside the busier half of the windows (those at or above the median rate), each gap divided by its
  window's mean gap so that slow changes of rate do not count: 1 for Poisson arrivals, more when requests come
  in bursts. Scaling compresses time and leaves it unchanged. The planner's queue uses it (Allen-Cunneen).
- Classes: k-means with K centres on (log input tokens, log(1 + output tokens)), deterministic: the centres start
  at the means of K equal-count slices of the requests sorted by log input + log output, and Lloyd iterations run
  until fewer than 1 request in 100,000 changes class (at most 100). For speed the iterations run on cells 1% wide
  in each length (the requests in a cell count as one weighted point at their mean); each request then goes to
  its nearest centre. A class keeps its share of the requests and the arithmetic mean of its members' input and
  output tokens (capacity depends on mean lengths). Classes are named c1..cK in the order
  of their mean input tokens. `classify` assigns any request to the nearest centre, so a replay can tell which
  class a request of a trace belongs to.
- Daily profile: only from a trace that covers at least 24 hours: arrivals per clock hour (UTC; numeric times
  count as seconds since a midnight, as Unix times do), averaged over the full hours the trace has for each hour
  of the day, divided by their mean (so the 24 levels average 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .traces import Trace, TraceError
from .units import SECONDS_PER_MONTH

MAX_ITER = 100
# above this arrival_cv2 the peak window hides bursts the queue cannot absorb: the code-completion trace (23.7 at
# 60 s windows) replays at 94.7% within its targets when planned at 60 s windows, 99.1% at 5 s (2.42)
BURSTY_CV2 = 4.0
CELL = 0.01  # k-means cell: 1% in each length (log scale)
MOVE_TOL = 1e-5  # k-means stops when fewer than 1 request in 100,000 changes class


@dataclass(frozen=True)
class TraceClass:
    name: str
    share: float
    input_tokens: int  # mean
    output_tokens: int  # mean
    requests: int
    center: tuple[float, float]  # (log input, log(1 + output)) of the class centre


@dataclass(frozen=True)
class TraceWorkload:
    source: str
    requests: int
    duration_s: float
    trace_rate_rps: float
    requests_per_month: float
    scale: float  # requests_per_month / the trace's monthly rate (1 = unscaled)
    window_s: float
    quantile: float
    peak_rps: float  # at the (scaled) monthly rate
    peak_to_average: float
    input_tokens: int  # mean over the trace
    output_tokens: int
    classes: tuple[TraceClass, ...]
    daily_profile: tuple[float, ...] | None
    skipped: int = 0
    arrival_cv2: float = 1.0  # squared CV of the gaps between requests at peak (1 = Poisson)


def _features(inp: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.column_stack([np.log(inp.astype(np.float64)), np.log1p(out.astype(np.float64))])


def kmeans(x: np.ndarray, k: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centres) of weighted k-means on 2-D points: deterministic Lloyd iterations from the weighted means
    of k equal-weight slices along x[:, 0] + x[:, 1], until at most a `MOVE_TOL` share of the weight changes class
    in an iteration (at most 100 iterations)."""
    w = np.ones(len(x)) if weights is None else weights.astype(np.float64)
    order = np.argsort(x[:, 0] + x[:, 1], kind="stable")
    cum = np.cumsum(w[order])
    slice_of = np.minimum((k * (cum - w[order]) / cum[-1]).astype(int), k - 1)
    x0, x1 = x[:, 0], x[:, 1]
    centers = np.empty((k, 2))
    for j in range(k):
        m = order[slice_of == j]
        centers[j] = np.average(x[m], axis=0, weights=w[m]) if len(m) else x[order[-1]]
    labels = np.full(len(x), -1, dtype=np.int64)
    d = np.empty((k, len(x)))
    for _ in range(MAX_ITER):
        for j in range(k):
            d[j] = (x0 - centers[j, 0]) ** 2 + (x1 - centers[j, 1]) ** 2
        new_labels = d.argmin(axis=0)
        changed = w[new_labels != labels].sum()
        labels = new_labels
        if changed <= MOVE_TOL * w.sum():
            break
        cnt = np.bincount(labels, weights=w, minlength=k)
        new = centers.copy()  # an empty class keeps its centre (it then stays empty and is dropped)
        filled = cnt > 0
        new[filled, 0] = np.bincount(labels, weights=w * x0, minlength=k)[filled] / cnt[filled]
        new[filled, 1] = np.bincount(labels, weights=w * x1, minlength=k)[filled] / cnt[filled]
        centers = new
    return labels, centers


def classify(classes, inp: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Index of the nearest class centre for each request (classes need `center`)."""
    c = np.array([cl.center if hasattr(cl, "center") else cl["center"] for cl in classes], dtype=np.float64)
    x = _features(np.maximum(inp, 1), np.maximum(out, 0))
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)


def _shares(counts: np.ndarray, digits: int = 4) -> list[float]:
    """Shares rounded to `digits` that add up to exactly 1 (largest remainder)."""
    unit = 10 ** digits
    raw = counts / counts.sum() * unit
    out = np.floor(raw).astype(int)
    left = unit - out.sum()
    for j in np.argsort(-(raw - out), kind="stable")[:left]:
        out[j] += 1
    return [float(v) / unit for v in out]


def request_classes(trace: Trace, k: int) -> tuple[TraceClass, ...]:
    if k < 1:
        raise TraceError(f"--classes must be at least 1, not {k}", where="--classes", fix="e.g. --classes 3")
    if k > trace.n:
        raise TraceError(f"--classes {k} exceeds the trace's {trace.n} requests", where="--classes",
                         fix="ask for fewer classes")
    # k-means over cells of 1% in each length (points within a cell are one weighted point at their mean): fast,
    # and a 1% difference in length does not change a capacity; then each request goes to its nearest centre
    key = (trace.input_tokens.astype(np.int64) << 32) | trace.output_tokens.astype(np.int64)
    pairs, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    xp = _features(pairs >> 32, pairs & 0xFFFFFFFF)
    cell = np.round(xp / CELL).astype(np.int64)
    cells, cinv = np.unique((cell[:, 0] << 32) | cell[:, 1], return_inverse=True)
    cinv = cinv.ravel()
    cw = np.bincount(cinv, weights=counts)
    cx = np.column_stack([np.bincount(cinv, weights=counts * xp[:, j]) / cw for j in (0, 1)])
    _, centers = kmeans(cx, k, cw)
    d = np.stack([((xp - c) ** 2).sum(axis=1) for c in centers])
    labels = d.argmin(axis=0)[inverse.ravel()]
    found = []
    for j in range(k):
        m = labels == j
        if m.any():
            found.append((float(trace.input_tokens[m].mean()), float(trace.output_tokens[m].mean()), int(m.sum()),
                          (round(float(centers[j, 0]), 6), round(float(centers[j, 1]), 6))))
    found.sort()
    shares = _shares(np.array([f[2] for f in found], dtype=np.float64))
    return tuple(TraceClass(name=f"c{j + 1}", share=s, input_tokens=max(1, round(f[0])), output_tokens=round(f[1]),
                            requests=f[2], center=f[3]) for j, (f, s) in enumerate(zip(found, shares)))


def window_rates(t_s: np.ndarray, window_s: float) -> np.ndarray:
    """Arrivals per second in consecutive full windows of `window_s` from the first request."""
    full = int(math.floor((t_s[-1] - t_s[0]) / window_s))
    if full < 1:
        raise TraceError(f"the trace spans {t_s[-1] - t_s[0]:.1f} s, less than one {window_s:g} s peak window",
                         where="--peak-window", fix="use a shorter --peak-window or a longer trace")
    idx = np.floor((t_s - t_s[0]) / window_s).astype(np.int64)
    return np.bincount(idx[idx < full], minlength=full) / window_s


def arrival_cv2(t_s: np.ndarray, window_s: float) -> float:
    """Squared coefficient of variation of the gaps between requests inside the busier half of the windows
    (module docstring); 1 (Poisson) when those windows hold too few gaps to tell."""
    full = int(math.floor((t_s[-1] - t_s[0]) / window_s))
    idx = np.floor((t_s - t_s[0]) / window_s).astype(np.int64)
    keep = idx < full
    t, idx = t_s[keep], idx[keep]
    counts = np.bincount(idx, minlength=full)
    busy = counts >= max(3, np.median(counts))
    gaps = np.diff(t)
    same = idx[1:] == idx[:-1]  # gaps inside one window
    sel = same & busy[idx[1:]]
    if sel.sum() < 100:
        return 1.0
    mean_gap = np.bincount(idx[1:][sel], weights=gaps[sel], minlength=full) / np.maximum(
        np.bincount(idx[1:][sel], minlength=full), 1)
    g = gaps[sel] / np.maximum(mean_gap[idx[1:][sel]], 1e-12)
    return float(g.var() / g.mean() ** 2)


def daily_profile(trace: Trace) -> tuple[float, ...]:
    if trace.duration_s < 24 * 3600:
        raise TraceError(f"the trace covers {trace.duration_s / 3600:.2f} hours; a daily profile needs at least "
                         f"24", where="--profile", fix="drop --profile, or pass a trace of a day or more")
    offset = trace.start_hour * 3600.0  # clock time of the first request, seconds into its day
    clock = trace.t_s + offset
    first_full = math.ceil(offset / 3600.0)
    last_full = math.floor((trace.t_s[-1] + offset) / 3600.0)  # exclusive
    hours = np.floor(clock / 3600.0).astype(np.int64)
    keep = (hours >= first_full) & (hours < last_full)
    counts = np.bincount(hours[keep] - first_full, minlength=last_full - first_full).astype(np.float64)
    hod = (np.arange(first_full, last_full) % 24)
    per_hour = np.array([counts[hod == h].mean() for h in range(24)])
    mean = per_hour.mean()
    if mean <= 0:
        raise TraceError("the trace has no requests in its full hours", where="--profile", fix="drop --profile")
    levels = np.round(per_hour / mean, 3)
    levels[int(np.argmax(levels))] += round(24 - levels.sum(), 3)  # exact mean 1 after rounding
    return tuple(round(float(v), 3) for v in levels)


def from_trace(trace: Trace, *, classes: int = 1, scale_to: float | None = None, window_s: float = 60.0,
               quantile: float = 0.99, profile: bool = False) -> TraceWorkload:
    if not 0 < quantile <= 1:
        raise TraceError(f"--peak-quantile must be in (0, 1], not {quantile}", where="--peak-quantile",
                         fix="e.g. 0.99")
    if not window_s > 0:
        raise TraceError(f"--peak-window must be positive, not {window_s}", where="--peak-window", fix="e.g. 60s")
    if scale_to is not None and not scale_to > 0:
        raise TraceError(f"--scale-to must be positive, not {scale_to}", where="--scale-to", fix="e.g. 20000000")
    rate = trace.rate_rps
    if rate <= 0:
        raise TraceError("every request arrives at the same instant: no arrival rate", file=trace.source,
                         fix="check the time column")
    monthly = rate * SECONDS_PER_MONTH
    volume = scale_to if scale_to is not None else monthly
    rates = window_rates(trace.t_s, window_s)
    ratio = max(1.0, float(np.quantile(rates, quantile)) / rate)
    cls = request_classes(trace, classes) if classes > 1 else ()
    return TraceWorkload(
        source=trace.source, requests=trace.n, duration_s=trace.duration_s, trace_rate_rps=rate,
        requests_per_month=float(volume), scale=float(volume / monthly), window_s=window_s, quantile=quantile,
        peak_rps=ratio * volume / SECONDS_PER_MONTH, peak_to_average=ratio,
        input_tokens=max(1, round(float(trace.input_tokens.mean()))),
        output_tokens=round(float(trace.output_tokens.mean())), classes=cls,
        daily_profile=daily_profile(trace) if profile else None, skipped=len(trace.skipped),
        arrival_cv2=arrival_cv2(trace.t_s, window_s))


def workload_fields(tw: TraceWorkload) -> dict:
    """The workload fields a trace determines, as plain YAML-ready values."""
    d = {"requests_per_month": round(tw.requests_per_month), "peak_to_average": round(tw.peak_to_average, 3),
         "input_tokens": tw.input_tokens, "output_tokens": tw.output_tokens,
         "arrival_cv2": float(f"{tw.arrival_cv2:.3g}")}
    if tw.classes:
        d["classes"] = [{"name": c.name, "share": c.share, "input_tokens": c.input_tokens,
                         "output_tokens": c.output_tokens, "center": [c.center[0], c.center[1]]}
                        for c in tw.classes]
    if tw.daily_profile is not None:
        d["daily_profile"] = list(tw.daily_profile)
    return d


def summary_lines(tw: TraceWorkload) -> list[str]:
    out = [f"from trace {tw.source}: {tw.requests:,} requests over {tw.duration_s / 60:,.1f} min "
           f"({tw.trace_rate_rps:,.3f} req/s = {tw.trace_rate_rps * SECONDS_PER_MONTH:,.0f} requests/month)"]
    if tw.skipped:
        out.append(f"{tw.skipped} bad row(s) left out (--skip-bad-rows)")
    if abs(tw.scale - 1) > 1e-12:
        out.append(f"scaled x{tw.scale:.4f} to {tw.requests_per_month:,.0f} requests/month (time compressed; "
                   f"ratios kept)")
    out.append(f"peak: {tw.quantile:g} quantile of the arrival rate in {tw.window_s:g} s windows = "
               f"{tw.peak_to_average:.3f} x the average ({tw.peak_rps:,.3f} req/s at this volume)")
    out.append(f"burstiness at peak: squared coefficient of variation of the gaps between requests "
               f"{tw.arrival_cv2:.3g} (1 = Poisson)")
    if tw.arrival_cv2 > BURSTY_CV2:
        out.append(f"warning: arrivals come in bursts inside the {tw.window_s:g} s windows; the queueing model "
                   f"(GI/G/c) under-sizes for bursts this large: plan with a shorter --peak-window (e.g. 5s, "
                   f"which counts the bursts in the peak) and check the plan with `llmplan simulate PLAN --trace`")
    out.append(f"mean request: {tw.input_tokens:,} input / {tw.output_tokens:,} output tokens")
    for c in tw.classes:
        out.append(f"class {c.name}: {c.share:.2%} of requests, mean {c.input_tokens:,} in / {c.output_tokens:,} "
                   f"out tokens")
    return out


def parse_window(text: str) -> float:
    """'60s', '5m', '1h' or a bare number of seconds -> seconds."""
    t = text.strip().lower()
    mult = {"s": 1.0, "m": 60.0, "h": 3600.0}.get(t[-1:], None)
    num = t[:-1] if mult else t
    try:
        v = float(num) * (mult or 1.0)
    except ValueError:
        v = float("nan")
    if not v > 0 or not math.isfinite(v):
        raise TraceError(f"cannot read --peak-window '{text}'", where="--peak-window",
                         fix="write a positive duration like 60s, 5m or 1h (a bare number means seconds)")
    return v


def block_yaml(tw: TraceWorkload) -> str:
    """The workload block as YAML, with where it came from as comments (paste it into a serving workload)."""
    import yaml
    head = "".join(f"# {line}\n" for line in summary_lines(tw))
    return head + yaml.safe_dump(workload_fields(tw), sort_keys=False, default_flow_style=None, width=100)


TRACE_FIELDS = ("requests_per_month", "peak_to_average", "peak_rps", "input_tokens", "output_tokens", "classes",
                "daily_profile", "arrival_cv2")


def merge_into(problem_path, tw: TraceWorkload, workload: str | None = None) -> str:
    """The problem at `problem_path` with the trace's fields written into one serving workload (the named one, or
    the only one), validated, as YAML. The problem's comments are not kept (YAML round trip)."""
    from pathlib import Path

    import yaml

    from .errors import ProblemError
    from .problem import load_problem, parse_problem, workload_class

    load_problem(problem_path)  # the problem must be valid before it is changed
    data = yaml.safe_load(Path(problem_path).read_text())
    serving = [w for w in data["workloads"] if isinstance(w, dict) and workload_class(w).__name__ == "ServingWorkload"]
    if workload is None:
        if len(serving) != 1:
            raise ProblemError(f"{len(serving)} serving workloads; say which one the trace describes",
                               file=str(problem_path), where="--workload",
                               fix=f"pass --workload with one of {', '.join(w['name'] for w in serving)}")
        target = serving[0]
    else:
        target = next((w for w in serving if w.get("name") == workload), None)
        if target is None:
            raise ProblemError(f"no serving workload '{workload}'", file=str(problem_path), where="--workload",
                               fix=f"use one of {', '.join(w['name'] for w in serving)}")
    for k in TRACE_FIELDS:
        target.pop(k, None)
    target.update(workload_fields(tw))
    parse_problem(data, f"{problem_path} (with the trace merged into '{target['name']}')")
    head = "".join(f"# {line}\n" for line in summary_lines(tw))
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
