"""Regression tests, one per class of bad input issue 9 names: each exits 2 with the file or option, the field and a
fix, never a traceback; and the valid neighbours (a BOM, volumes from 1 to 1e11) still work."""

import json
import math
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import api, check_golden, measured, serving, write_catalog

from optimizer.cli import main
from optimizer.errors import CatalogError, LlmplanError, ProblemError
from optimizer.loaders import parse_json, parse_yaml, read_csv_rows
from optimizer.problem import load_problem, parse_problem

GOLDEN_PLAN = Path(__file__).parent / "golden" / "plan.json"


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    return r


def bad(*args, names=(), code=2):
    """Run; expect `code`, a fix, and every string of `names` in the message."""
    r = run(*args)
    assert r.exit_code == code, r.output
    assert "fix:" in r.output or "give e.g." in r.output, r.output
    for n in names:
        assert str(n) in r.output, (n, r.output)
    return r.output


def problem_dict(**kw):
    d = {"workloads": [serving("chat", peak=20.0, req=2_000_000)], "measured": [measured("chat", rps=10.0)]}
    d.update(kw)
    return d


@pytest.fixture
def cat(tmp_path):
    return write_catalog(tmp_path / "cat", apis=[api("apix/tiny-8b", "apix", "global", 0.1, 0.2, rpm=600)])


@pytest.fixture
def prob_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(problem_dict()))
    return p


# ---- files: every kind of broken path and text ------------------------------------------------------------------

@pytest.mark.parametrize("make, expect", [
    (lambda p: None, "file not found"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: os.symlink(p, p), "symlink loop"),
    (lambda p: p.write_bytes(b"workloads: \xff\xfe"), "not UTF-8"),
    (lambda p: p.write_text(""), "file is empty"),
    (lambda p: p.write_text("a: " + "[" * 50_000 + "]" * 50_000), "nested more than"),
    (lambda p: p.write_text("name: a\nname: b\nworkloads: []\n"), "duplicate key 'name'"),
])
def test_problem_file_faults(tmp_path, make, expect):
    p = tmp_path / "p.yaml"
    make(p)
    with pytest.raises(ProblemError, match=expect) as e:
        load_problem(p)
    assert str(p) in str(e.value) and e.value.fix
    bad("solve", p, names=[p, expect])


def test_a_bom_is_accepted_by_every_loader(tmp_path, cat, prob_file):
    """solve accepted a BOM and estimate did not: now every loader drops it."""
    bom = b"\xef\xbb\xbf"
    prob_file.write_bytes(bom + prob_file.read_bytes())
    for f in cat.glob("*.csv"):
        f.write_bytes(bom + f.read_bytes())
    assert run("solve", prob_file, "--catalog", cat).exit_code == 0
    assert run("estimate", "--model", "tiny-8b", "--gpu", "TESTGPU", "--catalog", cat).exit_code == 0
    out = tmp_path / "plan.json"
    assert run("solve", prob_file, "--catalog", cat, "--format", "json", "-o", out).exit_code == 0
    out.write_bytes(bom + out.read_bytes())
    assert run("report", out, "--format", "table").exit_code == 0


