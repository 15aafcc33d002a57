"""Calibration quality: the shipped efficiency factors against the published measurements they were fitted on.

These are quality tests (error bounds of the model), not timing tests. The bounds are the issue's: median absolute
percentage error <= 20% for output tokens/s at max concurrency and for single-stream decode, <= 30% for TTFT and
TPOT. The honest, cross-validated figures are in docs/performance-model.md (bench/fit_calibration.py).
"""

import sys
from pathlib import Path

import pytest

from optimizer.perf import calibration
from optimizer.perf.measurements import error_table, load_measurements, predict

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows(default_catalog):
    ms, skipped = load_measurements(default_catalog)
    return ms, skipped


def test_every_row_is_read_or_skipped_with_a_reason(rows):
    ms, skipped = rows
    lines = sum(1 for _ in open(ROOT / "catalogs/_sources/calibration/measured_throughput.csv")) - 1
    assert len(ms) + len(skipped) == lines
    # only the MI250X rows: the catalog carries no CDNA2 GPU, and a GCD is half a package
    assert len(skipped) == 2 and all("MI250X" in s for s in skipped)


def test_rows_are_read_as_what_they_measured(rows):
    ms, _ = rows
    by_line = {m.line: m for m in ms}
    assert by_line[2].kind == "max_throughput" and by_line[2].gpu.name == "H200"  # trtllm-bench, concurrency=max
    assert by_line[65].kind == "static_batch" and by_line[65].batch == 768  # TRT-LLM v0.6.1 static batch
    assert by_line[65].metric == "output_tok_s_per_gpu"
    assert by_line[105].kind == "static_batch" and by_line[105].gpu.name == "Gaudi3"  # Intel table: batch size
    assert by_line[78].gpu.name == "A100-80GB"  # "A100 (variant not stated)": batch 384 needs the 80 GB part
    g32 = by_line[131]  # gpt-fast int4 weight-only g32 on the 330 W A100
    assert (g32.precision, g32.weight_only, g32.group_size, g32.kind) == ("int4", True, 32, "single_stream")
    assert by_line[91].includes_prefill  # lmdeploy's batch-1 throughput counts prefill time
    assert by_line[144].model.layers == 40 and by_line[144].kind == "ttft"  # kipply's 13B for FasterTransformer


def test_error_bounds_on_the_calibration_set(rows):
    ms, _ = rows
    table = {e.group: e for e in error_table(ms, [predict(m) for m in ms])}
    assert table["output_tok_s_total (max concurrency)"].median_ape <= 20
    assert table["single_stream_decode_tok_s"].median_ape <= 20
    assert table["output_tok_s_total (given batch)"].median_ape <= 20
    assert table["ttft_ms"].median_ape <= 30
    assert table["tpot_ms"].median_ape <= 30
    assert table["output_tok_s_total (max concurrency)"].n >= 60 and table["ttft_ms"].n >= 15


def test_calibration_beats_the_priors(rows):
    ms, _ = rows
    sys.path.insert(0, str(ROOT / "bench"))
    import fit_calibration
    prior = fit_calibration.efficiencies({})
    before = {e.group: e.median_ape for e in error_table(ms, [predict(m, prior[m.family]) for m in ms])}
    after = {e.group: e.median_ape for e in error_table(ms, [predict(m) for m in ms])}
    for g in ("output_tok_s_total (max concurrency)", "output_tok_s_total (given batch)", "ttft_ms"):
        assert after[g] < before[g]


def test_shipped_factors_are_what_the_fit_script_produces(rows):
    """calibration.py's fitted block is the output of bench/fit_calibration.py, not hand-tuned numbers."""
    ms, _ = rows
    sys.path.insert(0, str(ROOT / "bench"))
    import fit_calibration
    params = fit_calibration.fit(ms)
    for k, v in calibration.SHARED.items():
        assert params[k] == pytest.approx(v, abs=6e-4), k
    for fam, (bw, c) in calibration.FITTED.items():
        assert params[f"{fam}.mem_bw"] == pytest.approx(bw, abs=6e-4)
        assert params[f"{fam}.compute"] == pytest.approx(c, abs=6e-4)


def test_factors_are_physical():
    for fam, eff in calibration.FAMILY.items():
        assert 0.3 <= eff.mem_bw <= 0.95 and 0.15 <= eff.compute <= 0.9, fam
    assert 0 <= calibration.SHARED["tp_loss"] < 0.25 and calibration.SHARED["roofline_p"] >= 1
    assert calibration.efficiency("gaudi2").mem_bw == calibration.efficiency("gaudi3").mem_bw  # borrowed
    assert calibration.efficiency("cdna3").basis == "prior"
    assert calibration.efficiency("no-such-family").basis == "prior"
