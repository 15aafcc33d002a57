"""Scenarios of a sweep: the cartesian product of every axis's grid, or N Monte Carlo draws (fixed seed).

An axis is a problem field (`--vary PATH=RANGE`) or a price multiplier (`--price-multiplier SELECTOR=RANGE`).
Every scenario is validated as a whole problem before anything is solved. On a grid an invalid value is the
user's input, so it is an error naming the scenario; a Monte Carlo draw outside a field's domain (a negative
volume from a wide normal) becomes a row with status `invalid` and the validation message, not a crash.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from ..catalog import Catalog
from ..errors import ProblemError
from ..problem import Problem
from .paths import FieldPath, problem_data, resolve, scenario_problem
from .prices import Selector, parse_selector
from .ranges import DISTRIBUTIONS, RangeSpec, grid_values, parse_range, sample_values

MAX_SCENARIOS = 100_000


@dataclass(frozen=True)
class Axis:
    """One varied quantity: `key` as the user wrote it, `label` the column name of the results."""

    key: str
    label: str
    spec: RangeSpec
    distribution: str = "uniform"
    field: FieldPath | None = None
    selector: Selector | None = None

    @property
    def current(self):
        return self.field.current if self.field is not None else 1.0

    @property
    def is_int(self) -> bool:
        return self.field.is_int if self.field is not None else False


@dataclass(frozen=True)
class Scenario:
    """One point of the sweep: the axis values, the problem to solve (None when invalid) and the multipliers."""

    index: int
    values: tuple
    problem: Problem | None
    multipliers: tuple[tuple[Selector, float], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class SweepSpec:
    mode: str  # "grid" or "monte carlo"
    axes: tuple[Axis, ...]
    scenarios: tuple[Scenario, ...] = field(repr=False)
    samples: int | None = None
    seed: int | None = None


def _split(text: str, option: str, last: bool) -> tuple[str, str]:
    key, sep, rng = text.rpartition("=") if last else text.partition("=")
    if not sep or not key.strip() or not rng.strip():
        example = "gpu=H100=0.8:1.2:5" if last else "workloads.chat.requests_per_month=10M:40M:4"
        raise ProblemError(f"cannot read '{text}'", where=option, fix=f"write it as KEY=RANGE, e.g. {example}")
    return key.strip(), rng.strip()


def _distributions(texts: list[str], axes: list[Axis]) -> dict[str, str]:
    """--distribution NAME (every axis) or KEY=NAME (one axis) -> {axis key: distribution}."""
    out: dict[str, str] = {}
    default = "uniform"
    keys = [a.key for a in axes]
    for t in texts:
        key, sep, name = t.rpartition("=")
        name = name.strip().lower()
        if name not in DISTRIBUTIONS:
            raise ProblemError(f"unknown distribution '{name}'", where="--distribution",
                               fix=f"use one of {', '.join(DISTRIBUTIONS)}, optionally as KEY=NAME")
        if not sep:
            default = name
        elif key.strip() in keys:
            out[key.strip()] = name
        else:
            raise ProblemError(f"--distribution names '{key}', which is not varied", where="--distribution",
                               fix=f"use one of: {', '.join(keys)}")
    return {k: out.get(k, default) for k in keys}


def build_sweep(problem: Problem, catalog: Catalog, vary: list[str], price_multipliers: list[str] = (), *,
                samples: int | None = None, distributions: list[str] = (), seed: int = 0,
                source: str = "<problem>") -> SweepSpec:
    """Parse the axes and expand them into scenarios (each validated)."""
    if not vary and not price_multipliers:
        raise ProblemError("nothing to vary", where="llmplan sweep",
                           fix="add --vary PATH=RANGE or --price-multiplier SELECTOR=RANGE")
    data = problem_data(problem)
    axes: list[Axis] = []
    for t in vary:
        key, rng = _split(t, "--vary", last=False)
        axes.append(Axis(key, key, parse_range(rng, f"--vary {key}"), field=resolve(data, key)))
    for t in price_multipliers:
        key, rng = _split(t, "--price-multiplier", last=True)
        sel = parse_selector(key, catalog)
        axes.append(Axis(key, sel.label, parse_range(rng, f"--price-multiplier {key}"), selector=sel))
    labels = [a.label if a.field is None else a.field.steps for a in axes]
    dup = next((a.key for a, lab in zip(axes, labels) if labels.count(lab) > 1), None)
    if dup:
        raise ProblemError(f"'{dup}' is varied twice", where="--vary", fix="give each field or selector once")
    if samples is not None:
        if samples < 1:
            raise ProblemError("--samples must be at least 1", where="--samples", fix="e.g. --samples 1000")
        dists = _distributions(list(distributions), axes)
        axes = [Axis(a.key, a.label, a.spec, dists[a.key], a.field, a.selector) for a in axes]
        rng = np.random.default_rng(seed)
        columns = [sample_values(a.spec, a.distribution, a.current, a.is_int, rng, samples, _where(a)) for a in axes]
        points = list(zip(*columns))
        mode = "monte carlo"
    else:
        if distributions:
            raise ProblemError("--distribution needs --samples", where="--distribution",
                               fix="add --samples N for Monte Carlo, or drop --distribution for a grid")
        grids = [grid_values(a.spec, a.current, a.is_int, _where(a)) for a in axes]
        total = math.prod(len(g) for g in grids)
        if total > MAX_SCENARIOS:
            raise ProblemError(f"the grid has {total:,} scenarios (more than {MAX_SCENARIOS:,})", where="--vary",
                               fix="use fewer steps, or --samples N for Monte Carlo")
        points = list(itertools.product(*grids))
        mode = "grid"
    scenarios = [_scenario(i, p, axes, data, mode, source) for i, p in enumerate(points)]
    return SweepSpec(mode, tuple(axes), tuple(scenarios), samples, seed if samples is not None else None)


def _where(a: Axis) -> str:
    return f"--vary {a.key}" if a.field is not None else f"--price-multiplier {a.key}"


def _scenario(i: int, values: tuple, axes: list[Axis], data: dict, mode: str, source: str) -> Scenario:
    assign = [(a.field, v) for a, v in zip(axes, values) if a.field is not None]
    mult = tuple((a.selector, float(v)) for a, v in zip(axes, values) if a.selector is not None)
    bad = next(((a, v) for a, v in zip(axes, values) if a.selector is not None and not float(v) > 0), None)
    desc = ", ".join(f"{a.key}={v}" for a, v in zip(axes, values))
    try:
        if bad:
            raise ProblemError(f"price multiplier {bad[1]:g} is not positive", where=_where(bad[0]),
                               fix="give multipliers above 0 (1 = catalog price)")
        prob = scenario_problem(data, assign, f"{source} (scenario {i}: {desc})")
    except ProblemError as e:
        if mode == "grid":
            raise
        return Scenario(i, values, None, mult, error=str(e).splitlines()[0])
    return Scenario(i, values, prob, mult)
