"""Scenario sweeps: many solves of one problem with fields and prices varied, on a grid or by Monte Carlo.

    paths.py        PATH addressing into a problem (`workloads.chat.requests_per_month`), with near misses
    ranges.py       RANGE grammar: grids (`a:b:n`, lists, `x0.5:x2:5`) and distributions for `--samples`
    prices.py       price multipliers on catalog rows selected by GPU, provider or API
    scenarios.py    axes -> validated scenarios (cartesian product or seeded draws)
    run.py          one solve per scenario: in process, local worker processes, or a Dask cluster
    results.py      one row per scenario; CSV / Parquet
    sensitivity.py  cost distribution and main effects for the report (render/sweep.py draws them)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..catalog import Catalog
from ..planner import SolveOptions
from ..problem import Problem
from .results import AxisInfo, SweepResult
from .run import run_dask, run_local, solve_scenario
from .scenarios import Scenario, SweepSpec, build_sweep

__all__ = ["SweepResult", "SweepSpec", "build_sweep", "run_sweep", "RunStats"]


@dataclass(frozen=True)
class RunStats:
    scenarios: int
    seconds: float
    backend: str

    @property
    def per_second(self) -> float:
        return self.scenarios / self.seconds if self.seconds > 0 else float("inf")


def run_sweep(problem: Problem, catalog: Catalog, spec: SweepSpec, options: SolveOptions, *, workers: int = 1,
              cluster: str | None = None, progress=None, source: str = "<problem>",
              base: bool = True) -> tuple[SweepResult, RunStats]:
    """Solve every scenario (and, with `base`, the unmodified problem first) and collect the rows."""
    base_row = solve_scenario(Scenario(-1, (), problem), catalog, options) if base else {}
    scenarios = list(spec.scenarios)
    t0 = time.perf_counter()
    if cluster:
        outcomes = run_dask(scenarios, catalog, options, cluster, progress)
        backend = f"dask {cluster}"
    else:
        outcomes = run_local(scenarios, catalog, options, workers, progress)
        backend = f"{workers} local worker{'s' if workers != 1 else ''}"
    seconds = time.perf_counter() - t0
    rows = []
    for s, out in zip(scenarios, outcomes):
        row = {"scenario": s.index}
        row.update({a.label: v for a, v in zip(spec.axes, s.values)})
        row.update(out)
        rows.append(row)
    axes = tuple(AxisInfo(a.label, a.key, a.spec.text, a.distribution if spec.mode == "monte carlo" else None,
                          a.current, "field" if a.field is not None else "price") for a in spec.axes)
    result = SweepResult(problem=problem.name, source=source, catalog_version=catalog.version, mode=spec.mode,
                         axes=axes, rows=tuple(rows), base=base_row, samples=spec.samples, seed=spec.seed,
                         time_limit_s=options.time_limit)
    return result, RunStats(len(scenarios), seconds, backend)
