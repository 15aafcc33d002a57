"""Random bad inputs for every command: the cases, how to run one, and how to judge its outcome.

A case is one `llmplan` command line over files that are valid except for one thing: an option given a bad
value, an input file broken in one of the classes `FILE_FAULTS` lists (a folder, a symlink loop, not UTF-8, a
BOM, empty, deeply nested, duplicate keys, ...), or one field of a problem, plan or catalog row replaced with a
value from `NASTY` (NaN, 1e-320, 1e308, 10^400, a 5,001-digit integer, a lone surrogate, a date in the future,
...). Used by tests/test_fuzz_inputs.py (hypothesis draws the choices) and bench/fuzz_inputs.py (10,000+ cases
from a seeded random generator).

Judging (`judge`): no exception escapes and no "Traceback" or "internal error" is printed; the exit code is 0
(the change happened to be valid), 2 (bad input), 3 (infeasible) or 4 (solver); exit 2 must name the file or the
option and give a fix.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from click.testing import CliRunner
from helpers import api, measured, serving, write_catalog

RAW = "__RAW__"

# Literal texts substituted for a field's value in YAML, JSON or a CSV cell.
NASTY = ["-1", "0", "1e-320", "1e-300", "1e308", "1e400", "-1e400", "1" + "0" * 400, "9" * 5001, ".nan", ".inf",
         "NaN", "Infinity", "-Infinity", "nan", "inf", '""', '"x"', "null", "true", "[]", "{}", "[1, 2]",
         '"\\ud800"', '"a\\udfffb"', '"2099-01-01"', "2099-01-01", "0.5", "3", "1e15", "1e16", "10000001",
         '"' + "x" * 5000 + '"', "-0.0", "1e-7", "2.5e-6", "0x10", '"\\u0000"']

# Values given to options (one option per case).
BAD_OPTION_VALUES = ["-1", "nan", "inf", "-inf", "2", "1", "0", "1e400", "abc", "", "9" * 5001, "1e-320",
                     "0.999999", "\udcff", "-0", "1.5", "100000000000000000000", " 3 "]

FILE_FAULTS = ["missing", "folder", "symlink_loop", "dangling_symlink", "not_utf8", "bom", "empty", "whitespace",
               "deep", "duplicate_key", "random_bytes", "truncated", "nul_bytes", "below_a_file", "long_name",
               "huge_line"]

FORMATS = ["table", "json", "markdown", "html"]


class Chooser:
    """What a case generator draws from: hypothesis's `data.draw` or a seeded `random.Random`."""

    def __init__(self, rng=None, data=None):
        self.rng, self.data = rng, data

    def pick(self, options):
        options = list(options)
        if self.data is not None:
            from hypothesis import strategies as st
            return self.data.draw(st.sampled_from(options))
        return self.rng.choice(options)

    def coin(self, p: float = 0.5) -> bool:
        if self.data is not None:
            from hypothesis import strategies as st
            return self.data.draw(st.booleans())
        return self.rng.random() < p


# ---- valid base inputs ------------------------------------------------------------------------------------------

def base_problem() -> dict:
    return {
        "name": "fuzz",
        "workloads": [serving("chat", peak=20.0, req=2_000_000, apis=["tiny-8b"]), serving("summaries", peak=4.0),
                      {"name": "ft", "category": "fine-tuning", "gpu": "TESTGPU", "gpu_count": 4,
                       "hours_per_month": 40}],
        "measured": [measured("chat", rps=10.0), measured("summaries", rps=10.0)],
        "policy": {"ops_overhead_monthly_usd": 250, "max_utilization": 1.0},
        "quotes": [{"name": "q1", "gpu": "TESTGPU", "ondemand_hourly_usd": 2.0, "jurisdiction": "us",
                    "source": "a quote", "checked": "2026-11-01"}],
        "references": [{"label": "sheet", "what": "monthly_cost_usd", "value": 1000.0}],
    }


SKYPILOT = ("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,SpotPrice,Region,AvailabilityZone\n"
            "p5.48xlarge,TESTGPU,8,192,2048,98.32,30.1,us-east-1,us-east-1a\n"
            "g5.xlarge,TESTGPU,1,4,16,1.006,0.4,us-east-1,us-east-1b\n")

