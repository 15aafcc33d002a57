"""The trace examples in problems/: plans with request classes, replayed against the real trace (the issue's
must-show: the conversation trace at 20M requests/month, with classes and from the single average request)."""

from pathlib import Path

import pytest

from optimizer.planner import plan
from optimizer.problem import load_problem
from optimizer.routing.replay import replay_arrivals
from optimizer.routing.report import replay_summary
from optimizer.routing.simulate import SimOptions, simulate
from optimizer.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "catalogs" / "_sources" / "traces"


def _replay(p, trace):
    arr, run_s, _ = replay_arrivals(p, read_trace(trace), scale_to=20_000_000)
    res = simulate(p, SimOptions(hours=run_s / 3600, trace=str(trace)), arrivals=arr)
    return replay_summary(res), res


@pytest.fixture(scope="module")
def conv_plans(default_catalog):
    return (plan(load_problem(ROOT / "problems" / "trace_conv.yaml"), default_catalog),
            plan(load_problem(ROOT / "problems" / "trace_conv_average.yaml"), default_catalog))


def test_conversation_trace_plan_with_classes_meets_the_slo_on_replay(conv_plans):
    classes, average = conv_plans
    assert classes.status == average.status == "optimal"
    assert len(classes.extras["classes"]["conv"]) == 8
    mix = classes.extras["class_mix"]
    assert mix["mix_saves_usd"] >= 0 and len(mix["mix_gpus"]) >= 1
    got, res = _replay(classes, TRACES / "AzureLLMInferenceTrace_conv.csv.gz")
    assert got["arrived"] == 19_366 and got["served"] + got["rejected"] == got["arrived"]
    assert got["within_slo_fraction"] >= 0.99
    # every replayed request is assigned to one of the plan's classes
    assert set(res.workloads) == {c["workload"] for c in classes.extras["classes"]["conv"]}
    base, _ = _replay(average, TRACES / "AzureLLMInferenceTrace_conv.csv.gz")
    assert base["arrived"] == 19_366 and base["within_slo_fraction"] <= got["within_slo_fraction"]


def test_the_average_request_plan_on_replay(conv_plans):
    """Measured, not assumed: at the 0.99 TTFT quantile the plan from the single average request also meets the
    99% target on the conversation trace (whose arrivals are close to Poisson, arrival_cv2 1.06); the classes
    buy a few hundredths of a percent more within the targets and cost more (see the closing note of issue 11)."""
    classes, average = conv_plans
    base, _ = _replay(average, TRACES / "AzureLLMInferenceTrace_conv.csv.gz")
    assert base["within_slo_fraction"] >= 0.99
    assert average.monthly_cost_usd <= classes.monthly_cost_usd


def test_code_trace_example_plans_for_its_bursts_and_replays(default_catalog):
    """The code trace is bursty (1 s peaks at 10.8x its average; inside 60 s windows the gaps between requests have
    a squared CV of 23.7). Planned from 5 s windows (peak 8.4x, arrival_cv2 2.42) at the 0.99 TTFT quantile, its
    replay meets the 99% target; from 60 s windows it would not (94.7%), and from-trace says so."""
    p = plan(load_problem(ROOT / "problems" / "trace_code.yaml"), default_catalog)
    assert p.status == "optimal" and len(p.extras["classes"]["code"]) == 4
    got, _ = _replay(p, TRACES / "AzureLLMInferenceTrace_code.csv.gz")
    assert got["arrived"] == 8_819
    assert got["within_slo_fraction"] >= 0.99


def test_from_trace_warns_about_bursts_its_window_hides():
    from optimizer.trace_workload import BURSTY_CV2, from_trace, summary_lines
    trace = read_trace(TRACES / "AzureLLMInferenceTrace_code.csv.gz")
    wide = from_trace(trace, classes=1, window_s=60.0)
    assert wide.arrival_cv2 == pytest.approx(23.7, abs=0.05) and wide.arrival_cv2 > BURSTY_CV2
    assert any(line.startswith("warning: arrivals come in bursts") for line in summary_lines(wide))
    narrow = from_trace(trace, classes=1, window_s=5.0)
    assert narrow.arrival_cv2 < BURSTY_CV2 and narrow.peak_to_average > 2 * wide.peak_to_average
    assert not any(line.startswith("warning") for line in summary_lines(narrow))
    conv = from_trace(read_trace(TRACES / "AzureLLMInferenceTrace_conv.csv.gz"), classes=1, window_s=60.0)
    assert conv.arrival_cv2 == pytest.approx(1.06, abs=0.05)  # close to Poisson


def test_replay_cli_text_and_errors(tmp_path, default_catalog):
    from click.testing import CliRunner

    from optimizer.cli import main
    from optimizer.render.json_out import to_json
    p = plan(load_problem(ROOT / "problems" / "trace_code.yaml"), default_catalog)
    f = tmp_path / "plan.json"
    f.write_text(to_json(p))
    trace = str(TRACES / "AzureLLMInferenceTrace_code.csv.gz")
    r = CliRunner().invoke(main, ["simulate", str(f), "--trace", trace, "--speedup", "2.9654"])
    assert r.exit_code == 0, r.output
    assert "Trace replay" in r.stdout and "within the TTFT and TPOT targets" in r.stdout
    r = CliRunner().invoke(main, ["simulate", str(f), "--trace", trace, "--speedup", "2", "--scale-to", "1e6"])
    assert r.exit_code == 2 and "not both" in r.stderr
