"""The planner: solve (optimizer/pipeline.py), build the plan (optimizer/extract.py), verify it against its
problem (optimizer/verify.py), then explain it (optimizer/explain/). The one entry point is `plan()`."""

from __future__ import annotations

import datetime as dt

from .catalog import Catalog
from .errors import InfeasibleError, SolverError
from .extract import extract_plan
from .pipeline import EXTRA_SHARE, SolveOptions, solve_problem, time_for_extra, with_deadline
from .result import Plan
from .problem import Problem
from .verify import verify_plan, with_verification

__all__ = ["SolveOptions", "extract_plan", "plan", "solve_problem"]


def plan(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
         today: dt.date | None = None, explain: bool = False) -> Plan:
    """The cheapest plan, with its breakeven per workload; `explain=True` adds what each constraint costs, the
    alternatives and the entry prices of options not chosen (each a re-solve)."""
    from .classes import classes_section, expand_classes, has_classes
    from .explain.breakeven import breakevens
    from .explain.references import check_references
    if problem.horizon is not None:
        from .errors import ProblemError
        raise ProblemError("the problem plans several months (horizon:); a single-month plan would ignore its "
                           "growth, spikes, commitments and owned servers", where="horizon",
                           fix="plan it with optimizer.horizon_plan.plan_horizon (what `llmplan solve` does), or "
                               "remove `horizon:` to plan one month")

    options = with_deadline(options)  # --time-limit covers the whole run
    skipped: list[str] = []

    cands = None

    def extra(what: str) -> bool:
        if time_for_extra(options, cands.seconds if cands is not None else 0.0):
            return True
        skipped.append(what)
        return False

    with_classes = has_classes(problem)
    sections = {"classes": classes_section(problem)} if with_classes else {}
    problem = expand_classes(problem)  # one workload per request class
    from .techniques import expand_techniques
    problem = expand_techniques(problem)  # one workload per technique slice (optimizer/techniques.py)
    cands, model, res = solve_problem(problem, catalog, options)
    p = extract_plan(problem, catalog, cands, model, res, options, today=today)
    if model.hourly is not None:  # part of what verify checks: before `checked`
        from .model.hourly import hourly_assumptions, hourly_section
        sections["hourly"] = hourly_section(problem, cands, model.hourly)
        p = p.model_copy(update={"assumptions": hourly_assumptions(problem, sections["hourly"]) + p.assumptions[1:],
                                 "extras": {**p.extras, "hourly": sections["hourly"]}})
    p = checked(p, problem, catalog, today)
    chosen = {}
    for d in sorted(p.deployments, key=lambda d: -(d.share or 0)):
        if d.share and d.workload not in chosen:
            chosen[d.workload] = d.pool
    from .techniques import SEP
    bes = [b for b in breakevens(problem, cands, chosen) if SEP not in b.workload]  # not per technique slice
    update = {"breakeven": bes}
    if explain:
        from .explain.whatif import alternatives, constraint_costs, entry_prices
        if extra("what each constraint costs"):
            update["constraint_costs"] = constraint_costs(problem, catalog, options, p, cands)
        if extra("alternatives"):
            update["alternatives"] = alternatives(problem, catalog, options, p, cands)
        if extra("entry prices"):
            update["entry_prices"] = entry_prices(problem, options, p, cands)
    if extra("the cost at the point estimates of capacity"):
        update.update(_confidence_cost(problem, catalog, options, p))
    else:
        update["capacity_confidence"] = problem.policy.capacity_confidence
    if p.extras.get("techniques"):  # what each technique saves (re-solves); --explain: where an unused one pays
        from .explain.techniques import technique_report
        if extra("what each cost technique saves"):
            update["extras"] = {**p.extras, "techniques": technique_report(problem, catalog, options, p, explain)}
    p = p.model_copy(update=update)
    if with_classes and extra("the best single-GPU-type plan"):
        from .explain.class_mix import class_mix
        sections["class_mix"] = class_mix(problem, catalog, options, p, cands)
    if sections:
        p = p.model_copy(update={"extras": {**p.extras, **sections}})
    if skipped:
        p = p.model_copy(update={"warnings": p.warnings + [
            f"not computed within --time-limit {options.time_limit:g} s (an optional re-solve starts only with "
            f"{EXTRA_SHARE:.0%} of the limit left): {'; '.join(skipped)}; raise the limit to get them"]})
    return p.model_copy(update={"references": check_references(problem, p)})


def _confidence_cost(problem: Problem, catalog: Catalog, options: SolveOptions, p: Plan) -> dict:
    """The policy's capacity_confidence and, when modelled pools were sized above their point estimate, the cost
    of the same problem re-solved at confidence 0.5 (the point estimates): what the uncertainty costs."""
    conf = problem.policy.capacity_confidence
    out = {"capacity_confidence": conf}
    if conf == 0.5 or not any(d.capacity_source == "model" for d in p.deployments):
        return out
    at_point = problem.model_copy(update={"policy": problem.policy.model_copy(update={"capacity_confidence": 0.5})})
    try:
        _, _, res = solve_problem(at_point, catalog, options)
    except (InfeasibleError, SolverError):
        return out
    if res.objective is not None and res.status.value == "optimal":  # a time-limited re-solve is no figure
        out["point_estimate_cost_usd"] = round(res.objective, 2)
        # no single pool can save more than the whole plan does at the point estimates
        cap = max(p.monthly_cost_usd - res.objective, 0.0)
        out["pools"] = [q.model_copy(update={"uncertainty_cost_usd": round(min(q.uncertainty_cost_usd, cap), 2)})
                        if q.uncertainty_cost_usd is not None else q for q in p.pools]
    return out


def checked(p: Plan, problem: Problem, catalog: Catalog, today: dt.date | None = None) -> Plan:
    """The plan with its independent verification attached; a plan that fails it is reported as `unverified`
    (never `optimal`), with each violation among its warnings."""
    return with_verification(p, verify_plan(p, problem, catalog, today=today))