@pytest.mark.parametrize("text, expect, where", [
    ('{"a": NaN}', "NaN is not a number", "a"),
    ('{"a": [1, Infinity]}', "Infinity is not a number", "a[1]"),
    ('{"a": 1e400}', "out of range", "a"),
    ('{"a": 1e-320}', "too small", "a"),
    ('{"a": ' + "9" * 5001 + "}", "5001 digits", "a"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'", "(top level)"),
    ('{"a": "x\\ud800y"}', "lone UTF-16 surrogate", "a"),
    ("[" * 100_000 + "]" * 100_000, "nested more than", None),
])
def test_json_values_no_file_may_hold(text, expect, where):
    with pytest.raises(LlmplanError, match=expect) as e:
        parse_json(text, file="x.json", fix="f")
    assert e.value.file == "x.json" and (where is None or e.value.where == where)


@pytest.mark.parametrize("text, expect", [
    ("a: .nan\n", "NaN"), ("a: .inf\n", "out of range"), ("a: 1.0e+400\n", "out of range"),
    ("a: " + "1" * 5001 + "\n", "5001 digits"), ('a: "\\ud800"\n', "surrogate"), ("a: 1\na: 2\n", "duplicate key"),
])
def test_yaml_values_no_file_may_hold(text, expect):
    with pytest.raises(LlmplanError, match=expect):
        parse_yaml(text, file="x.yaml", fix="f")


def test_yaml_merge_keys_still_work():
    assert parse_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", file="x", fix="f")["c"] == {"x": 1, "y": 3}


def test_csv_faults(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(CatalogError, match="repeats column"):
        read_csv_rows(f, what="t", fix="f", error=CatalogError)
    f.write_text("a,b\n1,2,3\n")
    with pytest.raises(CatalogError, match="line 2") as e:
        read_csv_rows(f, what="t", fix="f", error=CatalogError)
    assert "3 cells" in str(e.value)


# ---- numbers that passed validation and crashed later ------------------------------------------------------------

@pytest.mark.parametrize("field, value, expect", [  # values as YAML text
    ("requests_per_month", "1.0e-320", "too small"),
    ("requests_per_month", "1.0e+16", "less than or equal to 1000000000000000"),
    ("requests_per_month", "0.5", "greater than or equal to 1"),
    ("peak_rps", "1.0e+308", "out of range"),
    ("input_tokens", "1" + "0" * 400, "401 digits"),
    ("input_tokens", "20000000", "less than or equal to 10000000"),
    ("output_tokens", "9" * 5001, "5001 digits"),
    ("ttft_ms", "1.0e-9", "greater than or equal to 0.01"),
])
def test_problem_numbers_out_of_bounds_name_workload_and_field(tmp_path, field, value, expect):
    """1e-320, 1e308, 10^400 and 5,001 digits passed validation and crashed in HiGHS or Python later."""
    p = tmp_path / "p.yaml"
    d = problem_dict()
    d["workloads"][0][field] = "RAW"
    p.write_text(yaml.safe_dump(d).replace("RAW", value))
    bad("solve", p, names=[p, "workloads[0] (chat)" if "digits" not in expect else ", column ", expect])


@pytest.mark.parametrize("req", [1, 1e11])
def test_valid_volumes_from_1_to_1e11_load(req):
    d = problem_dict()
    d["workloads"][0].update(requests_per_month=req, peak_rps=max(1e-3, req / 2.628e6 * 2))
    assert parse_problem(d, "x.yaml").workloads[0].requests_per_month == req


def test_a_checked_date_in_the_future_is_rejected(tmp_path, cat):
    q = {"name": "q", "gpu": "TESTGPU", "ondemand_hourly_usd": 1.0, "jurisdiction": "us", "source": "a quote",
         "checked": "2999-01-01"}
    with pytest.raises(ProblemError, match="in the future") as e:
        parse_problem(problem_dict(quotes=[q]), "p.yaml")
    assert e.value.where == "quotes[0] (q).checked"
    f = cat / "offers.csv"
    f.write_text(f.read_text().replace("2026-11-24", "2999-01-01", 1))
    bad("catalog", "validate", cat, names=["offers.csv", "line 2", "checked", "in the future"])


# ---- options ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt, value", [
    ("--gap", "-1"), ("--gap", "nan"), ("--gap", "inf"), ("--gap", "2"), ("--gap", "1"),
    ("--time-limit", "-1"), ("--time-limit", "nan"), ("--time-limit", "inf"), ("--time-limit", "0"),
    ("--time-limit", "1e-320"),
])
def test_solver_options_are_checked(prob_file, cat, opt, value):
    """--gap 2 used to give a 'feasible' plan far from the optimum; nan and inf were accepted."""
    for cmd in ("solve", "budget", "breakeven"):
        bad(cmd, prob_file, "--catalog", cat, opt, value, names=[opt])


