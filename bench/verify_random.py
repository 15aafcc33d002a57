"""Solve N random valid problems (fixed seed) on the shipped catalog and verify each plan independently.

    python bench/verify_random.py --n 1000 [--seed 0] [--time-limit 30]

Prints the outcome counts (verified, infeasible with an explanation, solver stopped, failed verification,
traceback) and the first failures. Exit 1 when any plan fails verification or any run raises a traceback."""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from randproblems import random_problem  # noqa: E402

from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.errors import InfeasibleError, SolverError  # noqa: E402
from optimizer.pipeline import SolveOptions  # noqa: E402
from optimizer.planner import plan  # noqa: E402
from optimizer.problem import parse_problem  # noqa: E402
from optimizer.verify import verify_plan  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=30)
    args = ap.parse_args()
    cat = load_catalog(ROOT / "catalogs" / sorted(p.name for p in (ROOT / "catalogs").iterdir()
                                                  if p.name[:1].isdigit())[-1])
    rng = random.Random(args.seed)
    counts, failures = collections.Counter(), []
    t0 = time.perf_counter()
    for i in range(args.n):
        data = random_problem(rng)
        try:
            prob = parse_problem(data, f"random-{i}")
            p = plan(prob, cat, SolveOptions(time_limit=args.time_limit))
            v = verify_plan(p, prob, cat)
            if v.ok and p.status in ("optimal", "feasible"):
                counts[f"verified ({p.status})"] += 1
            else:
                counts["FAILED verification"] += 1
                failures.append((i, [str(x) for x in v.violations][:3] or [p.status]))
        except InfeasibleError:
            counts["infeasible, explained"] += 1
        except SolverError:
            counts["solver stopped (time limit), explained"] += 1
        except Exception:  # noqa: BLE001 - counting tracebacks is the point
            counts["TRACEBACK"] += 1
            failures.append((i, traceback.format_exc().splitlines()[-3:]))
        if (i + 1) % 50 == 0:
            print(f"{i + 1}/{args.n} {dict(counts)}", file=sys.stderr)
    print(f"{args.n} random valid problems (seed {args.seed}) in {time.perf_counter() - t0:.0f} s:")
    for k, v in sorted(counts.items()):
        print(f"  {k}: {v}")
    for i, f in failures[:20]:
        print(f"  problem {i}: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
