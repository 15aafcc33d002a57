"""RANGE expressions of `--vary PATH=RANGE` and `--price-multiplier SELECTOR=RANGE`, as grids or distributions.

Grammar (numbers may carry a k/M/B suffix and underscores; `xF` is F times the field's current value):
- `a:b:n`   n evenly spaced values from a to b, both included (grid);
- `a,b,c`   these values (grid); items may also be words or booleans (`interactive,standard`, `true,false`);
- `a`       one value;
- `a:b`     Monte Carlo bounds (with `--samples`); `a:m:b` gives the mode of a triangular distribution.

Monte Carlo (`--samples N`): `uniform` draws from [a, b]; `triangular` from (a, mode, b), mode the midpoint
unless given; `normal` and `lognormal` take a and b as the 5th and 95th percentiles (a 90% interval, the
convention of estimation tools such as Squiggle's `a to b`): normal mean (a+b)/2 and sd (b-a)/(2 z),
lognormal with log-mean (ln a + ln b)/2 and log-sd (ln b - ln a)/(2 z), z = 1.6449. A list draws its items
with equal probability. Integer fields are rounded to the nearest integer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import yaml

from ..errors import ProblemError

DISTRIBUTIONS = ("uniform", "normal", "lognormal", "triangular")
Z90 = 1.6448536269514722  # standard normal 95th percentile
_NUM = re.compile(r"^(x)?([-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:e[-+]?\d+)?)([kKMB]?)$")
_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9}


@dataclass(frozen=True)
class Num:
    value: float
    relative: bool  # True: a multiple of the field's current value


@dataclass(frozen=True)
class RangeSpec:
    """One parsed RANGE: `kind` is 'bounds' (a:b), 'steps3' (a:b:n on a grid, a:mode:b for a triangular draw)
    or 'list' (items: numbers as `Num`, or words and booleans)."""

    text: str
    kind: str
    parts: tuple


def _num(s: str) -> Num | None:
    m = _NUM.match(s.strip())
    if not m:
        return None
    return Num(float(m.group(2).replace("_", "")) * _SUFFIX[m.group(3)], bool(m.group(1)))


def _item(s: str):
    n = _num(s)
    if n is not None:
        return n
    v = yaml.safe_load(s.strip()) if s.strip() else None
    if isinstance(v, (dict, list)) or v is None:
        raise ValueError(f"'{s}' is not a value")
    return v


def parse_range(text: str, where: str) -> RangeSpec:
    """Parse a RANGE; a ProblemError names the option and the fix."""
    fix = "write a:b:steps (e.g. 10M:40M:4), a list a,b,c, x0.5:x2:5 (multiples of the current value), or " \
          "a:b with --samples"
    if not text.strip():
        raise ProblemError("empty range", where=where, fix=fix)
    if ":" in text:
        parts = [_num(p) for p in text.split(":")]
        if any(p is None for p in parts) or len(parts) not in (2, 3):
            raise ProblemError(f"cannot read range '{text}'", where=where, fix=fix)
        if len({p.relative for p in parts[:2]}) > 1:
            raise ProblemError(f"range '{text}' mixes multiples (x..) and plain values", where=where,
                               fix="write both ends the same way, e.g. x0.5:x2:5 or 100:400:4")
        if len(parts) == 2:
            return RangeSpec(text, "bounds", tuple(parts))
        return RangeSpec(text, "steps3", tuple(parts))
    try:
        items = tuple(_item(s) for s in text.split(","))
    except ValueError as e:
        raise ProblemError(f"cannot read range '{text}': {e}", where=where, fix=fix) from None
    return RangeSpec(text, "list", items)


def _abs(n, current, is_int: bool, where: str):
    """A Num to the field's value: multiples of the current value, rounded for integer fields."""
    if not isinstance(n, Num):
        return n
    v = n.value
    if n.relative:
        if not isinstance(current, (int, float)) or isinstance(current, bool):
            raise ProblemError(f"x{n.value:g} needs a numeric current value, and the field is {current!r}",
                               where=where, fix="give absolute values instead of multiples")
        v *= current
    return _clean(v, is_int)


def _clean(v: float, is_int: bool):
    if not math.isfinite(v):
        raise ValueError(f"{v} is not finite")
    return int(round(v)) if is_int else float(f"{v:.12g}")


def grid_values(spec: RangeSpec, current, is_int: bool, where: str) -> list:
    """The grid points of a RANGE (duplicates after rounding removed, order kept)."""
    if spec.kind == "bounds":
        raise ProblemError(f"range '{spec.text}' has no number of steps", where=where,
                           fix=f"write {spec.text}:5 for a 5-point grid, or add --samples N for Monte Carlo")
    if spec.kind == "list":
        vals = [_abs(p, current, is_int, where) for p in spec.parts]
    else:
        lo, hi, n = spec.parts
        if n.relative or n.value != int(n.value) or n.value < 1:
            raise ProblemError(f"range '{spec.text}': the number of steps must be a whole number >= 1",
                               where=where, fix="e.g. 10M:40M:4")
        k = int(n.value)
        a, b = _abs(lo, current, False, where), _abs(hi, current, False, where)
        if k == 1 and a != b:
            raise ProblemError(f"range '{spec.text}': 1 step cannot span {a:g} to {b:g}", where=where,
                               fix="use at least 2 steps, or a single value")
        vals = [_clean(a + (b - a) * i / (k - 1), is_int) if k > 1 else _clean(a, is_int) for i in range(k)]
    out = []
    for v in vals:
        if v not in out:
            out.append(v)
    return out


def sample_values(spec: RangeSpec, distribution: str, current, is_int: bool, rng, n: int, where: str) -> list:
    """n draws from the distribution the RANGE describes (see the module docstring)."""
    if spec.kind == "list":
        if distribution != "uniform":
            raise ProblemError(f"a list of values ('{spec.text}') is drawn uniformly, not from a {distribution} "
                               f"distribution", where=where, fix="give bounds a:b for a continuous distribution")
        vals = [_abs(p, current, is_int, where) for p in spec.parts]
        return [vals[int(i)] for i in rng.integers(0, len(vals), n)]
    nums = [_abs(p, current, False, where) for p in spec.parts]
    if spec.kind == "steps3" and distribution != "triangular":
        raise ProblemError(f"range '{spec.text}' has three parts; with --samples only a triangular distribution "
                           f"takes a:mode:b", where=where, fix="give bounds a:b, or --distribution triangular")
    lo, hi = nums[0], nums[-1]
    if not lo < hi:
        raise ProblemError(f"range '{spec.text}': the lower bound must be below the upper bound", where=where,
                           fix="write low:high")
    if distribution == "uniform":
        draws = rng.uniform(lo, hi, n)
    elif distribution == "triangular":
        mode = nums[1] if len(nums) == 3 else (lo + hi) / 2
        if not lo <= mode <= hi:
            raise ProblemError(f"range '{spec.text}': the mode must lie between the bounds", where=where,
                               fix="write low:mode:high")
        draws = rng.triangular(lo, mode, hi, n)
    elif distribution == "normal":
        draws = rng.normal((lo + hi) / 2, (hi - lo) / (2 * Z90), n)
    elif distribution == "lognormal":
        if lo <= 0:
            raise ProblemError(f"range '{spec.text}': a lognormal needs positive bounds", where=where,
                               fix="use positive bounds, or --distribution normal")
        draws = rng.lognormal((math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / (2 * Z90), n)
    else:
        raise ProblemError(f"unknown distribution '{distribution}'", where="--distribution",
                           fix=f"use one of {', '.join(DISTRIBUTIONS)}")
    return [_clean(float(v), is_int) for v in draws]
