"""`llmplan benchmark`: the runs that measure a plan's self-hosted pools (and runner-up configurations) with the
pools' serving engines, so that `llmplan measured import` can replace modelled capacities by measured ones.

For each configuration (model, GPU, precision, TP, engine) and each workload it serves, at the workload's token
lengths:
- a concurrency ladder around the modelled operating point B (the batch the model runs at under the workload's
  TTFT/TPOT target): B/4, B/2, B, 1.5 B, 2 B concurrent requests (1, 4, 16, 64, 256 when the capacity was measured
  and no B is known), `--request-rate inf`, with at least max(200, 10 x concurrency) prompts so that the ramp-up
  and drain are a small part of the run; `measured import` keeps the highest throughput whose latency percentiles
  meet the targets;
- one Poisson run at the planned peak load per replica (the chosen pools; for a runner-up, the capacity it would be
  planned at), with 300 s of arrivals (at least 200 prompts): the operating point the plan relies on, with its
  queueing.
Runner-ups (`runner_up=N`) are the N configurations (model, GPU, precision, TP) per workload with the lowest
modelled cost per request at their cheapest offer (explain/compare.py, the same ranking `llmplan compare` shows)
that the plan did not choose: the ones a measurement could promote. They need the problem.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

from ..catalog import Catalog
from ..errors import ProblemError
from ..result import Plan
from ..problem import Problem
from ..perf.engines import BenchRun, ServerConfig, check_engine, safe_name
from ..perf.memory import default_kv_dtype

DEFAULT_LADDER = (1, 4, 16, 64, 256)
RATE_SECONDS = 300
MIN_PROMPTS = 200
MAX_PROMPTS = 20_000
MAX_CONCURRENCY = 1024


@dataclass(frozen=True)
class _Target:
    workload: str
    model: str
    gpu: str
    precision: str
    tp: int
    batch: int | None
    rate: float | None  # requests/s per replica for the Poisson run
    why: str


def concurrency_ladder(batch: int | None) -> list[int]:
    if not batch:
        return list(DEFAULT_LADDER)
    levels = {max(1, batch // 4), max(1, batch // 2), batch, math.ceil(1.5 * batch), 2 * batch}
    return sorted(min(c, MAX_CONCURRENCY) for c in levels)


def _engine_of(workload: str, problem: Problem | None, plan_engine: str | None, override: str | None) -> str:
    if override:
        return override
    if problem is not None:
        w = next((x for x in problem.serving if x.name == workload), None)
        if w is not None:
            return w.engine or problem.policy.engine
    return plan_engine or "vllm"


def _chosen(plan: Plan) -> list[_Target]:
    out = []
    for d in plan.deployments:
        if not d.share or d.share <= 0:
            continue
        rate = d.load_rps / d.replicas if d.load_rps and d.replicas else None
        out.append(_Target(d.workload, d.model, d.gpu, d.precision, d.tp, d.batch, rate,
                           f"chosen: pool {d.pool}, {d.replicas} replica{'s' if d.replicas != 1 else ''} at peak"))
    return out


def _runner_ups(plan: Plan, problem: Problem, catalog: Catalog, n: int, engine: str | None) -> list[_Target]:
    from ..candidates import _allowed
    from .compare import Workload, config_costs

    chosen = {(d.workload, d.model, d.gpu, d.precision, d.tp) for d in plan.deployments if d.share}
    out = []
    for w in problem.serving:
        ranked = []
        for name in w.models:
            try:
                model = catalog.model(name)
            except KeyError:
                continue
            eng = _engine_of(w.name, problem, None, engine)
            ok = lambda o: _allowed(o, problem.policy, catalog)  # noqa: E731  (include/exclude providers, GPUs)
            costs = config_costs(catalog, model, Workload.from_problem(w), eng, offer_ok=ok)
            ranked += [(usd, model.name, gpu, c) for usd, gpu, c in costs
                       if (w.name, model.name, gpu, c.precision, c.tp) not in chosen]
        ranked.sort(key=lambda t: (t[0], t[1], t[2], t[3].tp, t[3].precision))
        for rank, (usd, model, gpu, c) in enumerate(ranked[:n], start=1):
            out.append(_Target(w.name, model, gpu, c.precision, c.tp, c.batch,
                               c.requests_per_s * problem.policy.max_utilization,
                               f"runner-up {rank} for {w.name}: ${usd:.4f} per 1k requests modelled (cheapest "
                               f"offer {c.offer})"))
    return out


def benchmark_runs(plan: Plan, catalog: Catalog, *, problem: Problem | None = None, runner_up: int = 0,
                   engine: str | None = None) -> list[BenchRun]:
    """The runs for the plan's self-hosted pools (and `runner_up` other configurations per workload)."""
    check_engine(engine)
    if runner_up and problem is None:
        raise ProblemError("runner-up configurations need the problem the plan was solved from",
                           where="--include-runner-up", fix="also pass --problem PROBLEM.yaml")
    if problem is not None:
        from ..catalog.inline import with_problem_models
        catalog = with_problem_models(catalog, problem)
    targets = _chosen(plan) + (_runner_ups(plan, problem, catalog, runner_up, engine) if runner_up else [])
    wl = {w.name: w for w in plan.workloads}
    plan_engines = {d.workload: getattr(d, "engine", None) for d in plan.deployments}
    runs: list[BenchRun] = []
    seen = set()
    for t in targets:
        w = wl.get(t.workload)
        if w is None or w.input_tokens is None:
            continue
        try:
            model, gpu = catalog.model(t.model), catalog.gpu(t.gpu)
        except KeyError as e:
            raise ProblemError(e.args[0], where=f"plan pool {t.model} on {t.gpu}",
                               fix="pass the catalog (and the problem, for inline models) the plan was solved "
                                   "with") from None
        eng = _engine_of(t.workload, problem, plan_engines.get(t.workload), engine)
        emb = model.kind == "embedding"
        isl, osl = w.input_tokens, 0 if emb else w.output_tokens
        server = ServerConfig(eng, model.name, model.hf_id, gpu.name, t.precision, t.tp,
                              default_kv_dtype(t.precision, gpu), 0, emb)
        points = [("concurrency", float(c)) for c in concurrency_ladder(t.batch)]
        if t.rate:
            points.append(("rate", round(t.rate, 3)))
        for mode, value in points:
            key = (server, t.workload, mode, value)
            if key in seen:
                continue
            seen.add(key)
            n = (max(MIN_PROMPTS, 10 * int(value)) if mode == "concurrency"
                 else max(MIN_PROMPTS, math.ceil(value * RATE_SECONDS)))
            name = safe_name(t.workload, model.name, gpu.name, t.precision, f"tp{t.tp}", eng,
                             f"c{int(value)}" if mode == "concurrency" else f"r{value:g}")
            runs.append(BenchRun(name, server, t.workload, isl, osl, w.ttft_target_ms, w.tpot_target_ms, mode,
                                 value, min(n, MAX_PROMPTS), t.why))
    # one server per configuration: its context must hold the longest request of every workload it is run with
    longest: dict[ServerConfig, int] = defaultdict(int)
    for r in runs:
        longest[r.server] = max(longest[r.server], r.isl + r.osl)
    out = []
    for r in runs:
        ctx = min(catalog.model(r.server.model).max_context, math.ceil(longest[r.server] / 256) * 256)
        out.append(replace(r, server=replace(r.server, max_model_len=ctx)))
    return out
