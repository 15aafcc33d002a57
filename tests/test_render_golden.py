"""Golden files for the renderers. Volatile values (solve time, catalog path) are normalised.
Regenerate with: UPDATE_GOLDEN=1 pytest tests/test_render_golden.py"""

import datetime as dt
import json
import re
from pathlib import Path

from helpers import check_golden, measured, serving, write_catalog

from optimizer.catalog import load_catalog
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem
from optimizer.render.html import to_html
from optimizer.render.json_out import load_plan, to_json
from optimizer.render.markdown import to_markdown
from optimizer.render.table import to_table

GOLDEN = Path(__file__).parent / "golden"
TODAY = dt.date(2026, 11, 24)


def golden_plan(tmp_path):
    """Two workloads sharing a pool, an API split under a rate limit, a fixed block and ops overhead."""
    from helpers import api
    apis = [api("apix/tiny-8b", "apix", "global", 0.1, 0.2, rpm=600)]
    problem = {
        "name": "golden",
        "workloads": [serving("chat", peak=20.0, req=2_000_000, apis=["tiny-8b"]), serving("summaries", peak=4.0),
                      {"name": "ft", "category": "fine-tuning", "gpu": "TESTGPU", "gpu_count": 4,
                       "hours_per_month": 40}],
        "measured": [measured("chat", rps=10.0), measured("summaries", rps=10.0)],
        "policy": {"ops_overhead_monthly_usd": 250, "max_utilization": 1.0},
    }
    # the GPU's power and one grid row (clouda us-a at 400 g/kWh, PUE 1.2): energy known, carbon known for the
    # pool and the block; the API's is unknown
    from helpers import CHECKED, GPU
    gpu = {**GPU, "tdp_w": 700, "tdp_source": "test fixture"}
    grid = [{"provider": "clouda", "region": "us-a", "gco2e_per_kwh": 400, "proxy": "test grid", "pue": 1.2,
             "pue_source": "test fixture", "source": "test fixture", "checked": CHECKED}]
    cat = load_catalog(write_catalog(tmp_path / "cat", apis=apis, gpus=[gpu], grid=grid))
    return plan(parse_problem(problem, "golden.yaml"), cat, SolveOptions(), today=TODAY, explain=True)


def normalise(text: str) -> str:
    text = re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0.0', text)
    text = re.sub(r'"path": "[^"]*"', '"path": "<catalog>"', text)
    return re.sub(r"highs [0-9.]+ s", "highs 0.00 s", text)


def check(name: str, text: str):
    check_golden(name, normalise(text))


def test_table_golden(tmp_path):
    check("plan_table.txt", to_table(golden_plan(tmp_path)))


def test_json_golden_and_round_trip(tmp_path):
    p = golden_plan(tmp_path)
    text = to_json(p)
    check("plan.json", text)
    again = load_plan(text)
    assert again == p and to_table(again) == to_table(p)


def test_load_plan_rejects_other_schema(tmp_path):
    import pytest

    from optimizer.errors import LlmplanError
    p = json.loads(to_json(golden_plan(tmp_path)))
    p["schema_version"] = "9.0"
    with pytest.raises(LlmplanError, match="unsupported plan schema_version"):
        load_plan(json.dumps(p), "old.json")


def test_markdown_golden(tmp_path):
    check("plan_report.md", to_markdown(golden_plan(tmp_path)))


def test_html_golden(tmp_path):
    check("plan_report.html", to_html(golden_plan(tmp_path)))


def test_report_rerenders_a_saved_plan(tmp_path):
    from click.testing import CliRunner

    from optimizer.cli import main
    p = golden_plan(tmp_path)
    saved = tmp_path / "plan.json"
    saved.write_text(to_json(p))
    for fmt, fn in (("markdown", to_markdown), ("html", to_html)):
        out = tmp_path / f"report.{fmt}"
        r = CliRunner().invoke(main, ["report", str(saved), "--format", fmt, "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert out.read_text() == fn(p)


def test_report_of_a_plan_without_explanations_says_so(tmp_path):
    p = golden_plan(tmp_path).model_copy(update={"constraint_costs": None, "alternatives": None,
                                                 "entry_prices": None})
    md = to_markdown(p)
    assert md.count("Not computed for this plan (run `llmplan solve --explain`).") == 2
