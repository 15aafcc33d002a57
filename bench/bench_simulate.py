"""Benchmark: `llmplan simulate` on the seed's 8M-conversation chatbot (one hour at peak, largest provider failed at
30 min) and on the portfolio example, in process and as a whole CLI process.

Run from the repository root:  python bench/bench_simulate.py [--runs 5]

Figures come with a baseline measured in the same run, so they compare across machines:
- the simulation against the seed's own router loop (`select_provider("balanced")`, one decision per request) over
  the same number of requests: the price of everything the simulation adds to a bare routing decision;
- the whole CLI process against a process that only imports the CLI's dependencies.
Target (issue 6): simulating one hour of the 8M-conversation example takes under 10 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.planner import SolveOptions, plan  # noqa: E402
from optimizer.problem import load_problem  # noqa: E402
from optimizer.render.json_out import to_json  # noqa: E402
from optimizer.routing.router import seed_example_router  # noqa: E402
from optimizer.routing.simulate import SimOptions, parse_failure, simulate  # noqa: E402
from optimizer.routing.targets import route_tables  # noqa: E402
from timing import median_time  # noqa: E402




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cat = load_catalog(ROOT / "catalogs" / "2026-12-03")
    print(f"{'problem':<18} {'requests':>10} {'sim s':>8} {'seed loop s':>12} {'ratio':>7} {'CLI s':>7} "
          f"{'import s':>9} {'target':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("seed_chatbot_8m", "portfolio"):
            p = plan(load_problem(ROOT / "problems" / f"{name}.yaml"), cat, SolveOptions())
            tables = route_tables(p)
            opts = SimOptions(hours=1.0, seed=0, failures=(parse_failure("largest@30m", tables, 3600),))
            n = simulate(p, opts, tables=tables).arrived
            t_sim = median_time(lambda: simulate(p, opts, tables=tables), args.runs)
            router = seed_example_router(0)
            t_seed = median_time(lambda: [router.select_provider("balanced") for _ in range(n)], args.runs)
            pj = Path(tmp) / f"{name}.json"
            pj.write_text(to_json(p))
            cli = [sys.executable, "-m", "cli", "simulate", str(pj), "--hours", "1", "--fail", "largest@30m"]
            t_cli = median_time(lambda: subprocess.run(cli, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                                                       stderr=subprocess.DEVNULL), max(1, args.runs // 2))
            imp = [sys.executable, "-c", "import click, numpy, pydantic, yaml, optimizer.routing.simulate"]
            t_imp = median_time(lambda: subprocess.run(imp, cwd=ROOT, check=True), max(1, args.runs // 2))
            target = "< 10 s" if name == "seed_chatbot_8m" else "-"
            ok = "" if name != "seed_chatbot_8m" else (" ok" if t_cli < 10 else " MISSED")
            print(f"{name:<18} {n:>10,} {t_sim:>8.3f} {t_seed:>12.3f} {t_sim / t_seed:>6.1f}x {t_cli:>7.2f} "
                  f"{t_imp:>9.2f} {target:>8}{ok}")


if __name__ == "__main__":
    main()
