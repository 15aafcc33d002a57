"""Benchmark (issue 16): candidate generation and the model build, before the solver starts, in one run.

For the synthetic large problem (bench/large_problem.py: failover 0.5, spot cap) at 24, 40 and 80 workloads,
time in a fresh process each (cold caches, as `llmplan solve` runs):

- candidates: `build_candidates(problem, catalog)`;
- build: `build_model(problem, candidates)` plus `highs_model(model.prob)` (the hand-over to HiGHS);

for the code of this checkout ("now") and, side by side in the same run, for the code of an earlier commit
("before", default 713459b, the last commit before the build was made faster; extracted with `git archive`, so
it needs git and this repository's history). Both are reported against the baseline `python -c 'import
optimizer.cli'` (process start) measured in the same run, and as now/before ratios. Targets at 24 workloads:
candidates <= 2 s and build <= 2 s on 2 cores. `tests/test_build_speed_same.py` shows the results are the same.

    python bench/bench_candidates.py [--sizes 24 40 80] [--before 713459b | --skip-before] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from large_problem import large_problem  # noqa: E402

BEFORE_COMMIT = "713459b"

# run in a child process with the code under test first on sys.path; prints the three timings as JSON
MEASURE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from optimizer.candidates import build_candidates
from optimizer.catalog import load_catalog
from optimizer.model.formulation import build_model
from optimizer.model.solve import highs_model
from optimizer.problem import load_problem
problem, catalog = load_problem(sys.argv[2]), load_catalog(sys.argv[3])
t0 = time.perf_counter()
c = build_candidates(problem, catalog)
t1 = time.perf_counter()
m = build_model(problem, c)
t2 = time.perf_counter()
highs_model(m.prob)
t3 = time.perf_counter()
print(json.dumps({"candidates": t1 - t0, "model": t2 - t1, "handover": t3 - t2, "pools": len(c.pools),
                  "rows": len(m.prob.constraints())}))
"""


def measure(code: Path, problem: Path, runs: int) -> dict:
    """Median timings over `runs` fresh processes running the code at `code`."""
    got = []
    env = {**os.environ, "LLMPLAN_TODAY": os.environ.get("LLMPLAN_TODAY", "2026-12-03")}
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", MEASURE, str(code), str(problem),
                            str(ROOT / "catalogs" / "2026-12-03")], cwd=code, capture_output=True, text=True,
                           env=env, check=True)
        got.append(json.loads(r.stdout.strip().splitlines()[-1]))
    out = {k: statistics.median(g[k] for g in got) for k in ("candidates", "model", "handover")}
    out["build"] = out["model"] + out["handover"]
    out["pools"], out["rows"] = got[0]["pools"], got[0]["rows"]
    return out


def process_start(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import optimizer.cli"], cwd=ROOT, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def checkout(commit: str, into: Path) -> Path:
    """The code of `commit` (optimizer/ only) extracted under `into`."""
    tar = into / "code.tar"
    with open(tar, "wb") as f:
        subprocess.run(["git", "archive", commit, "optimizer"], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(tar) as t:
        t.extractall(into / "code", filter="data")
    return into / "code"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 40, 80])
    ap.add_argument("--before", default=BEFORE_COMMIT, help="commit whose code is the 'before' column")
    ap.add_argument("--skip-before", action="store_true")
    ap.add_argument("--runs", type=int, default=1, help="fresh processes per measurement (median)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = None if args.skip_before else checkout(args.before, tmp)
        base = process_start()
        print(f"process start (python -c 'import optimizer.cli'): {base:.2f} s", file=sys.stderr)
        rows = []
        for n in args.sizes:
            path = tmp / f"large{n}.yaml"
            path.write_text(yaml.safe_dump(large_problem(n=n)))
            now = measure(ROOT, path, args.runs)
            before = measure(old, path, args.runs) if old else None
            rows.append((n, now, before))
            print(f"{n} workloads done", file=sys.stderr)
        print(f"baseline: process start {base:.2f} s (same run); before = commit {args.before}")
        print("| workloads | pools | rows | candidates before | now | now/before | now/start "
              "| build+handover before | now | now/before | now/start |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for n, now, before in rows:
            def cell(key):
                if before is None:
                    return f"- | {now[key]:.2f} s | - | {now[key] / base:.1f}"
                return (f"{before[key]:.2f} s | {now[key]:.2f} s | {now[key] / before[key]:.2f} | "
                        f"{now[key] / base:.1f}")
            print(f"| {n} | {now['pools']} | {now['rows']:,} | {cell('candidates')} | {cell('build')} |")
        for n, now, _ in rows:
            print(f"{n} workloads now: model {now['model']:.2f} s, handover {now['handover']:.2f} s")


if __name__ == "__main__":
    main()