def test_output_paths_are_checked_before_solving(tmp_path, prob_file, cat):
    bad("solve", prob_file, "--catalog", cat, "-o", tmp_path, names=["-o", "is a folder"])
    (tmp_path / "f").write_text("x")
    bad("solve", prob_file, "--catalog", cat, "-o", tmp_path / "f" / "plan.txt",
        names=["-o", "is a file, not a folder"])


def test_simulate_options(tmp_path):
    bad("simulate", GOLDEN_PLAN, "--seed", "-1", names=["--seed"])
    bad("simulate", GOLDEN_PLAN, "--hours", "nan", names=["--hours"])
    bad("simulate", GOLDEN_PLAN, "--spot-preemption", "-0.5", names=["--spot-preemption"])


def test_meta_that_is_not_a_csv(tmp_path, cat):
    meta = tmp_path / "meta.json"
    meta.write_text('{"not": "a csv"}')
    src = tmp_path / "prices.json"
    src.write_text("{}")
    out = bad("catalog", "import", "litellm", src, "--into", tmp_path / "new", "--meta", meta, "--base", cat,
              names=[meta, "missing columns"])
    assert not (tmp_path / "new").exists()  # nothing written before the inputs are read


def test_skypilot_rows_with_nan_counts_are_rejected_rows_not_a_crash(tmp_path, cat):
    f = tmp_path / "aws_vms.csv"
    f.write_text("InstanceType,AcceleratorName,AcceleratorCount,Price,SpotPrice,Region,AvailabilityZone\n"
                 "a,TESTGPU,nan,1.0,,us-east-1,\nb,TESTGPU,inf,1.0,,us-east-1,\nc,TESTGPU,1,1.0,,us-east-1,\n")
    r = run("catalog", "import", "skypilot", f, "--into", tmp_path / "new", "--base", cat, "--no-assumptions",
            "--checked", "2026-11-24")
    assert r.exit_code == 0, r.output
    assert "2 rows: fractional or missing GPU count" in r.output


# ---- work limits ------------------------------------------------------------------------------------------------

def test_every_solve_has_a_default_time_limit(monkeypatch):
    import pulp

    from optimizer.bounds import DEFAULT_TIME_LIMIT_S
    from optimizer.model import solve as S
    seen = {}
    real = S._solve_highs

    def spy(prob, time_limit, *a, **kw):
        seen["time_limit"] = time_limit
        return real(prob, time_limit, *a, **kw)
    monkeypatch.setattr(S, "_solve_highs", spy)
    p = pulp.LpProblem("x", pulp.LpMinimize)
    x = p.add_variable("x", 0, 3, "Integer")
    p += x
    p += x >= 1
    assert S.solve(p).objective == 1
    assert seen["time_limit"] == DEFAULT_TIME_LIMIT_S == 60


def test_cbc_that_ignores_its_time_limit_is_stopped(tmp_path, monkeypatch):
    """A CBC stand-in that never returns: the watchdog kills it CBC_GRACE_S after the limit: a SolverError."""
    import time

    import pulp

    from optimizer.errors import SolverError
    from optimizer.model import solve as S
    fake = tmp_path / "cbc"
    fake.write_text("#!/usr/bin/env python3\nimport time\ntime.sleep(60)\n")
    fake.chmod(0o755)
    monkeypatch.setattr(S, "cbc_path", lambda: str(fake))
    monkeypatch.setattr(S, "CBC_GRACE_S", 0.5)
    p = pulp.LpProblem("x", pulp.LpMinimize)
    x = p.add_variable("x", 0, 3, "Integer")
    p += x
    p += x >= 1
    t = time.perf_counter()
    with pytest.raises(SolverError, match="did not stop at its 1 s time limit"):
        S.solve(p, "cbc", time_limit=1.0)
    assert time.perf_counter() - t < 10


def test_simulate_refuses_more_arrivals_than_it_replays(tmp_path):
    """A plan peaking at 234,000 req/s ran for minutes: now a clear refusal with the number and the fix."""
    data = json.loads(GOLDEN_PLAN.read_text())
    for w in data["workloads"]:
        if w["kind"] == "serving":
            w["peak_rps"] = 234_000.0
    f = tmp_path / "big.json"
    f.write_text(json.dumps(data))
    out = bad("simulate", f, names=[f, "--hours", "arrivals expected", "5,000,000"])
    assert "--hours 0.0" in out  # the fix gives the hours that fit


