"""The solve stage: catalog + problem -> candidates -> model -> solve, or an infeasibility explanation.

`solve_problem` is what every caller that needs a solved model uses (the planner, the what-ifs, the benchmarks);
it never builds a plan. Failover scenarios are generated lazily (exactly) unless a time limit is set.

Time. `SolveOptions.time_limit` bounds the whole run, not each solve: `with_deadline` turns it into a deadline
when the run starts (the planner does it once, so candidates, every solve, the shared-queue re-solves, extraction
and the optional re-solves of the report all share it), and each solve gets what is left of it, less
`FINISH_SHARE` of the limit kept for building and checking the plan.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from . import mixing
from .candidates import Candidates, build_candidates
from .catalog import Catalog
from .errors import InfeasibleError, SolverError
from .families import FILTERS, slack_text
from .model.formulation import Model, build_model
from .model.solve import SolveResult, Status, relaxation_values, solve
from .problem import Problem

log = logging.getLogger("llmplan")
EPS = 1e-7


@dataclass(frozen=True)
class SolveOptions:
    solver: str = "highs"
    time_limit: float | None = None  # seconds for the whole run (see Time above)
    gap: float | None = None
    verbose: bool = False
    deadline: float | None = field(default=None, repr=False, compare=False)  # time.perf_counter() to end by


FINISH_SHARE = 0.1  # of the time limit, kept after the main solve for extraction and verification
MIN_SOLVE_S = 0.5  # the least a solve is given, however late


def with_deadline(options: SolveOptions) -> SolveOptions:
    """`options` with its deadline set from now, when it has a time limit and no deadline yet."""
    if options.time_limit is None or options.deadline is not None:
        return options
    return replace(options, deadline=time.perf_counter() + options.time_limit)


def time_left(options: SolveOptions) -> float | None:
    """Seconds until the deadline (None: no time limit)."""
    return None if options.deadline is None else options.deadline - time.perf_counter()


EXTRA_SHARE = 0.25  # an optional re-solve (explain, point estimates, class mix) starts only with this much left


def time_for_extra(options: SolveOptions) -> bool:
    """Whether an optional re-solve may start: no time limit, or at least EXTRA_SHARE of it left (an extra
    rebuilds its candidates and model, which no solver limit interrupts)."""
    left = time_left(options)
    return left is None or left >= EXTRA_SHARE * options.time_limit


def solve_limit(options: SolveOptions, reserve: float = 0.0) -> float | None:
    """The time limit of the next solve: what is left of the run's time, less `reserve`, at least MIN_SOLVE_S."""
    left = time_left(options)
    return None if left is None else max(MIN_SOLVE_S, left - reserve)


def solve_problem(problem: Problem, catalog: Catalog, options: SolveOptions = SolveOptions(), *,
                  relax: frozenset = frozenset(), **cand_kw) -> tuple[Candidates, Model, SolveResult]:
    """Candidates, model and solve; raises InfeasibleError (with its explanation) or SolverError. A problem with
    request classes must be expanded first (`classes.expand_classes`; `planner.plan` does it). With a time limit,
    the run's deadline applies (set here unless the caller set it)."""
    options = with_deadline(options)
    from .techniques import expand_techniques
    problem = expand_techniques(problem)  # a workload with techniques is planned as slices (idempotent)
    cands = build_candidates(problem, catalog, **cand_kw)
    precheck(problem, cands)
    t0 = time.perf_counter()
    model, res = _solve(problem, cands, options, relax)
    setup_s = time.perf_counter() - t0 - res.seconds  # building the model and handing it over: a re-solve's too
    # pools shared by workloads of different lengths share one queue: re-solve with the pools whose mix runs above
    # its headroom derated (mixing.py), keeping each pool's smallest factor, until none does
    base, factors = cands, {}
    for _ in range(mixing.MAX_ROUNDS):
        if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
            break
        over = mixing.violations(problem, cands, model)  # d relative to the capacity the model had
        if not over:
            break
        cands = mixing.derate(base, with_factors(factors, over))
        left = time_left(options)
        if left is not None and model.hourly is None and left - FINISH_SHARE * options.time_limit < setup_s + 1.0:
            res = scaled_up(model, cands, over, res)  # no time to rebuild and re-solve: the scaled plan is feasible
            break
        before, before_model = res, model
        model, res = _solve(problem, cands, options, relax, start=derated_start(model, over))
        if res.status == Status.NO_SOLUTION and options.time_limit is not None:
            # the re-solve ran out of time before it read its start (measured at 40 workloads with failover,
            # --time-limit 30): the model before, scaled up, is still a feasible plan
            model, res = before_model, scaled_up(before_model, cands, over, before)
            break
        res = keep_bound(res, before)
    else:  # MAX_ROUNDS re-solves, and the last may still move a workload onto another shared pool: scale it up
        over = mixing.violations(problem, cands, model) if res.status in (Status.OPTIMAL, Status.FEASIBLE) else {}
        if over and model.hourly is None:
            cands = mixing.derate(base, with_factors(factors, over))
            res = scaled_up(model, cands, over, res)
    if res.status == Status.INFEASIBLE:
        raise explain_infeasible(problem, cands, options)
    if res.status == Status.NO_SOLUTION and options.time_limit is not None:
        raise SolverError(f"no plan found within --time-limit {options.time_limit:g} s (the limit covers the whole "
                          f"run; the last solve had {res.seconds:.1f} s of it)", where="--time-limit",
                          fix="raise --time-limit")
    if res.status in (Status.NO_SOLUTION, Status.ERROR, Status.UNBOUNDED):
        raise SolverError(f"{res.solver} stopped with status {res.status.value} after {res.seconds:.1f} s",
                          fix="raise --time-limit, or loosen --gap")
    return cands, model, res


