"""The solve stage: catalog + problem -> candidates -> model -> solve, or an infeasibility explanation.

`solve_problem` is what every caller that needs a solved model uses (the planner, the what-ifs, the benchmarks);
it never builds a plan. Failover scenarios are generated lazily (exactly) unless a time limit is set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from . import mixing
from .candidates import Candidates, build_candidates
from .catalog import Catalog
from .errors import InfeasibleError, SolverError
from .families import FILTERS, slack_text
from .model.formulation import Model, build_model
from .model.solve import SolveResult, Status, solve
from .problem import Problem

log = logging.getLogger("llmplan")
EPS = 1e-7


@dataclass(frozen=True)
class SolveOptions:
    solver: str = "highs"
    time_limit: float | None = None
    gap: float | None = None
    verbose: bool = False


def solve_problem(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
                  relax: frozenset = frozenset(), **cand_kw) -> tuple[Candidates, Model, SolveResult]:
    """Candidates, model and solve; raises InfeasibleError (with its explanation) or SolverError. A problem with
    request classes must be expanded first (`classes.expand_classes`; `planner.plan` does it)."""
    from .techniques import expand_techniques
    problem = expand_techniques(problem)  # a workload with techniques is planned as slices (idempotent)
    cands = build_candidates(problem, catalog, **cand_kw)
    precheck(problem, cands)
    t0 = time.perf_counter()
    model, res = _solve(problem, cands, options, relax)
    # pools shared by workloads of different lengths share one queue: re-solve with the pools whose mix runs above
    # its headroom derated (mixing.py), keeping each pool's smallest factor, until none does
    base, factors = cands, {}
    for _ in range(mixing.MAX_ROUNDS):
        if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
            break
        over = mixing.violations(problem, cands, model)  # d relative to the capacity the model had
        if not over:
            break
        for pid, d in over.items():
            factors[pid] = factors.get(pid, 1.0) * d
        left = None if options.time_limit is None else max(options.time_limit - (time.perf_counter() - t0), 1.0)
        cands = mixing.derate(base, factors)
        model, res = _solve(problem, cands, replace(options, time_limit=left), relax)
    if res.status == Status.INFEASIBLE:
        raise explain_infeasible(problem, cands, options)
    if res.status in (Status.NO_SOLUTION, Status.ERROR, Status.UNBOUNDED):
        raise SolverError(f"{res.solver} stopped with status {res.status.value} after {res.seconds:.1f} s",
                          fix="raise --time-limit, or loosen --gap")
    return cands, model, res


def _solve(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset):
    if problem.policy.failover is None or "failover_demand" in relax or options.time_limit is not None:
        # under a time limit one model with every scenario gives the best answer in the time: the lazy loop
        # would split the time between solves and can end on a starved one
        model = build_model(problem, cands, relax=relax)
        res = solve(model.prob, options.solver, options.time_limit, options.gap, options.verbose)
    else:
        model, res = _solve_with_lazy_failover(problem, cands, options, relax)
    return model, res


def carrying_providers(cands: Candidates, model: Model) -> set[str]:
    """Providers that carry traffic in the model's solution."""
    out = set()
    for (w, o), var in model.x.items():
        if (var.value() or 0.0) > EPS:
            out.add(cands.option(o).failover_provider)
    return out


def _solve_with_lazy_failover(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset):
    """Failover scenarios generated lazily, exactly: losing a provider that carries no traffic leaves the normal
    routing intact, so only providers that carry traffic need their scenario. Solve with the scenarios of the
    providers found so far; stop when every provider carrying traffic in the solution has its scenario. Each model
    is a relaxation of the full one, so its bound is valid and the final solution is feasible for the full model."""
    scenarios: frozenset = frozenset()
    t0 = time.perf_counter()
    while True:
        left = None if options.time_limit is None else max(options.time_limit - (time.perf_counter() - t0), 1.0)
        model = build_model(problem, cands, relax=relax, failover_scenarios=scenarios)
        res = solve(model.prob, options.solver, left, options.gap, options.verbose)
        log.debug("failover scenarios %s: %s %.2f s", sorted(scenarios), res.status.value, res.seconds)
        if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
            break
        need = carrying_providers(cands, model) - scenarios
        if not need:
            break
        scenarios = scenarios | need
    # earlier solves only pick scenarios; the last one carries the status, bound and gap
    res = SolveResult(res.status, res.objective, res.bound, res.gap, time.perf_counter() - t0, res.solver)
    return model, res


