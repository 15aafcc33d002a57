"""Random bad inputs across every command, many cases: the figures issue 9 asks for.

    python bench/fuzz_inputs.py [--cases 10000] [--seed 9] [--show 3]

Each case (tests/fuzzcases.py) is one command line over files valid but for one thing: an option's value, a file
fault (folder, symlink loop, not UTF-8, BOM, empty, deep nesting, duplicate keys, ...) or one field replaced with
a nasty value (NaN, 1e-320, 1e308, 10^400, 5,001 digits, lone surrogates, future dates, ...). Prints: cases run,
exit codes, failures (an exception escaping, a traceback or "internal error" printed, an unexpected exit code, or
an exit-2 message that names no file/option or gives no fix), the distinct causes with an example, and the share of
exit-2 messages that name the file or option. Exits 1 when any case failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests"), str(Path(__file__).resolve().parents[1])]

from fuzzcases import Bases, Chooser, make_case, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--show", type=int, default=2, help="examples to print per failure cause")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        bases = Bases.make(Path(d) / "bases")
        codes, kinds, causes, examples = Counter(), Counter(), Counter(), {}
        exit2 = named = 0
        for i in range(a.cases):
            case = make_case(Chooser(rng=rng), bases)
            o = run_case(case, bases)
            codes[o.exit_code] += 1
            kinds[case.kind] += 1
            if o.exit_code == 2 and o.names_location is not None:
                exit2 += 1
                named += bool(o.names_location)
            if not o.ok:
                causes[o.why] += 1
                examples.setdefault(o.why, []).append((case.what, [" | ".join(o.output.strip().splitlines()[-3:])]))
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1} cases, {sum(causes.values())} failures, {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr)
    failures = sum(causes.values())
    print(f"cases: {a.cases} (seed {a.seed}) in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print("exit codes: " + ", ".join(f"{k}: {n}" for k, n in sorted(codes.items())))
    print(f"failures: {failures} ({len(causes)} distinct causes)")
    for why, n in causes.most_common():
        print(f"  {n:6d}  {why}")
        for what, last in examples[why][:a.show]:
            print(f"          e.g. {what}: {last[0][:300]}")
    print(f"exit-2 messages naming the file or option: {named}/{exit2}"
          + (f" ({100 * named / exit2:.1f}%)" if exit2 else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
