"""`llmplan benchmark` then `llmplan measured import`: the commands measure the plan's pools, results shaped like
the real tools' files become `measured:` entries at the workloads' targets, and the next solve uses them."""

import json
import math
import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import check_golden, write_catalog

from optimizer.cli import main
from optimizer.catalog import load_catalog
from optimizer.perf.measured_import import merge_measured
from optimizer.planner import plan
from optimizer.problem import load_problem
from optimizer.render.json_out import to_json

FIXTURES = Path(__file__).parent / "fixtures" / "bench"
PROBLEM = """# a user's problem: comments and layout must survive the import
name: loop
workloads:
  - name: chat            # the interactive product
    category: inference
    models: [tiny-8b]
    requests_per_month: 10000000
    peak_rps: 40
    input_tokens: 1000
    output_tokens: 500
    latency_tier: standard   # TTFT 2000 ms, TPOT 100 ms
    precisions: [fp16]

policy:
  max_utilization: 0.8
  ttft_quantile: null   # the mean wait, as the fixture's single-pool plan was made
"""


def law(c: float) -> tuple[float, float, float]:
    """A synthetic server: p90 TTFT and TPOT grow with concurrency; throughput = c / request latency."""
    ttft, tpot = 150 + 3 * c, 20 + 0.5 * c
    return c / ((ttft + 499 * tpot) / 1000), ttft, tpot


def vllm_result(args: list[str]) -> dict:
    """What `vllm bench serve` writes for a command line (the fixture's fields, this run's values)."""
    res = json.loads((FIXTURES / "vllm_bench_serve.json").read_text())
    res = {k: v for k, v in res.items() if not k.startswith("llmplan_")}
    opt = lambda name: args[args.index(name) + 1] if name in args else None  # noqa: E731
    meta = args[args.index("--metadata") + 1:]
    res.update({m.split("=", 1)[0]: m.split("=", 1)[1] for m in meta})
    n, osl = int(opt("--num-prompts")), int(opt("--random-output-len"))
    if opt("--max-concurrency"):
        c = int(opt("--max-concurrency"))
        rps, ttft, tpot = law(c)
        res.update(max_concurrency=c, request_rate="inf")
    else:
        rps = float(opt("--request-rate"))
        _, ttft, tpot = law(rps * 3)  # a Poisson run at a modest rate keeps up with its arrivals
        res.update(max_concurrency=None, request_rate=rps)
    res.update(num_prompts=n, completed=n, failed=0, total_output_tokens=n * osl, request_throughput=rps,
               p90_ttft_ms=ttft, p90_tpot_ms=tpot, median_ttft_ms=ttft * 0.8, median_tpot_ms=tpot * 0.9,
               p99_ttft_ms=ttft * 1.4, p99_tpot_ms=tpot * 1.2)
    return res


def run_script(script: str, results: Path, keep_sidecars: bool = True) -> list[float]:
    """Play the script's benchmark steps: write each sidecar and the result file its client command names.
    Returns the concurrency levels and rates it ran."""
    results.mkdir(exist_ok=True)
    for name, body in re.findall(r'cat > "\$RESULTS/(\S+)" <<\'EOF\'\n(.*?)\nEOF', script, re.S):
        if keep_sidecars:
            (results / name).write_text(body)
    points = []
    for line in script.splitlines():
        if line.startswith("vllm bench serve"):
            args = shlex.split(line)
            (results / args[args.index("--result-filename") + 1]).write_text(json.dumps(vllm_result(args)))
            points.append(("c", int(args[args.index("--max-concurrency") + 1])) if "--max-concurrency" in args
                          else ("r", float(args[args.index("--request-rate") + 1])))
    return points