def test_simulate_json_has_no_nan():
    from optimizer.routing.report import _finite
    assert _finite({"a": [math.nan, 1.0, math.inf], "b": -math.inf}) == {"a": [None, 1.0, None], "b": None}
    r = run("simulate", GOLDEN_PLAN, "--hours", "0.05", "--format", "json")
    assert r.exit_code == 0
    json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"{c} in simulate JSON"))


def test_a_plan_holding_inf_is_rejected_when_loaded_not_when_rendered(tmp_path):
    f = tmp_path / "inf.json"
    data = json.loads(GOLDEN_PLAN.read_text())
    f.write_text(json.dumps(data).replace(f'"monthly_cost_usd": {json.dumps(data["monthly_cost_usd"])}',
                                          '"monthly_cost_usd": 1e400', 1))
    bad("report", f, "--format", "html", names=[f, "monthly_cost_usd", "out of range"])


# ---- renderers ----------------------------------------------------------------------------------------------------

def _zero(o):
    if isinstance(o, dict):
        return {k: (0.0 if "usd" in k and isinstance(v, (int, float)) and not isinstance(v, bool) else _zero(v))
                for k, v in o.items()}
    return [_zero(x) for x in o] if isinstance(o, list) else o


def test_a_zero_dollar_plan_renders_in_every_format():
    """delta_percent is None against a $0 plan: markdown and html crashed with a TypeError."""
    from optimizer.render.html import to_html
    from optimizer.render.json_out import load_plan
    from optimizer.render.markdown import to_markdown
    from optimizer.render.table import to_table
    data = _zero(json.loads(GOLDEN_PLAN.read_text()))
    for a in data["alternatives"]:
        a["delta_percent"] = None
    for c in data["categories"]:
        c["percent"] = 0.0
    p = load_plan(json.dumps(data), "zero.json")
    md = to_markdown(p)
    check_golden("plan_zero_report.md", md)
    assert "%)" not in "".join(line for line in md.splitlines() if "+0.00" in line)
    assert "<html" in to_html(p).lower() and to_table(p)


def test_plan_numbers_out_of_their_bounds_are_rejected_when_loaded(tmp_path):
    """An edited plan with 1e12 instances or a share of 3 would loop or overflow in a renderer or the simulation."""
    data = json.loads(GOLDEN_PLAN.read_text())
    data["deployments"][0]["instances"] = 10**12
    f = tmp_path / "p.json"
    f.write_text(json.dumps(data))
    bad("simulate", f, "--spot-preemption", "1", names=[f, "deployments[0].instances", "outside [0, 1e+06]"])
    data = json.loads(GOLDEN_PLAN.read_text())
    data["api"][0]["share"] = 3
    f.write_text(json.dumps(data))
    bad("report", f, names=[f, "api[0].share", "outside [0, 1]"])


def test_simulate_refuses_more_spot_reclaims_than_it_replays(tmp_path):
    data = json.loads(GOLDEN_PLAN.read_text())
    for d in data["deployments"]:
        d["capacity_type"], d["instances"] = "spot", 1_000_000
    f = tmp_path / "spot.json"
    f.write_text(json.dumps(data))
    bad("simulate", f, "--spot-preemption", "50", names=[f, "--spot-preemption", "spot reclaims expected"])


def test_diff_of_a_plan_whose_api_is_in_neither_catalog(tmp_path, cat):
    """An api_id edited in a saved plan crashed `diff` with an AttributeError (found by bench/fuzz_inputs.py)."""
    data = json.loads(GOLDEN_PLAN.read_text())
    data["api"][0]["api_id"] = "nowhere/x"
    f = tmp_path / "edited.json"
    f.write_text(json.dumps(data))
    r = run("diff", GOLDEN_PLAN, f, "--old-catalog", cat, "--new-catalog", cat)
    assert r.exit_code == 0 and "API nowhere/x: in neither catalog" in r.output
