"""HTML page of a sweep: one self-contained file (inline CSS and SVG, no scripts) with the cost distribution
(a histogram), the sensitivity of cost to each axis (a tornado of main effects), and the tables behind them."""

from __future__ import annotations

import math
from collections import Counter
from html import escape

from ..sweep.results import SweepResult
from ..sweep.sensitivity import effects, histogram, quantile, short
from .fmt import usd
from .html import CSS, _table
from .svg import COLORS, _short

CHEAPER, DEARER, BARS = "#2ca02c", "#d62728", "#1f77b4"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    return [i * step for i in range(first, int(math.floor(hi / step + 1e-9)) + 1)]


def _svg_open(title: str, width: int, height: int) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">',
            f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}'
            f'</text>']


def histogram_chart(title: str, bins: list[tuple[float, float, int]], markers: list[tuple[float, str, str]],
                    width: int = 720, height: int = 320) -> str:
    """Vertical bars (left edge, right edge, count) on a USD axis; markers are vertical lines (x, label, color)."""
    left, right, bottom = 60, 20, 50
    top = 34 + 14 * len(markers)  # marker labels sit above the bars
    lo, hi = bins[0][0], bins[-1][1]
    if hi <= lo:
        lo, hi = lo - 0.5 * max(abs(lo), 1.0) * 0.01, hi + 0.5 * max(abs(hi), 1.0) * 0.01
    cmax = max(c for _, _, c in bins) or 1
    sx = lambda x: left + (width - left - right) * (x - lo) / (hi - lo)  # noqa: E731
    sy = lambda c: height - bottom - (height - top - bottom) * c / cmax  # noqa: E731
    out = _svg_open(title, width, height)
    for t in _ticks(0, cmax):
        out.append(f'<line x1="{left}" y1="{sy(t):.1f}" x2="{width - right}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11">{t:g}</text>')
    for t in _ticks(lo, hi):
        out.append(f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">'
                   f'${_short(t)}</text>')
    for a, b, c in bins:
        x0, x1 = sx(a), sx(b) if b > a else sx(a) + 8
        out.append(f'<rect x="{x0 + 1:.1f}" y="{sy(c):.1f}" width="{max(x1 - x0 - 2, 1):.1f}" '
                   f'height="{sy(0) - sy(c):.1f}" fill="{BARS}"><title>{usd(a, False)} to {usd(b, False)}: {c} '
                   f'scenarios</title></rect>')
    out.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#333"/>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle" font-size="12">'
               f'USD per month</text>')
    out.append(f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 14 {(top + height - bottom) / 2})">scenarios</text>')
    for i, (x, label, color) in enumerate(sorted(markers)):
        if lo <= x <= hi:
            anchor = "start" if sx(x) < width * 0.6 else "end"
            dx = 4 if anchor == "start" else -4
            out.append(f'<line x1="{sx(x):.1f}" y1="{top}" x2="{sx(x):.1f}" y2="{height - bottom}" stroke="{color}" '
                       f'stroke-width="2" stroke-dasharray="6,4"/>')
            out.append(f'<text x="{sx(x) + dx:.1f}" y="{34 + 14 * i}" font-size="11" fill="{color}" '
                       f'text-anchor="{anchor}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def tornado_chart(title: str, items: list[tuple[str, float, str, float, str]], center: float,
                  width: int = 900) -> str:
    """One row per axis (label, low cost, low text, high cost, high text): the axis name, then a bar from the low
    to the high cost around `center` (a vertical line); the part below the center is drawn as cheaper, the part
    above as dearer, and each end is labelled with its value and cost."""
    row, left, right, top = 46, 230, 230, 40
    height = top + row * max(len(items), 1) + 30
    lo = min([center] + [i[1] for i in items])
    hi = max([center] + [i[3] for i in items])
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 0.01
    span = width - left - right
    sx = lambda x: left + span * (x - lo) / (hi - lo)  # noqa: E731
    out = _svg_open(title, width, height)
    for i, (label, a, at, b, bt) in enumerate(items):
        y = top + i * row
        out.append(f'<text x="10" y="{y + 12}" font-size="12" font-weight="bold">{escape(label)}</text>')
        for x0, x1, color in ((min(a, center), min(b, center), CHEAPER), (max(a, center), max(b, center), DEARER)):
            if x1 > x0:
                out.append(f'<rect x="{sx(x0):.1f}" y="{y + 18}" width="{max(sx(x1) - sx(x0), 1):.1f}" '
                           f'height="18" fill="{color}"><title>{escape(label)}: {escape(at)} .. '
                           f'{escape(bt)}</title></rect>')
        out.append(f'<text x="{sx(a) - 6:.1f}" y="{y + 31}" text-anchor="end" font-size="11">{escape(at)}</text>')
        out.append(f'<text x="{sx(b) + 6:.1f}" y="{y + 31}" font-size="11">{escape(bt)}</text>')
    out.append(f'<line x1="{sx(center):.1f}" y1="{top}" x2="{sx(center):.1f}" y2="{height - 25}" stroke="#333" '
               f'stroke-width="1.5"/>')
    out.append(f'<text x="{sx(center):.1f}" y="{height - 10}" text-anchor="middle" font-size="11">'
               f'{escape(usd(center, False))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _center(result: SweepResult, costs: list[float]) -> tuple[float, str]:
    base = result.base.get("monthly_cost_usd") if result.base else None
    if base is not None:
        return base, "the problem as written"
    return quantile(sorted(costs), 0.5), "the median scenario (the problem as written has no plan)"


def to_html(result: SweepResult) -> str:
    costs = sorted(result.costs())
    status = Counter(r["status"] for r in result.rows)
    title = f"llmplan sweep: {result.problem}"
    p = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
         f"<style>{CSS}</style></head><body>", f"<h1>{escape(title)}</h1>"]
    how = (f"Monte Carlo, {result.samples:,} draws, seed {result.seed}" if result.mode == "monte carlo"
           else f"grid of {len(result.rows):,} scenarios")
    p.append(f"<p>{escape(how)}; catalog {escape(result.catalog_version)}; each solve limited to "
             f"{result.time_limit_s:g} s. USD per month at 730 hours.</p>" if result.time_limit_s else
             f"<p>{escape(how)}; catalog {escape(result.catalog_version)}. USD per month at 730 hours.</p>")
    p.append("<p>" + ", ".join(f"{n:,} {escape(s)}" for s, n in sorted(status.items(), key=lambda kv: -kv[1]))
             + "</p>")
    p.append("<h2>What was varied</h2>" + _table(
        ("Column", "Given as", "Current value", "Distribution"),
        [(a.label, f"{a.key}={a.range}", "-" if a.current is None else short(a.current),
          a.distribution or "grid") for a in result.axes]))
    p.append("<h2>Cost distribution</h2>")
    if not costs:
        p.append("<p>No scenario has a plan.</p>")
    else:
        center, what = _center(result, costs)
        stats = [("problem as written", result.base.get("monthly_cost_usd") if result.base else None),
                 ("minimum", costs[0]), ("10th percentile", quantile(costs, 0.1)), ("median", quantile(costs, 0.5)),
                 ("mean", sum(costs) / len(costs)), ("90th percentile", quantile(costs, 0.9)),
                 ("maximum", costs[-1])]
        markers = [(quantile(costs, 0.5), f"median {usd(quantile(costs, 0.5), False)}", COLORS["naive"])]
        if result.base.get("monthly_cost_usd") is not None:
            markers.append((result.base["monthly_cost_usd"],
                            f"as written {usd(result.base['monthly_cost_usd'], False)}", COLORS["cross"]))
        p.append(histogram_chart(f"Monthly cost of {len(costs):,} scenarios with a plan", histogram(costs), markers))
        p.append(_table(("Statistic", "Monthly cost"), [(k, usd(v)) for k, v in stats], {1}))
        eff = effects(result)
        items = [(e.axis, e.low.mean_cost, f"{e.low.label}: {usd(e.low.mean_cost, False)}", e.high.mean_cost,
                  f"{e.high.label}: {usd(e.high.mean_cost, False)}") for e in eff if e.low]
        p.append("<h2>Sensitivity</h2>")
        p.append(f"<p>For each axis, the mean cost at each of its values (Monte Carlo draws: fifths of the drawn "
                 f"range), averaged over the other axes; bars span the cheapest to the dearest value, around the "
                 f"cost of {escape(what)}. Green is cheaper, red dearer. A value whose scenarios do not all have a "
                 f"plan averages over those that do (see the table's last columns).</p>")
        p.append(tornado_chart("Main effect of each axis on monthly cost", items, center))
        rows = [(e.axis, lv.label, lv.n, lv.with_plan, usd(lv.mean_cost)) for e in eff for lv in e.levels]
        p.append(_table(("Axis", "Value", "Scenarios", "With a plan", "Mean cost"), rows, {2, 3, 4}))
        cheapest = sorted((r for r in result.rows if r["monthly_cost_usd"] is not None),
                          key=lambda r: (r["monthly_cost_usd"], r["scenario"]))[:5]
        p.append("<h2>Cheapest scenarios</h2>" + _table(
            ("Scenario", *(a.label for a in result.axes), "Monthly cost", "GPUs", "API share"),
            [(r["scenario"], *(short(r[a.label]) for a in result.axes), usd(r["monthly_cost_usd"]), r["gpus"] or "-",
              f"{100 * r['api_share']:.1f}%" if r["api_share"] is not None else "-") for r in cheapest]))
    failed = Counter((r["status"], r["message"]) for r in result.rows if r["monthly_cost_usd"] is None)
    if failed:
        p.append("<h2>Scenarios without a plan</h2>" + _table(
            ("Status", "Scenarios", "Reason (first line)"),
            [(s, n, m) for (s, m), n in sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))][:20], {1}))
    p.append("</body></html>\n")
    return "\n".join(p)
