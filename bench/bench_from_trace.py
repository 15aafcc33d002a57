"""Benchmark: `llmplan workload from-trace` on a synthetic 1M-row trace in the Azure format (gzip), with 3 classes.

Run from the repository root:  python bench/bench_from_trace.py [--rows 1000000] [--runs 3]

The trace: Poisson arrivals at 280 req/s (about an hour for 1M rows), log-normal input and output lengths, written
with Azure's timestamp format and compressed. Figures come with a baseline measured in the same run, so they
compare across machines: the whole from-trace (read, parse, peak, 3-class k-means) against only decompressing the
file and splitting it into CSV rows (what any reader must do). Target (issue 11): under 10 s for 1M rows.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.trace_workload import from_trace  # noqa: E402
from optimizer.traces import read_trace  # noqa: E402
from timing import median_time  # noqa: E402


def synthetic_trace(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1 / 280.0, size=rows))
    base = np.datetime64("2023-11-16T18:00:00", "ns")
    stamps = (base + (t * 1e9).astype("timedelta64[ns]")).astype(str)
    inp = np.maximum(1, rng.lognormal(6.8, 0.9, size=rows).astype(int))
    out = np.maximum(1, rng.lognormal(4.8, 0.9, size=rows).astype(int))
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    lines += [f"{s.replace('T', ' ')[:27]},{i},{o}" for s, i, o in zip(stamps, inp, out)]
    path.write_bytes(gzip.compress(("\ufeff" + "\n".join(lines) + "\n").encode()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "synthetic.csv.gz"
        synthetic_trace(path, args.rows)
        size = path.stat().st_size

        def baseline():
            text = gzip.decompress(path.read_bytes()).decode("utf-8-sig")
            return sum(1 for _ in csv.reader(io.StringIO(text)))

        def full():
            return from_trace(read_trace(path), classes=3, window_s=60.0, quantile=0.99)

        cpu0 = time.process_time()
        tw = full()
        cpu_s = time.process_time() - cpu0
        base_s = median_time(baseline, args.runs)
        full_s = median_time(full, args.runs)
    print(f"synthetic trace: {args.rows:,} rows, {size / 1e6:.1f} MB gzip; {tw.requests:,} requests, "
          f"peak/average {tw.peak_to_average:.3f}, classes {[c.share for c in tw.classes]}")
    print(f"baseline (decompress + split CSV rows): {base_s:.2f} s")
    print(f"from-trace (read, parse, peak, 3 classes): {full_s:.2f} s = {full_s / base_s:.1f} x baseline "
          f"(target: under 10 s) {'OK' if full_s < 10 else 'OVER TARGET'}; CPU time of one run {cpu_s:.2f} s "
          f"(wall time exceeds it when other processes share the cores)")


if __name__ == "__main__":
    main()
