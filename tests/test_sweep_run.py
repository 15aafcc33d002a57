"""Sweeps end to end: known answers against individual solves, every backend giving the same rows, infeasible
scenarios as rows, the CLI's outputs (CSV on stdout, Parquet, HTML) and its errors."""

import io
import sys

import pytest
import yaml
from click.testing import CliRunner
from helpers import (
    api,
    check_golden,
    measured,
    serving,
    solve_problem,
    write_catalog,
)

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.errors import LlmplanError
from optimizer.planner import SolveOptions
from optimizer.problem import parse_problem
from optimizer.render.sweep import to_html
from optimizer.sweep import build_sweep, run_sweep
from optimizer.sweep.results import AxisInfo, SweepResult, to_csv
from optimizer.sweep.run import run_dask
from optimizer.sweep.sensitivity import effects, histogram

H = 730.0

# 30 req/s at peak, 10 req/s per replica on a $1/h GPU (max_utilization 1), or the API at $0.002 x m per request.
# k replicas serve 10k/30 of the traffic, so the cost is 730 k + 0.002 m R (1 - k/3) for R requests a month:
# a replica pays when it saves more than $730, i.e. when 0.002 m R / 3 > 730, and then all three do.
PROBLEM = {"workloads": [serving(peak=30.0, req=1_000_000, apis=["tiny-8b"])], "measured": [measured(rps=10.0)],
           "policy": {"max_utilization": 1.0}}
EXPECTED = {  # (requests, API price multiplier) -> monthly cost
    (1e6, 0.5): 1000.0, (1e6, 1.0): 2000.0,    # API only: a replica would save $333 / $667 < $730
    (2e6, 0.5): 2000.0, (2e6, 1.0): 3 * H,     # $667 < $730: API; $1,333 > $730: three replicas
    (3e6, 0.5): 3 * H, (3e6, 1.0): 3 * H,
}
VARY = ["workloads.w.requests_per_month=1M:3M:3"]
PRICES = ["api=tiny-8b=0.5,1"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_catalog(tmp_path_factory.mktemp("sweep") / "2026-11-24")


@pytest.fixture(scope="module")
def grid(tiny_dir):
    cat = load_catalog(tiny_dir)
    prob = parse_problem(PROBLEM, "p.yaml")
    return prob, cat, build_sweep(prob, cat, VARY, PRICES)


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "solve_s"} for r in rows]


def test_sweep_costs_are_the_known_answers_and_match_individual_solves(grid, tmp_path, solver):
    prob, cat, spec = grid
    res, stats = run_sweep(prob, cat, spec, SolveOptions(solver=solver, time_limit=30))
    assert stats.scenarios == 6 and res.base["monthly_cost_usd"] == pytest.approx(2000.0)
    assert [(r["workloads.w.requests_per_month"], r["price[api=tiny-8b]"]) for r in res.rows] == list(EXPECTED)
    for i, r in enumerate(res.rows):
        req, m = r["workloads.w.requests_per_month"], r["price[api=tiny-8b]"]
        assert r["status"] == "optimal" and r["monthly_cost_usd"] == pytest.approx(EXPECTED[(req, m)])
        # the same modified problem solved on its own, with the price written into its own catalog
        alone = solve_problem(tmp_path / f"s{i}", {**PROBLEM, "workloads": [serving(peak=30.0, req=req,
                                                                                    apis=["tiny-8b"])]},
                              solver, apis=[api("apix/tiny-8b", "apix", "global", 1.0 * m, 2.0 * m)])
        assert r["monthly_cost_usd"] == pytest.approx(alone.monthly_cost_usd, abs=0.01)
        self_hosted = EXPECTED[(req, m)] == 3 * H
        assert (r["gpus"], r["gpu_count"]) == (("TESTGPU:3", 3) if self_hosted else ("", 0))
        assert (r["self_hosted_share"], r["api_share"]) == ((1.0, 0.0) if self_hosted else (0.0, 1.0))
        assert r["api_monthly_usd"] == pytest.approx(0.0 if self_hosted else EXPECTED[(req, m)])


