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
@handle_errors
def solve(problem, catalog_dir, fmt, solver, time_limit, gap, explain, output, verbose):
    """Cheapest plan that meets PROBLEM's SLA."""
    from optimizer.planner import SolveOptions, plan
    from optimizer.problem import load_problem

    prob = load_problem(problem)
    cat = _catalog(catalog_dir)
    explain = explain or fmt in ("markdown", "html")
    if explain:
        click.echo("re-solving to price constraints and alternatives...", err=True)
    result = plan(prob, cat, SolveOptions(solver=solver, time_limit=time_limit, gap=gap, verbose=verbose),
                  explain=explain)
    if fmt != "table":  # the table shows warnings itself
        for w in result.warnings:
            click.echo(f"warning: {w}", err=True)
    emit(render(result, fmt), output)


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


if __name__ == "__main__":
    main()