@pytest.fixture
def setup(tmp_path):
    cat_dir = write_catalog(tmp_path / "cat")
    prob = tmp_path / "problem.yaml"
    prob.write_text(PROBLEM)
    p = plan(load_problem(prob), load_catalog(cat_dir))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(to_json(p))
    return tmp_path, cat_dir, prob, plan_file, p


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("sidecars", [True, False])
def test_benchmark_then_import_round_trip(setup, sidecars):
    tmp, cat_dir, prob, plan_file, before = setup
    assert {d.capacity_source for d in before.deployments} == {"model"}
    r = cli("benchmark", plan_file, "--problem", prob, "--catalog", cat_dir, "-o", tmp / "bench.sh")
    assert r.exit_code == 0, r.output
    script = (tmp / "bench.sh").read_text()
    assert "MODEL=test/tiny-8b\nvllm serve \"$MODEL\" --tensor-parallel-size 1 --dtype auto --kv-cache-dtype auto" \
        in script
    points = run_script(script, tmp / "results", keep_sidecars=sidecars)
    batch = next(d.batch for d in before.deployments)
    assert ("c", batch) in points and any(k == "r" for k, _ in points)

    files = sorted((tmp / "results").iterdir())
    r = cli("measured", "import", *files, "--problem", prob, "-o", tmp / "measured.yaml", "--catalog", cat_dir)
    assert r.exit_code == 0, r.output
    # expected, from the synthetic law: the fastest run whose p90 TTFT <= 2000 ms and TPOT <= 100 ms
    ok = [law(v)[0] for k, v in points if k == "c" and law(v)[1] <= 2000 and law(v)[2] <= 100]
    ok += [v for k, v in points if k == "r" and law(v * 3)[2] <= 100]
    expected = max(ok)
    text = (tmp / "measured.yaml").read_text()
    assert text.startswith(PROBLEM.split("policy:")[0])  # the user's lines, comments included, untouched
    new = load_problem(tmp / "measured.yaml")
    (m,) = new.measured
    assert (m.workload, m.model, m.gpu, m.precision, m.tp, m.engine) == ("chat", "tiny-8b", "TESTGPU", "fp16", 1,
                                                                          "vllm")
    assert m.requests_per_s == pytest.approx(expected, rel=1e-4)
    assert "p90 TTFT" in m.source and m.tpot_ms <= 100

    after = plan(new, load_catalog(cat_dir))
    ds = [d for d in after.deployments if d.share]
    assert ds and all(d.capacity_source == "measured" for d in ds)
    for d in ds:
        assert d.capacity_rps == pytest.approx(d.replicas * expected * 0.8, rel=1e-3)
    # the pools together hold the replicas the measured rate needs for the 40 req/s peak
    assert sum(d.replicas for d in ds) == math.ceil(40 / (expected * 0.8) - 1e-9)
    assert '"capacity_source": "measured"' in to_json(after)


def test_nothing_claimed_when_every_run_misses(setup):
    tmp, cat_dir, prob, plan_file, _ = setup
    r = cli("benchmark", plan_file, "--catalog", cat_dir)
    run_script(r.stdout, tmp / "results")
    for f in (tmp / "results").glob("*__c*.json"):  # make every run slow
        res = json.loads(f.read_text())
        res["p90_tpot_ms"] = 150.0
        f.write_text(json.dumps(res))
    for f in (tmp / "results").glob("*__r*.json"):
        f.unlink()
    before = prob.read_text()
    r = cli("measured", "import", *sorted((tmp / "results").glob("*.json")), "--problem", prob, "--catalog", cat_dir)
    assert r.exit_code == 0, r.output
    assert "no run meets the targets" in r.output and "p90 TPOT 150.0 ms > 100 ms" in r.output
    assert prob.read_text() == before