# --- infeasibility -----------------------------------------------------------------------------------------



def precheck(problem: Problem, cands: Candidates) -> None:
    """Name the culprit before solving when a workload has no option at all."""
    report = []
    from .techniques import groups, slice_flags
    skip = set()
    for g in groups(problem):  # a technique slice without options only rules its technique out
        skip |= set(g.slices[1:])
        large = [s for s in g.slices if not slice_flags(s)[0]]
        if any(cands.eligible[s] for s in large):
            skip.add(g.name)
        for s in g.slices[1:]:
            if not cands.eligible[s]:
                t = "cascade" if slice_flags(s)[0] else "prompt_compression"
                part = getattr(g.t, t)
                if part.use == "on":
                    skip.discard(s)  # forced on: say why it cannot be
                else:
                    log.warning("workload '%s': technique slice '%s' has no eligible option (%s); %s is ruled out",
                                g.name, s, ", ".join(f"{fam} removed {n}" for fam, n in cands.excluded[s].most_common())
                                or "nothing matches", t)
    for w in problem.serving:
        if cands.eligible[w.name] or w.name in skip:
            continue
        ex = cands.excluded[w.name]
        if not ex:
            report.append(f"workload '{w.name}': nothing in the catalog matches its models {list(w.models)} / apis "
                          f"{list(w.apis)} (min_quality_tier {w.min_quality_tier})")
            continue
        parts = ", ".join(f"{fam} removed {n}" for fam, n in ex.most_common())
        top = ex.most_common(1)[0][0]
        report.append(f"workload '{w.name}' has no eligible option: {parts}. Largest cause: {FILTERS[top].meaning}; "
                      f"fix: {FILTERS[top].fix}")
    for f in problem.fixed:
        if cands.fixed[f.name]:
            continue
        ex = cands.excluded[f.name]
        parts = ", ".join(f"{fam} removed {n}" for fam, n in ex.most_common()) or "no offer has that GPU"
        report.append(f"fixed workload '{f.name}' ({f.gpu_count}x {f.gpu or f'>= {f.min_vram_gib} GiB'}) has no "
                      f"eligible offer: {parts}")
    if report:
        raise InfeasibleError("some workloads have no way to be served", report,
                              fix="change the workloads named above")


def explain_infeasible(problem: Problem, cands: Candidates, options: SolveOptions) -> InfeasibleError:
    """Re-solve with penalised slacks on every relaxable family and report the smallest relaxation."""
    m = build_model(problem, cands, elastic=True)
    res = solve(m.prob, options.solver, options.time_limit, None, False)
    report = []
    ctx = {"peak": {w.name: w.peak for w in problem.serving},
           "providers_of": {w: sorted({cands.option(o).failover_provider for o in opts})
                            for w, opts in cands.eligible.items()}}
    if res.status in (Status.OPTIMAL, Status.FEASIBLE):
        for (fam, key), (var, scale, unit) in sorted(m.slacks.items(), key=lambda kv: -(kv[1][0].value() or 0)):
            v = (var.value() or 0.0) * scale  # slacks are in units of their row's limit
            if v <= 1e-6 * max(scale, 1):
                continue
            report.append(slack_text(fam, key, v, scale, unit, ctx))
    if not report:
        report.append("no single constraint family explains it (the elastic model did not solve); run with "
                      "--verbose to see the solver log")
    return InfeasibleError("no plan meets every constraint", report)
