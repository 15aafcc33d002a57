"""Two small inline-SVG charts for the HTML report (no JavaScript, no external assets)."""

from __future__ import annotations

import math
from html import escape

COLORS = {"api": "#1f77b4", "self": "#ff7f0e", "cross": "#d62728", "naive": "#7f7f7f"}
BAR_COLORS = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939"]


def _nice_ticks(vmax: float, n: int = 5) -> list[float]:
    if vmax <= 0:
        return [0.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(vmax / step) + 1)]


def _short(v: float) -> str:
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:g}{suf}"
    return f"{v:g}"


def line_chart(title: str, series: list[tuple[str, str, list[tuple[float, float | None]]]],
               markers: list[tuple[float, str, str]], x_label: str, y_label: str, width: int = 720,
               height: int = 360, y_prefix: str = "$") -> str:
    """series: (name, color, [(x, y or None)]); markers: vertical lines (x, label, color); y_prefix: before the
    y tick labels."""
    left, right, top, bottom = 70, 20, 40, 50
    pts = [(x, y) for _, _, s in series for x, y in s if y is not None]
    xmax = max((x for x, _ in pts), default=1.0) or 1.0
    ymax = max((y for _, y in pts), default=1.0) * 1.05 or 1.0
    sx = lambda x: left + (width - left - right) * x / xmax  # noqa: E731
    sy = lambda y: height - bottom - (height - top - bottom) * y / ymax  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" class="chart">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>']
    for t in _nice_ticks(xmax):
        out.append(f'<line x1="{sx(t):.1f}" y1="{height - bottom}" x2="{sx(t):.1f}" y2="{top}" stroke="#eee"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{_short(t)}</text>')
    for t in _nice_ticks(ymax):
        out.append(f'<line x1="{left}" y1="{sy(t):.1f}" x2="{width - right}" y2="{sy(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11">{y_prefix}{_short(t)}</text>')
    out.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#333"/>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle" font-size="12">'
               f'{escape(x_label)}</text>')
    out.append(f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 14 {(top + height - bottom) / 2})">{escape(y_label)}</text>')
    for name, color, s in series:
        segs, cur = [], []
        for x, y in s:
            if y is None:
                if cur:
                    segs.append(cur)
                cur = []
            else:
                cur.append(f"{sx(x):.1f},{sy(y):.1f}")
        if cur:
            segs.append(cur)
        for seg in segs:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="{" ".join(seg)}">'
                       f'<title>{escape(name)}</title></polyline>')
    ly = top + 8 + 14 * len(markers)
    for i, (x, label, color) in enumerate(sorted(markers)):
        if 0 <= x <= xmax:
            out.append(f'<line x1="{sx(x):.1f}" y1="{top}" x2="{sx(x):.1f}" y2="{height - bottom}" stroke="{color}" '
                       f'stroke-width="2" stroke-dasharray="6,4"/>')
            anchor = "start" if sx(x) < width * 0.6 else "end"
            dx = 4 if anchor == "start" else -4
            out.append(f'<text x="{sx(x) + dx:.1f}" y="{top + 12 + 14 * i}" font-size="11" fill="{color}" '
                       f'text-anchor="{anchor}">{escape(label)}</text>')
    for name, color, _ in series:
        out.append(f'<rect x="{left + 12}" y="{ly + 14}" width="14" height="4" fill="{color}"/>'
                   f'<text x="{left + 32}" y="{ly + 20}" font-size="11">{escape(name)}</text>')
        ly += 16
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(title: str, items: list[tuple[str, float, str]], width: int = 720) -> str:
    """Horizontal bars: (label, value, value text)."""
    row, left, top = 28, 220, 40
    height = top + row * max(len(items), 1) + 20
    vmax = max((v for _, v, _ in items), default=1.0) or 1.0
    span = width - left - 150
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" class="chart">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, v, text) in enumerate(items):
        y = top + i * row
        w = max(span * v / vmax, 1.0)
        color = BAR_COLORS[i % len(BAR_COLORS)]
        out.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="12">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}">'
                   f'<title>{escape(label)}: {escape(text)}</title></rect>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}" font-size="12">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)
