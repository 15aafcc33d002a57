"""Solve the scenarios of a sweep: in this process, in local worker processes, or on a Dask cluster.

Each scenario is one independent solve (candidates, model, solver) with its own time limit, so the work
parallelises over scenarios. Local workers are a `concurrent.futures.ProcessPoolExecutor` whose initializer loads
the catalog once per worker process; on Dask (`--cluster ADDRESS`) the parent scatters its loaded catalog to every
worker once (`broadcast=True`), so workers need llmplan installed but not the catalog files. Rows come back in
scenario order whatever the order of completion, so every backend gives the same table.

Why Dask rather than Ray: `dask[distributed]` is pure Python from PyPI (Ray ships large platform wheels), runs
plain functions on process workers with no actor model to learn, starts a `LocalCluster` in tests in seconds, and
scales to a real cluster by passing the scheduler's address.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..catalog import Catalog, load_catalog
from ..errors import InfeasibleError, LlmplanError, SolverError
from ..result import Plan
from ..planner import SolveOptions, extract_plan, solve_problem
from .prices import apply_multipliers
from .scenarios import Scenario

OUTCOME = ("status", "monthly_cost_usd", "gap", "gpus", "gpu_count", "self_hosted_share", "api_share",
           "self_hosted_monthly_usd", "api_monthly_usd", "message", "solve_s")
Progress = Callable[[float], None]


def fleet_summary(plan: Plan) -> dict:
    """The chosen fleet in a few columns: serving GPUs by type ('H100-SXM:8 L4:2'), their count, and the shares
    of serving requests (and monthly cost) on self-hosted pools and on APIs."""
    gpus: dict[str, int] = {}
    for p in plan.pools:
        k = next((d.gpus_per_instance for d in plan.deployments if d.pool == p.pool), p.tp)
        gpus[p.gpu] = gpus.get(p.gpu, 0) + p.instances * k
    total = sum(w.requests_per_month or 0.0 for w in plan.workloads)
    requests = {w.name: w.requests_per_month or 0.0 for w in plan.workloads}
    served = [d for d in plan.deployments if d.share is not None]
    self_req = sum(d.share * requests[d.workload] for d in served)
    api_req = sum(a.requests_per_month for a in plan.api)
    return {"gpus": " ".join(f"{g}:{n}" for g, n in sorted(gpus.items())), "gpu_count": sum(gpus.values()),
            "self_hosted_share": round(self_req / total, 6) if total else None,
            "api_share": round(api_req / total, 6) if total else None,
            "self_hosted_monthly_usd": round(float(sum(d.monthly_cost_usd for d in served)), 2),
            "api_monthly_usd": round(float(sum(a.monthly_cost_usd for a in plan.api)), 2)}


def _empty(status: str, message: str, seconds: float) -> dict:
    row = dict.fromkeys(OUTCOME)
    row.update(status=status, message=message, solve_s=round(seconds, 3))
    return row


def solve_scenario(scenario: Scenario, catalog: Catalog, options: SolveOptions) -> dict:
    """The outcome columns of one scenario. Infeasible, invalid and failed solves are rows, not exceptions."""
    t0 = time.perf_counter()
    if scenario.problem is None:
        return _empty("invalid", scenario.error or "invalid scenario", 0.0)
    try:
        cat = apply_multipliers(catalog, list(scenario.multipliers))
        cands, model, res = solve_problem(scenario.problem, cat, options)
        plan = extract_plan(scenario.problem, cat, cands, model, res, options)
    except InfeasibleError as e:
        first = e.report[0] if e.report else e.message
        return _empty("infeasible", first, time.perf_counter() - t0)
    except SolverError as e:
        return _empty("error", e.message, time.perf_counter() - t0)
    except LlmplanError as e:
        return _empty("invalid", str(e).splitlines()[0], time.perf_counter() - t0)
    row = dict.fromkeys(OUTCOME)
    row.update(status=plan.status, monthly_cost_usd=plan.monthly_cost_usd, gap=plan.gap, message="",
               solve_s=round(time.perf_counter() - t0, 3), **fleet_summary(plan))
    return row


# --- local worker processes -----------------------------------------------------------------------------------

_WORKER_CATALOG: Catalog | None = None


def _init_worker(catalog_dir: str) -> None:
    global _WORKER_CATALOG
    _WORKER_CATALOG = load_catalog(catalog_dir)


def _solve_in_worker(scenario: Scenario, options: SolveOptions) -> dict:
    return solve_scenario(scenario, _WORKER_CATALOG, options)


def run_local(scenarios: list[Scenario], catalog: Catalog, options: SolveOptions, workers: int = 1,
              progress: Progress | None = None) -> list[dict]:
    """Rows in scenario order. One worker solves in this process; more use a process pool."""
    rows: list[dict | None] = [None] * len(scenarios)
    done = 0
    if workers <= 1:
        for i, s in enumerate(scenarios):
            rows[i] = solve_scenario(s, catalog, options)
            done += 1
            if progress:
                progress(done / len(scenarios))
        return rows
    # spawn, not fork: HiGHS keeps a thread pool in a process that has solved a MIP, and a child forked after
    # that inherits its state without its threads (seen here: a forked child's portfolio.yaml solve never ends)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(str(catalog.root),)) as ex:
        futures = {ex.submit(_solve_in_worker, s, options): i for i, s in enumerate(scenarios)}
        for fut in as_completed(futures):
            rows[futures[fut]] = fut.result()
            done += 1
            if progress:
                progress(done / len(scenarios))
    return rows


# --- Dask ---------------------------------------------------------------------------------------------------------

CLUSTER_FIX = "pip install 'llmplan[cluster]' (Dask distributed), or run without --cluster"


def run_dask(scenarios: list[Scenario], catalog: Catalog, options: SolveOptions, address: str,
             progress: Progress | None = None, connect_timeout_s: float = 10.0) -> list[dict]:
    """Rows in scenario order, solved on the Dask cluster whose scheduler is at `address`."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise LlmplanError("--cluster needs Dask distributed, which is not installed", where="--cluster",
                           fix=CLUSTER_FIX) from None
    try:
        client = Client(address, timeout=connect_timeout_s)
    except (OSError, TimeoutError, ValueError) as e:
        raise LlmplanError(f"cannot reach a Dask scheduler at '{address}' ({e.__class__.__name__}: {e})",
                           where="--cluster", fix="start one (`dask scheduler` and `dask worker ADDRESS`) and pass "
                                                  "its address, e.g. tcp://10.0.0.5:8786") from None
    try:
        cat = client.scatter(catalog, broadcast=True)
        futures = client.map(solve_scenario, scenarios, catalog=cat, options=options, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        rows: list[dict | None] = [None] * len(scenarios)
        for done, fut in enumerate(dask_completed(futures), 1):
            try:
                rows[index[fut.key]] = fut.result()
            except ImportError as e:  # a worker without llmplan cannot unpickle the task
                raise LlmplanError(f"a Dask worker cannot run the solve ({e})", where="--cluster",
                                   fix="install llmplan (the same version) in every worker's environment") from None
            if progress:
                progress(done / len(scenarios))
        return rows
    finally:
        client.close()