def with_factors(factors: dict[str, float], over: dict[str, float]) -> dict[str, float]:
    """Each pool's derating factor times its new one (`over`, relative to the capacity the model had), in place."""
    for pid, d in over.items():
        factors[pid] = factors.get(pid, 1.0) * d
    return factors


def scaled_up(model: Model, cands: Candidates, over: dict[str, float], res: SolveResult) -> SolveResult:
    """The plan of `model` with each derated pool's instances raised to ceil(n / d) (see `derated_start`), set on the
    model's variables in place, when the time limit leaves no time to rebuild and re-solve: feasible for the
    derated model (rows with n_c on the right only loosen; a budget or cap it now exceeds is caught by verify), at
    the cost of the added instances; the bound of the model before still holds (it had more capacity)."""
    from .model.solve import rel_gap
    extra = 0.0
    for pid, d in over.items():
        var = model.n.get(pid)
        n = round(var.value() or 0.0) if var is not None else 0
        if n:
            n2 = raised(n, d)
            var.varValue = float(n2)
            extra += (n2 - n) * cands.pool(pid).monthly_usd_per_instance
    obj = (res.objective or 0.0) + extra
    return replace(res, status=Status.FEASIBLE if extra > 0 else res.status, objective=obj,
                   gap=rel_gap(obj, res.bound))


def derated_start(model: Model, over: dict[str, float]) -> dict[str, float]:
    """A MIP start for the re-solve after derating pools by `over` (pool id -> factor d < 1): the previous
    solution with each derated pool's instances scaled up to ceil(n / d), so its loads fit again (every row that
    holds n_c on its right-hand side holds with more instances). HiGHS checks a start and ignores an infeasible one
    (a budget or cap it now exceeds); a feasible one gives a time-limited re-solve an incumbent from the start."""
    start = {v.name: v.value() for v in model.prob.variables() if v.value() is not None}
    for pid, d in over.items():
        var = model.n.get(pid)
        if var is not None and var.value():
            start[var.name] = float(raised(round(var.value()), d))
    return start


def raised(n: int, d: float) -> int:
    """Instances a pool of n needs once derated to d of its capacity: ceil(n / d)."""
    import math
    return math.ceil(n / d - 1e-9)


def keep_bound(res: SolveResult, before: SolveResult | float | None) -> SolveResult:
    """`res` with the better of its own lower bound and `before`'s: a bound proven for a relaxation of the model
    (the LP relaxation behind a MIP start; the model before a derating re-solve, which had more capacity) holds for
    it too, and a time-limited solve may stop before it has proven one of its own."""
    bound = before.bound if isinstance(before, SolveResult) else before
    if bound is None or res.objective is None or (res.bound is not None and res.bound >= bound):
        return res
    from .model.solve import OPTIMAL_GAP, rel_gap
    gap = rel_gap(res.objective, bound)
    status = Status.OPTIMAL if gap is not None and gap <= OPTIMAL_GAP + 1e-12 else res.status
    return replace(res, bound=bound, gap=gap, status=status)


