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


@main.command()
@click.argument("problem", type=click.Path(path_type=Path))
@catalog_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--solver", type=click.Choice(["highs", "cbc"]), default="highs", show_default=True)
@click.option("--time-limit", type=float, default=None, help="Solver time limit in seconds.")
@click.option("--gap", type=float, default=None, help="Relative MIP gap at which to stop (e.g. 0.01).")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file (atomically).")
@click.option("-v", "--verbose", is_flag=True, help="Show the solver log on stderr.")
@handle_errors
def solve(problem, catalog_dir, fmt, solver, time_limit, gap, output, verbose):
    """Cheapest plan that meets PROBLEM's SLA."""
    from optimizer.planner import SolveOptions, plan
    from optimizer.problem import load_problem

    prob = load_problem(problem)
    cat = _catalog(catalog_dir)
    result = plan(prob, cat, SolveOptions(solver=solver, time_limit=time_limit, gap=gap, verbose=verbose))
    if fmt != "table":  # the table shows warnings itself
        for w in result.warnings:
            click.echo(f"warning: {w}", err=True)
    if fmt == "json":
        from optimizer.render.json_out import to_json
        emit(to_json(result), output)
    else:
        from optimizer.render.table import to_table
        emit(to_table(result), output)


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
@handle_errors
def import_skypilot_cmd(inputs, into, base):
    """Import SkyPilot vms.csv files (or folders of them) as offers; replaces the offers of those clouds."""
    from optimizer.catalog import default_catalog_dir
    from optimizer.catalog.build import import_skypilot_into

    t = __import__("time").perf_counter()
    summary = import_skypilot_into(list(inputs), into, base=base or default_catalog_dir())
    for line in summary.lines():
        click.echo(line, err=True)
    click.echo(f"wrote {into / 'offers.csv'}: {sum(summary.offers_kept.values())} offers from "
               f"{sum(summary.rows_read.values())} rows ({sum(summary.rejected.values())} rejected) in "
               f"{__import__('time').perf_counter() - t:.2f} s", err=True)


@catalog_import.command("litellm")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--into", required=True, type=click.Path(path_type=Path), help="Catalog folder to write.")
@click.option("--meta", type=click.Path(path_type=Path), default=Path("catalogs/_curated/api_meta.csv"),
              show_default=True, help="Curated metadata: logical model, rate limits, latency, quality tier.")
@click.option("--label", default=None, help="Source label, e.g. 'LiteLLM 1.110.2 model_prices_and_context_window.json'.")
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


if __name__ == "__main__":
    main()
