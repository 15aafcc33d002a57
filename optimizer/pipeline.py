"""The solve stage: catalog + problem -> candidates -> model -> solve, or an infeasibility explanation.

`solve_problem` is what every caller that needs a solved model uses (the planner, the what-ifs, the benchmarks);
it never builds a plan. A failover model whose workloads separate into independent components is solved one
component at a time (`solve_by_components`, model/decompose.py: exact when the combined plan meets the global rows);
otherwise its scenarios are generated lazily (exactly), or, under a time limit, it is searched in neighbourhoods
(`failover_search`, model/neighbourhood.py).

Time. `SolveOptions.time_limit` bounds the whole run, not each solve: `with_deadline` turns it into a deadline
when the run starts (the planner does it once, so candidates, every solve, the shared-queue re-solves, extraction
and the optional re-solves of the report all share it), and each solve gets what is left of it, less the time
kept for building and checking the plan (`finish_reserve`: a base and a little per workload, at most
`FINISH_SHARE` of the limit).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from . import mixing
from .candidates import Candidates, build_candidates
from .catalog import Catalog
from .errors import InfeasibleError, SolverError
from .families import FILTERS, autoscaled, slack_text
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
    finish_s: float | None = field(default=None, repr=False, compare=False)  # set by solve_problem (`finish_reserve`)


# kept after the main solve for building and checking the plan: FINISH_BASE_S plus FINISH_PER_WORKLOAD_S per serving
# workload, at most FINISH_SHARE of the limit (measured from the solve's end to the plan, 2 cores: 0.17 s at 24
# workloads, 0.40 s at 40, 0.79 s at 80; a flat 10% kept 1 s of a 10 s limit idle at 24)
FINISH_SHARE = 0.1
FINISH_BASE_S = 0.3
FINISH_PER_WORKLOAD_S = 0.012
MIN_SOLVE_S = 0.5  # the least a solve is given, however late


def finish_reserve(options: SolveOptions) -> float:
    """Seconds of the time limit kept after the main solve (0 without a limit)."""
    if options.time_limit is None:
        return 0.0
    share = FINISH_SHARE * options.time_limit
    return share if options.finish_s is None else min(share, options.finish_s)


def with_deadline(options: SolveOptions) -> SolveOptions:
    """`options` with its deadline set from now, when it has a time limit and no deadline yet."""
    if options.time_limit is None or options.deadline is not None:
        return options
    return replace(options, deadline=time.perf_counter() + options.time_limit)


def time_left(options: SolveOptions) -> float | None:
    """Seconds until the deadline (None: no time limit)."""
    return None if options.deadline is None else options.deadline - time.perf_counter()


EXTRA_SHARE = 0.25  # an optional re-solve (explain, point estimates, class mix) starts only with this much left


def time_for_extra(options: SolveOptions, candidates_s: float = 0.0) -> bool:
    """Whether an optional re-solve may start: no time limit, or at least EXTRA_SHARE of it left, and at least
    twice `candidates_s` (the main run's candidate generation) plus MIN_SOLVE_S: an extra rebuilds its candidates
    and model, which no solver limit interrupts (measured: 4.4 s of candidates at 24 failover workloads started
    with 2.7 s of a 10 s limit left ran 2.4 s past it)."""
    left = time_left(options)
    return left is None or left >= max(EXTRA_SHARE * options.time_limit, 2 * candidates_s + MIN_SOLVE_S)


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
    if options.finish_s is None:
        options = replace(options, finish_s=FINISH_BASE_S + FINISH_PER_WORKLOAD_S * len(problem.serving))
    t0 = time.perf_counter()
    cands = build_candidates(problem, catalog, **cand_kw)
    cands.seconds = time.perf_counter() - t0
    precheck(problem, cands)
    t0 = time.perf_counter()
    factors, model, res = _solve(problem, cands, options, relax)
    setup_s = time.perf_counter() - t0 - res.seconds  # building the model and handing it over: a re-solve's too
    # pools shared by workloads of different lengths share one queue: re-solve with the pools whose mix runs above
    # its headroom derated (mixing.py), keeping each pool's smallest factor, until none does (the failover search
    # returns a plan already derated, with its factors)
    base = cands
    if factors:
        cands = mixing.derate(base, factors)
    for _ in range(mixing.MAX_ROUNDS):
        if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
            break
        over = mixing.violations(problem, cands, model)  # d relative to the capacity the model had
        if not over:
            break
        cands = mixing.derate(base, with_factors(factors, over))
        left = time_left(options)
        if left is not None and model.hourly is None and left - finish_reserve(options) < setup_s + 1.0:
            res = scaled_up(model, cands, over, res)  # no time to rebuild and re-solve: the scaled plan is feasible
            break
        before, before_model = res, model
        _, model, res = _solve(problem, cands, options, relax, start=derated_start(model, over))
        if res.status == Status.NO_SOLUTION and options.time_limit is not None:
            # the re-solve ran out of time before it read its start (measured at 40 workloads with failover,
            # --time-limit 30): the model before, scaled up, is still a feasible plan
            model, res = before_model, scaled_up(before_model, cands, over, before)
            break
        res = derated_bound(res, before)
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
    for pid, var, n, n2 in _raised_pools(model, over):
        var.varValue = float(n2)
        extra += (n2 - n) * cands.pool(pid).monthly_usd_per_instance
    obj = (res.objective or 0.0) + extra
    return replace(res, status=Status.FEASIBLE if extra > 0 else res.status, objective=obj,
                   gap=rel_gap(obj, res.bound))


def scale_up_usd(model: Model, cands: Candidates, over: dict[str, float]) -> float:
    """What `scaled_up` would add to the plan's monthly cost (without changing the model)."""
    return sum((n2 - n) * cands.pool(pid).monthly_usd_per_instance for pid, _, n, n2 in _raised_pools(model, over))


def _raised_pools(model: Model, over: dict[str, float]):
    """(pool id, its n variable, its instances n > 0, ceil(n / d)) for each pool of `over` in use in the model."""
    for pid, d in over.items():
        var = model.n.get(pid)
        n = round(var.value() or 0.0) if var is not None else 0
        if n:
            yield pid, var, n, raised(n, d)


def derated_start(model: Model, over: dict[str, float]) -> dict[str, float]:
    """A MIP start for the re-solve after derating pools by `over` (pool id -> factor d < 1): the previous
    solution with each derated pool's instances scaled up to ceil(n / d), so its loads fit again (every row that
    holds n_c on its right-hand side holds with more instances). HiGHS checks a start and ignores an infeasible one
    (a budget or cap it now exceeds); a feasible one gives a time-limited re-solve an incumbent from the start."""
    start = plan_values(model)
    for pid, d in over.items():
        var = model.n.get(pid)
        if var is not None and var.value():
            start[var.name] = float(raised(round(var.value()), d))
    return start


def derated_bound(res: SolveResult, before: SolveResult | float | None) -> SolveResult:
    """A derated re-solve's result with the bound proven before any derating (`before`), never its own. A pool
    serves a mix of workloads with at most its capacity for each alone (mixing.py: d <= 1), so the model without
    derating is a relaxation of the problem, and its bound a bound on any plan. A derated model is not: its factors
    fit the mix of the plan before, and a plan with other mixes may need none of them, so its own (higher) bound
    would claim more than is known (measured at 40 workloads: two runs both "optimal", one $555/month dearer than the
    other, whose bound was above the cheaper plan). A plan whose derating cost more than the gap is feasible, with
    that cost in its gap."""
    bound = before.bound if isinstance(before, SolveResult) else before
    if res.objective is None:
        return res
    from .model.solve import OPTIMAL_GAP, rel_gap
    gap = rel_gap(res.objective, bound)
    status = res.status
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        status = Status.OPTIMAL if gap is not None and gap <= OPTIMAL_GAP + 1e-12 else Status.FEASIBLE
    return replace(res, bound=bound, gap=gap, status=status)


def raised(n: int, d: float) -> int:
    """Instances a pool of n needs once derated to d of its capacity: ceil(n / d)."""
    return math.ceil(n / d - 1e-9)


def keep_bound(res: SolveResult, before: SolveResult | float | None) -> SolveResult:
    """`res` with the better of its own lower bound and `before`'s: a bound proven for a relaxation of the model
    (the LP relaxation behind a MIP start, the components' summed bounds) holds for it too, and a time-limited solve
    may stop before it has proven one of its own. Not for a derated re-solve: see `derated_bound`."""
    bound = before.bound if isinstance(before, SolveResult) else before
    if bound is None or res.objective is None or (res.bound is not None and res.bound >= bound):
        return res
    from .model.solve import OPTIMAL_GAP, rel_gap
    gap = rel_gap(res.objective, bound)
    status = Status.OPTIMAL if gap is not None and gap <= OPTIMAL_GAP + 1e-12 else res.status
    return replace(res, bound=bound, gap=gap, status=status)


# of a solve's time limit, the most the LP relaxation behind a MIP start may take
START_LP_SHARE = 0.7


def rounded_relaxation_start(model: Model, limit: float) -> tuple[dict[str, float] | None, float | None]:
    """A MIP start for a failover model under a time limit: the LP relaxation rounded to a plan
    (`rounded_start`), and the LP's objective, a lower bound on the MIP (None when the LP does not solve in its
    share of the time). The method before `failover_search` (bench/bench_failover.py compares the two): 2-5% above
    the optimum on the benchmark, where HiGHS alone found a $128M plan against a $3.6M bound at 30 s."""
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


# --- failover under a time limit: a search over neighbourhoods (model/neighbourhood.py) ----------------------

class Found(NamedTuple):
    """A plan of the failover search: the derating `factors` its candidates carry (pool id -> factor, `mixing`),
    the model whose variables hold it (a neighbourhood's or the full one) and its result."""
    factors: dict
    model: Model
    res: SolveResult
    build_s: float = 0.0  # seconds `build_model` took for that model
    # its model was solved to its own optimum and no shared queue runs over: another try cannot improve it, even
    # when a derating keeps it short of OPTIMAL (`derated_bound`)
    settled: bool = False


# the full model is built only if its build and LP (`full_step_s`) take at most this share of the time left
BUILD_SHARE = 0.6
RESTRICTED_MIN_S = 2.0  # with less left after the LP, N1 is skipped


def restricted_model(problem: Problem, cands: Candidates, keep: set[str], factors: dict,
                     relax: frozenset) -> tuple[Candidates, Model, float]:
    """The neighbourhood's candidates (not derated), its model with `factors` applied, and the build's seconds."""
    from .model.neighbourhood import subset
    base = subset(cands, keep)
    t0 = time.perf_counter()
    model = build_model(problem, mixing.derate(base, factors) if factors else base, relax=relax)
    return base, model, time.perf_counter() - t0


def restricted_solve(problem: Problem, cands: Candidates, keep: set[str], factors: dict, start: dict | None,
                     seconds: float, options: SolveOptions, relax: frozenset, built=None) -> Found | None:
    """The MIP over the pools in `keep` (`neighbourhood.subset`) with `factors` applied, started from `start`, in
    at most `seconds` (`built`: `restricted_model`'s result, when the caller built it), then repaired until no
    shared queue runs above its headroom (`repair_rounds`). Returns a plan with no shared-queue violation, feasible
    for the full model, or None when no plan was found. Its status is never better than FEASIBLE and it has no
    bound of its own: it is optimal only for its neighbourhood."""
    end = time.perf_counter() + seconds
    base, model, build_s = built or restricted_model(problem, cands, keep, factors, relax)
    reserve = max(REPAIR_SHARE * seconds, REPAIR_MIN_S + 2 * build_s)  # for `repair_rounds`
    res = solve(model.prob, options.solver, max(min(MIN_SOLVE_S, seconds), end - time.perf_counter() - reserve),
                max(options.gap or 0.0, RESTRICTED_GAP), options.verbose, start=start)
    log.debug("restricted MIP over %d of %d pools (%d derated): %s %s in %.1f s", len(keep), len(cands.pools),
              len(factors), res.status.value, res.objective, res.seconds)
    if res.objective is None:
        return None
    found = Found(dict(factors), model, replace(res, status=Status.FEASIBLE, bound=None, gap=None), build_s)
    return repair_rounds(problem, base, found, end, options, relax)


RESTRICTED_GAP = 1e-3  # a neighbourhood's MIP stops within this gap: its optimum is not the full model's anyway
REPAIR_SHARE = 0.2  # of a neighbourhood's time, kept for the repair rounds (`repair_rounds`), and at least
REPAIR_MIN_S = 1.5  # seconds plus two builds of its model
# a repair derates a pool this much below its headroom: the re-solve fills the pool to its new capacity, which
# shifts its mix and its headroom a little (measured: 4 violations, then 2, then 2 again without it at 40 workloads)
REPAIR_MARGIN = 0.005


def repair_rounds(problem: Problem, base: Candidates, found: Found, end: float, options: SolveOptions,
                  relax: frozenset) -> Found | None:
    """`found` (a plan over `base`'s pools with `found.factors` applied) with no shared queue above its headroom.
    The solver fills a pool to its last request, so a mix derated by a fraction of a percent (d = 0.996 for 0.2
    instance of one workload beside 39.8 of another, measured at 40 workloads) would take a whole instance more to
    scale up (`scaled_up`: $78k on three such pools). Instead each round derates the pools that run over, fixes the
    instances of every pool that serves none of the workloads on them, and re-solves from the scaled-up plan: a
    small MIP (the workloads involved re-route or rebalance; every other pool keeps its instances) whose start is
    feasible, so a round never makes the plan worse. Re-routing shifts a mix and its headroom, so a pool over its
    headroom again after a derating keeps only its largest workload (the others move). After mixing.MAX_ROUNDS
    rounds, or without the time for another, the plan is scaled up instead (`scaled_found`: None if that breaks a
    row)."""
    factors, model, res = dict(found.factors), found.model, found.res
    peaks = {w.name: w.peak for w in problem.serving}
    seen: set[str] = set()  # pools derated by an earlier round
    for round_ in range(mixing.MAX_ROUNDS + 1):
        sub = mixing.derate(base, factors) if factors else base
        over = mixing.violations(problem, sub, model)
        if not over:
            return Found(factors, model, res, found.build_s)
        last = round_ == mixing.MAX_ROUNDS  # no repair after it: the plan is scaled up to the headroom itself
        if not last:
            over = {pid: d * (1 - REPAIR_MARGIN) for pid, d in over.items()}
            start = derated_start(model, over)
        with_factors(factors, over)
        sub = mixing.derate(base, factors)
        if last or end - time.perf_counter() < 2 * found.build_s + MIN_SOLVE_S:
            break
        involved = {w for pid in over for w in sub.pool(pid).capacity
                    if (model.x.get((w, pid)) is not None and (model.x[(w, pid)].value() or 0.0) > EPS)}
        t0 = time.perf_counter()
        fixed = build_model(problem, sub, relax=relax)
        held = [pool for pool in sub.pools if involved.isdisjoint(pool.capacity)]
        for pool in held:  # every other pool keeps its instances
            var = fixed.n[pool.id]
            var.lowBound = var.upBound = round(start.get(var.name) or 0.0)
        closed = [(w, pool.id) for pool in sub.pools if (start.get(fixed.n[pool.id].name) or 0.0) > 0.5
                  for w in pool.capacity if (start.get(fixed.x[(w, pool.id)].name) or 0.0) <= EPS]
        for pid in set(over) & seen:  # over again after a derating: it keeps only its largest workload
            on = {w: model.x[(w, pid)].value() or 0.0 for w in sub.pool(pid).capacity if (w, pid) in model.x}
            top = max(on, key=lambda w: (on[w] * peaks[w] / sub.pool(pid).capacity[w], w))
            closed += [(w, pid) for w in on if w != top]
        seen |= set(over)
        for key in closed:  # no new mix: a pool in use takes no workload it does not serve already
            fixed.x[key].upBound = 0
        again = solve(fixed.prob, options.solver, max(MIN_SOLVE_S, (end - time.perf_counter()) / 2),
                      max(options.gap or 0.0, RESTRICTED_GAP), options.verbose, start=start)
        log.debug("repair of %d pools (%d workloads): %s %s in %.1f s (build %.1f s)", len(over), len(involved),
                  again.status.value, again.objective, again.seconds, time.perf_counter() - t0 - again.seconds)
        from .model.neighbourhood import infeasible_rows
        if again.objective is None or (again.objective > res.objective + scale_up_usd(model, sub, over)
                                       and not infeasible_rows(fixed, start)):
            # HiGHS did not read the start in time (or not at all: a spot cap, budget or carbon cap that the added
            # instances break makes it infeasible, and then scaling up is no answer either)
            return scaled_found(factors, model, sub, over, res, found.build_s)
        for pool in held:  # restore the bounds: the model may be the answer, and its bounds are reported
            var = fixed.n[pool.id]
            var.lowBound, var.upBound = 0, fixed.upper[pool.id]
        for key in closed:
            fixed.x[key].upBound = 1
        model, res = fixed, replace(again, status=Status.FEASIBLE, bound=None, gap=None)
    return scaled_found(factors, model, sub, over, res, found.build_s)


def scaled_found(factors: dict, model: Model, sub: Candidates, over: dict, res: SolveResult,
                 build_s: float) -> Found | None:
    """The plan scaled up (`scaled_up`) as a found plan, or None when the added instances break a row of the
    model (a spot cap, a budget, a carbon cap, an availability cap): no plan then, rather than a wrong one."""
    from .model.neighbourhood import infeasible_rows
    res = scaled_up(model, sub, over, res)
    if infeasible_rows(model, plan_values(model)):
        log.debug("the scaled-up plan breaks a row of its model: dropped")
        return None
    return Found(factors, model, res, build_s)


def plan_values(model: Model) -> dict[str, float]:
    """Variable name -> value of the model's solution: a MIP start for any model with the same names."""
    return {v.name: v.value() for v in model.prob.variables() if v.value() is not None}


def cheaper(a: Found | None, b: Found | None) -> Found | None:
    """The found plan of lower cost (the first on a tie or when the other is None)."""
    if a is None or (b is not None and b.res.objective < a.res.objective - 1e-9 * abs(a.res.objective)):
        return b
    return a


# building the full model, handing it to HiGHS and solving its LP relaxation, against a neighbourhood's build
# scaled by routing variables (measured: 40 workloads, build 4.3 s + LP 5.8 s, estimated 6.0 s; 80 workloads,
# 6.7 s + 17.7 s, estimated 17.8 s; at 24 workloads the estimate is 2x over: 12.1 s for 2.7 s + 3.2 s)
FULL_STEP_FACTOR = 2.0


def full_step_s(cands: Candidates, model: Model, build_s: float) -> float:
    """Seconds the full model's build, hand-over and LP relaxation will take, estimated from a neighbourhood's
    `model` (built in `build_s`) scaled by the number of routing variables (`neighbourhood.scenario_routes`)."""
    from .model.neighbourhood import scenario_routes
    return FULL_STEP_FACTOR * build_s * scenario_routes(cands) / max(len(model.z), 1)


# the full model's root (presolve, root LP, the first round of cuts) against the LP relaxation's time: HiGHS checks
# its time limit only between those steps, so the full model must have that long or it runs past the deadline
# (40 workloads: LP relaxation 6.5 s; the full model's first cut round ended at 30.5 s for a 17 s limit)
ROOT_FACTOR = 5.0


def full_model_has_time(left: float, lp_seconds: float) -> bool:
    """Whether the full failover model can still improve on the neighbourhoods' plan in the `left` seconds: only
    if they cover its root, ROOT_FACTOR x the LP step's time (`lp_seconds`)."""
    return left >= ROOT_FACTOR * lp_seconds + RESTRICTED_MIN_S


# providers per workload in the successive neighbourhoods N0(k) (`neighbourhood.cheapest_pools`; None: all). Small
# ones prove fast and large ones start from their plans: measured at 40 workloads, N0(3) (163 pools) reaches
# $4,739,202 in 3 s and N0(all) (427 pools) $4,749,894 in 11 s; at 80, N0(2) reaches 0.44% above the LP bound in 3 s
LADDER = (2, 3, 5, None)
STEP_SHARE = 0.5  # of the time left, the most one neighbourhood but the last may take
# of the whole solve time, the most one neighbourhood but the last may take (at least RESTRICTED_MIN_S)
RUNG_SHARE = 0.1


def failover_search(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset) -> Found:
    """A failover model under a time limit: the best plan the time allows, with an honest bound.

    1. Neighbourhoods of growing size (LADDER: N0(k), the cheapest pools of each workload's k cheapest providers),
       each a restricted MIP started from the best plan so far, in at most STEP_SHARE of the time left and
       RUNG_SHARE of the whole (the last in all of it); a neighbourhood that proves its optimum hands its time on.
    2. After the first plan, if the full model's build and LP relaxation fit in BUILD_SHARE of the time left
       (`full_step_s`, estimated from a neighbourhood's build): the full model's LP relaxation, a lower bound for
       the problem (the full model is not derated: derating only restricts), whose support joins every later
       neighbourhood (`neighbourhood.lp_neighbourhood`, RINS-like).
    3. The full model itself, started from the best plan, if it has time to get past its root
       (`full_model_has_time`); its plan, scaled up if its shared queues need it, is the answer when it costs less.
    Each restricted plan has its shared queues checked and repaired (`restricted_solve`), so the plan returned has
    no violation left. Without the LP the bound is `neighbourhood.demand_bound`, weak but honest. A restricted
    model that finds no plan says nothing about the problem: when no neighbourhood finds one (or there is none,
    without pools), the full model is solved in the time left, and only it can say INFEASIBLE."""
    from .model.decompose import replaced_pools
    from .model.neighbourhood import cheapest_pools, demand_bound, lp_neighbourhood, subset
    gone = replaced_pools(problem, cands.pools)  # the same optimum without them (global rows included)
    if gone:
        cands = subset(cands, {p.id for p in cands.pools} - gone)
    limit = solve_limit(options, finish_reserve(options))
    end = time.perf_counter() + limit
    peaks = {w.name: w.peak for w in problem.serving}
    best: Found | None = None
    lp = None  # (full model, LP values, LP bound, seconds) once the LP step has run
    keep: set[str] = set()
    built = None
    for k in LADDER + ("lp",):
        if best is not None and lp is None and built is not None:
            lp = lp_step(problem, cands, built, end, relax)
        if k == "lp":
            break
        wider = cheapest_pools(cands, peaks, k) | (lp_neighbourhood(lp[0], lp[1], set()) if lp and lp[1] else set())
        left = end - time.perf_counter()
        if wider == keep or (best is not None and left < RESTRICTED_MIN_S):
            continue
        keep = wider
        factors = dict(best.factors) if best is not None else {}
        built = restricted_model(problem, cands, keep, factors, relax)
        left = end - time.perf_counter()
        seconds = left if k is None else min(STEP_SHARE * left, max(RESTRICTED_MIN_S, RUNG_SHARE * limit))
        found = restricted_solve(problem, cands, keep, factors, plan_values(best.model) if best else None,
                                 seconds, options, relax, built)
        best = cheaper(best, found)
    model, lp_bound, lp_s = (lp[0], lp[2], lp[3]) if lp else (None, None, 0.0)
    if lp_bound is None:  # no LP in the time: the bound that needs no solve
        lp_bound = demand_bound(problem, cands)
    if best is not None and (model is None or not full_model_has_time(end - time.perf_counter(), lp_s)):
        return best._replace(res=keep_bound(best.res, lp_bound))
    if model is None:  # no neighbourhood found a plan (or there was none: no pools at all): the full model
        model = build_model(problem, cands, relax=relax)
    res = solve(model.prob, options.solver, max(MIN_SOLVE_S, end - time.perf_counter()), options.gap,
                options.verbose, start=plan_values(best.model) if best is not None else None)
    res = keep_bound(res, lp_bound)
    whole = None
    if res.objective is not None:
        over = mixing.violations(problem, cands, model)
        whole = scaled_found(over, model, mixing.derate(cands, over), over, res, 0.0) if over else Found({}, model, res)
    if best is None or (whole is not None and cheaper(best, whole) is whole):
        return whole if whole is not None else Found({}, model, res)
    # the neighbourhoods' plan is better: it keeps the bounds proven on the full model
    bounds = [b for b in (lp_bound, res.bound) if b is not None and b <= best.res.objective]
    return best._replace(res=keep_bound(best.res, max(bounds) if bounds else None))


def lp_step(problem: Problem, cands: Candidates, built: tuple, end: float, relax: frozenset):
    """The full model and its LP relaxation, if they fit in BUILD_SHARE of the time left (`full_step_s`, from the
    neighbourhood model `built`): (full model, LP values or {}, LP bound or None, the LP's seconds), or False."""
    left = end - time.perf_counter()
    step_s = full_step_s(cands, built[1], built[2])
    if step_s > BUILD_SHARE * left:
        log.debug("no time for the full model: its build and LP take about %.1f s of %.1f s left", step_s, left)
        return False
    t0 = time.perf_counter()
    model = build_model(problem, cands, relax=relax)
    t1 = time.perf_counter()
    relaxed = relaxation_values(model.prob, START_LP_SHARE * (end - t1))
    lp_s = time.perf_counter() - t1
    log.debug("full model %.1f s and LP relaxation %.1f s (estimated %.1f s together): %s", t1 - t0, lp_s, step_s,
              relaxed[1] if relaxed else "not solved")
    values, bound = relaxed if relaxed is not None else ({}, None)
    return model, values, bound, lp_s


def quick_part(problem: Problem, cands: Candidates, options: SolveOptions, seconds: float) -> Found | None:
    """A first plan of one component under a time limit: its neighbourhood of the cheapest pools of each
    workload's two cheapest providers (`neighbourhood.cheapest_pools`: a tiny MIP, solved in a moment), or the
    component itself when that is all of it."""
    from .model.neighbourhood import cheapest_pools
    keep = cheapest_pools(cands, {w.name: w.peak for w in problem.serving}, 2)
    if len(keep) == len(cands.pools):
        return solve_part(problem, cands, options, seconds)
    return restricted_solve(problem, cands, keep, {}, None, seconds, options, frozenset())


def solve_part(problem: Problem, cands: Candidates, options: SolveOptions, seconds: float | None,
               first: Found | None = None, resume: bool = False) -> Found | None:
    """One component's model solved exactly (started from `first`, a plan of it), with its shared queues derated
    and re-solved as `solve_problem` does for a whole model (the bound proven before any derating is kept:
    `derated_bound`), repaired when the rounds or the time run out (`_repaired`; scaled up without the time for
    it); `first` when that is cheaper, with the bound proven here. `resume`: the derating goes on from `first`'s
    factors (a second try at a part whose rounds ran out of time) instead of starting from none. None when no plan
    was found in the time; an INFEASIBLE result when there is none."""
    end = None if seconds is None else time.perf_counter() + seconds
    resume = resume and first is not None
    found = _exact_part(problem, cands, options, end, plan_values(first.model) if first is not None else None,
                        dict(first.factors) if resume else {}, first.res.bound if resume else None)
    if first is None or (found is not None and found.res.status == Status.INFEASIBLE):
        return found
    if found is None or cheaper(found, first) is first:
        bound = found.res.bound if found is not None else None
        return first._replace(res=keep_bound(first.res, bound if bound is not None and bound <= first.res.objective
                                             else None))
    return found


def _exact_part(problem: Problem, cands: Candidates, options: SolveOptions, end: float | None,
                start: dict | None, factors: dict, bound0: float | None = None) -> Found | None:
    """`solve_part`'s exact solve and derating rounds, from `start` and the derating `factors` (updated in place;
    `bound0`: the bound proven before any derating, when `factors` start derated: `derated_bound`).
    When the rounds or the time run out, the plan is repaired (`repair_rounds`: restricted re-solves that un-mix a
    pool over its headroom again) rather than scaled up: the exact rounds move a little traffic each time and can
    go on finding a new mix a fraction of a percent over (measured at 40 workloads: six rounds, $4,116,555 ->
    $4,116,764, each 1 s, then a scale-up of one whole instance, +$48k)."""
    prev = None  # the round before, as a found plan with the factors its model was built with
    for round_ in range(PART_ROUNDS + 1):
        sub = mixing.derate(cands, factors) if factors else cands
        t0 = time.perf_counter()
        model = build_model(problem, sub)
        build_s = time.perf_counter() - t0
        limit = None if end is None else max(PART_MIN_S, end - time.perf_counter())
        res = solve(model.prob, options.solver, limit, options.gap, options.verbose, start=start)
        if res.objective is None:
            if prev is None:
                return Found({}, model, res) if res.status == Status.INFEASIBLE else None
            return _repaired(problem, cands, prev, end, options)
        settled = res.status == Status.OPTIMAL  # its own model's optimum, before `derated_bound` says how far
        if prev is not None or factors:  # derated: the bound is the one proven before any derating
            res = derated_bound(res, prev.res if prev is not None else bound0)
        log.debug("component of %d workloads, %d pools: %s $%.2f in %.1f s (round %d)", len(cands.eligible),
                  len(cands.pools), res.status.value, res.objective, res.seconds, round_)
        over = mixing.violations(problem, sub, model)
        if not over:
            return Found(dict(factors), model, res, build_s, settled)
        prev = Found(dict(factors), model, res, build_s)
        if round_ == PART_ROUNDS or (end is not None and end - time.perf_counter() < 2 * res.seconds + 0.5):
            return _repaired(problem, cands, prev, end, options)
        start = derated_start(model, over)
        with_factors(factors, over)
    return None


def _repaired(problem: Problem, cands: Candidates, found: Found, end: float | None,
              options: SolveOptions) -> Found | None:
    """A component's plan `found` with its shared queues repaired (`repair_rounds`), with the bound `found` carries
    (proven before any derating: `derated_bound`)."""
    out = repair_rounds(problem, cands, found, math.inf if end is None else end, options, frozenset())
    return None if out is None else out._replace(res=derated_bound(out.res, found.res))


PART_ROUNDS = mixing.MAX_ROUNDS  # exact derating re-solves of a component before its plan is repaired
PART_WORKERS = max(1, min(4, os.cpu_count() or 1))  # components solved at once (2 on 2 cores: 10.2 s -> 6.9 s)
PART_MIN_S = 0.3  # the least a component's solve gets under a time limit
QUICK_SHARE = 0.3  # of a component's time, the most its first neighbourhood (N0(2)) may take
EXACT_SHARE_FACTOR = 2.0  # a part solved exactly gets this many equal shares of the time left (capped at all of it)
# seconds to build a model per routing variable (z), measured at 18-26 us on the components of the 24-workload
# benchmark (2 cores); a neighbourhood's build is no guide: its fixed costs dominate (2-10x over)
BUILD_S_PER_ROUTE = 30e-6


def solve_by_components(problem: Problem, cands: Candidates, options: SolveOptions,
                        relax: frozenset = frozenset()) -> tuple[Found | None, float | None]:
    """The model solved as independent components (model/decompose.py has the algebra): (the combined plan when
    it is the whole model's answer, else None; a lower bound on the whole model, or None). A component without a
    plan in its time makes the combination unusable (None, None); an infeasible component makes the whole
    problem infeasible (a relaxation of it is)."""
    from .model.decompose import (cheapest_blocks, combine, component, components, global_violations,
                                  self_hosting_forced)
    from .model.neighbourhood import demand_bound, scenario_routes
    limit = solve_limit(options, finish_reserve(options)) if options.time_limit is not None else None
    end = None if limit is None else time.perf_counter() + limit
    groups = components(problem, cands)
    parts = [component(problem, cands, ws) for ws in groups]
    forced = self_hosting_forced(cands)
    api_parts = [] if forced else [component(problem, cands, ws, api_only=True) for ws in groups]

    def run(part_list, share):
        """Solve the parts, PART_WORKERS at a time (HiGHS releases the GIL while it runs). Under a time limit, in
        three passes over `share` of the time left: a first plan of every part (`quick_part`, QUICK_SHARE of it,
        shared by size, the largest first), then the parts not yet proven, the smallest first, each from its first
        plan with an equal share of the time left among the parts not yet started (if its build fits,
        BUILD_S_PER_ROUTE), then the parts still open again, from where they stopped, in the time left. The found
        plans in order, or the first part's failure (None, or an INFEASIBLE result)."""
        from concurrent.futures import ThreadPoolExecutor
        size = [max(scenario_routes(c), 1) for _, c in part_list]
        order = sorted(range(len(part_list)), key=lambda i: -size[i])
        workers = min(PART_WORKERS, len(part_list))
        with ThreadPoolExecutor(workers) as pool:
            if end is None:
                found = dict(zip(order, pool.map(lambda i: solve_part(*part_list[i], options, None), order)))
            else:
                stop = time.perf_counter() + share * (end - time.perf_counter())
                budget = QUICK_SHARE * (stop - time.perf_counter()) * workers / sum(size)
                found = dict(zip(order, pool.map(
                    lambda i: quick_part(*part_list[i], options, max(PART_MIN_S, budget * size[i])), order)))
                if any(f is None or f.res.status == Status.INFEASIBLE for f in found.values()):
                    return next(f for f in found.values() if f is None or f.res.status == Status.INFEASIBLE)
                # the smallest first, each with EXACT_SHARE_FACTOR equal shares of the time left among the parts
                # not yet started (itself included): small parts prove in a moment and hand their time on to the
                # large ones (a share by size fixed in advance left 19 s unused at 40 workloads, T = 60; all the
                # time left to each let the first two starve the rest at 80; one share proved 24 workloads at
                # T = 10 in 3 runs of 6, two shares in 6 of 6)
                def is_open(f: Found) -> bool:  # not proven, nor settled, nor within the gap the user asked for
                    return not f.settled and f.res.status != Status.OPTIMAL and (
                        options.gap is None or f.res.gap is None or f.res.gap > options.gap)

                given: dict[int, float] = {}  # seconds each part had in the first exact pass

                def exact_pass(resume: bool) -> None:
                    todo = [i for i in reversed(order) if is_open(found[i])]
                    started = iter(range(len(todo), 0, -1))  # parts not yet started, counted down (atomic next())

                    def exact(i):
                        waiting = next(started)
                        left = stop - time.perf_counter()
                        mine = left * min(1.0, EXACT_SHARE_FACTOR * workers / waiting)
                        # a second try starts its search over: with less time than the first it gets no further
                        if left < BUILD_S_PER_ROUTE * size[i] + PART_MIN_S or (resume and mine < given.get(i, 0.0)):
                            return found[i]
                        tried = i in given  # a part first solved now starts its derating afresh
                        given.setdefault(i, mine)
                        return solve_part(*part_list[i], options, mine, found[i], resume and tried) or found[i]

                    found.update(zip(todo, pool.map(exact, todo)))

                exact_pass(resume=False)
                # the time the parts proven early handed back goes to the parts still open (their share ran out
                # before the proof, or before their derating rounds did and they were scaled up), each from its
                # plan and its derating so far (measured: 8 s of 30 left unused at 40 workloads without it)
                exact_pass(resume=True)
        out = [found[i] for i in range(len(part_list))]
        for f in out:
            if f is None or f.res.status == Status.INFEASIBLE:
                return f
        return [f if f.res.bound is not None and math.isfinite(f.res.bound)
                else f._replace(res=keep_bound(replace(f.res, bound=None), demand_bound(*part)))
                for f, part in zip(out, part_list)]  # a part not bounded in its time: the demand bound

    selfs = run(parts, 1.0 if forced else 0.8)
    if not isinstance(selfs, list):
        if selfs is not None:  # infeasible: say so with the whole model's explanation
            return Found({}, selfs.model, selfs.res), None
        return None, None
    K = problem.policy.ops_overhead_monthly_usd
    uses_pools = any((var.value() or 0.0) > 0.5 for f in selfs for var in f.model.n.values())
    cost = sum(f.res.objective for f in selfs) + (K if uses_pools else 0.0)
    bounds = [f.res.bound for f in selfs]
    bound = None if None in bounds else sum(bounds) + (K if forced else 0.0)
    chosen = selfs
    if not forced and uses_pools:
        apis = run(api_parts, 1.0)
        if isinstance(apis, list):
            api_cost = sum(f.res.objective for f in apis)
            api_bounds = [f.res.bound for f in apis]
            bound = None if None in api_bounds or bound is None else min(bound + K, sum(api_bounds))
            if api_cost < cost:
                chosen, cost, uses_pools = apis, api_cost, False
        elif apis is not None and bound is not None:  # an API-only part is infeasible: every plan self-hosts
            bound += K
        else:
            bound = None  # the API-only plan's cost is unknown in the time: y is not settled
    blocks = cheapest_blocks(cands)  # fixed-hours workloads: each its cheapest option, exactly
    cost += sum(q.monthly_usd for q in blocks.values())
    bound = None if bound is None else bound + sum(q.monthly_usd for q in blocks.values())
    model = combine([f.model for f in chosen], uses_pools, cands, blocks)
    factors = {pid: d for f in chosen for pid, d in f.factors.items()}
    derated = mixing.derate(cands, factors) if factors else cands
    broken = global_violations(problem, derated, model, cost, relax, blocks)
    log.debug("%d components: $%.2f, bound %s, %s", len(parts), cost, bound, "; ".join(broken) or "exact")
    if broken:
        return None, bound
    from .model.solve import OPTIMAL_GAP, rel_gap
    gap = rel_gap(cost, bound)
    proven = gap is not None and gap <= OPTIMAL_GAP + 1e-12  # the summed bound proves it, whatever each part's status
    res = SolveResult(Status.OPTIMAL if proven else Status.FEASIBLE, cost, bound, gap,
                      sum(f.res.seconds for f in chosen), options.solver)
    return Found(factors, model, res), bound


def _solve(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset,
           start: dict | None = None) -> tuple[dict, Model, SolveResult]:
    """(derating factors the model's candidates carry beyond `cands`', model, result)."""
    comp_bound = None
    if start is None and problem.policy.failover is not None:
        from .model.decompose import why_not
        reason = why_not(problem, cands, relax)
        if reason is None:
            found, comp_bound = solve_by_components(problem, cands, options, relax)
            if found is not None:
                return found.factors, found.model, found.res
        else:
            log.debug("failover model not decomposed: %s", reason)
    factors, model, res = _solve_whole(problem, cands, options, relax, start)
    return factors, model, keep_bound(res, comp_bound)


def _solve_whole(problem: Problem, cands: Candidates, options: SolveOptions, relax: frozenset,
                 start: dict | None = None) -> tuple[dict, Model, SolveResult]:
    if problem.policy.failover is None or "failover_demand" in relax or options.time_limit is not None:
        # under a time limit the failover search (or one model with every scenario) gives the best answer in the
        # time: the lazy loop would split the time between solves and can end on a starved one
        if (start is None and options.time_limit is not None and problem.policy.failover is not None
                and "failover_demand" not in relax and not autoscaled(problem)):
            found = failover_search(problem, cands, options, relax)
            return found.factors, found.model, found.res
        model = build_model(problem, cands, relax=relax)
        limit = solve_limit(options, finish_reserve(options))
        return {}, model, solve(model.prob, options.solver, limit, options.gap, options.verbose, start=start)
    model, res = _solve_with_lazy_failover(problem, cands, options, relax)
    return {}, model, res


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
