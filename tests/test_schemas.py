"""JSON Schemas: generated from the models, shipped current in schemas/, referenced by every example, and the
examples read the same under YAML 1.1 (PyYAML, llmplan) and YAML 1.2 (editors)."""

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from yaml12 import load12

from optimizer.cli import main
from optimizer.problem import load_problem, parse_problem
from optimizer.schemas import NAMES, json_schema, schema_text

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
EXAMPLES = sorted((ROOT / "problems").glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/problem.schema.json"


def _dates_as_text(v):
    """YAML 1.1 reads 2026-11-24 as a date, 1.2 as a string; the schema (format: date) and pydantic take both."""
    if isinstance(v, dict):
        return {k: _dates_as_text(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_dates_as_text(x) for x in v]
    return v.isoformat() if isinstance(v, dt.date) else v


@pytest.mark.parametrize("name", NAMES)
def test_shipped_schema_is_current(name):
    """schemas/<name>.schema.json is what `llmplan schema <name>` prints (UPDATE_GOLDEN=1 rewrites it)."""
    path = SCHEMAS / f"{name}.schema.json"
    text = schema_text(name)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, f"{path} is stale: run `llmplan schema {name} -o {path.relative_to(ROOT)}`"
    r = CliRunner().invoke(main, ["schema", name])
    assert r.exit_code == 0 and r.stdout == text


def test_schema_command_errors_and_kinds():
    r = CliRunner().invoke(main, ["schema", "plan", "--kind", "gpus"])
    assert r.exit_code == 2 and "--kind applies only to the catalog-row schema" in r.stderr
    r = CliRunner().invoke(main, ["schema", "problme"])
    assert r.exit_code == 2
    offers = json.loads(CliRunner().invoke(main, ["schema", "catalog-row", "--kind", "offers"]).stdout)
    assert "offer_id" in offers["properties"] and "ondemand_hourly_usd" in offers["properties"]
    rows = json_schema("catalog-row")
    assert len(rows["anyOf"]) == 5 and {"GpuSpec", "Offer", "ModelSpec", "ApiOffer", "GridRow"} <= set(rows["$defs"])


def test_problem_schema_accepts_what_the_parser_accepts():
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    v = jsonschema_rs.validator_for(json_schema("problem"))
    one = {"name": "chat", "models": "llama-3.1-8b", "requests_per_month": 1000, "peak_to_average": 2,
           "input_tokens": 100, "output_tokens": 10}
    parse_problem({"workloads": [one]})  # a single string for a list field is accepted ...
    assert v.is_valid({"workloads": [one]})  # ... and the schema says so
    assert not v.is_valid({"workloads": []})
    assert not v.is_valid({"workloads": [{**one, "colour": "red"}]})
    assert not v.is_valid({"workloads": [{**one, "requests_per_month": "8_000_000"}]})  # a YAML 1.2 string


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_points_editors_at_the_shipped_schema(path):
    first = path.read_text().splitlines()[0]
    assert first == SCHEMA_LINE
    target = (path.parent / first.split("$schema=")[1]).resolve()
    assert target == (SCHEMAS / "problem.schema.json").resolve() and target.is_file()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_reads_the_same_under_yaml_1_1_and_1_2(path):
    text = path.read_text()
    y11, y12 = yaml.safe_load(text), load12(text)
    assert _dates_as_text(y11) == y12
    assert parse_problem(y12, str(path)) == load_problem(path)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_valid_under_the_schema_as_an_editor_reads_it(path):
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    v = jsonschema_rs.validator_for(json.loads((SCHEMAS / "problem.schema.json").read_text()))
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in v.iter_errors(load12(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize("text, v11, v12", [
    ("n: 8_000_000", 8000000, "8_000_000"),
    ("n: 8e6", "8e6", 8000000.0),
    ("n: 012", 10, 12),
    ("n: 1:20", 80, "1:20"),
    ("j: no", False, "no"),
    ("d: 2026-11-24", dt.date(2026, 11, 24), "2026-11-24"),
    ("n: 8.0e+6", 8000000.0, 8000000.0),
    ("n: 8000000", 8000000, 8000000),
])
def test_the_two_readers_differ_where_yaml_1_1_and_1_2_differ(text, v11, v12):
    """The comparison above can fail: these are the forms on which YAML 1.1 and 1.2 disagree (and two on which
    they agree)."""
    assert list(yaml.safe_load(text).values()) == [v11]
    assert list(load12(text).values()) == [v12]
