"""Timing helpers shared by the benchmark scripts: medians of repeated runs, in process or as whole processes."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path


def median_time(fn, runs: int) -> float:
    """Median wall seconds of `fn()` over `runs` calls."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def median_process(args: list[str], runs: int, cwd: Path) -> float:
    """Median wall seconds of running a command to completion (output discarded)."""
    return median_time(lambda: subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              check=True), runs)
