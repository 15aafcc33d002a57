"""Traces: reading (Azure, CSV, JSONL; gzip), bad rows by line number, and the workload derived from a trace
(volume, windowed peak, request classes, daily profile) against hand-computed answers."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.trace_workload import classify, from_trace, parse_window, window_rates
from optimizer.traces import TraceError, read_trace
from optimizer.units import SECONDS_PER_MONTH

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "catalogs" / "_sources" / "traces"
CONV = TRACES / "AzureLLMInferenceTrace_conv.csv.gz"
CODE = TRACES / "AzureLLMInferenceTrace_code.csv.gz"


@pytest.mark.parametrize("path,n,ctx,gen", [(CONV, 19_366, (1020, 1155), (129, 211)),
                                            (CODE, 8_819, (1469, 2048), (13, 28))])
def test_shipped_azure_traces_match_their_source_figures(path, n, ctx, gen):
    tr = read_trace(path)
    assert tr.n == n and tr.skipped == ()
    assert (round(float(np.median(tr.input_tokens))), round(float(tr.input_tokens.mean()))) == ctx
    assert (round(float(np.median(tr.output_tokens))), round(float(tr.output_tokens.mean()))) == gen
    assert tr.start.startswith("2023-11-16T18:1") and 0.95 * 3600 < tr.duration_s < 3600
    assert np.all(np.diff(tr.t_s) >= 0)


def test_shipped_traces_keep_their_license_and_attribution():
    text = (TRACES / "SOURCE.md").read_text()
    assert "CC-BY 4.0" in text or "Attribution 4.0" in text
    assert "Splitwise" in text and (TRACES / "LICENSE-CC-BY-4.0.txt").exists()


def _write(tmp_path, name, text, gz=False):
    p = tmp_path / name
    p.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return p


def test_bad_rows_are_named_by_line_never_dropped(tmp_path):
    p = _write(tmp_path, "t.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
               "2023-11-16 18:00:00.0,100,10\n"
               "2023-11-16 18:00:01.0,abc,10\n"          # line 3: not a number
               "2023-11-16 18:00:02.0,100\n"             # line 4: short row
               "2023-11-16 18:00:03.0,100,-5\n"          # line 5: negative output
               "yesterday,100,10\n"                      # line 6: not a time
               "2023-11-16 18:00:05.0,0,10\n"            # line 7: no input tokens
               "2023-11-16 18:00:06.0,120,12\n")
    with pytest.raises(TraceError) as e:
        read_trace(p)
    msg = str(e.value)
    for ln in (3, 4, 5, 6, 7):
        assert f"line {ln}:" in msg
    assert "line 2:" not in msg and "line 8:" not in msg and "--skip-bad-rows" in msg
    tr = read_trace(p, skip_bad=True)
    assert tr.n == 2 and [ln for ln, _ in tr.skipped] == [3, 4, 5, 6, 7]


def test_csv_with_named_columns_seconds_and_gzip(tmp_path):
    p = _write(tmp_path, "log.csv.gz", "arrived,prompt,completion,user\n"
               "3.0,200,20,a\n1.0,100,10,b\n2.0,300,30,c\n", gz=True)
    with pytest.raises(TraceError) as e:
        read_trace(p)
    assert "no time column" in str(e.value) and "--columns time=" in str(e.value)
    tr = read_trace(p, "csv", {"time": "arrived", "input": "prompt", "output": "completion"})
    assert tr.t_s.tolist() == [0.0, 1.0, 2.0]  # sorted by time, from the first request
    assert tr.input_tokens.tolist() == [100, 300, 200] and tr.start is None


def test_jsonl_with_default_names_and_bad_line(tmp_path):
    rows = [{"timestamp": "2024-01-01T00:00:00Z", "prompt_tokens": 10, "completion_tokens": 5},
            {"timestamp": "2024-01-01T00:00:02+00:00", "prompt_tokens": 30, "completion_tokens": 7}]
    text = "\n".join(json.dumps(r) for r in rows) + "\n{not json\n"
    p = _write(tmp_path, "t.jsonl", text)
    with pytest.raises(TraceError) as e:
        read_trace(p)
    assert "line 3: not valid JSON" in str(e.value)
    tr = read_trace(p, skip_bad=True)
    assert tr.n == 2 and tr.t_s.tolist() == [0.0, 2.0] and tr.output_tokens.tolist() == [5, 7]
    assert tr.start == "2024-01-01T00:00:00"


def _trace_file(tmp_path, times, inp, out, name="t.csv"):
    lines = ["time,input_tokens,output_tokens"] + [f"{t:.6f},{i},{o}" for t, i, o in zip(times, inp, out)]
    return _write(tmp_path, name, "\n".join(lines) + "\n")


def test_peak_is_the_quantile_of_windowed_rates(tmp_path):
    # 10 minutes at 1 req/s, except minute 3 at 4 req/s: window rates 1,1,1,4,1,1,1,1,1,1 (the last request at
    # 599.x closes the 10th window only partly: 9 full windows are counted)
    times = [i * 1.0 for i in range(600) if not 180 <= i < 240] + [180 + j * 0.25 for j in range(240)]
    times = sorted(times)
    p = _trace_file(tmp_path, times, [100] * len(times), [10] * len(times))
    tr = read_trace(p)
    rates = window_rates(tr.t_s, 60.0)
    assert rates.tolist() == [1.0, 1.0, 1.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    tw = from_trace(tr, window_s=60.0, quantile=1.0)
    assert tw.trace_rate_rps == pytest.approx((len(times) - 1) / 599.0)
    assert tw.peak_to_average == pytest.approx(4.0 / tw.trace_rate_rps)
    assert tw.requests_per_month == pytest.approx(tw.trace_rate_rps * SECONDS_PER_MONTH)
    scaled = from_trace(tr, window_s=60.0, quantile=1.0, scale_to=20_000_000)
    assert scaled.requests_per_month == 20_000_000 and scaled.peak_to_average == tw.peak_to_average
    assert scaled.peak_rps == pytest.approx(tw.peak_to_average * 20_000_000 / SECONDS_PER_MONTH)


def test_two_separated_clusters_become_two_classes_with_exact_means(tmp_path):
    rng = np.random.default_rng(1)
    inp = np.r_[rng.integers(90, 111, 300), rng.integers(3900, 4101, 100)]
    out = np.r_[rng.integers(8, 13, 300), rng.integers(450, 551, 100)]
    order = rng.permutation(400)
    p = _trace_file(tmp_path, np.arange(400) * 0.5, inp[order], out[order])
    tr = read_trace(p)
    tw = from_trace(tr, classes=2)
    short, long_ = tw.classes
    assert (short.share, long_.share) == (0.75, 0.25)
    assert short.input_tokens == round(inp[:300].mean()) and long_.output_tokens == round(out[300:].mean())
    labels = classify(tw.classes, tr.input_tokens, tr.output_tokens)
    assert (labels == (tr.input_tokens > 1000)).all()
    assert from_trace(tr, classes=2) == tw  # deterministic


def test_daily_profile_needs_a_day_and_averages_one(tmp_path):
    # 48 hours; hour-of-day h has h % 4 + 1 requests, spread evenly
    times = []
    for day in range(2):
        for h in range(24):
            k = (h % 4) + 1
            times += [day * 86400 + h * 3600 + (j + 0.5) * 3600 / k for j in range(k)]
    p = _trace_file(tmp_path, times, [100] * len(times), [10] * len(times))
    tr = read_trace(p)
    tw = from_trace(tr, window_s=3600, profile=True)
    expect = np.array([(h % 4) + 1 for h in range(24)], dtype=float)
    # numeric times are seconds since a midnight: hour h holds h % 4 + 1 requests on both days
    assert sum(tw.daily_profile) == pytest.approx(24, abs=1e-9)
    assert np.allclose(tw.daily_profile, expect / expect.mean(), atol=1e-3)
    with pytest.raises(TraceError, match="at least 24"):
        from_trace(read_trace(CONV), profile=True)


def test_window_parsing():
    assert parse_window("60s") == 60 and parse_window("5m") == 300 and parse_window("90") == 90
    with pytest.raises(TraceError):
        parse_window("soon")


def test_cli_from_trace_prints_a_workload_block():
    r = CliRunner().invoke(main, ["workload", "from-trace", str(CONV), "--classes", "3", "--scale-to", "20000000"])
    assert r.exit_code == 0, r.output
    block = yaml.safe_load(r.stdout)
    assert block["requests_per_month"] == 20_000_000 and block["peak_to_average"] > 1
    assert [c["name"] for c in block["classes"]] == ["c1", "c2", "c3"]
    assert sum(c["share"] for c in block["classes"]) == pytest.approx(1.0, abs=1e-9)
    assert "19,366 requests" in r.stderr


def test_cli_from_trace_bad_file_exits_2(tmp_path):
    p = _write(tmp_path, "t.csv", "time,input_tokens,output_tokens\n1,2,x\n2,3,4\n")
    r = CliRunner().invoke(main, ["workload", "from-trace", str(p)])
    assert r.exit_code == 2 and "line 2:" in r.stderr and "Traceback" not in r.output and r.stdout == ""
