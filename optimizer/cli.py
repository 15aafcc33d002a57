"""llmplan command line: a thin layer over optimizer/. stdout carries only the requested format; logs go to
stderr. Errors a user can fix print one message (file, field, fix) and exit non-zero, without a traceback."""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click

from optimizer import __version__
from optimizer.bounds import DEFAULT_TIME_LIMIT_S, MAX_TOKENS
from optimizer.cliparams import InputPath, Number, OutputPath, Text, Whole, WholeOr
from optimizer.errors import LlmplanError


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LlmplanError as e:
            click.echo(f"error: {e}" if not e.__class__.__name__.startswith("Infeasible") else str(e), err=True)
            sys.exit(e.exit_code)
    return wrapper


def emit(text: str, output: str | None) -> None:
    """Write the result to stdout, or atomically to a file."""
    if output:
        from optimizer.fsutil import write_atomic
        try:
            write_atomic(output, text)
        except OSError as e:  # a full disk, a folder made read-only meanwhile: the -o check cannot foresee these
            raise LlmplanError(f"cannot write: {e.strerror or e}", file=str(output), where="-o/--output",
                               fix="give a file in a writable folder with free space") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _plan(path: Path, prob, cat, options, **kw):
    """planner.plan, with the problem file named in its problem errors (name checks run after loading)."""
    from optimizer.errors import ProblemError
    from optimizer.planner import plan
    try:
        return plan(prob, cat, options, **kw)
    except ProblemError as e:
        if e.file is None:
            e.file = str(path)
        raise


def _catalog(path):
    from optimizer.catalog import load_catalog
    return load_catalog(path)


catalog_option = click.option("--catalog", "catalog_dir", type=InputPath(), default=None,
                              help="Catalog folder (default: the newest catalogs/<date>/).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmplan")
def main():
    """llmplan: the cheapest plan of GPUs and LLM APIs that meets an SLA."""
    click.get_current_context().meta["llmplan_started"] = time.perf_counter()


def solve_options(solver, time_limit, gap, verbose: bool = False):
    """SolveOptions whose --time-limit counts from the command's start: loading the problem and the catalog are
    part of the run it bounds (measured: 0.4 s of them at 80 workloads, before the planner's own clock started)."""
    from optimizer.planner import SolveOptions
    started = click.get_current_context().find_root().meta.get("llmplan_started")
    deadline = None if time_limit is None or started is None else started + time_limit
    return SolveOptions(solver=solver, time_limit=time_limit, gap=gap, verbose=verbose, deadline=deadline)


FORMATS = ("table", "json", "markdown", "html")


def render(plan, fmt: str) -> str:
    if fmt == "json":
        from optimizer.render.json_out import to_json
        return to_json(plan)
    if fmt == "markdown":
        from optimizer.render.markdown import to_markdown
        return to_markdown(plan)
    if fmt == "html":
        from optimizer.render.html import to_html
        return to_html(plan)
    from optimizer.render.table import to_table
    return to_table(plan)


solver_options = [
    click.option("--solver", type=click.Choice(["highs", "cbc"]), default="highs", show_default=True),
    click.option("--time-limit", type=Number(0.1, 7 * 86400, example="60"), default=None,
                 help=f"Time limit in seconds for the whole run: candidates, every solve and the report (a plan "
                      f"stopped by it is reported 'feasible' with its gap). Without it, each solver call stops "
                      f"after {DEFAULT_TIME_LIMIT_S:g} s."),
    click.option("--gap", type=Number(0, 1, hi_open=True, example="0.01"), default=None,
                 help="Relative MIP gap at which to stop, in [0, 1) (e.g. 0.01)."),
]


def with_solver_options(f):
    for opt in reversed(solver_options):
        f = opt(f)
    return f


@main.command()
@click.argument("problem", type=InputPath())
@catalog_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@with_solver_options
@click.option("--explain", is_flag=True,
              help="Also re-solve to price each constraint, the alternatives and entry prices (implied by "
                   "markdown and html).")
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@click.option("-v", "--verbose", is_flag=True, help="Show the solver log on stderr.")
@click.option("--compare-to", "compare_to", type=InputPath(), default=None,
              help="A plan JSON from an earlier run: also show what changed and why (table: the diff after the "
                   "plan; json: the plan with extras.diff).")
@handle_errors
def solve(problem, catalog_dir, fmt, solver, time_limit, gap, explain, output, verbose, compare_to):
    """Cheapest plan that meets PROBLEM's SLA."""
    from optimizer.problem import load_problem

    prob = load_problem(problem)
    if prob.horizon is not None:  # several months: the timeline (optimizer/horizon_plan.py)
        return _solve_horizon(problem, prob, catalog_dir, fmt, solve_options(solver, time_limit, gap, verbose),
                              output, explain, compare_to)
    old = _load_plan_file(compare_to) if compare_to else None  # a bad --compare-to fails before solving
    cat = _catalog(catalog_dir)
    explain = explain or fmt in ("markdown", "html")
    if explain:
        click.echo("re-solving to price constraints and alternatives...", err=True)
    result = _plan(problem, prob, cat, solve_options(solver, time_limit, gap, verbose), explain=explain)
    diff = None
    if old is not None:
        from optimizer.explain.diff import diff_plans
        diff = diff_plans(old, result, old_catalog=_plan_catalog(old, None, "old"), new_catalog=cat)
    if fmt != "table":  # the table shows warnings itself
        for w in result.warnings:
            click.echo(f"warning: {w}", err=True)
    if diff is not None and fmt == "json":
        from optimizer.render.diff import plan_diff_dict
        result = result.model_copy(update={"extras": {**result.extras, "diff": plan_diff_dict(diff)}})
    text = render(result, fmt)
    if diff is not None and fmt == "table":
        from optimizer.render.diff import plan_diff_to_text
        text += "\n" + plan_diff_to_text(diff)
    emit(text, output)


