"""The planner: solve (optimizer/pipeline.py), build the plan (optimizer/extract.py), verify it against its
problem (optimizer/verify.py), then explain it (optimizer/explain/). The one entry point is `plan()`."""

from __future__ import annotations

import datetime as dt

from .catalog import Catalog
from .extract import extract_plan
from .pipeline import SolveOptions, solve_problem
from .plan import Plan
from .problem import Problem

__all__ = ["SolveOptions", "extract_plan", "plan", "solve_problem"]


def plan(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
         today: dt.date | None = None, explain: bool = False) -> Plan:
    """The cheapest plan, with its breakeven per workload; `explain=True` adds what each constraint costs, the
    alternatives and the entry prices of options not chosen (each a re-solve)."""
    from .classes import classes_section, expand_classes, has_classes
    from .explain.breakeven import breakevens
    from .explain.references import check_references

    with_classes = has_classes(problem)
    sections = {"classes": classes_section(problem)} if with_classes else {}
    problem = expand_classes(problem)  # one workload per request class
    cands, model, res = solve_problem(problem, catalog, options)
    p = extract_plan(problem, catalog, cands, model, res, options, today=today)
    chosen = {}
    for d in sorted(p.deployments, key=lambda d: -(d.share or 0)):
        if d.share and d.workload not in chosen:
            chosen[d.workload] = d.pool
    bes = breakevens(problem, cands, chosen)
    update = {"breakeven": bes}
    if explain:
        from .explain.whatif import alternatives, constraint_costs, entry_prices
        update["constraint_costs"] = constraint_costs(problem, catalog, options, p, cands)
        update["alternatives"] = alternatives(problem, catalog, options, p, cands)
        update["entry_prices"] = entry_prices(problem, options, p, cands)
    p = p.model_copy(update=update)
    if with_classes:
        from .explain.class_mix import class_mix
        sections["class_mix"] = class_mix(problem, catalog, options, p, cands)
    if model.hourly is not None:
        from .model.hourly import hourly_assumptions, hourly_section
        sections["hourly"] = hourly_section(problem, cands, model.hourly)
        p = p.model_copy(update={"assumptions": hourly_assumptions(problem, sections["hourly"]) + p.assumptions[1:]})
    if sections:
        p = p.model_copy(update={"extras": {**p.extras, **sections}})
    return p.model_copy(update={"references": check_references(problem, p)})