LITELLM = {"sample_spec": {"mode": "chat"},
           "fuzz-model": {"mode": "chat", "input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7,
                          "max_input_tokens": 131072, "litellm_provider": "fuzzco"}}

META = ("litellm_key,provider,model,jurisdictions,regional_variants,account_tier,rpm,tpm,rate_limit_source,ttft_ms,"
        "tpot_ms,latency_source,quality_tier,checked\n"
        "fuzz-model,fuzzco,tiny-8b,,,t1,1000,1000000,test,300,10,test,1,2026-11-24\n")


@dataclass
class Bases:
    """Valid files every case starts from, made once: a catalog folder, a problem, a plan, import sources."""

    root: Path
    catalog: Path
    problem: dict
    plan_json: str

    @classmethod
    def make(cls, root: Path) -> Bases:
        from optimizer.catalog import load_catalog
        from optimizer.planner import SolveOptions, plan
        from optimizer.problem import parse_problem
        from optimizer.render.json_out import to_json

        root.mkdir(parents=True, exist_ok=True)
        cat = write_catalog(root / "cat", apis=[api("apix/tiny-8b", "apix", "global", 0.1, 0.2, rpm=600)])
        prob = base_problem()
        p = plan(parse_problem(prob, "fuzz.yaml"), load_catalog(cat), SolveOptions())
        return cls(root, cat, prob, to_json(p))


# ---- cases ------------------------------------------------------------------------------------------------------

@dataclass
class Case:
    kind: str  # "option", "file" or "field"
    what: str  # a short label: option name, file fault, or field path
    argv: list[str]
    files: dict = field(default_factory=dict)  # role -> path (for the judge: messages may name any of them)
    options: tuple = ()  # options the message may name


# role -> how its valid text is made, and its syntax (for faults and field edits)
SYNTAX = {"problem": "yaml", "plan": "json", "plan2": "json", "skypilot": "csv", "litellm": "json", "meta": "csv",
          "discounts": "csv", "catalog": "dir"}

COMMANDS = {
    # name: (argv template, {option: example-of-valid})
    "solve": (["solve", "{problem}", "--catalog", "{catalog}"],
              ["--format", "--time-limit", "--gap", "-o", "--solver", "--compare-to", "--catalog"]),
    "breakeven": (["breakeven", "{problem}", "--catalog", "{catalog}"],
                  ["--workload", "--method", "--format", "--time-limit", "--gap", "--catalog"]),
    "budget": (["budget", "{problem}", "--catalog", "{catalog}"], ["--format", "--time-limit", "--gap"]),
    "report": (["report", "{plan}"], ["--format", "-o"]),
    "diff": (["diff", "{plan}", "{plan2}", "--old-catalog", "{catalog}", "--new-catalog", "{catalog}"],
             ["--format", "-o", "--old-catalog"]),
    "estimate": (["estimate", "--model", "tiny-8b", "--gpu", "TESTGPU", "--catalog", "{catalog}"],
                 ["--model", "--gpu", "--precision", "--tp", "--isl", "--osl", "--concurrency", "--kv-dtype",
                  "--format", "-o", "--catalog"]),
    "catalog validate": (["catalog", "validate", "{catalog}"], []),
    "catalog list": (["catalog", "list", "gpus", "--catalog", "{catalog}"],
                     ["--gpu", "--cloud", "--jurisdiction", "--region", "--model", "--format", "-o"]),
    "catalog diff": (["catalog", "diff", "{catalog}", "{catalog}"], ["--kind", "--gpu", "--cloud", "--limit",
                                                                     "--format", "-o"]),
    "import skypilot": (["catalog", "import", "skypilot", "{skypilot}", "--into", "{into}", "--base", "{catalog}",
                         "--no-assumptions", "--checked", "2026-11-24"], ["--into", "--base", "--discounts"]),
    "import litellm": (["catalog", "import", "litellm", "{litellm}", "--into", "{into}", "--meta", "{meta}",
                        "--base", "{catalog}", "--label", "LiteLLM fuzz", "--checked", "2026-11-24"],
                       ["--into", "--meta", "--label", "--base"]),
    "route export": (["route", "export", "{plan}", "--to", "litellm"], ["--to", "-o"]),
    "simulate": (["simulate", "{plan}", "--hours", "0.01"],
                 ["--hours", "--fail", "--spot-preemption", "--spot-recovery", "--seed", "--strategy", "--load",
                  "--format", "-o"]),
}