def _solve_horizon(path, prob, catalog_dir, fmt, options, output, explain, compare_to):
    from optimizer.errors import ProblemError
    from optimizer.horizon_plan import constraint_costs, plan_horizon
    from optimizer.render.horizon import render_horizon
    if compare_to:
        raise ProblemError("--compare-to is not available for a plan over a horizon yet",
                           where="command line", fix="remove the option")
    try:
        cat = _catalog(catalog_dir)
        result = plan_horizon(prob, cat, options)
        if explain:  # what each policy constraint costs: one re-solve per constraint
            click.echo("re-solving to price each policy constraint...", err=True)
            result = result.model_copy(update={"constraint_costs": constraint_costs(prob, cat, options, result)})
    except ProblemError as e:
        if e.file is None:
            e.file = str(path)
        raise
    if fmt != "table":
        for w in result.warnings:
            click.echo(f"warning: {w}", err=True)
    emit(render_horizon(result, fmt), output)


@main.command()
@click.argument("plan_file", metavar="PLAN.json", type=InputPath())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True)
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def report(plan_file, fmt, output):
    """Re-render a saved plan (from `solve --format json`) as markdown, html, table or json."""
    hp = _horizon_plan_file(plan_file)
    if hp is not None:
        from optimizer.render.horizon import render_horizon
        return emit(render_horizon(hp, fmt), output)
    emit(render(_load_plan_file(plan_file), fmt), output)


@main.command()
@click.argument("plan_file", metavar="PLAN.json", type=InputPath())
@click.option("--problem", "problem_file", type=InputPath(), required=True,
              help="The problem the plan was solved for (a plan JSON names it but does not carry it).")
