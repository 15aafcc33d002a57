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


if __name__ == "__main__":
    main()