# of a solve's time limit, the most the LP relaxation behind a MIP start may take: without the start HiGHS rarely
# finds a decent failover plan in the time (measured on bench/bench_failover.py), so the LP gets most of it
START_LP_SHARE = 0.7


def rounded_relaxation_start(model: Model, limit: float) -> tuple[dict[str, float] | None, float | None]:
    """A MIP start for a failover model under a time limit (without one, HiGHS can spend the whole limit without a
    decent incumbent: a $128M plan against a $3.6M bound at 30 s on the 24-workload benchmark). Solve the LP
    relaxation, then round it to a plan (`rounded_start`). Also returns the LP's objective, a lower bound on the
    MIP (None when the LP does not solve in its share of the time)."""
    relaxed = relaxation_values(model.prob, START_LP_SHARE * limit)
    if relaxed is None:
        return None, None
    values, lp_bound = relaxed
    return rounded_start(model, values), lp_bound


def rounded_start(model: Model, values: dict[str, float]) -> dict[str, float]:
    """The LP relaxation `values` rounded to a plan: n_c -> ceil(n_c) (every row with n_c on its right-hand side,
    capacity, share and failover links, still holds, and x, z keep their values), y -> 1 if any instance runs, and
    each fixed workload's u to its largest option. Rows that more instances can break (budget, spot and carbon caps,
    availability) may make it infeasible: HiGHS then ignores it."""
    import math
    start = dict(values)
    any_on = False
    for var in model.n.values():
        v = values.get(var.name, 0.0)
        start[var.name] = float(math.ceil(v - 1e-9)) if v > 1e-9 else 0.0
        any_on = any_on or v > 1e-9
    if model.y is not None:
        start[model.y.name] = 1.0 if any_on else 0.0
    by_fixed: dict[str, list] = {}
    for (f, _), var in model.u.items():
        by_fixed.setdefault(f, []).append(var)
    for vars_ in by_fixed.values():
        best = max(vars_, key=lambda v: values.get(v.name, 0.0))
        for var in vars_:
            start[var.name] = 1.0 if var is best else 0.0
    return start


# of what a solve has left after the LP relaxation, the most the restricted MIP (model/neighbourhood.py) may take:
# on the 24-workload benchmark it proves its optimum in about 4 s; the full model gets the rest, started from it
RESTRICTED_SHARE = 0.5
RESTRICTED_MIN_S = 2.0  # with less left after the LP, the full model gets it all, from the rounded start


class FailoverStart(NamedTuple):
    start: dict | None  # variable name -> value: a MIP start for the full model
    lp_bound: float | None  # the LP relaxation's objective, a lower bound
    heuristic: SolveResult | None  # the restricted MIP's result, when it found a plan
    full_model: bool  # whether the full model is worth solving in the time left (`full_model_has_time`)


def neighbourhood_start(problem: Problem, cands: Candidates, model: Model, options: SolveOptions,
                        limit: float) -> FailoverStart:
    """A MIP start for a failover model under a time limit, and what proves it (model/neighbourhood.py has the
    measurements and the algebra): the LP relaxation (its objective a lower bound), its rounding (`rounded_start`),
    then the MIP restricted to the pools of the LP's support and the cheapest pool per (workload, provider), started
    from the rounding, within RESTRICTED_SHARE of the time left, or all of it when the full model has no time to
    improve on it (`full_model_has_time`); skipped with under RESTRICTED_MIN_S left. The start is the restricted
    MIP's plan when it found one (feasible for the full model: a restriction), else the rounding; none when the LP
    does not solve in its share of the time."""
    from .model.neighbourhood import lp_neighbourhood, restricted
    t0 = time.perf_counter()
    relaxed = relaxation_values(model.prob, START_LP_SHARE * limit)
    if relaxed is None:
        return FailoverStart(None, None, None, True)
    values, lp_bound = relaxed
    start = rounded_start(model, values)
    lp_s = time.perf_counter() - t0
    left = limit - lp_s
    if left < RESTRICTED_MIN_S:
        return FailoverStart(start, lp_bound, None, True)
    keep = lp_neighbourhood(model, cands, {w.name: w.peak for w in problem.serving}, values)
    full = full_model_has_time(left, lp_s)
    sub_limit = RESTRICTED_SHARE * left if full else left
    res, plan = restricted(model, keep, lambda prob: solve(prob, options.solver, sub_limit, options.gap,
                                                           options.verbose, start=start))
    log.debug("restricted MIP over %d of %d pools: %s %s in %.1f s", len(keep), len(model.n), res.status.value,
              res.objective, res.seconds)
    if plan is None:
        return FailoverStart(start, lp_bound, None, True)
    return FailoverStart(plan, lp_bound, res, full)