def test_vllm_fixture_alone_via_metadata_keys(tmp_path, default_catalog):
    """The vLLM fixture carries --metadata keys: no sidecar is needed."""
    prob = tmp_path / "p.yaml"
    prob.write_text("workloads:\n  - {name: chat, models: [llama-3.1-8b], requests_per_month: 1.0e7, peak_rps: 20, "
                    "input_tokens: 1000, output_tokens: 200, latency_tier: interactive}\n")
    res = tmp_path / "run.json"
    res.write_text((FIXTURES / "vllm_bench_serve.json").read_text())
    r = cli("measured", "import", res, "--problem", prob)
    assert r.exit_code == 0, r.output
    (m,) = load_problem(prob).measured
    # interactive: TTFT 500 ms, TPOT 40 ms; the fixture's p90s are 322.6 ms and 21.3 ms
    assert (m.gpu, m.requests_per_s, m.ttft_ms, m.tpot_ms) == ("H100-SXM", 15.336, 322.6, 21.3)
    assert m.checked.isoformat() == "2026-11-30"
    r = cli("measured", "import", res, "--problem", prob, "--percentile", "99", "-o", tmp_path / "p99.yaml")
    (m99,) = load_problem(tmp_path / "p99.yaml").measured
    assert m99.ttft_ms == 455.0 and "p99" in m99.source


def test_sglang_fixture_with_sidecar_falls_back_to_p99(tmp_path):
    prob = tmp_path / "p.yaml"
    prob.write_text("policy: {engine: sglang}\nworkloads:\n  - {name: chat, models: [llama-3.1-8b], "
                    "requests_per_month: 1.0e7, peak_rps: 20, input_tokens: 1000, output_tokens: 200}\n")
    res = tmp_path / "run.jsonl"
    res.write_text((FIXTURES / "sglang_bench_serving.jsonl").read_text())
    (tmp_path / "run.llmplan.json").write_text(json.dumps(
        {"workload": "chat", "model": "llama-3.1-8b", "gpu": "H100-SXM", "precision": "fp16", "tp": 1,
         "engine": "sglang", "isl": 1000, "osl": 200}))
    r = cli("measured", "import", res, tmp_path / "run.llmplan.json", "--problem", prob)
    assert r.exit_code == 0, r.output
    (m,) = load_problem(prob).measured
    assert m.engine == "sglang" and m.requests_per_s == 15.952 and m.ttft_ms == 441.2 and "p99" in m.source


@pytest.mark.parametrize("change, msg", [
    ({"total_output_tokens": 64000}, "not the 200 asked for"),
    ({"completed": 600}, "only 600 of 640 requests completed"),
    ({"llmplan_osl": "300"}, "rerun `llmplan benchmark`"),
    ({"llmplan_engine": "tgi"}, "served with vllm"),
])
def test_runs_that_cannot_count_are_skipped(tmp_path, change, msg):
    prob = tmp_path / "p.yaml"
    prob.write_text("workloads:\n  - {name: chat, models: [llama-3.1-8b], requests_per_month: 1.0e7, peak_rps: 20, "
                    "input_tokens: 1000, output_tokens: 200}\n")
    res = tmp_path / "run.json"
    res.write_text(json.dumps({**json.loads((FIXTURES / "vllm_bench_serve.json").read_text()), **change}))
    r = cli("measured", "import", res, "--problem", prob)
    assert r.exit_code == 0 and msg in r.output and not load_problem(prob).measured


def test_result_without_metadata_is_a_clear_error(tmp_path):
    prob = tmp_path / "p.yaml"
    prob.write_text("workloads:\n  - {name: chat, models: [llama-3.1-8b], requests_per_month: 1.0e7, peak_rps: 20, "
                    "input_tokens: 1000, output_tokens: 200}\n")
    res = tmp_path / "run.jsonl"
    res.write_text((FIXTURES / "sglang_bench_serving.jsonl").read_text())
    r = cli("measured", "import", res, "--problem", prob)
    assert r.exit_code == 2 and "no llmplan metadata" in r.output and "run.llmplan.json" in r.output