@click.option("--catalog", "catalog_dir", type=InputPath(), default=None,
              help="Catalog folder (default: the one the plan was solved on, else the newest catalogs/<date>/).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handle_errors
def verify(plan_file, problem_file, catalog_dir, fmt):
    """Recompute every constraint of the problem from the plan's lines and the catalog, independently of the
    solver. Exit 0 when the plan meets its problem, 1 when it does not (each violation printed)."""
    import json

    from optimizer.problem import load_problem
    from optimizer.verify import verify_plan

    hp = _horizon_plan_file(plan_file)
    prob = load_problem(problem_file)
    if hp is not None:
        from optimizer.verify_horizon import verify_horizon
        v = verify_horizon(hp, prob, _catalog(catalog_dir))
    else:
        p = _load_plan_file(plan_file)
        if catalog_dir is None and p.catalog.get("path") and Path(p.catalog["path"]).is_dir():
            catalog_dir = Path(p.catalog["path"])
        v = verify_plan(p, prob, _catalog(catalog_dir))
    if fmt == "json":
        click.echo(json.dumps({"plan": str(plan_file), "problem": str(problem_file), "ok": v.ok, "checks": v.checks,
                               "violations": [{"check": x.check, "line": x.line, "message": x.message}
                                              for x in v.violations]}, indent=2))
    else:
        click.echo(f"{plan_file}: {'meets' if v.ok else 'does NOT meet'} {problem_file} "
                   f"({v.checks} checks, {len(v.violations)} violations)")
        for x in v.violations:
            click.echo(f"  - {x}")
    sys.exit(0 if v.ok else 1)


@main.command()
@click.argument("problem", type=InputPath())
@catalog_option
@click.option("--workload", type=Text(example="chat"), default=None, help="Only this serving workload.")
@click.option("--method", type=click.Choice(["both", "capacity", "naive"]), default="both", show_default=True,
              help="naive = the seed chapter's formula; capacity = instances bought for the volume at peak.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@with_solver_options
@handle_errors
def breakeven(problem, catalog_dir, workload, method, fmt, solver, time_limit, gap):
    """Monthly volume at which self-hosting becomes cheaper than the API, per workload."""
    import json

    from optimizer.errors import ProblemError
    from optimizer.problem import load_problem
    from optimizer.render.breakeven import breakeven_text

    prob = load_problem(problem)
    names = [w.name for w in prob.serving]
    if workload is not None and workload not in names:
        from optimizer.errors import did_you_mean
        raise ProblemError(f"no serving workload '{workload}'.{did_you_mean(workload, names)}", file=str(problem),
                           where="--workload", fix=f"use one of: {', '.join(names)}")
    result = _plan(problem, prob, _catalog(catalog_dir), solve_options(solver, time_limit, gap))
    bes = [b for b in result.breakeven if workload is None or b.workload == workload]
    if fmt == "json":
        emit(json.dumps([b.model_dump(mode="json") for b in bes], indent=2) + "\n", None)
    else:
        emit(breakeven_text(bes, method, result.references), None)


@main.command()
@click.argument("problem", type=InputPath())
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@with_solver_options
@handle_errors
def budget(problem, catalog_dir, fmt, solver, time_limit, gap):
    """Monthly compute budget by workload and category (the seed's compute_budget, for any plan)."""
    import json

    from optimizer.explain.budget import plan_budget
    from optimizer.problem import load_problem
    from optimizer.render.budget import budget_text

    result = _plan(problem, load_problem(problem), _catalog(catalog_dir), solve_options(solver, time_limit, gap))
    if fmt == "json":
        rows, total = plan_budget(result)
        emit(json.dumps({"total_monthly_usd": round(total, 2),
                         "workloads": [r.__dict__ for r in rows],
                         "categories": [c.model_dump() for c in result.categories],
                         "references": [r.model_dump() for r in result.references]}, indent=2) + "\n", None)
    else:
        emit(budget_text(result), None)


@main.group()
def workload():
    """Describe workloads from data: request traces."""


@workload.command("from-trace")
@click.argument("trace", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["azure", "csv", "jsonl"]), default=None,
              help="Trace format (default: from the file name and header).")
@click.option("--columns", default=None, metavar="time=C,input=C,output=C",
              help="Column (CSV) or field (JSONL) names of arrival time, input tokens and output tokens.")
@click.option("--classes", "k", type=int, default=1, show_default=True,
              help="Request classes by input/output length (deterministic k-means; 1: the mean request only).")
@click.option("--scale-to", type=float, default=None, metavar="REQUESTS_PER_MONTH",
              help="Monthly volume to scale the trace to (default: the trace's own rate x 730 h).")
@click.option("--peak-window", default="60s", show_default=True, help="Window for the arrival rate (60s, 5m).")
@click.option("--peak-quantile", type=float, default=0.99, show_default=True,
              help="Quantile of the windowed arrival rate taken as the peak.")
@click.option("--profile", is_flag=True, help="Also a 24-hour daily profile (needs a trace of a day or more).")
@click.option("--skip-bad-rows", is_flag=True, help="Leave bad rows out (each is listed on stderr) instead of failing.")
@click.option("--into", "into", type=click.Path(path_type=Path), default=None,
              help="Merge the block into this problem's workload (--workload) and print or write the problem.")
@click.option("--workload", "workload_name", default=None,
              help="With --into: the serving workload to update (default: the only serving workload).")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def workload_from_trace(trace, fmt, columns, k, scale_to, peak_window, peak_quantile, profile, skip_bad_rows,
                        into, workload_name, output):
    """A serving workload's volume, peak, request classes (and daily profile) from TRACE, as YAML."""
    from optimizer import trace_workload as tw
    from optimizer.traces import parse_columns, read_trace

    tr = read_trace(trace, fmt, parse_columns(columns), skip_bad=skip_bad_rows)
    for line, why in tr.skipped:
        click.echo(f"{trace}: line {line}: left out: {why}", err=True)
    w = tw.from_trace(tr, classes=k, scale_to=scale_to, window_s=tw.parse_window(peak_window),
                      quantile=peak_quantile, profile=profile)
    for line in tw.summary_lines(w):
        click.echo(line, err=True)
    if into is not None:
        emit(tw.merge_into(into, w, workload_name), output)
    else:
        emit(tw.block_yaml(w), output)


def _load_plan_file(path: Path):
    from optimizer.result import load_plan_file
    return load_plan_file(path)


def _horizon_plan_file(path: Path):
    """The plan over a horizon saved at `path`, or None when it is a single-month plan."""
    from optimizer.horizon_result import horizon_plan_from_data, is_horizon_plan
    from optimizer.loaders import load_json
    from optimizer.result import PLAN_FIX
    data = load_json(path, what="plan JSON", fix=PLAN_FIX)
    return horizon_plan_from_data(data, str(path)) if is_horizon_plan(data) else None


def _plan_catalog(p, override: Path | None, which: str):
    """The catalog a plan was solved on, or None with a note on stderr (see explain.diff.plan_catalog)."""
    from optimizer.explain.diff import plan_catalog
    cat, note = plan_catalog(p, override, which)
    if note:
        click.echo(f"note: {note}", err=True)
    return cat


@main.command("diff")
@click.argument("old_plan", type=InputPath())
@click.argument("new_plan", type=InputPath())
@click.option("--old-catalog", type=InputPath(), default=None,
              help="Catalog the old plan was solved on (default: the folder the plan records).")
@click.option("--new-catalog", type=InputPath(), default=None,
              help="Catalog the new plan was solved on (default: the folder the plan records).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def diff_cmd(old_plan, new_plan, old_catalog, new_catalog, fmt, output):
    """What changed between two saved plans (fleet, API shares, cost) and why (prices, demand)."""
    from optimizer.explain.diff import diff_plans
    from optimizer.render.diff import plan_diff_to_json, plan_diff_to_text

    old, new = _load_plan_file(old_plan), _load_plan_file(new_plan)
    d = diff_plans(old, new, old_catalog=_plan_catalog(old, old_catalog, "old"),
                   new_catalog=_plan_catalog(new, new_catalog, "new"))
    emit(plan_diff_to_json(d) if fmt == "json" else plan_diff_to_text(d), output)


@main.command()
@click.option("--model", type=Text(example="llama-3.1-8b"),
              required=True, help="Model: catalog name or common spelling (meta-llama/Llama-3.1-8B-Instruct).")
@click.option("--gpu", type=Text(example="H100"),
              required=True, help="GPU: catalog name or common spelling (H100-SXM-80GB, 'NVIDIA H100 80GB HBM3').")
@click.option("--precision", type=Text(example="fp8"), default="fp16", show_default=True,
              help="Weight precision: fp16 (also bf16), fp8, int8, int4, fp4; 'int4 (weight-only g32)' style accepted.")
@click.option("--tp", type=Whole(1, 64, example="2"), default=1, show_default=True,
              help="Tensor-parallel degree (GPUs per replica).")
@click.option("--isl", type=Whole(1, MAX_TOKENS, example="1000"), default=1000, show_default=True,
              help="Input (prompt) tokens per request.")
@click.option("--osl", type=Whole(0, MAX_TOKENS, example="1000"), default=1000, show_default=True,
              help="Output tokens per request.")
@click.option("--concurrency", type=WholeOr("max", 1, 10**7, example="32 or max"), default="max",
              show_default=True,
              help="Concurrent requests, or 'max' for the highest throughput memory and the batch limit allow.")
@click.option("--kv-dtype", type=click.Choice(["auto", "fp16", "fp8"]), default="auto", show_default=True,
              help="KV-cache dtype (auto: the engine's default; trtllm stores fp8 KV with fp8/fp4 weights on GPUs "
                   "with fp8 units, vllm/sglang/tgi keep the model's 16-bit dtype).")
@click.option("--engine", default="vllm", show_default=True, help="Serving engine: vllm, sglang, trtllm or tgi.")
@catalog_option
@click.option("--problem", "problem_file", type=click.Path(path_type=Path), default=None,
              help="A problem whose inline `models:` --model may name (a fine-tune or a model the catalog lacks).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def estimate(model, gpu, precision, tp, isl, osl, concurrency, kv_dtype, engine, catalog_dir, problem_file, fmt,
             output):
    """Memory and speed of one MODEL replica on GPU: weights, KV cache, concurrency, TTFT, TPOT, throughput."""
    from optimizer.catalog.load import load_catalog_specs
    from optimizer.perf.estimate import estimate as run_estimate
    from optimizer.render import estimate as render

    cat = load_catalog_specs(catalog_dir)
    if problem_file is not None:
        from optimizer.catalog.inline import with_problem_models
        from optimizer.problem import load_problem
        cat = with_problem_models(cat, load_problem(problem_file), str(problem_file))
    est = run_estimate(cat, model, gpu, precision=precision, tp=tp, isl=isl, osl=osl, concurrency=concurrency,
                       kv_dtype=None if kv_dtype == "auto" else kv_dtype, engine=engine)
    emit(render.to_json(est) if fmt == "json" else render.to_table(est), output)


@main.command()
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(path_type=Path))
@click.option("--problem", "problem_file", type=click.Path(path_type=Path), default=None,
              help="The problem the plan was solved from: engines per workload, inline models, runner-ups.")
@click.option("--include-runner-up", "runner_up", type=click.IntRange(0, 20), default=0, show_default=True,
              help="Also benchmark the N cheapest configurations per workload the plan did not choose (needs "
                   "--problem).")
@click.option("--engine", default=None, help="Serving engine for every pool: vllm, sglang, trtllm or tgi "
                                             "(default: the problem's, else vllm).")
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["script", "json"]), default="script", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def benchmark(plan_file, problem_file, runner_up, engine, catalog_dir, fmt, output):
    """The commands that measure PLAN.json's self-hosted pools with their serving engine (a bash script)."""
    from optimizer.explain.benchmark import benchmark_runs
    from optimizer.render.benchmark import to_json, to_script

    p = _load_plan_file(plan_file)
    prob = None
    if problem_file is not None:
        from optimizer.problem import load_problem
        prob = load_problem(problem_file)
    cat = _catalog(catalog_dir or (Path(p.catalog["path"]) if Path(p.catalog.get("path", "")).is_dir() else None))
    runs = benchmark_runs(p, cat, problem=prob, runner_up=runner_up, engine=engine)
    click.echo(f"{len(runs)} runs on {len({r.server for r in runs})} server configurations", err=True)
    emit(to_json(runs, p.problem) if fmt == "json" else to_script(runs, p.problem), output)


