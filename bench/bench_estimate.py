"""Benchmark: `llmplan estimate` answer time, against baselines measured in the same run.

Run from the repository root:  python bench/bench_estimate.py [--runs 7]

Reports the median whole-process time of `llmplan estimate` (table and JSON, a small and a TP model) against
  - the floor of any CLI call: a Python process that imports click and the optimizer package;
  - `llmplan --version` (the CLI's own start-up);
and the in-process time of one `estimate()` call (caches cleared) and of `load_catalog_specs` against `load_catalog`.
Target (issue 3): an estimate answers in well under a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.catalog.load import load_catalog, load_catalog_specs  # noqa: E402
from optimizer.perf.estimate import estimate  # noqa: E402
from timing import median_process, median_time  # noqa: E402

CLI = [sys.executable, "-c", "import sys; from optimizer.cli import main; sys.exit(main())"]






def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    floor = median_process([sys.executable, "-c", "import click, optimizer"], runs, ROOT)
    version = median_process(CLI + ["--version"], runs, ROOT)
    print(f"baseline: python + import click, optimizer     {floor * 1e3:7.1f} ms")
    print(f"baseline: llmplan --version                    {version * 1e3:7.1f} ms")
    cases = [["--model", "llama-3.1-8b", "--gpu", "A10G"],
             ["--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "H100-SXM-80GB", "--tp", "4", "--precision",
              "fp8", "--format", "json"],
             ["--model", "llama-3.1-405b", "--gpu", "H200", "--tp", "8", "--precision", "fp8", "--isl", "20000",
              "--osl", "2000", "--concurrency", "64"]]
    for c in cases:
        t = median_process(CLI + ["estimate", *c], runs, ROOT)
        print(f"llmplan estimate {' '.join(c)[:60]:60s} {t * 1e3:7.1f} ms = {t / floor:4.2f}x floor, "
              f"{t / version:4.2f}x --version")
    specs = median_time(lambda: load_catalog_specs(ROOT / "catalogs" / "2026-12-03"), runs)
    full = median_time(lambda: load_catalog(ROOT / "catalogs" / "2026-12-03"), runs)
    print(f"in process: load_catalog_specs {specs * 1e3:.1f} ms vs load_catalog {full * 1e3:.1f} ms "
          f"({full / specs:.0f}x)")
    cat = load_catalog_specs(ROOT / "catalogs" / "2026-12-03")
    from optimizer.perf import speed

    def cold():
        speed._roof.cache_clear()
        estimate(cat, "llama-3.1-70b", "H100", precision="fp8", tp=4, isl=3000, osl=700)

    print(f"in process: one estimate() call (cold caches)  {median_time(cold, runs) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