def test_merge_keeps_other_entries_and_text():
    text = "name: x  # keep\nmeasured:\n  - {workload: a, model: m, gpu: g, precision: fp16, tp: 1, requests_per_s: 1}\n" \
           "  - {workload: b, model: m, gpu: g, precision: fp16, tp: 1, requests_per_s: 2}\n\n# trailing\npolicy: {}\n"
    new = {"workload": "b", "model": "m", "gpu": "g", "precision": "fp16", "tp": 1, "requests_per_s": 5.0}
    out = merge_measured(text, [new], lambda a, b: (a["workload"], a["model"]) == (b["workload"], b["model"]))
    data = yaml.safe_load(out)
    assert [m["requests_per_s"] for m in data["measured"]] == [1, 5.0]
    assert out.startswith("name: x  # keep\n") and out.endswith("\n# trailing\npolicy: {}\n")
    flow = merge_measured("measured: []\nworkloads: []\n", [new], lambda a, b: False)
    assert yaml.safe_load(flow) == {"measured": [new], "workloads": []}
    assert merge_measured("workloads: []", [new], lambda a, b: False).startswith("workloads: []\n\nmeasured:\n")


def test_benchmark_errors_and_runner_ups(setup):
    tmp, cat_dir, prob, plan_file, _ = setup
    r = cli("benchmark", plan_file, "--catalog", cat_dir, "--engine", "vlm")
    assert r.exit_code == 2 and "unknown engine 'vlm'" in r.output and "vllm" in r.output
    r = cli("benchmark", plan_file, "--catalog", cat_dir, "--include-runner-up", "1")
    assert r.exit_code == 2 and "--problem" in r.output
    r = cli("benchmark", plan_file, "--catalog", cat_dir, "--problem", prob, "--include-runner-up", "2",
            "--format", "json")
    assert r.exit_code == 0, r.output
    runs = json.loads(r.stdout)["runs"]
    ups = {(x["gpu"], x["precision"], x["tp"]) for x in runs if x["why"].startswith("runner-up")}
    chosen = {(x["gpu"], x["precision"], x["tp"]) for x in runs if x["why"].startswith("chosen")}
    assert ups and not ups & chosen  # the synthetic catalog has tp1 chosen; tp2/tp4/tp8 on the 8-GPU box are not


@pytest.mark.parametrize("engine", ["sglang", "trtllm", "tgi"])
def test_other_engines_commands(setup, engine):
    tmp, cat_dir, prob, plan_file, _ = setup
    r = cli("benchmark", plan_file, "--catalog", cat_dir, "--engine", engine)
    assert r.exit_code == 0, r.output
    s = r.stdout
    server = {"sglang": "python -m sglang.launch_server --model-path \"$MODEL\" --tp-size 1",
              "trtllm": "trtllm-serve \"$MODEL\" --backend pytorch --tp_size 1 --max_seq_len 1536",
              "tgi": "text-generation-launcher --model-id \"$MODEL\" --num-shard 1"}[engine]
    client = ("python -m sglang.bench_serving --backend sglang" if engine == "sglang"
              else "vllm bench serve --backend openai --endpoint /v1/completions")
    assert server in s and client in s
    if engine == "sglang":
        assert "--random-range-ratio 1.0" in s and "--output-file \"$RESULTS/" in s


def test_benchmark_script_golden(setup):
    tmp, cat_dir, prob, plan_file, _ = setup
    r = cli("benchmark", plan_file, "--catalog", cat_dir, "--problem", prob)
    check_golden("benchmark_script.sh", r.stdout)


def test_script_is_valid_bash(setup):
    import shutil
    import subprocess
    tmp, cat_dir, prob, plan_file, _ = setup
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    for engine in ("vllm", "sglang", "trtllm", "tgi"):
        out = tmp / f"{engine}.sh"
        assert cli("benchmark", plan_file, "--catalog", cat_dir, "--engine", engine, "-o", out).exit_code == 0
        check = subprocess.run(["bash", "-n", str(out)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
