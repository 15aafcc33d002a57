"""Benchmark (issue 16): failover plans at scale under `solve --time-limit T`, side by side in one run.

For the synthetic large problem (bench/large_problem.py: failover 0.5, spot cap) at 24, 40 and 80 workloads, run
`llmplan solve PROBLEM --time-limit T --format json` as a user does, with:

- "rounded": one model with every scenario, started from the rounded LP relaxation
  (`pipeline.rounded_relaxation_start`), the method before the decomposition and the neighbourhood search,
  emulated in-process;
- "baseline": `--baseline DIR`, another checkout's code (e.g. `git worktree add --detach /tmp/ref <commit>`);
- "shipped": this checkout (`pipeline.solve_by_components`: the model's independent components solved one by
  one; else `pipeline.failover_search`: neighbourhoods of growing size, the full model's LP relaxation for the
  bound, repairs of shared queues inside each neighbourhood);
- "search": the shipped code with the decomposition switched off (the neighbourhood search alone, what a model
  that does not separate gets),

and report the wall time of the whole process against T (target: never above T + 10% plus process start, the
baseline `python -c 'import optimizer.cli'` measured in the same run), the status, the plan's cost, the lower
bound and the gap.

    python bench/bench_failover.py [--sizes 24 40 80] [--time-limit 10 30 60] [--methods rounded search shipped]
                                   [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from large_problem import large_problem  # noqa: E402

# run in a child process: the method before the neighbourhood search (the full model from the rounded LP relaxation)
ROUNDED = r"""
import sys
import optimizer.pipeline as pl
from optimizer.model.formulation import build_model
def full_model_from_rounded_lp(problem, cands, options, relax):
    model = build_model(problem, cands, relax=relax)
    limit = pl.solve_limit(options, pl.FINISH_SHARE * options.time_limit)
    t0 = pl.time.perf_counter()
    start, lp_bound = pl.rounded_relaxation_start(model, limit)
    res = pl.solve(model.prob, options.solver, max(pl.MIN_SOLVE_S, limit - (pl.time.perf_counter() - t0)),
                   options.gap, options.verbose, start=start)
    return pl.Found({}, model, pl.keep_bound(res, lp_bound))
pl.failover_search = full_model_from_rounded_lp
pl.solve_by_components = lambda *a, **k: (None, None)  # no decomposition either
from optimizer.cli import main
sys.exit(main())
"""


SEARCH = r"""
import sys
import optimizer.pipeline as pl
pl.solve_by_components = lambda *a, **k: (None, None)
from optimizer.cli import main
sys.exit(main())
"""


def run(problem: Path, limit: float, method: str, out: Path, baseline: Path | None) -> tuple[float, dict | None, str]:
    cwd = baseline if method == "baseline" else ROOT
    snippet = {"rounded": ROUNDED, "search": SEARCH}.get(method)
    head = [sys.executable, "-c", snippet] if snippet else [sys.executable, "cli.py"]
    cmd = head + ["solve", str(problem), "--time-limit", f"{limit:g}", "--format", "json", "-o", str(out)]
    env = dict(os.environ, PYTHONPATH=str(cwd))
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return wall, None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
    return wall, json.loads(out.read_text()), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 40, 80])
    ap.add_argument("--time-limit", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    ap.add_argument("--methods", nargs="+", default=["rounded", "search", "shipped"],
                    choices=["rounded", "search", "baseline", "shipped"])
    ap.add_argument("--baseline", type=Path, help="another checkout, run as the 'baseline' method")
    args = ap.parse_args()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import optimizer.cli"], cwd=ROOT, check=True)
    start = time.perf_counter() - t0
    print(f"machine: {os.cpu_count()} CPUs; process start (import optimizer.cli): {start:.2f} s")
    print(f"{'workloads':>9} {'T s':>5} {'method':<10} {'wall s':>7} {'wall/T':>6} {'status':<9} {'cost $/month':>14} "
          f"{'bound':>14} {'gap':>8}")
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            prob = Path(d) / f"large{n}.yaml"
            prob.write_text(yaml.safe_dump(large_problem(n=n)))
            for limit in args.time_limit:
                for label in args.methods:
                    wall, plan, err = run(prob, limit, label, Path(d) / "plan.json", args.baseline)
                    if plan is None:
                        print(f"{n:>9} {limit:>5g} {label:<10} {wall:7.1f} {wall / limit:6.2f} error: {err}")
                        continue
                    gap = "-" if plan["gap"] is None else f"{plan['gap']:.2%}"
                    bound = "-" if plan["lower_bound_usd"] is None else f"{plan['lower_bound_usd']:,.0f}"
                    print(f"{n:>9} {limit:>5g} {label:<10} {wall:7.1f} {wall / limit:6.2f} {plan['status']:<9} "
                          f"{plan['monthly_cost_usd']:>14,.0f} {bound:>14} {gap:>8}", flush=True)


if __name__ == "__main__":
    main()
