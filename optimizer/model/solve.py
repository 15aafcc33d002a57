"""Solve with HiGHS (default) or CBC and report an honest status.

Status is derived from the solver's own model status and gap, never from PuLP's status alone: a time-limited
answer is FEASIBLE with its gap, never OPTIMAL; OPTIMAL means the gap is proven within `OPTIMAL_GAP`. HiGHS prints
a banner to file descriptor 1 even when quiet, so stdout is redirected at the descriptor level while solving and
`--format json` stays parseable.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import pulp

from ..bounds import DEFAULT_TIME_LIMIT_S
from ..errors import SolverError

OPTIMAL_GAP = 1e-4  # HiGHS's and CBC's default relative MIP gap
SOLVERS = ("highs", "cbc")


class Status(str, enum.Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution without a proof of optimality (time limit or requested gap)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped before finding any solution
    ERROR = "error"


@dataclass(frozen=True)
class SolveResult:
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str


_QUIET = threading.Lock()
_quiet_state = {"depth": 0, "saved": None, "sink": None}


@contextlib.contextmanager
def quiet_stdout(verbose: bool = False):
    """Keep fd 1 clean while the block runs (C-level banners included): solver output goes to stderr when
    verbose, else nowhere. fd 1 belongs to the process, so concurrent solves (the HTTP service's threads) share
    one redirection: the first to enter makes it (its `verbose` decides where the output goes), the last to leave
    restores the real stdout; without the count a thread could save another's redirection as "stdout" and
    leave fd 1 pointing at /dev/null for good."""
    with _QUIET:
        if _quiet_state["depth"] == 0:
            sys.stdout.flush()
            _quiet_state["saved"] = os.dup(1)
            _quiet_state["sink"] = os.dup(2) if verbose else os.open(os.devnull, os.O_WRONLY)
            os.dup2(_quiet_state["sink"], 1)
        _quiet_state["depth"] += 1
    try:
        yield
    finally:
        with _QUIET:
            _quiet_state["depth"] -= 1
            if _quiet_state["depth"] == 0:
                sys.stdout.flush()
                os.dup2(_quiet_state["saved"], 1)
                os.close(_quiet_state["saved"])
                os.close(_quiet_state["sink"])
                _quiet_state["saved"] = _quiet_state["sink"] = None


def rel_gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9) if abs(obj) > 1e-9 else abs(obj - bound)


def solve(prob: pulp.LpProblem, solver: str = "highs", time_limit: float | None = None,
          gap: float | None = None, verbose: bool = False, start: dict | None = None) -> SolveResult:
    """Solve `prob`; `time_limit` None means DEFAULT_TIME_LIMIT_S (every solve is bounded, CBC included).
    `start` (variable name -> value) is a MIP start for HiGHS (a known feasible plan shortens the search and gives
    a time-limited solve an incumbent); CBC ignores it."""
    if solver not in SOLVERS:
        raise SolverError(f"unknown solver '{solver}'", fix=f"use one of {', '.join(SOLVERS)}")
    time_limit = DEFAULT_TIME_LIMIT_S if time_limit is None else time_limit
    t0 = time.perf_counter()
    with quiet_stdout(verbose):
        if solver == "highs":
            res = _solve_highs(prob, time_limit, gap, verbose, start)
        else:
            res = _solve_cbc(prob, time_limit, gap, verbose)
    return SolveResult(res[0], res[1], res[2], res[3], time.perf_counter() - t0, solver)


def highs_model(prob: pulp.LpProblem):
    """The HiGHS LP of a PuLP problem, built in one pass (PuLP's own interface adds columns and rows one call at a
    time, which takes longer than the solve on large models): (HighsLp, variables in column order).
    Every row's entries are read in their order into flat arrays (`_row_entries`); zero entries are dropped."""
    import highspy
    import numpy as np

    inf = highspy.kHighsInf
    variables = prob.variables()
    lp = highspy.HighsLp()
    lp.num_col_ = len(variables)
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    column = {v.hash: i for i, v in enumerate(variables)}
    cost = np.full(len(variables), sign * 0.0)
    for v, a in (prob.objective or {}).items():
        cost[column[v.hash]] = sign * a
    lp.col_cost_ = cost
    lp.col_lower_ = np.array([-inf if v.lowBound is None else v.lowBound for v in variables], dtype=float)
    lp.col_upper_ = np.array([inf if v.upBound is None else v.upBound for v in variables], dtype=float)
    constraints = prob.constraints()
    starts, idx, vals = _row_entries(constraints, column)
    sense = np.fromiter((c.sense for c in constraints), dtype=np.int64, count=len(constraints))
    rhs = np.fromiter((-c.constant for c in constraints), dtype=float, count=len(constraints))  # -0 stays 0
    lp.num_row_ = len(constraints)
    lp.row_lower_ = np.where(sense != pulp.LpConstraintLE, rhs, -inf)
    lp.row_upper_ = np.where(sense != pulp.LpConstraintGE, rhs, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = idx
    lp.a_matrix_.value_ = vals
    if any(v.cat == pulp.const.LpInteger for v in variables):
        lp.integrality_ = [highspy.HighsVarType.kInteger if v.cat == pulp.const.LpInteger
                           else highspy.HighsVarType.kContinuous for v in variables]
    return lp, variables


def _row_entries(constraints: list, column: dict):
    """The row-wise matrix of `constraints` (row starts, column indexes, values), entries in each row's order and
    zero entries left out; `column` maps a variable's hash to its column. The entries of all rows are read in one
    sweep (map and chain run in C) instead of one Python step per entry."""
    import numpy as np
    from itertools import chain
    from operator import attrgetter

    exprs = [c.expr for c in constraints]
    lengths = np.fromiter(map(len, exprs), dtype=np.int64, count=len(exprs))
    total = int(lengths.sum())
    cols = np.fromiter(map(column.__getitem__, map(attrgetter("hash"), chain.from_iterable(exprs))),
                       dtype=np.int32, count=total)
    vals = np.fromiter(chain.from_iterable(e.values() for e in exprs), dtype=float, count=total)
    nonzero = vals != 0
    per_row = np.bincount(np.repeat(np.arange(len(exprs)), lengths)[nonzero], minlength=len(exprs))
    starts = np.zeros(len(exprs) + 1, dtype=np.int32)
    np.cumsum(per_row, out=starts[1:])
    return starts, cols[nonzero], vals[nonzero]


def _highs(time_limit: float, verbose: bool, since: float):
    """A HiGHS instance whose time limit counts from `since` (the transfer too: HiGHS's own clock starts only when
    it runs). Create it with stdout quieted: the constructor prints a banner."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("time_limit", max(0.1, float(time_limit) - (time.perf_counter() - since)))
    return h


def relaxation_values(prob: pulp.LpProblem, time_limit: float,
                      verbose: bool = False) -> tuple[dict[str, float], float] | None:
    """The LP relaxation of `prob` solved by HiGHS within `time_limit`: (variable name -> value, its objective, a
    lower bound on the MIP's), or None when it does not solve to optimality in time. PuLP's variables are left
    untouched."""
    import highspy

    t0 = time.perf_counter()
    lp, variables = highs_model(prob)
    lp.integrality_ = []
    with quiet_stdout(verbose):
        h = _highs(time_limit, verbose, t0)
        if h.passModel(lp) == highspy.HighsStatus.kError or h.run() == highspy.HighsStatus.kError:
            return None
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    const = prob.objective.constant if prob.objective is not None else 0.0
    return ({v.name: x for v, x in zip(variables, h.getSolution().col_value)},
            h.getInfo().objective_function_value + const)


def _solve_highs(prob, time_limit, gap, verbose, start=None):
    import highspy

    t0 = time.perf_counter()
    lp, variables = highs_model(prob)
    h = _highs(time_limit, verbose, t0)  # solve() has quieted stdout
    # tight feasibility tolerances: a load coefficient of 1e7 times a bound violation of 1e-7 would be a whole instance
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    if gap is not None:
        h.setOptionValue("mip_rel_gap", float(gap))
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the model", fix="try --solver cbc")
    if start:
        sol = highspy.HighsSolution()
        sol.col_value = [float(start.get(v.name, 0.0)) for v in variables]
        sol.value_valid = True
        h.setSolution(sol)
    h.run()  # a failed run shows in the model status below (an error status, as PuLP's interface reported it)
    prob.solverModel = h
    values = h.getSolution().col_value
    if h.getInfo().primal_solution_status == 2:
        for v, x in zip(variables, values):
            v.varValue = x
    else:
        for v in variables:
            v.varValue = None
    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    const = prob.objective.constant if prob.objective is not None else 0.0  # PuLP does not pass it to HiGHS
    obj = info.objective_function_value + const if has_sol else None
    is_mip = any(v.cat == pulp.const.LpInteger for v in prob.variables())
    bound = info.mip_dual_bound + const if is_mip else obj
    g = rel_gap(obj, bound) if is_mip else (0.0 if has_sol else None)
    if ms == S.kOptimal:
        status = Status.OPTIMAL if (g is None or g <= OPTIMAL_GAP + 1e-12) else Status.FEASIBLE
    elif ms in (S.kInfeasible,):
        status = Status.INFEASIBLE
    elif ms in (S.kUnbounded, S.kUnboundedOrInfeasible):
        status = Status.UNBOUNDED if ms == S.kUnbounded else Status.INFEASIBLE
    elif ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kSolutionLimit, S.kObjectiveBound,
                S.kObjectiveTarget):
        status = Status.FEASIBLE if has_sol else Status.NO_SOLUTION
    elif ms == S.kModelEmpty:
        status, obj, bound, g = Status.OPTIMAL, 0.0, 0.0, 0.0
    else:
        status = Status.ERROR
    return status, obj, bound, g


_CBC_NUM = r"(-?[\d.]+(?:e[-+]?\d+)?)"


def cbc_path() -> str:
    """The CBC binary: cbcbox's (installed with pulp[cbc]), else `cbc` on PATH."""
    try:
        import cbcbox

        return cbcbox.cbc_bin_path()
    except (ImportError, AttributeError, OSError):
        found = shutil.which("cbc")
        if found:
            return found
    raise SolverError("CBC is not installed", fix="pip install 'pulp[cbc]' (or use the default --solver highs)")


CBC_GRACE_S = 10.0  # how long past its time limit CBC may take to stop by itself before it is killed


def _kill_children(path: str) -> int:
    """Kill this process's children running `path` (as argv[0], or argv[1] under an interpreter; Linux /proc);
    how many were killed."""
    import signal

    killed = 0
    for d in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:2]
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and path.encode() in argv:
            try:
                os.kill(int(d), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def _solve_cbc(prob, time_limit, gap, verbose):
    """CBC through PuLP with `-sec time_limit`; a watchdog kills CBC if it runs CBC_GRACE_S past the limit (CBC
    does not check its clock everywhere, e.g. in some preprocessing), and that is a SolverError, not a hang."""
    import threading

    path = cbc_path()
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "cbc.log")
        cmd = pulp.COIN_CMD(path=path, msg=False, timeLimit=time_limit, gapRel=gap, logPath=log)
        killed = []
        watchdog = threading.Timer(time_limit + CBC_GRACE_S, lambda: killed.append(_kill_children(path)))
        watchdog.daemon = True
        watchdog.start()
        try:
            prob.solve(cmd)
        except pulp.PulpSolverError as e:
            watchdog.cancel()
            watchdog.join()  # a running watchdog may still be scanning /proc after its kill: wait for its count
            if killed and killed[0]:
                raise SolverError(f"CBC did not stop at its {time_limit:g} s time limit and was stopped "
                                  f"{CBC_GRACE_S:g} s later, without a solution", where="--time-limit",
                                  fix="use the default --solver highs, or a simpler problem") from None
            raise SolverError(f"CBC failed: {e}", fix="try --solver highs") from None
        finally:
            watchdog.cancel()
        text = open(log).read() if os.path.exists(log) else ""
    if verbose:
        sys.stderr.write(text)
    obj = pulp.value(prob.objective) if prob.sol_status in (1, 2) else None
    m_obj = re.search(r"Objective value:\s*" + _CBC_NUM, text)
    m_lb = re.search(r"Lower bound:\s*" + _CBC_NUM, text)
    if m_obj and obj is not None:
        obj = float(m_obj.group(1)) + (prob.objective.constant if prob.objective is not None else 0.0)
    is_mip = any(v.cat == pulp.const.LpInteger for v in prob.variables())
    bound = None
    if m_lb:
        bound = float(m_lb.group(1)) + (prob.objective.constant if prob.objective is not None else 0.0)
    elif not is_mip:
        bound = obj
    g = rel_gap(obj, bound)
    if "Result - Optimal solution found" in text or (not is_mip and prob.status == 1):
        status = Status.OPTIMAL
        if g is not None and g > OPTIMAL_GAP + 1e-12:
            status = Status.FEASIBLE
        if g is None:
            g, bound = 0.0, obj
    elif "infeasible" in text.lower() or prob.status == -1:
        status, obj = Status.INFEASIBLE, None
    elif "unbounded" in text.lower() or prob.status == -2:
        status = Status.UNBOUNDED
    elif obj is not None:
        status = Status.FEASIBLE
    else:
        status = Status.NO_SOLUTION
    return status, obj, bound, g
