"""Summaries of a sweep for its report: the cost distribution and a one-axis-at-a-time sensitivity (tornado).

Sensitivity by main effects: for each axis, the scenarios are grouped into levels of that axis (each grid value
or listed value; for continuous Monte Carlo draws, quintiles of the drawn values), and each level's mean cost is
taken over the scenarios that have a plan, averaging over every other axis. The axis's swing is the highest
level mean minus the lowest; the tornado sorts axes by swing. Scenarios without a plan are counted per level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .results import SweepResult

QUANTILE_BINS = 5


@dataclass(frozen=True)
class Level:
    label: str
    n: int
    with_plan: int
    mean_cost: float | None


@dataclass(frozen=True)
class Effect:
    axis: str
    levels: tuple[Level, ...]

    @property
    def low(self) -> Level | None:
        have = [lv for lv in self.levels if lv.mean_cost is not None]
        return min(have, key=lambda lv: lv.mean_cost) if have else None

    @property
    def high(self) -> Level | None:
        have = [lv for lv in self.levels if lv.mean_cost is not None]
        return max(have, key=lambda lv: lv.mean_cost) if have else None

    @property
    def swing(self) -> float:
        return self.high.mean_cost - self.low.mean_cost if self.low else 0.0


def short(v) -> str:
    """Short labels: 4 significant digits below 10,000, else 3 with a k/M/B suffix (26.2M)."""
    if not _is_num(v):
        return str(v)
    if abs(v) < 1e4:
        return f"{v:.4g}"
    div, suf = next((d, s) for d, s in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if abs(v) >= d)
    return f"{v / div:.3g}{suf}"


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def effects(result: SweepResult) -> list[Effect]:
    """Main effect of every axis, largest swing first (ties in axis order)."""
    out = []
    for a in result.axes:
        vals = [r[a.label] for r in result.rows]
        distinct = list(dict.fromkeys(vals))
        groups: list[tuple[str, list[dict]]]
        if result.mode == "monte carlo" and all(_is_num(v) for v in vals) and len(distinct) > QUANTILE_BINS:
            order = sorted(range(len(vals)), key=lambda i: vals[i])
            groups = []
            for b in range(QUANTILE_BINS):
                idx = order[b * len(order) // QUANTILE_BINS:(b + 1) * len(order) // QUANTILE_BINS]
                if idx:
                    groups.append((f"{short(vals[idx[0]])} to {short(vals[idx[-1]])}", [result.rows[i] for i in idx]))
        else:
            if all(_is_num(v) for v in distinct):
                distinct.sort()
            groups = [(short(v), [r for r in result.rows if r[a.label] == v]) for v in distinct]
        levels = []
        for label, rows in groups:
            costs = [r["monthly_cost_usd"] for r in rows if r["monthly_cost_usd"] is not None]
            levels.append(Level(label, len(rows), len(costs), sum(costs) / len(costs) if costs else None))
        out.append(Effect(a.label, tuple(levels)))
    return sorted(out, key=lambda e: -e.swing)


def quantile(sorted_vals: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_vals:
        raise ValueError("no values")
    pos = q * (len(sorted_vals) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def histogram(values: list[float], bins: int | None = None) -> list[tuple[float, float, int]]:
    """(left edge, right edge, count) over [min, max]; sqrt(n) bins between 5 and 30; the last bin is closed."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9 * max(abs(hi), 1.0):
        return [(lo, hi, len(values))]
    k = bins or min(30, max(5, math.ceil(math.sqrt(len(values)))))
    width = (hi - lo) / k
    counts = [0] * k
    for v in values:
        counts[min(int((v - lo) / width), k - 1)] += 1
    return [(lo + i * width, lo + (i + 1) * width, c) for i, c in enumerate(counts)]
