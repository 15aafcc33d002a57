"""The Python API at the package top: cheap to import, the same figures as the CLI, DataFrames that add up, the
example script runs."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import optimizer
from optimizer.cli import main
from optimizer.errors import LlmplanError, ProblemError
from optimizer.result import ApiLine, CategoryLine, Deployment, WorkloadLine

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalogs" / "2026-12-03"  # the default (newest) catalog
PORTFOLIO = ROOT / "problems" / "portfolio.yaml"


@pytest.fixture(scope="module")
def portfolio_plan(default_catalog):
    return optimizer.plan(PORTFOLIO, default_catalog)


def test_import_is_cheap():
    """`import optimizer` (what the CLI does first) loads none of the heavy libraries."""
    code = ("import sys, optimizer; heavy = [m for m in ('pandas', 'numpy', 'pydantic', 'pulp', 'highspy', 'yaml') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves():
    for name in optimizer.__all__:
        assert getattr(optimizer, name) is not None, name
    assert set(optimizer.__all__) <= set(dir(optimizer))
    with pytest.raises(AttributeError):
        optimizer.no_such_name  # noqa: B018


def test_plan_stays_the_solve_call_after_every_module_is_imported(default_catalog):
    """`optimizer.plan` is the solve call; no submodule shares its name (the result types are optimizer.result), so
    importing the pipeline cannot rebind it."""
    import optimizer.planner  # noqa: F401
    import optimizer.result  # noqa: F401

    assert callable(optimizer.plan)
    from optimizer.result import Plan
    p = optimizer.plan(ROOT / "problems" / "seed_breakeven.yaml", default_catalog)
    assert isinstance(p, Plan) and p.status == "optimal"


def test_parse_problem_from_dict_yaml_and_json_text_agree():
    text = PORTFOLIO.read_text()
    from_file = optimizer.load_problem(PORTFOLIO)
    from_yaml = optimizer.parse_problem(text)
    data = from_file.model_dump(mode="json", exclude_none=True)
    from_dict = optimizer.parse_problem(data)
    from_json = optimizer.parse_problem(json.dumps(data))
    from_bytes = optimizer.parse_problem(text.encode())
    assert from_file == from_yaml == from_dict == from_json == from_bytes


def test_parse_problem_errors_name_the_source_field_and_fix():
    with pytest.raises(ProblemError) as e:
        optimizer.parse_problem("workloads:\n  - {name: chat, apis: [gpt-4o-mini], requests_per_month: 1000,\n"
                                "     peak_to_average: 2, input_tokens: 100, output_tokens: 10, colour: red}\n",
                                "notebook cell 3")
    assert e.value.file == "notebook cell 3" and e.value.where == "workloads[0] (chat).colour"
    assert "unknown field" in str(e.value) and e.value.fix
    with pytest.raises(ProblemError) as e:
        optimizer.parse_problem("workloads: [\n", "cell")
    assert e.value.where.startswith("line ") and "not valid YAML" in e.value.message
    with pytest.raises(ProblemError, match="expected a mapping"):
        optimizer.parse_problem("- just\n- a list\n")
    with pytest.raises(ProblemError, match="not UTF-8"):
        optimizer.parse_problem(b"\xff\xfe")
    with pytest.raises(ProblemError, match="cannot be a int"):
        optimizer.plan(42)


def test_plan_takes_a_problem_in_every_form(default_catalog, portfolio_plan):
    cli = CliRunner().invoke(main, ["solve", str(PORTFOLIO), "--format", "json", "--catalog", str(CATALOG)])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["monthly_cost_usd"] == portfolio_plan.monthly_cost_usd
    data = optimizer.load_problem(PORTFOLIO).model_dump(mode="json", exclude_none=True)
    assert optimizer.plan(data, CATALOG).monthly_cost_usd == portfolio_plan.monthly_cost_usd
    assert optimizer.plan(str(PORTFOLIO), default_catalog).monthly_cost_usd == portfolio_plan.monthly_cost_usd
    cbc = optimizer.plan(PORTFOLIO, default_catalog, solver="cbc", time_limit=60)
    assert cbc.solver.name == "cbc" and cbc.solver.time_limit_s == 60
    assert cbc.monthly_cost_usd == pytest.approx(portfolio_plan.monthly_cost_usd, abs=0.01)


def test_solver_options_are_checked(default_catalog):
    with pytest.raises(LlmplanError, match="unknown solver option 'time_limt'. Did you mean: time_limit"):
        optimizer.plan(PORTFOLIO, default_catalog, time_limt=5)
    with pytest.raises(LlmplanError, match="not both"):
        optimizer.plan(PORTFOLIO, default_catalog, optimizer.SolveOptions(), gap=0.01)


def test_frames_have_the_plan_fields_and_add_up(portfolio_plan):
    p = portfolio_plan
    dep, api = optimizer.deployments_frame(p), optimizer.apis_frame(p)
    wl, cat = optimizer.workloads_frame(p), optimizer.categories_frame(p)
    assert list(dep.columns) == list(Deployment.model_fields) and len(dep) == len(p.deployments)
    assert list(api.columns) == list(ApiLine.model_fields) and len(api) == len(p.api)
    assert list(wl.columns) == list(WorkloadLine.model_fields) and list(wl.name) == [w.name for w in p.workloads]
    assert list(cat.columns) == list(CategoryLine.model_fields)
    fixed = sum(f.monthly_cost_usd for f in p.fixed)
    assert dep.monthly_cost_usd.sum() + api.monthly_cost_usd.sum() + fixed == pytest.approx(p.monthly_cost_usd,
                                                                                            abs=0.02)
    assert wl.monthly_cost_usd.sum() + fixed == pytest.approx(p.monthly_cost_usd, abs=0.02)
    assert cat.monthly_cost_usd.sum() == pytest.approx(p.monthly_cost_usd, abs=0.02)
    assert cat.percent.sum() == pytest.approx(100, abs=0.3)
    # a plan's JSON (a dict) gives the same frames
    pd.testing.assert_frame_equal(optimizer.deployments_frame(json.loads(p.model_dump_json())), dep)
    assert set(optimizer.plan_frames(p)) == {"deployments", "apis", "workloads", "categories"}


def test_api_frame_lists_standby_apis_apart(default_catalog):
    p = optimizer.plan(ROOT / "problems" / "seed_chatbot_8m.yaml", default_catalog)
    assert p.standby_api, "the 8M chatbot keeps GPT-4o as a failover standby"
    df = optimizer.apis_frame(p, standby=True)
    assert len(df) == len(p.api) + len(p.standby_api)
    sb = df[df.standby]
    assert list(sb.api_id) == [a.api_id for a in p.standby_api] and (sb.share == 0).all()
    assert len(optimizer.apis_frame(p)) == len(p.api)


def test_budget_is_the_seed_budget_and_matches_the_cli(default_catalog):
    b = optimizer.budget(ROOT / "problems" / "seed_budget.yaml", default_catalog)
    assert b.total_monthly_usd == 3909.5  # the seed chapter's inputs (see README)
    pct = {w.name: round(w.percent, 1) for w in b.workloads}
    assert pct["Inference (prod)"] == 59.8 and pct["Embeddings"] == 17.7
    cli = CliRunner().invoke(main, ["budget", str(ROOT / "problems" / "seed_budget.yaml"), "--format", "json",
                                    "--catalog", str(CATALOG)])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == json.loads(b.model_dump_json())


def test_budget_of_a_plan_does_not_resolve(portfolio_plan):
    b = optimizer.budget(portfolio_plan)
    assert b.total_monthly_usd == pytest.approx(portfolio_plan.monthly_cost_usd, abs=0.01)


def test_breakeven_matches_the_seed_and_checks_the_workload(default_catalog):
    [b] = optimizer.breakeven(ROOT / "problems" / "seed_breakeven.yaml", default_catalog, workload="chat")
    assert b.naive.breakeven_monthly_requests == 5_560_000 and b.verdict == "never"
    with pytest.raises(ProblemError, match="no serving workload 'caht'. Did you mean: chat"):
        optimizer.breakeven(ROOT / "problems" / "seed_breakeven.yaml", default_catalog, workload="caht")


def test_estimate_matches_the_cli():
    est = optimizer.estimate("Llama 3.1 8B", "A10G", isl=800, osl=300, catalog=CATALOG)
    cli = CliRunner().invoke(main, ["estimate", "--model", "Llama 3.1 8B", "--gpu", "A10G", "--isl", "800",
                                    "--osl", "300", "--format", "json", "--catalog", str(CATALOG)])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == json.loads(json.dumps(est.to_dict()))
    with pytest.raises(ProblemError, match="unknown|not a known|no "):
        optimizer.estimate("no-such-model", "A10G", catalog=CATALOG)


def test_load_plan_diff_and_export(portfolio_plan, default_catalog):
    text = portfolio_plan.model_dump_json()
    assert optimizer.load_plan(text) == portfolio_plan == optimizer.load_plan(json.loads(text))
    d = optimizer.diff(portfolio_plan, portfolio_plan, old_catalog=default_catalog, new_catalog=default_catalog)
    assert d.workloads == [] and d.amount == 0
    p = optimizer.plan(ROOT / "problems" / "seed_chatbot_8m.yaml", default_catalog)
    cfg, warnings = optimizer.export_routes(p, "portkey")
    assert "chatbot" in json.loads(cfg)


def test_example_script_prints_the_portfolio_deployments(tmp_path):
    """examples/python_api.py, run as a user would (from another folder)."""
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "python_api.py")], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("portfolio: optimal, $")
    header = lines[1].split()
    assert header[:4] == ["workload", "model", "gpu", "instances"] and header[-1] == "monthly_cost_usd"
    for w in ("chat", "embeddings", "fine-tuning", "experimentation"):
        assert any(ln.split()[0] == w for ln in lines[2:6]), w
    m = re.search(r"deployments \+ APIs \+ shared = \$([\d,.]+) \(plan: \$([\d,.]+)\)", out.stdout)
    assert m and m.group(1) == m.group(2)


def test_diff_of_plans_using_an_api_in_neither_catalog(portfolio_plan, default_catalog):
    """Found by the service's schemathesis run: an API line whose api_id neither catalog has crashed the diff."""
    p = optimizer.plan(ROOT / "problems" / "seed_breakeven.yaml", default_catalog)
    assert p.api, "the seed breakeven plan uses GPT-4o-mini"
    gone = p.model_copy(update={"api": [a.model_copy(update={"api_id": "nowhere/model"}) for a in p.api]})
    d = optimizer.diff(gone, gone, old_catalog=default_catalog, new_catalog=default_catalog)
    # named as in neither catalog, never a crash
    assert [r.text for r in d.reasons if "nowhere/model" in r.key] == [
        f"API nowhere/model: in neither catalog ({default_catalog.version}, {default_catalog.version})"]