@main.command()
@click.option("--model", default=None, help="Model (catalog name, common spelling, or an inline model of --problem); "
                                           "default: the workload's first model.")
@click.option("--problem", "problem_file", type=click.Path(path_type=Path), default=None,
              help="Take token lengths, latency targets, precisions and jurisdictions from a workload of this problem.")
@click.option("--workload", default=None, help="The workload of --problem (default: its first serving workload).")
@click.option("--isl", type=int, default=1000, show_default=True, help="Input tokens (without --problem).")
@click.option("--osl", type=int, default=1000, show_default=True, help="Output tokens (without --problem).")
@click.option("--latency-tier", type=click.Choice(["interactive", "standard", "batch"]), default="standard",
              show_default=True, help="TTFT/TPOT targets (without --problem).")
@click.option("--gpus", default=None, help="Only these GPU types, comma-separated (default: every GPU type).")
@click.option("--engine", default="vllm", show_default=True, help="Serving engine: vllm, sglang, trtllm or tgi.")
@click.option("--capacity-type", default="on_demand", show_default=True,
              help="Price to compare at: on_demand, spot, reserved_1y or reserved_3y.")
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def compare(model, problem_file, workload, isl, osl, latency_tier, gpus, engine, capacity_type, catalog_dir, fmt,
            output):
    """One model on every GPU type: fits or not (why), best precision and TP, throughput at the latency targets,
    cheapest offer, and cost per million output tokens (the chapter's Tip: cost per token decides)."""
    from optimizer.errors import ProblemError, did_you_mean
    from optimizer.explain.compare import Workload
    from optimizer.explain.compare import compare as run_compare
    from optimizer.render import compare as render

    cat = _catalog(catalog_dir)
    if problem_file is not None:
        from optimizer.catalog.inline import with_problem_models
        from optimizer.problem import load_problem
        prob = load_problem(problem_file)
        cat = with_problem_models(cat, prob, str(problem_file))
        names = [w.name for w in prob.serving]
        if not names:
            raise ProblemError("the problem has no serving workload", file=str(problem_file),
                               fix="compare needs token lengths and latency targets: add a serving workload")
        w = next((x for x in prob.serving if x.name == (workload or names[0])), None)
        if w is None:
            raise ProblemError(f"no serving workload '{workload}'.{did_you_mean(workload, names)}",
                               file=str(problem_file), where="--workload", fix=f"use one of: {', '.join(names)}")
        wl = Workload.from_problem(w)
        if model is None:
            if not w.models:
                raise ProblemError(f"workload '{w.name}' names no self-hosted model", where="--model",
                                   fix="pass --model")
            model = w.models[0]
        if engine == "vllm" and (w.engine or prob.policy.engine) != "vllm":
            engine = w.engine or prob.policy.engine
    else:
        if workload is not None:
            raise ProblemError("--workload needs --problem", where="--workload", fix="pass --problem PROBLEM.yaml")
        if model is None:
            raise ProblemError("give --model (or --problem with a workload that names a model)", where="--model",
                               fix="e.g. --model llama-3.1-8b")
        if isl < 1 or osl < 0:
            raise ProblemError(f"token lengths must be positive (isl={isl}, osl={osl})", where="--isl/--osl",
                               fix="give --isl >= 1 and --osl >= 0")
        wl = Workload.from_tier(isl, osl, latency_tier)
    gpu_list = tuple(g.strip() for g in gpus.split(",") if g.strip()) if gpus else ()
    kw = {}
    if problem_file is not None:  # the policy's allowed providers and GPU types
        from optimizer.candidates import _allowed
        kw["offer_ok"] = lambda o: _allowed(o, prob.policy, cat)
    c = run_compare(cat, model, wl, gpus=gpu_list, engine=engine, capacity_type=capacity_type, **kw)
    text = {"json": render.to_json, "html": render.to_html}.get(fmt, render.to_table)(c)
    emit(text, output)