# the full model's root (presolve, root LP, the first round of cuts) against the LP relaxation's time: HiGHS checks
# its time limit only between those steps, so the full model must have that long or it runs past the deadline
# (40 workloads: LP relaxation 6.5 s; the full model's first cut round ended at 30.5 s for a 17 s limit)
ROOT_FACTOR = 5.0


def full_model_has_time(left: float, lp_seconds: float) -> bool:
    """Whether a full failover model can still improve on the restricted MIP in the time it would get,
    (1 - RESTRICTED_SHARE) of `left`: only if that covers its root, ROOT_FACTOR x the LP relaxation's time
    (`lp_seconds`); otherwise the restricted MIP gets all the time and its plan is the answer, bounded by the LP."""
    return (1 - RESTRICTED_SHARE) * left >= ROOT_FACTOR * lp_seconds + RESTRICTED_MIN_S


def heuristic_only(heuristic: SolveResult) -> SolveResult:
    """The restricted MIP's result as the full model's when the full model is not solved: feasible (a
    restriction's plan), with no bound of its own (its optimality is the restricted model's; `keep_bound` adds the
    LP relaxation's, which may prove it)."""
    return replace(heuristic, status=Status.FEASIBLE, bound=None, gap=None)


def better_of(model: Model, res: SolveResult, heuristic: SolveResult | None, plan: dict | None) -> SolveResult:
    """`res`, or the restricted MIP's plan when the full solve ended (time limit) without a plan or with a worse
    one (CBC takes no MIP start; HiGHS may stop before it reads one): its values are set on the model's variables,
    with the full solve's bound, never OPTIMAL by itself (`keep_bound` may prove it with the LP bound)."""
    if (heuristic is None or plan is None or heuristic.objective is None
            or res.status not in (Status.FEASIBLE, Status.NO_SOLUTION)
            or (res.objective is not None and res.objective <= heuristic.objective + 1e-9 * abs(heuristic.objective))):
        return res
    from .model.solve import rel_gap
    for var in model.prob.variables():
        var.varValue = plan.get(var.name)
    bound = res.bound if res.bound is not None and res.bound <= heuristic.objective else None
    return replace(res, status=Status.FEASIBLE, objective=heuristic.objective, bound=bound,
                   gap=rel_gap(heuristic.objective, bound))


def _solve(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset, start: dict | None = None):
    if problem.policy.failover is None or "failover_demand" in relax or options.time_limit is not None:
        # under a time limit one model with every scenario gives the best answer in the time: the lazy loop
        # would split the time between solves and can end on a starved one
        model = build_model(problem, cands, relax=relax)
        limit = solve_limit(options, FINISH_SHARE * options.time_limit if options.time_limit else 0.0)
        t0 = time.perf_counter()
        lp_bound = heuristic = None
        if start is None and model.z and model.hourly is None and limit is not None:
            fs = neighbourhood_start(problem, cands, model, options, limit)
            start, lp_bound, heuristic = fs.start, fs.lp_bound, fs.heuristic
            left = limit - (time.perf_counter() - t0)
            if heuristic is not None and not fs.full_model:
                for var in model.prob.variables():  # the restricted MIP's plan is the answer
                    var.varValue = start.get(var.name)
                return model, keep_bound(heuristic_only(heuristic), lp_bound)
            limit = max(MIN_SOLVE_S, left)
        res = solve(model.prob, options.solver, limit, options.gap, options.verbose, start=start)
        res = keep_bound(better_of(model, res, heuristic, start), lp_bound)
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
        model = build_model(problem, cands, relax=relax, failover_scenarios=scenarios)
        res = solve(model.prob, options.solver, solve_limit(options), options.gap, options.verbose)
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
    res = solve(m.prob, options.solver, solve_limit(options), None, False)
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
