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
