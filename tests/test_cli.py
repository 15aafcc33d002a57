"""CLI behaviour: exit codes, clear errors without tracebacks, stdout hygiene, atomic output files."""

import json
from pathlib import Path

from click.testing import CliRunner
from helpers import measured, serving, write_catalog

from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_bad_yaml_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("workloads:\n  - name: x\n   category: inference\n")
    r = run("solve", str(p))
    assert r.exit_code == 2
    assert "bad.yaml" in r.stderr and "line" in r.stderr and "fix:" in r.stderr
    assert "Traceback" not in r.output and r.stdout == ""


def test_unknown_field_names_workload_and_field(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("workloads:\n  - name: chat\n    models: [llama-3.1-8b]\n    requests_per_month: 1000\n"
                 "    peak_to_average: 2\n    input_tokens: 10\n    output_tokens: 10\n    latencytier: batch\n")
    r = run("solve", str(p))
    assert r.exit_code == 2
    assert "workloads[0] (chat).latencytier: unknown field" in r.stderr


def test_unknown_model_suggests(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("workloads:\n  - name: chat\n    models: [llama-3.1-8bb]\n    requests_per_month: 1000\n"
                 "    peak_to_average: 2\n    input_tokens: 10\n    output_tokens: 10\n")
    r = run("solve", str(p), "--catalog", str(ROOT / "catalogs" / "2026-12-03"))
    assert r.exit_code == 2 and "Did you mean: llama-3.1-8b" in r.stderr


def test_missing_problem_file():
    r = run("solve", "no/such.yaml")
    assert r.exit_code == 2 and "no/such.yaml: file not found" in r.stderr


def test_infeasible_exits_3_with_explanation(tmp_path):
    cat = write_catalog(tmp_path / "cat", apis=[])
    p = tmp_path / "p.yaml"
    import yaml
    p.write_text(yaml.safe_dump({"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
                                 "policy": {"max_utilization": 1.0, "budget_monthly_usd": 100}}))
    r = run("solve", str(p), "--catalog", str(cat))
    assert r.exit_code == 3
    assert "infeasible" in r.stderr and "budget" in r.stderr and r.stdout == ""


def test_output_file_is_written_and_not_clobbered_on_failure(tmp_path):
    cat = write_catalog(tmp_path / "cat", apis=[])
    import yaml
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)]}))
    out = tmp_path / "plan.json"
    r = run("solve", str(good), "--catalog", str(cat), "--format", "json", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    before = out.read_text()
    assert json.loads(before)["status"] == "optimal"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)],
                                   "policy": {"budget_monthly_usd": 1}}))
    r = run("solve", str(bad), "--catalog", str(cat), "--format", "json", "-o", str(out))
    assert r.exit_code == 3
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan.json")] == []


def test_time_limit_and_gap_are_reported(tmp_path):
    cat = write_catalog(tmp_path / "cat", apis=[])
    import yaml
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump({"workloads": [serving(peak=30.0)], "measured": [measured(rps=10.0)]}))
    r = run("solve", str(p), "--catalog", str(cat), "--format", "json", "--time-limit", "5", "--gap", "0.01")
    d = json.loads(r.stdout)
    assert d["solver"]["time_limit_s"] == 5 and d["solver"]["gap_requested"] == 0.01
    assert d["status"] in ("optimal", "feasible") and d["gap"] is not None


def test_version():
    r = run("--version")
    assert r.exit_code == 0 and "llmplan" in r.stdout