@main.group()
def measured():
    """Measured capacities: import benchmark results into a problem's `measured:` entries."""


@measured.command("import")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--problem", "problem_file", required=True, type=click.Path(path_type=Path),
              help="The problem to add `measured:` entries to.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the updated problem here (default: update --problem in place, atomically).")
@click.option("--percentile", type=click.Choice(["50", "90", "99"]), default="90", show_default=True,
              help="TTFT/TPOT percentile that must meet the workload's targets.")
@catalog_option
@handle_errors
def measured_import(results, problem_file, output, percentile, catalog_dir):
    """Read `vllm bench serve` / `sglang.bench_serving` RESULTS and write measured capacities into the problem."""
    from optimizer.perf.measured_import import import_results

    report = import_results(list(results), problem_file, output or problem_file, int(percentile),
                            _catalog(catalog_dir))
    for line in report.lines():
        click.echo(line, err=True)


@main.command()
@click.argument("name", type=click.Choice(["problem", "plan", "horizon-plan", "catalog-row"]))
@click.option("--kind", type=click.Choice(["gpus", "offers", "models", "apis", "grid"]), default=None,
              help="catalog-row: only the rows of this catalog file.")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def schema(name, kind, output):
    """JSON Schema of a problem file, a plan (solve --format json) or a catalog row (schemas/ holds copies)."""
    from optimizer.schemas import schema_text
    emit(schema_text(name, kind), output)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--catalog-root", type=click.Path(path_type=Path), default=None,
              help="Folder of dated catalog folders the service may read (default: ./catalogs or $LLMPLAN_CATALOGS).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Solve processes (default: up to 4).")
@click.option("--time-limit", "time_limit", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Solver time limit when a request gives none, seconds.")
@click.option("--max-time-limit", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="The most a request may ask for, seconds.")
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=600.0, show_default=True,
              help="Longest a request waits for its solve, seconds (504 after).")
@handle_errors
def serve(host, port, catalog_root, workers, time_limit, max_time_limit, deadline):
    """Serve the planner over HTTP (needs the `serve` extra): POST /plan, /breakeven, /budget, /estimate, /diff,
    /export/{to}; GET /catalogs; OpenAPI at /docs."""
    from optimizer.service.run import serve as run_service
    run_service(host=host, port=port, catalog_root=catalog_root, workers=workers, time_limit=time_limit,
                max_time_limit=max_time_limit, deadline=deadline)


@main.group()
def catalog():
    """Inspect, validate and refresh catalogs."""


@catalog.command("validate")
@click.argument("folder", type=InputPath())
@handle_errors
def catalog_validate(folder):
    """Load FOLDER as a catalog and report its size; errors name the file, line and field."""
    cat = _catalog(folder)
    click.echo(f"{folder}: valid: {len(cat.gpus)} GPUs, {len(cat.offers)} offers, {len(cat.models)} models, "
               f"{len(cat.apis)} API offers, "
               f"{f'{len(cat.grid)} grid rows' if cat.grid else 'no grid.csv (carbon unknown)'}; "
               f"oldest price checked {cat.oldest_price_date()}")


@catalog.command("list")
@click.argument("view", type=click.Choice(["gpus", "offers", "models", "apis"]), default="gpus")
@catalog_option
@click.option("--gpu", type=Text(example="H100"), default=None, help="Only this GPU (any spelling, e.g. H100).")
@click.option("--cloud", type=Text(example="aws"),
              default=None, help="Only this cloud / API provider (aws, gcp, openai, ...).")
@click.option("--jurisdiction", type=Text(example="eu"),
              default=None, help="Only offers processing data in this jurisdiction (us, eu, ...).")
@click.option("--region", type=Text(example="us-east-1"), default=None, help="Only this cloud region.")
@click.option("--model", type=Text(example="llama-3.1-8b"), default=None, help="Only this model (models, apis).")
@click.option("--all-regions", is_flag=True, help="gpus view: one row per region instead of the cheapest region.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def catalog_list(view, catalog_dir, gpu, cloud, jurisdiction, region, model, all_regions, fmt, output):
    """List GPUs (SkyPilot-style: cheapest region per GPU, count, cloud and instance), offers, models or APIs."""
    from optimizer.catalog.query import Filters, list_view
    from optimizer.render.listing import RENDERERS

    cat = _catalog(catalog_dir)
    listing = list_view(cat, view, Filters(gpu=gpu, cloud=cloud, jurisdiction=jurisdiction, region=region,
                                           model=model), all_regions=all_regions)
    click.echo(f"catalog {cat.version} ({cat.root}): {len(listing.rows)} {view} rows", err=True)
    emit(RENDERERS[fmt](listing), output)


@catalog.command("diff")
@click.argument("old", type=InputPath())
@click.argument("new", type=InputPath())
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["offers", "apis", "gpus", "models"]),
              help="Only these kinds of rows (repeatable; default: all).")
