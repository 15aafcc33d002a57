"""llmplan command line: a thin layer over optimizer/. stdout carries only the requested format; logs go to
stderr. Errors a user can fix print one message (file, field, fix) and exit non-zero, without a traceback."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from optimizer import __version__
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
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _catalog(path):
    from optimizer.catalog import load_catalog
    return load_catalog(path)


catalog_option = click.option("--catalog", "catalog_dir", type=click.Path(path_type=Path), default=None,
                              help="Catalog folder (default: the newest catalogs/<date>/).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmplan")
def main():
    """llmplan: the cheapest plan of GPUs and LLM APIs that meets an SLA."""


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
    click.option("--time-limit", type=float, default=None, help="Solver time limit in seconds."),
    click.option("--gap", type=float, default=None, help="Relative MIP gap at which to stop (e.g. 0.01)."),
]


def with_solver_options(f):
    for opt in reversed(solver_options):
        f = opt(f)
    return f


@main.command()
@click.argument("problem", type=click.Path(path_type=Path))
@catalog_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@with_solver_options
@click.option("--explain", is_flag=True,
              help="Also re-solve to price each constraint, the alternatives and entry prices (implied by "
                   "markdown and html).")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@click.option("-v", "--verbose", is_flag=True, help="Show the solver log on stderr.")
@click.option("--compare-to", "compare_to", type=click.Path(path_type=Path), default=None,
              help="A plan JSON from an earlier run: also show what changed and why (table: the diff after the "
                   "plan; json: the plan with extras.diff).")
@handle_errors
def solve(problem, catalog_dir, fmt, solver, time_limit, gap, explain, output, verbose, compare_to):
    """Cheapest plan that meets PROBLEM's SLA."""
    from optimizer.planner import SolveOptions, plan
    from optimizer.problem import load_problem

    prob = load_problem(problem)
    old = _load_plan_file(compare_to) if compare_to else None  # a bad --compare-to fails before solving
    cat = _catalog(catalog_dir)
    explain = explain or fmt in ("markdown", "html")
    if explain:
        click.echo("re-solving to price constraints and alternatives...", err=True)
    result = plan(prob, cat, SolveOptions(solver=solver, time_limit=time_limit, gap=gap, verbose=verbose),
                  explain=explain)
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


@main.command()
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def report(plan_file, fmt, output):
    """Re-render a saved plan (from `solve --format json`) as markdown, html, table or json."""
    from optimizer.errors import LlmplanError
    from optimizer.render.json_out import load_plan

    try:
        text = plan_file.read_text()
    except FileNotFoundError:
        raise LlmplanError("file not found", file=str(plan_file), fix="pass a plan written by `llmplan solve "
                                                                        "--format json -o PLAN.json`") from None
    emit(render(load_plan(text, str(plan_file)), fmt), output)