def _roles(argv: list[str]) -> list[str]:
    return [m for a in argv for m in re.findall(r"\{(\w+)\}", a) if m in SYNTAX]


def option_case(ch: Chooser) -> Case:
    name = ch.pick(sorted(c for c in COMMANDS if COMMANDS[c][1]))
    argv, opts = COMMANDS[name]
    opt = ch.pick(opts)
    value = ch.pick(BAD_OPTION_VALUES + ["{dir}", "{below_file}", "{missing}/x", "/"])
    return Case("option", f"{name} {opt}={value[:12]!r}", list(argv) + [opt, value], options=(opt,))


def file_case(ch: Chooser) -> Case:
    name = ch.pick(sorted(c for c in COMMANDS if _roles(COMMANDS[c][0])))
    argv = list(COMMANDS[name][0])
    if name == "solve" and ch.coin(0.2):
        argv += ["--compare-to", "{plan}"]
    if name == "import skypilot" and ch.coin(0.3):
        argv = [a for a in argv if a != "--no-assumptions"] + ["--discounts", "{discounts}"]
    role = ch.pick(sorted(set(_roles(argv))))
    fault = ch.pick(FILE_FAULTS)
    return Case("file", f"{name} {role}:{fault}", argv, files={"fault": (role, fault)})


def _paths(tree, prefix=()):
    """Every path to a value (and to every list/dict) in a JSON-like tree."""
    out = [prefix] if prefix else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def field_case(ch: Chooser, bases: Bases) -> Case:
    target = ch.pick(["problem", "plan", "catalog"])
    if target == "problem":
        name = ch.pick(["solve", "budget", "breakeven"])
        tree = base_problem()
        path = ch.pick(_paths(tree))
    elif target == "plan":
        name = ch.pick(["report", "simulate", "route export", "diff"])
        tree = json.loads(bases.plan_json)
        path = ch.pick(_paths(tree))
    else:
        name = ch.pick(["catalog validate", "solve", "estimate"])
        kind = ch.pick(["gpus", "offers", "models", "apis"])
        from optimizer.catalog.write import columns
        path = (kind, ch.pick(columns(kind)))
    argv = list(COMMANDS[name][0])
    if target == "plan" and name in ("report",):
        argv += ["--format", ch.pick(FORMATS)]
    value = ch.pick(NASTY + ["<delete>", "<unknown key>"])
    return Case("field", f"{name} {target}:{'.'.join(map(str, path))}={value[:12]}", argv,
                files={"field": (target, path, value)})


def make_case(ch: Chooser, bases: Bases) -> Case:
    return ch.pick([option_case, file_case, lambda c: field_case(c, bases)])(ch)


# ---- materialising a case ---------------------------------------------------------------------------------------

def _set(tree, path, value):
    node = tree
    for p in path[:-1]:
        node = node[p]
    if value == "<delete>":
        if isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            node.pop(path[-1])
    elif value == "<unknown key>":
        if isinstance(node, dict):
            node["unknown_fuzz_key"] = 1
        else:
            node[path[-1]] = {"unknown_fuzz_key": 1}
    else:
        node[path[-1]] = RAW


def _raw_json(value: str) -> str:
    """A NASTY literal as JSON text (YAML spellings mapped to their nearest JSON text)."""
    return {".nan": "NaN", ".inf": "Infinity", "true": "true", "2099-01-01": '"2099-01-01"'}.get(value, value)


def _dump(syntax: str, tree, value: str | None) -> str:
    if syntax == "yaml":
        text = yaml.safe_dump(tree, sort_keys=False)
        return text.replace(f"'{RAW}'", value).replace(RAW, value) if value is not None else text
    text = json.dumps(tree, indent=1)
    return text.replace(f'"{RAW}"', _raw_json(value)) if value is not None else text


def _csv_cell(value: str) -> str:
    v = value.strip('"')
    return '"' + v.replace('"', '""') + '"' if "," in v or '"' in v else v