def test_two_local_workers_give_the_rows_of_one(grid):
    prob, cat, spec = grid
    one, _ = run_sweep(prob, cat, spec, SolveOptions(time_limit=30), workers=1, base=False)
    two, stats = run_sweep(prob, cat, spec, SolveOptions(time_limit=30), workers=2, base=False)
    assert stats.backend == "2 local workers" and _strip(two.rows) == _strip(one.rows)
    assert len({r["monthly_cost_usd"] for r in one.rows}) == 3  # the rows differ: a real comparison


def test_dask_local_cluster_gives_the_rows_of_one_worker(grid):
    distributed = pytest.importorskip("distributed")
    prob, cat, spec = grid
    one, _ = run_sweep(prob, cat, spec, SolveOptions(time_limit=30), base=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res, stats = run_sweep(prob, cat, spec, SolveOptions(time_limit=30), cluster=cluster.scheduler_address,
                               base=False)
    assert stats.backend.startswith("dask tcp://") and _strip(res.rows) == _strip(one.rows)


def test_unreachable_scheduler_is_a_clear_error(grid):
    pytest.importorskip("distributed")
    _, cat, spec = grid
    with pytest.raises(LlmplanError, match="cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'") as e:
        run_dask(list(spec.scenarios), cat, SolveOptions(), "tcp://127.0.0.1:9", connect_timeout_s=1)
    assert e.value.where == "--cluster"


def test_missing_dask_names_the_extra(grid, monkeypatch):
    _, cat, spec = grid
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(LlmplanError, match="not installed") as e:
        run_dask(list(spec.scenarios), cat, SolveOptions(), "tcp://127.0.0.1:9")
    assert "llmplan[cluster]" in e.value.fix


# --- the command ----------------------------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def problem_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(PROBLEM))
    return p


def test_cli_csv_on_stdout_infeasible_rows_and_html(problem_file, tiny_dir, tmp_path):
    html = tmp_path / "sweep.html"
    r = run("sweep", problem_file, "--catalog", tiny_dir, "--vary", "policy.budget_monthly_usd=1500,2500",
            "--html", html)
    assert r.exit_code == 0, r.output
    import pandas as pd
    df = pd.read_csv(io.StringIO(r.stdout))  # stdout is the CSV alone
    assert list(df["status"]) == ["infeasible", "optimal"]
    assert df["message"][0].startswith("budget: the cheapest plan costs $2,000.00/month, $500.00 over")
    assert df["monthly_cost_usd"].isna()[0] and df["monthly_cost_usd"][1] == pytest.approx(2000.0)
    assert "solved 2 scenarios" in r.stderr and "1 infeasible" in r.stderr
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text and text.count("<svg") == 2
    assert "Scenarios without a plan" in text


def test_cli_parquet_round_trip(problem_file, tiny_dir, tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd
    out = tmp_path / "r.parquet"
    r = run("sweep", problem_file, "--catalog", tiny_dir, *[a for v in VARY for a in ("--vary", v)],
            "--price-multiplier", PRICES[0], "-o", out)
    assert r.exit_code == 0 and r.stdout == ""
    df = pd.read_parquet(out)
    assert len(df) == 6 and list(df.columns[:4]) == ["scenario", "workloads.w.requests_per_month",
                                                     "price[api=tiny-8b]", "status"]
    assert sorted(df["monthly_cost_usd"]) == pytest.approx(sorted(EXPECTED.values()))


def test_cli_missing_pyarrow_names_the_extra_and_writes_nothing(problem_file, tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    out = tmp_path / "r.parquet"
    r = run("sweep", problem_file, "--catalog", tiny_dir, "--vary", "workloads.w.input_tokens=1000", "-o", out)
    assert r.exit_code == 2 and "llmplan[parquet]" in r.stderr and not out.exists()


@pytest.mark.parametrize("args,words", [
    (["--vary", "workloads.v.input_tokens=1,2"], ["no entry of workloads is named 'v'", "use one of: w"]),
    (["--vary", "workloads.w.input_tokens=1:2"], ["has no number of steps", "--samples"]),
    (["--price-multiplier", "gpu=H100=1,2"], ["unknown GPU"]),
    (["--vary", "workloads.w.input_tokens=1", "-o", "r.txt"], ["results.csv or results.parquet"]),
    (["--vary", "workloads.w.input_tokens=1", "--workers", "2", "--cluster", "tcp://x:1"], ["not both"]),
])
def test_cli_errors_exit_2_without_traceback(problem_file, tiny_dir, args, words):
    r = run("sweep", problem_file, "--catalog", tiny_dir, *args)
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.output
    for w in words:
        assert w in r.stderr


# --- report ---------------------------------------------------------------------------------------------------

def _result() -> SweepResult:
    """A fixed 2x3 grid: volume 1M/2M x GPU price 0.8/1/1.2 (one infeasible scenario)."""
    rows = []
    costs = {(1e6, 0.8): 1000.0, (1e6, 1.0): 1100.0, (1e6, 1.2): 1200.0,
             (2e6, 0.8): 1800.0, (2e6, 1.0): 2000.0, (2e6, 1.2): None}
    for i, ((req, m), c) in enumerate(costs.items()):
        rows.append({"scenario": i, "workloads.chat.requests_per_month": req, "price[gpu=L4]": m,
                     "status": "optimal" if c else "infeasible", "monthly_cost_usd": c, "gap": 0.0 if c else None,
                     "gpus": "L4:2" if c else None, "gpu_count": 2 if c else None, "self_hosted_share": 0.5 if c
                     else None, "api_share": 0.5 if c else None, "self_hosted_monthly_usd": c / 2 if c else None,
                     "api_monthly_usd": c / 2 if c else None,
                     "message": "" if c else "budget: the cheapest plan costs $2,400.00/month", "solve_s": 0.1})
    axes = (AxisInfo("workloads.chat.requests_per_month", "workloads.chat.requests_per_month", "1M:2M:2", None,
                     1.5e6, "field"), AxisInfo("price[gpu=L4]", "gpu=L4", "0.8,1,1.2", None, 1.0, "price"))
    return SweepResult("demo", "demo.yaml", "2026-11-24", "grid", axes, tuple(rows),
                       base={"monthly_cost_usd": 1500.0}, time_limit_s=60.0)


def test_main_effects_and_histogram_by_hand():
    eff = {e.axis: e for e in effects(_result())}
    vol = eff["workloads.chat.requests_per_month"]
    assert [(lv.label, lv.n, lv.with_plan) for lv in vol.levels] == [("1M", 3, 3), ("2M", 3, 2)]
    assert [lv.mean_cost for lv in vol.levels] == pytest.approx([1100.0, 1900.0])
    price = eff["price[gpu=L4]"]
    assert [lv.mean_cost for lv in price.levels] == pytest.approx([1400.0, 1550.0, 1200.0])
    assert (price.low.label, price.high.label, price.swing) == ("1.2", "1", pytest.approx(350.0))
    assert [e.axis for e in effects(_result())] == ["workloads.chat.requests_per_month", "price[gpu=L4]"]
    bins = histogram([1000.0, 1100.0, 1200.0, 1800.0, 2000.0], bins=5)
    # edges 1000, 1200, ..., 2000; the last bin is closed
    assert [c for _, _, c in bins] == [2, 1, 0, 0, 2]
    assert bins[0][0] == 1000.0 and bins[-1][1] == 2000.0


def test_sweep_html_golden():
    check_golden("sweep.html", to_html(_result()))


def test_csv_columns_and_whole_numbers():
    text = to_csv(_result())
    head, first = text.splitlines()[:2]
    assert head.startswith("scenario,workloads.chat.requests_per_month,price[gpu=L4],status,monthly_cost_usd")
    assert ",L4:2,2,0.5," in first  # gpu_count written as a whole number