@main.command()
@click.argument("problem", type=click.Path(path_type=Path))
@catalog_option
@click.option("--workload", default=None, help="Only this serving workload.")
@click.option("--method", type=click.Choice(["both", "capacity", "naive"]), default="both", show_default=True,
              help="naive = the seed chapter's formula; capacity = instances bought for the volume at peak.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@with_solver_options
@handle_errors
def breakeven(problem, catalog_dir, workload, method, fmt, solver, time_limit, gap):
    """Monthly volume at which self-hosting becomes cheaper than the API, per workload."""
    import json

    from optimizer.errors import ProblemError
    from optimizer.planner import SolveOptions, plan
    from optimizer.problem import load_problem
    from optimizer.render.breakeven import breakeven_text

    prob = load_problem(problem)
    names = [w.name for w in prob.serving]
    if workload is not None and workload not in names:
        from optimizer.errors import did_you_mean
        raise ProblemError(f"no serving workload '{workload}'.{did_you_mean(workload, names)}", file=str(problem),
                           fix=f"use one of: {', '.join(names)}")
    result = plan(prob, _catalog(catalog_dir), SolveOptions(solver=solver, time_limit=time_limit, gap=gap))
    bes = [b for b in result.breakeven if workload is None or b.workload == workload]
    if fmt == "json":
        emit(json.dumps([b.model_dump(mode="json") for b in bes], indent=2) + "\n", None)
    else:
        emit(breakeven_text(bes, method, result.references), None)


@main.command()
@click.argument("problem", type=click.Path(path_type=Path))
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@with_solver_options
@handle_errors
def budget(problem, catalog_dir, fmt, solver, time_limit, gap):
    """Monthly compute budget by workload and category (the seed's compute_budget, for any plan)."""
    import json

    from optimizer.explain.budget import plan_budget
    from optimizer.planner import SolveOptions, plan
    from optimizer.problem import load_problem
    from optimizer.render.budget import budget_text

    result = plan(load_problem(problem), _catalog(catalog_dir),
                  SolveOptions(solver=solver, time_limit=time_limit, gap=gap))
    if fmt == "json":
        rows, total = plan_budget(result)
        emit(json.dumps({"total_monthly_usd": round(total, 2),
                         "workloads": [r.__dict__ for r in rows],
                         "categories": [c.model_dump() for c in result.categories],
                         "references": [r.model_dump() for r in result.references]}, indent=2) + "\n", None)
    else:
        emit(budget_text(result), None)


def _load_plan_file(path: Path):
    from optimizer.explain.diff import load_plan_file
    return load_plan_file(path)


def _plan_catalog(p, override: Path | None, which: str):
    """The catalog a plan was solved on, or None with a note on stderr (see explain.diff.plan_catalog)."""
    from optimizer.explain.diff import plan_catalog
    cat, note = plan_catalog(p, override, which)
    if note:
        click.echo(f"note: {note}", err=True)
    return cat


@main.command("diff")
@click.argument("old_plan", type=click.Path(path_type=Path))
@click.argument("new_plan", type=click.Path(path_type=Path))
@click.option("--old-catalog", type=click.Path(path_type=Path), default=None,
              help="Catalog the old plan was solved on (default: the folder the plan records).")
@click.option("--new-catalog", type=click.Path(path_type=Path), default=None,
              help="Catalog the new plan was solved on (default: the folder the plan records).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
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
@click.option("--model", required=True, help="Model: catalog name or common spelling (meta-llama/Llama-3.1-8B-Instruct).")
@click.option("--gpu", required=True, help="GPU: catalog name or common spelling (H100-SXM-80GB, 'NVIDIA H100 80GB HBM3').")
@click.option("--precision", default="fp16", show_default=True,
              help="Weight precision: fp16 (also bf16), fp8, int8, int4, fp4; 'int4 (weight-only g32)' style accepted.")
@click.option("--tp", type=int, default=1, show_default=True, help="Tensor-parallel degree (GPUs per replica).")
@click.option("--isl", type=int, default=1000, show_default=True, help="Input (prompt) tokens per request.")
@click.option("--osl", type=int, default=1000, show_default=True, help="Output tokens per request.")
@click.option("--concurrency", default="max", show_default=True,
              help="Concurrent requests, or 'max' for the highest throughput memory and the batch limit allow.")
@click.option("--kv-dtype", type=click.Choice(["auto", "fp16", "fp8"]), default="auto", show_default=True,
              help="KV-cache dtype (auto: fp8 with fp8/fp4 weights on GPUs with fp8 units, else fp16).")
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def estimate(model, gpu, precision, tp, isl, osl, concurrency, kv_dtype, catalog_dir, fmt, output):
    """Memory and speed of one MODEL replica on GPU: weights, KV cache, concurrency, TTFT, TPOT, throughput."""
    from optimizer.catalog.load import load_catalog_specs
    from optimizer.perf.estimate import estimate as run_estimate
    from optimizer.render import estimate as render

    cat = load_catalog_specs(catalog_dir)
    est = run_estimate(cat, model, gpu, precision=precision, tp=tp, isl=isl, osl=osl, concurrency=concurrency,
                       kv_dtype=None if kv_dtype == "auto" else kv_dtype)
    emit(render.to_json(est) if fmt == "json" else render.to_table(est), output)


@main.group()
def catalog():
    """Inspect, validate and refresh catalogs."""


@catalog.command("validate")
@click.argument("folder", type=click.Path(path_type=Path))
@handle_errors
def catalog_validate(folder):
    """Load FOLDER as a catalog and report its size; errors name the file, line and field."""
    cat = _catalog(folder)
    click.echo(f"{folder}: valid: {len(cat.gpus)} GPUs, {len(cat.offers)} offers, {len(cat.models)} models, "
               f"{len(cat.apis)} API offers; oldest price checked {cat.oldest_price_date()}")


@catalog.command("list")
@click.argument("view", type=click.Choice(["gpus", "offers", "models", "apis"]), default="gpus")
@catalog_option
@click.option("--gpu", default=None, help="Only this GPU (any spelling, e.g. H100).")
@click.option("--cloud", default=None, help="Only this cloud / API provider (aws, gcp, openai, ...).")
@click.option("--jurisdiction", default=None, help="Only offers processing data in this jurisdiction (us, eu, ...).")
@click.option("--region", default=None, help="Only this cloud region.")
@click.option("--model", default=None, help="Only this model (models, apis).")
@click.option("--all-regions", is_flag=True, help="gpus view: one row per region instead of the cheapest region.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
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
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["offers", "apis", "gpus", "models"]),
              help="Only these kinds of rows (repeatable; default: all).")
@click.option("--gpu", default=None, help="Only offers of this GPU.")
@click.option("--cloud", default=None, help="Only offers/APIs of this cloud or provider.")
@click.option("--limit", type=int, default=0, show_default=True, help="Show at most N changed rows (0: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
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


@catalog.group("import")
def catalog_import():
    """Import public price sources into a catalog folder."""


def _base_option(f):
    return click.option("--base", type=click.Path(path_type=Path), default=None,
                        help="Catalog folder to copy GPUs, models and other rows from when --into is new "
                             "(default: the newest dated catalog).")(f)


@catalog_import.command("skypilot")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--into", required=True, type=click.Path(path_type=Path), help="Catalog folder to write.")
@_base_option
@click.option("--discounts", type=click.Path(path_type=Path), default=None,
              help="Commitment discounts per provider (default: catalogs/_curated/commitment_discounts.csv).")
@click.option("--spot-rates", type=click.Path(path_type=Path), default=None,
              help="Spot interruption rates per provider (default: catalogs/_curated/spot_interruption.csv).")
@click.option("--no-assumptions", is_flag=True, help="Import prices only: no assumed reserved prices or spot rates.")
@handle_errors
def import_skypilot_cmd(inputs, into, base, discounts, spot_rates, no_assumptions):
    """Import SkyPilot vms.csv files (or folders of them) as offers; replaces the offers of those clouds."""
    import time

    from optimizer.catalog import default_catalog_dir
    from optimizer.catalog.build import import_skypilot_into

    t = time.perf_counter()
    summary, assumed = import_skypilot_into(list(inputs), into, base=base or default_catalog_dir(),
                                            discounts=discounts, spot_rates=spot_rates,
                                            assumptions=not no_assumptions)
    for line in summary.lines() + assumed.lines():
        click.echo(line, err=True)
    click.echo(f"wrote {into / 'offers.csv'}: {sum(summary.offers_kept.values())} offers from "
               f"{sum(summary.rows_used.values())} of {sum(summary.rows_read.values())} rows in "
               f"{len(summary.files)} files ({sum(summary.rejected.values())} rejected, "
               f"{sum(summary.host_rows.values())} GCP host VM rows) in {time.perf_counter() - t:.2f} s", err=True)


@catalog_import.command("litellm")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--into", required=True, type=click.Path(path_type=Path), help="Catalog folder to write.")
@click.option("--meta", type=click.Path(path_type=Path), default=Path("catalogs/_curated/api_meta.csv"),
              show_default=True, help="Curated metadata: logical model, rate limits, latency, quality tier.")
@click.option("--label", default=None,
              help="Source label (default: `label` in the file's provenance.yaml), e.g. 'LiteLLM 1.110.2 "
                   "model_prices_and_context_window.json'.")
@_base_option
@handle_errors
def import_litellm_cmd(file, into, meta, label, base):
    """Import LiteLLM's model_prices_and_context_window.json as API offers (chat models with metadata)."""
    from optimizer.catalog import default_catalog_dir
    from optimizer.catalog.build import import_litellm_into

    summary = import_litellm_into(file, into, meta=meta, base=base or default_catalog_dir(), label=label)
    for line in summary.lines():
        click.echo(line, err=True)
    click.echo(f"wrote {into / 'apis.csv'}: {summary.imported} API offers", err=True)


def _load_plan_file(path: Path):
    from optimizer.errors import LlmplanError
    from optimizer.render.json_out import load_plan
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise LlmplanError("file not found", file=str(path),
                           fix="pass a plan written by `llmplan solve PROBLEM --format json -o PLAN.json`") from None
    return load_plan(text, str(path))


@main.group()
def route():
    """Route traffic as the plan says: exports to real routers."""


@route.command("export")
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(path_type=Path))
@click.option("--to", "fmt", type=click.Choice(["litellm", "portkey", "openrouter"]), required=True,
              help="litellm: proxy config (YAML); portkey: gateway configs (JSON); openrouter: provider preferences.")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
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
@click.argument("plan_file", metavar="PLAN.json", type=click.Path(path_type=Path))
@click.option("--hours", type=float, default=1.0, show_default=True, help="Hours of traffic to replay.")
@click.option("--fail", "fails", multiple=True, metavar="PROVIDER@T[+D]",
              help="Take a provider down at T (30m, 1800s, 0.5h; bare numbers are minutes) until the end or for D; "
                   "'largest' names the provider carrying the most traffic. Repeatable.")
@click.option("--spot-preemption", "spot_rate", type=float, default=0.0, show_default=True,
              help="Spot reclaims per spot instance-hour.")
@click.option("--spot-recovery", type=float, default=10.0, show_default=True,
              help="Minutes until a reclaimed spot instance is replaced.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strategy", type=click.Choice(["balanced", "cost", "latency", "quality", "failover",
                                               "rate_limit_aware"]), default="balanced", show_default=True)
@click.option("--load", type=click.Choice(["peak", "average"]), default="peak", show_default=True,
              help="Poisson arrivals at each workload's peak or average rate.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@handle_errors
def simulate(plan_file, hours, fails, spot_rate, spot_recovery, seed, strategy, load, fmt, output):
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
    failures = tuple(parse_failure(f, tables, hours * 3600.0) for f in fails)
    opts = SimOptions(hours=hours, load=load, strategy=strategy, seed=seed, failures=failures, spot_rate=spot_rate,
                      spot_recovery_s=spot_recovery * 60.0)
    res = run_sim(plan_obj, opts, source=str(plan_file), tables=tables, progress=_Progress("simulating"))
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