def _valid_text(role: str, bases: Bases) -> str:
    return {"problem": yaml.safe_dump(bases.problem, sort_keys=False), "plan": bases.plan_json,
            "plan2": bases.plan_json, "skypilot": SKYPILOT, "litellm": json.dumps(LITELLM), "meta": META,
            "discounts": "provider,capacity_type,discount,source,checked\ntestcloud,reserved_1y,0.3,doc,2026-11-24\n"
            }[role]


def _fault(path: Path, role: str, fault: str, text: str, work: Path) -> Path:
    """Write `role`'s file at `path` broken by `fault`; returns the path to pass."""
    syntax = SYNTAX[role]
    if fault == "missing":
        return path
    if fault == "folder":
        path.mkdir()
        return path
    if fault == "symlink_loop":
        os.symlink(path, path)
        return path
    if fault == "dangling_symlink":
        os.symlink(work / "nowhere", path)
        return path
    if fault == "below_a_file":
        (work / "afile").write_text("x")
        return work / "afile" / path.name
    if fault == "long_name":
        return path.with_name("x" * 300 + path.name)
    data = text.encode()
    if fault == "not_utf8":
        data = data[: len(data) // 2] + b"\xff\xfe\xc3" + data[len(data) // 2:]
    elif fault == "bom":
        data = b"\xef\xbb\xbf" + data
    elif fault == "empty":
        data = b""
    elif fault == "whitespace":
        data = b"  \n\n\t\n"
    elif fault == "deep":
        data = (b"[" * 200_000 + b"]" * 200_000) if syntax != "csv" else b"a\n" + b'"' * 100_000
    elif fault == "duplicate_key":
        if syntax == "yaml":
            data = b"name: one\n" + data
        elif syntax == "json":
            data = b'{"schema_version": "1.1", ' + data.lstrip()[1:]
        else:
            header, _, rest = text.partition("\n")
            data = (header + "," + header.split(",")[0] + "\n" + rest).encode()
    elif fault == "random_bytes":
        data = bytes((i * 7919 + 13) % 256 for i in range(4000))
    elif fault == "truncated":
        data = data[: max(1, len(data) // 3)]
    elif fault == "nul_bytes":
        data = data[:10] + b"\x00\x00" + data[10:]
    elif fault == "huge_line":
        data = data + b"\n" + b"x" * 300_000 + b"\n"
    path.write_bytes(data)
    return path


def _catalog_fault(dst: Path, fault: str, bases: Bases, work: Path) -> Path:
    """A catalog folder broken by `fault` (applied to the folder, or to one of its CSV files)."""
    if fault in ("missing", "below_a_file", "long_name", "dangling_symlink", "symlink_loop"):
        return _fault(dst, "skypilot", fault, "", work)
    if fault == "folder":  # a file where the folder should be
        dst.write_text("gpus.csv\n")
        return dst
    shutil.copytree(bases.catalog, dst)
    kind = ["gpus", "offers", "models", "apis"][len(fault) % 4]
    f = dst / f"{kind}.csv"
    text = f.read_text()
    f.unlink()
    _fault(f, "meta", fault, text, work)
    return dst


def materialise(case: Case, bases: Bases, work: Path) -> list[str]:
    """Write the case's files under `work`; the argv to run."""
    paths = {"catalog": str(bases.catalog), "into": str(work / "into"), "dir": str(work),
             "below_file": str(work / "afile" / "out.txt"), "missing": str(work / "missing")}
    (work / "afile").write_text("x")
    roles = set(_roles(case.argv))
    fault = case.files.get("fault")
    fld = case.files.get("field")
    for role in roles:
        if role == "catalog":
            if fault and fault[0] == "catalog":
                paths["catalog"] = str(_catalog_fault(work / "badcat", fault[1], bases, work))
            elif fld and fld[0] == "catalog":
                paths["catalog"] = str(_catalog_field(work / "cat", fld, bases))
            continue
        ext = {"yaml": ".yaml", "json": ".json", "csv": ".csv"}[SYNTAX[role]]
        path = work / (f"{role}{ext}" if role != "skypilot" else "aws_vms.csv")
        text = _valid_text(role, bases)
        if fault and fault[0] == role:
            paths[role] = str(_fault(path, role, fault[1], text, work))
            continue
        if fld and ((fld[0] == "problem" and role == "problem") or (fld[0] == "plan" and role == "plan")):
            tree = base_problem() if role == "problem" else json.loads(bases.plan_json)
            _set(tree, fld[1], fld[2])
            raw = fld[2] if fld[2] not in ("<delete>", "<unknown key>") else None
            text = _dump(SYNTAX[role], tree, raw)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        paths[role] = str(path)
    argv = []
    for a in case.argv:
        for k, v in paths.items():
            a = a.replace("{" + k + "}", v)
        argv.append(a)
    case.files["paths"] = {k: v for k, v in paths.items() if k in roles or k in ("into",)}
    case.files["argv"] = argv
    return argv


def _catalog_field(dst: Path, fld, bases: Bases) -> Path:
    import csv
    shutil.copytree(bases.catalog, dst)
    kind, col = fld[1]
    f = dst / f"{kind}.csv"
    with open(f, newline="") as fh:
        rows = list(csv.reader(fh))
    if len(rows) > 1 and col in rows[0]:
        i = rows[0].index(col)
        if fld[2] == "<delete>":
            rows[1][i] = ""
        elif fld[2] == "<unknown key>":
            rows[0].append("unknown_fuzz_col")
            rows[1].append("1")
        else:
            rows[1][i] = "\x00RAW\x00"
    out = "\n".join(",".join(_csv_cell(c) if c != "\x00RAW\x00" else _csv_cell(fld[2]) for c in r)
                    for r in rows) + "\n"
    f.write_bytes(out.encode("utf-8", "surrogatepass"))
    return dst


# ---- running and judging ----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    exit_code: int
    output: str
    ok: bool
    why: str  # "" when ok; else a short cause (for counting distinct causes)
    names_location: bool | None  # for exit 2: does the message name the file or option?


def run_case(case: Case, bases: Bases) -> Outcome:
    from optimizer.cli import main

    work = Path(tempfile.mkdtemp(prefix="fuzz-", dir=bases.root))
    cwd = os.getcwd()
    try:
        argv = materialise(case, bases, work)
        os.chdir(work)  # relative paths a case writes (-o 1e400) land in its own folder
        r = CliRunner().invoke(main, argv, catch_exceptions=True)
        return judge(case, r, work)
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


def judge(case: Case, r, work: Path) -> Outcome:
    out = r.output
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        tb = traceback.extract_tb(r.exception.__traceback__)
        frame = next((f for f in reversed(tb) if "/optimizer/" in f.filename or f.filename.endswith("cli.py")),
                     tb[-1] if tb else None)
        where = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
        return Outcome(1, out, False, f"{type(r.exception).__name__} at {where}", None)
    if "Traceback" in out or "internal error" in out.lower():
        return Outcome(r.exit_code, out, False, "traceback or internal error printed", None)
    if r.exit_code not in (0, 2, 3, 4):
        return Outcome(r.exit_code, out, False, f"exit code {r.exit_code}", None)
    if r.exit_code != 2:
        return Outcome(r.exit_code, out, True, "", None)
    names = _names_location(case, out)
    fix = "fix:" in out or "give e.g." in out or "Try '" in out
    ok = names and fix
    why = "" if ok else ("message names no file or option" if not names else "message gives no fix")
    return Outcome(2, out, ok, why, names)


def _names_location(case: Case, out: str) -> bool:
    """The option of an option case (or the file it names), the broken file of a file or field case."""
    if case.kind == "option":
        opt = case.options[0]
        value = case.files.get("argv", case.argv)[-1]
        shown = value.encode("utf-8", "backslashreplace").decode()
        return opt in out or (len(value) > 2 and shown in out) or f"error: {shown}:" in out
    if re.search(r"error: [^\n]*--[a-z]", out):  # the value at fault is an option's (e.g. --isl against a context)
        return True
    role = (case.files.get("fault") or case.files.get("field"))[0]
    p = case.files.get("paths", {}).get(role)
    if p is not None and (p in out or Path(p).name in out or Path(p).name[:40] in out):
        return True
    # another file the case depends on (a curated table next to --into, a catalog file): any path named
    return bool(re.search(r"error: (/|\w[\w.-]*/)[^:\n]*\.(csv|yaml|json)\b|error: /\S+: ", out))


def copy_case(case: Case) -> Case:
    return copy.deepcopy(case)