@click.option("--gpu", type=Text(example="H100"), default=None, help="Only offers of this GPU.")
@click.option("--cloud", type=Text(example="aws"), default=None, help="Only offers/APIs of this cloud or provider.")
@click.option("--limit", type=Whole(0, 10**9, example="20"), default=0, show_default=True,
              help="Show at most N changed rows (0: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def catalog_diff(old, new, kinds, gpu, cloud, limit, fmt, output):
    """Prices up and down, rows added and removed, between catalog versions OLD and NEW."""
    from optimizer.catalog.diff import KINDS, diff_catalogs
    from optimizer.render.diff import catalog_diff_to_json, catalog_diff_to_text

    a, b = _catalog(old), _catalog(new)
    if gpu is not None:
        try:
            gpu = b.gpu(gpu).name
        except KeyError:
            try:
                gpu = a.gpu(gpu).name
            except KeyError as e:
                from optimizer.errors import LlmplanError
                raise LlmplanError(e.args[0], where="--gpu", fix="use a GPU from `llmplan catalog list gpus`") from None
    d = diff_catalogs(a, b, kinds=tuple(kinds) or KINDS, gpu=gpu, cloud=cloud.lower() if cloud else None)
    emit(catalog_diff_to_json(d) if fmt == "json" else catalog_diff_to_text(d, limit or None), output)


@catalog.command("fetch")
@click.option("--clouds", default=",".join(("aws", "gcp", "azure", "lambda", "runpod", "cudo")), show_default=True,
              help="SkyPilot clouds to download, comma-separated ('none' for LiteLLM only).")
@click.option("--litellm", is_flag=True, help="Also download LiteLLM's model_prices_and_context_window.json.")
@click.option("--into", type=click.Path(path_type=Path), default=None,
              help="New catalog folder (default: catalogs/<today> next to the newest catalog).")
@click.option("--base", type=click.Path(path_type=Path), default=None,
              help="Catalog to seed from and diff against (default: the newest dated catalog).")
@click.option("--base-url", default=None, help="SkyPilot catalog root (default: SkyPilot's hosted catalogs).")
@click.option("--schema", default="v8", show_default=True, help="SkyPilot catalog schema version.")
@click.option("--litellm-url", default=None, help="URL of the LiteLLM price table (default: LiteLLM's main branch).")
@click.option("--sources", type=click.Path(path_type=Path), default=None,
              help="Where the downloaded files and their provenance go (default: catalogs/_sources/fetched/<date>).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per download.")
@click.option("--limit", type=int, default=40, show_default=True, help="Changed rows shown in the diff (0: all).")
@handle_errors
def catalog_fetch(clouds, litellm, into, base, base_url, schema, litellm_url, sources, timeout, limit):
    """Download current prices, verify them, write their provenance, import them into a new dated catalog and
    print the diff against the previous catalog (stdout). Nothing is written unless every step succeeds."""
    import datetime as dt

    from optimizer.catalog import default_catalog_dir
    from optimizer.catalog.diff import diff_catalogs
    from optimizer.catalog.fetch import LITELLM_URL, SKYPILOT_BASE_URL, fetch_catalog
    from optimizer.render.diff import catalog_diff_to_text

    base = base or default_catalog_dir()
    into = into or base.parent / dt.date.today().isoformat()
    names = () if clouds.strip().lower() in ("", "none") else tuple(
        c.strip().lower() for c in clouds.split(",") if c.strip())
    res = fetch_catalog(into, clouds=names, litellm=litellm, base=base, base_url=base_url or SKYPILOT_BASE_URL,
                        schema=schema, litellm_url=litellm_url or LITELLM_URL, sources=sources, timeout=timeout,
                        log=lambda line: click.echo(line, err=True))
    for line in res.log:
        click.echo(line, err=True)
    click.echo(f"wrote {res.catalog} from {len(res.downloads)} downloads (files and provenance in {res.sources})",
               err=True)
    emit(catalog_diff_to_text(diff_catalogs(_catalog(base), _catalog(res.catalog)), limit or None), None)


@catalog.group("import")
def catalog_import():
    """Import public price sources into a catalog folder."""


def _base_option(f):
    return click.option("--base", type=InputPath(), default=None,
                        help="Catalog folder to copy GPUs, models and other rows from when --into is new "
                             "(default: the newest dated catalog).")(f)


def _checked_option(f):
    return click.option("--checked", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                        callback=lambda _c, _p, v: v.date() if v else None,
                        help="Date of the price snapshot (YYYY-MM-DD) for files whose provenance.yaml gives none.")(f)


@catalog_import.command("skypilot")
@click.argument("inputs", nargs=-1, required=True, type=InputPath())
@click.option("--into", required=True, type=OutputPath(folder=True, example="catalogs/2026-12-01"),
              help="Catalog folder to write.")
@_base_option
@click.option("--discounts", type=InputPath(), default=None,
              help="Commitment discounts per provider (default: catalogs/_curated/commitment_discounts.csv).")
@click.option("--spot-rates", type=InputPath(), default=None,
              help="Spot interruption rates per provider (default: catalogs/_curated/spot_interruption.csv).")
@click.option("--no-assumptions", is_flag=True, help="Import prices only: no assumed reserved prices or spot rates.")
@_checked_option
@handle_errors
def import_skypilot_cmd(inputs, into, base, discounts, spot_rates, no_assumptions, checked):
    """Import SkyPilot vms.csv files (or folders of them) as offers; replaces the offers of those clouds."""
    import time

    from optimizer.catalog import default_catalog_dir
    from optimizer.catalog.build import import_skypilot_into

    t = time.perf_counter()
    summary, assumed = import_skypilot_into(list(inputs), into, base=base or default_catalog_dir(),
                                            discounts=discounts, spot_rates=spot_rates,
                                            assumptions=not no_assumptions, checked_default=checked)
    for line in summary.lines() + assumed.lines():
        click.echo(line, err=True)
    click.echo(f"wrote {into / 'offers.csv'}: {sum(summary.offers_kept.values())} offers from "
               f"{sum(summary.rows_used.values())} of {sum(summary.rows_read.values())} rows in "
               f"{len(summary.files)} files ({sum(summary.rejected.values())} rejected, "
               f"{sum(summary.host_rows.values())} GCP host VM rows) in {time.perf_counter() - t:.2f} s", err=True)


@catalog_import.command("litellm")
@click.argument("file", type=InputPath())
@click.option("--into", required=True, type=OutputPath(folder=True, example="catalogs/2026-12-01"),
              help="Catalog folder to write.")
@click.option("--meta", type=InputPath(), default=Path("catalogs/_curated/api_meta.csv"),
              show_default=True, help="Curated metadata: logical model, rate limits, latency, quality tier.")
@click.option("--label", type=Text(example="'LiteLLM 1.110.2'"), default=None,
              help="Source label (default: `label` in the file's provenance.yaml), e.g. 'LiteLLM 1.110.2 "
                   "model_prices_and_context_window.json'.")
@_base_option
@_checked_option
@handle_errors
def import_litellm_cmd(file, into, meta, label, base, checked):
    """Import LiteLLM's model_prices_and_context_window.json as API offers (chat models with metadata)."""
    from optimizer.catalog import default_catalog_dir
    from optimizer.catalog.build import import_litellm_into

    summary = import_litellm_into(file, into, meta=meta, base=base or default_catalog_dir(), label=label,
                                  checked=checked)
    for line in summary.lines():
        click.echo(line, err=True)
    click.echo(f"wrote {into / 'apis.csv'}: {summary.imported} API offers", err=True)


@main.group()
def route():
    """Route traffic as the plan says: exports to real routers."""


@route.command("export")
@click.argument("plan_file", metavar="PLAN.json", type=InputPath())
@click.option("--to", "fmt", type=click.Choice(["litellm", "portkey", "openrouter"]), required=True,
              help="litellm: proxy config (YAML); portkey: gateway configs (JSON); openrouter: provider preferences.")
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def route_export(plan_file, fmt, output):
    """Export PLAN.json's traffic shares, limits and failover order as a router config."""
    from optimizer.routing.export import export
    text, warnings = export(_load_plan_file(plan_file), fmt, str(plan_file))
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    emit(text, output)


class _Progress:
    """A progress bar on stderr, shown only once a run has taken more than `after_s` seconds."""

    def __init__(self, label: str, after_s: float = 2.0):
        import time
        self.label, self.after_s, self.t0, self.shown, self.last = label, after_s, time.perf_counter(), False, -1

    def __call__(self, fraction: float) -> None:
        import time
        if not self.shown and time.perf_counter() - self.t0 < self.after_s:
            return
        pct = int(100 * fraction)
        if pct == self.last:
            return
        tty = sys.stderr.isatty()
        if not tty and pct % 25 and fraction < 1.0:  # a log file gets a line every 25%, a terminal a live bar
            return
        self.shown, self.last = True, pct
        bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
        click.echo(f"{chr(13) if tty else ''}{self.label} [{bar}] {pct:3d}%", err=True, nl=not tty)
        if tty and fraction >= 1.0:
            click.echo("", err=True)


@main.command()
@click.argument("plan_file", metavar="PLAN.json", type=InputPath())
@click.option("--hours", type=Number(0, 24 * 31, lo_open=True, example="1"), default=1.0, show_default=True,
              help="Hours of traffic to replay.")
@click.option("--fail", "fails", type=Text(example="aws@10m+5m"), multiple=True, metavar="PROVIDER@T[+D]",
              help="Take a provider down at T (30m, 1800s, 0.5h; bare numbers are minutes) until the end or for D; "
                   "'largest' names the provider carrying the most traffic. Repeatable.")
@click.option("--spot-preemption", "spot_rate", type=Number(0, 100, example="0.05"), default=0.0, show_default=True,
              help="Spot reclaims per spot instance-hour.")
@click.option("--spot-recovery", type=Number(0, 24 * 60 * 31, example="10"), default=10.0, show_default=True,
              help="Minutes until a reclaimed spot instance is replaced.")
@click.option("--seed", type=Whole(0, 2**63 - 1, example="0"), default=0, show_default=True,
              help="Seed of every random draw (a whole number >= 0).")
@click.option("--strategy", type=click.Choice(["balanced", "cost", "latency", "quality", "failover",
                                               "rate_limit_aware"]), default="balanced", show_default=True)
@click.option("--load", type=click.Choice(["peak", "average"]), default="peak", show_default=True,
              help="Poisson arrivals at each workload's peak or average rate.")
@click.option("--trace", "trace_file", type=click.Path(path_type=Path), default=None,
              help="Replay this trace's arrivals and lengths (not Poisson); --hours and --load are then ignored.")
@click.option("--trace-format", type=click.Choice(["azure", "csv", "jsonl"]), default=None,
              help="The trace's format (default: from its name and header).")
@click.option("--columns", default=None, metavar="time=C,input=C,output=C", help="The trace's column names.")
@click.option("--scale-to", type=float, default=None, metavar="REQUESTS_PER_MONTH",
              help="Compress the trace's time so its rate is this monthly volume.")
@click.option("--speedup", type=float, default=None, help="Compress the trace's time by this factor.")
@click.option("--workload", "workload_name", default=None, help="The plan's workload the trace belongs to.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=OutputPath(), default=None, help="Write to this file (atomically).")
@handle_errors
def simulate(plan_file, hours, fails, spot_rate, spot_recovery, seed, strategy, load, trace_file, trace_format,
             columns, scale_to, speedup, workload_name, fmt, output):
    """Replay PLAN.json's traffic through its router and capacity, with outages and spot reclaims injected."""
    from optimizer.errors import LlmplanError
    from optimizer.routing.report import to_json as sim_json
    from optimizer.routing.report import to_text as sim_text
    from optimizer.routing.simulate import SimOptions, parse_failure
    from optimizer.routing.simulate import simulate as run_sim
    from optimizer.routing.targets import route_tables

    if not hours > 0:
        raise LlmplanError(f"--hours must be positive, not {hours}", where="--hours", fix="e.g. --hours 1")
    if spot_rate < 0 or spot_recovery < 0:
        raise LlmplanError("--spot-preemption and --spot-recovery must not be negative", fix="e.g. 0.05 and 10")
    plan_obj = _load_plan_file(plan_file)
    tables = route_tables(plan_obj, str(plan_file))
    arrivals = None
    if trace_file is not None:
        from optimizer.routing.replay import replay_arrivals
        from optimizer.traces import parse_columns, read_trace
        tr = read_trace(trace_file, trace_format, parse_columns(columns))
        arrivals, run_s, _ = replay_arrivals(plan_obj, tr, workload=workload_name, scale_to=scale_to,
                                             speedup=speedup, source=str(plan_file))
        hours = run_s / 3600.0
    elif scale_to is not None or speedup is not None:
        raise LlmplanError("--scale-to and --speedup apply to a replayed trace", where="--trace",
                           fix="pass --trace TRACE")
    failures = tuple(parse_failure(f, tables, hours * 3600.0) for f in fails)
    opts = SimOptions(hours=hours, load=load, strategy=strategy, seed=seed, failures=failures, spot_rate=spot_rate,
                      spot_recovery_s=spot_recovery * 60.0, trace=str(trace_file) if trace_file else None)
    res = run_sim(plan_obj, opts, source=str(plan_file), tables=tables, progress=_Progress("simulating"),
                  arrivals=arrivals)
    click.echo(f"simulated {res.arrived:,} requests in {res.wall_s:.2f} s", err=True)
    emit(sim_json(res) if fmt == "json" else sim_text(res), output)


@main.command()
@click.argument("problem", type=click.Path(path_type=Path))
@catalog_option
@click.option("--vary", "vary", multiple=True, metavar="PATH=RANGE",
              help="A problem field and its values: workloads.chat.requests_per_month=10M:40M:4 (a:b:steps), "
                   "=a,b,c, =x0.5:x2:5 (multiples of the current value), or =a:b with --samples. Repeatable.")
@click.option("--price-multiplier", "prices", multiple=True, metavar="SELECTOR=RANGE",
              help="Scale catalog prices of gpu=NAME, provider=NAME or api=NAME: gpu=H100=0.8:1.2:5. Repeatable.")
@click.option("--samples", type=int, default=None, help="Monte Carlo: N draws instead of the grid.")
@click.option("--distribution", "distributions", multiple=True, metavar="[KEY=]NAME",
              help="uniform (default), normal, lognormal or triangular; for every axis, or KEY=NAME for one "
                   "(normal/lognormal read a:b as the 90% interval).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Monte Carlo draws.")
@click.option("--workers", type=int, default=None, help="Local worker processes (default 1).")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Solve on this Dask scheduler (tcp://host:8786); needs the 'cluster' extra.")
@click.option("--solver", type=click.Choice(["highs", "cbc"]), default="highs", show_default=True)
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds per scenario's solve.")
@click.option("--gap", type=float, default=None, help="Relative MIP gap at which each solve stops.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="results.csv or results.parquet (atomically); default: CSV on stdout.")
@click.option("--html", "html_out", type=click.Path(), default=None, help="Also write the HTML report here.")
@handle_errors
def sweep(problem, catalog_dir, vary, prices, samples, distributions, seed, workers, cluster, solver, time_limit,
          gap, output, html_out):
    """Solve PROBLEM for many scenarios (a grid or Monte Carlo draws) and tabulate cost, status and fleet."""
    from collections import Counter

    from optimizer.errors import LlmplanError
    from optimizer.planner import SolveOptions
    from optimizer.problem import load_problem
    from optimizer.sweep import build_sweep, run_sweep
    from optimizer.sweep.results import output_format, to_csv, write_results

    if cluster and workers is not None:
        raise LlmplanError("give --workers or --cluster, not both", where="--workers",
                           fix="the cluster's own workers solve when --cluster is given")
    if workers is not None and workers < 1:
        raise LlmplanError("--workers must be at least 1", where="--workers", fix="e.g. --workers 4")
    if not time_limit > 0:
        raise LlmplanError("--time-limit must be positive", where="--time-limit", fix="e.g. --time-limit 60")
    if output:
        output_format(output)  # a bad extension fails before any solve
    prob = load_problem(problem)
    cat = _catalog(catalog_dir)
    spec = build_sweep(prob, cat, list(vary), list(prices), samples=samples, distributions=list(distributions),
                       seed=seed, source=str(problem))
    click.echo(f"sweep: {len(spec.scenarios):,} scenarios ({spec.mode}) of {problem}; solving the problem as "
               f"written first", err=True)
    result, stats = run_sweep(prob, cat, spec, SolveOptions(solver=solver, time_limit=time_limit, gap=gap),
                              workers=workers or 1, cluster=cluster, progress=_Progress("sweeping", after_s=0.0),
                              source=str(problem))
    counts = Counter(r["status"] for r in result.rows)
    click.echo(f"solved {stats.scenarios:,} scenarios in {stats.seconds:.1f} s ({stats.per_second:.2f}/s, "
               f"{stats.backend}): " + ", ".join(f"{n:,} {s}" for s, n in counts.most_common()), err=True)
    if html_out:
        from optimizer.fsutil import write_atomic
        from optimizer.render.sweep import to_html
        write_atomic(html_out, to_html(result))
        click.echo(f"wrote {html_out}", err=True)
    if output:
        write_results(result, output)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(to_csv(result), nl=False)


if __name__ == "__main__":
    main()
