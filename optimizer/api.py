"""The Python API: what a notebook or a script calls, re-exported at the package top (`import optimizer`).

Each function is a thin layer over the pipeline the CLI runs, so a figure from Python is the figure `llmplan`
prints. Inputs are forgiving about their form, never about their content:
- a problem is a `Problem`, a dict (the YAML's structure), YAML or JSON text (a string with a newline or starting
  with '{'), or a path to a problem file;
- a catalog is a `Catalog`, a catalog folder, or None for the newest dated folder (as the CLI's default);
- solver settings are a `SolveOptions`, or its fields as keywords (`solver="cbc", time_limit=30`).
Bad input raises the same `LlmplanError` subclasses as the CLI (message, file, where, fix).
A solve redirects file descriptor 1 while the solver runs (model/solve.py), which is process-wide: run concurrent
solves in separate processes (optimizer/service/jobs.py does), not in threads of one process.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .catalog import Catalog
from .catalog import load_catalog as _load_catalog
from .errors import LlmplanError, ProblemError, did_you_mean
from .result import Breakeven, CategoryLine, Plan, ReferenceCheck
from .planner import SolveOptions
from .problem import Problem
from .problem import load_problem as _load_problem
from .problem import parse_problem as _parse_data
from .problem import parse_problem_text

__all__ = ["load_problem", "parse_problem", "load_catalog", "plan", "estimate", "breakeven", "budget", "load_plan",
           "diff", "export_routes", "SolveOptions", "Budget", "BudgetLine"]


def load_problem(path: str | Path) -> Problem:
    """Read and validate a problem file (YAML or JSON)."""
    return _load_problem(path)


def parse_problem(spec: Problem | dict | str | bytes, source: str = "<problem>") -> Problem:
    """Validate a problem given as a dict (the file's structure) or as YAML/JSON text; `source` names it in
    errors."""
    if isinstance(spec, Problem):
        return spec
    if isinstance(spec, bytes):
        try:
            spec = spec.decode("utf-8")
        except UnicodeDecodeError:
            raise ProblemError("not UTF-8 text", file=source, fix="send the problem as UTF-8 YAML or JSON") from None
    if isinstance(spec, str):
        return parse_problem_text(spec, source)
    return _parse_data(spec, source)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate a catalog folder (default: the newest dated folder under ./catalogs or
    $LLMPLAN_CATALOGS)."""
    return _load_catalog(path)


def _problem(problem) -> Problem:
    if isinstance(problem, Problem):
        return problem
    if isinstance(problem, Path):
        return _load_problem(problem)
    if isinstance(problem, str) and "\n" not in problem and not problem.lstrip().startswith("{"):
        return _load_problem(problem)
    if isinstance(problem, (str, bytes, dict)):
        return parse_problem(problem)
    raise ProblemError(f"a problem cannot be a {type(problem).__name__}",
                       fix="pass a Problem, a dict, YAML/JSON text or a path to a problem file")


def _catalog(catalog) -> Catalog:
    return catalog if isinstance(catalog, Catalog) else _load_catalog(catalog)


def _options(options: SolveOptions | None, kw: dict) -> SolveOptions:
    if options is not None and kw:
        raise LlmplanError("give either options=SolveOptions(...) or solver keywords, not both",
                           fix=f"move {', '.join(sorted(kw))} into the SolveOptions")
    if options is not None:
        return options
    unknown = set(kw) - set(SolveOptions.__dataclass_fields__)
    if unknown:
        name = sorted(unknown)[0]
        raise LlmplanError(f"unknown solver option '{name}'.{did_you_mean(name, SolveOptions.__dataclass_fields__)}",
                           fix=f"use {', '.join(SolveOptions.__dataclass_fields__)}")
    return SolveOptions(**kw)


def plan(problem, catalog=None, options: SolveOptions | None = None, *, explain: bool = False,
         **solver_kw) -> Plan:
    """The cheapest plan that meets the problem's SLA (what `llmplan solve` prints). `explain=True` adds what
    each constraint costs, the alternatives and the entry prices (re-solves, as `solve --explain`).
    Raises InfeasibleError (with `.report`, the constraints that fail and by how much) or SolverError."""
    from .planner import plan as run

    return run(_problem(problem), _catalog(catalog), _options(options, solver_kw), explain=explain)


def estimate(model: str, gpu: str, *, precision: str = "fp16", tp: int = 1, isl: int = 1000, osl: int = 1000,
             concurrency: int | str = "max", kv_dtype: str | None = None, catalog=None):
    """Memory and speed of one replica of `model` on `tp` GPUs of type `gpu` (what `llmplan estimate` prints);
    `kv_dtype` None = auto. Returns an `Estimate` (`.to_dict()` for JSON)."""
    from .catalog.load import load_catalog_specs
    from .perf.estimate import estimate as run

    cat = catalog if isinstance(catalog, Catalog) else load_catalog_specs(catalog)
    return run(cat, model, gpu, precision=precision, tp=tp, isl=isl, osl=osl, concurrency=str(concurrency),
               kv_dtype=kv_dtype)


def breakeven(problem, catalog=None, options: SolveOptions | None = None, *, workload: str | None = None,
              **solver_kw) -> list[Breakeven]:
    """API vs self-hosting breakeven per serving workload (the seed's formula and the capacity-aware answer)."""
    prob = _problem(problem)
    names = [w.name for w in prob.serving]
    if workload is not None and workload not in names:
        raise ProblemError(f"no serving workload '{workload}'.{did_you_mean(workload, names)}", where="workload",
                           fix=f"use one of: {', '.join(names) or '(the problem has no serving workload)'}")
    result = plan(prob, catalog, options, **solver_kw)
    return [b for b in result.breakeven if workload is None or b.workload == workload]


class BudgetLine(BaseModel):
    """One workload's (or one shared cost's) monthly cost and its percent of the total."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    category: str
    spec: str
    monthly_cost_usd: float
    percent: float


class Budget(BaseModel):
    """The monthly budget of a plan by workload and category (what `llmplan budget --format json` prints)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    total_monthly_usd: float
    workloads: list[BudgetLine]
    categories: list[CategoryLine]
    references: list[ReferenceCheck] = []


def budget(problem_or_plan, catalog=None, options: SolveOptions | None = None, **solver_kw) -> Budget:
    """The monthly budget by workload and category: of a `Plan` as it stands, or of the plan solved for a
    problem."""
    from .explain.budget import plan_budget

    p = problem_or_plan if isinstance(problem_or_plan, Plan) else plan(problem_or_plan, catalog, options,
                                                                       **solver_kw)
    rows, total = plan_budget(p)
    return Budget(total_monthly_usd=round(total, 2),
                  workloads=[BudgetLine(**r.__dict__) for r in rows], categories=p.categories,
                  references=p.references)


def load_plan(source: str | Path | dict) -> Plan:
    """A plan saved with `llmplan solve --format json` (a path), its JSON text, or its dict."""
    from .explain.diff import load_plan_file
    from .render.json_out import load_plan as from_text

    if isinstance(source, dict):
        import json
        return from_text(json.dumps(source), "<plan>")
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return from_text(source, "<plan>")
    return load_plan_file(Path(source))


def diff(old: Plan, new: Plan, *, old_catalog=None, new_catalog=None):
    """What changed between two plans and why (`llmplan diff`); with both catalogs (Catalog or folder), the
    catalog price changes of what either plan uses are named too. Returns a `PlanDiff`."""
    from .explain.diff import diff_plans

    oc = None if old_catalog is None else _catalog(old_catalog)
    nc = None if new_catalog is None else _catalog(new_catalog)
    return diff_plans(old, new, old_catalog=oc, new_catalog=nc)


def export_routes(plan_: Plan, to: str) -> tuple[str, list[str]]:
    """The plan's routing as a router config: `to` is litellm (YAML), portkey or openrouter (JSON).
    Returns (text, warnings)."""
    from .routing.export import export

    return export(plan_, to)
