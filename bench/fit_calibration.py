"""Fit the performance model's efficiency factors on the published measurements in catalogs/_sources/calibration/.

Run from the repository root:

    python bench/fit_calibration.py              # fit; print the factors, the in-sample and the cross-validated error
    python bench/fit_calibration.py --write      # also rewrite the fitted block of optimizer/perf/calibration.py
    python bench/fit_calibration.py --markdown   # print the tables that docs/performance-model.md carries

Method (docs/performance-model.md explains why):
- parameters: per GPU family with measured rows, `mem_bw` and `compute`; shared by all families, `tp_loss`,
  `allreduce_us`, `step_ms`, `wq_bw`, `roofline_p` (optimizer/perf/calibration.py says what each one means);
- loss: the weighted mean of |ln(predicted / measured)| over the rows, each row weighted 1 / sqrt(rows of its
  framework) so that no single benchmark table dominates, plus a weak pull (`SHRINK`) of every factor towards
  its engineering prior, in log space, so that a family with few rows keeps physically sensible values;
- search: Hooke-Jeeves pattern search in log-parameter space within physical bounds (the loss has kinks, so a
  derivative-free search; no SciPy needed);
- honesty: leave-one-framework-out cross-validation refits without each framework's rows and predicts them;
  a family left without rows falls back to its prior. That error, not the in-sample one, is what to expect on
  measurements the fit never saw.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.perf.calibration import Efficiency  # noqa: E402
from optimizer.perf.measurements import (error_table, load_measurements, log_error, predict)  # noqa: E402

# Engineering priors (v1 of the model): vLLM/TensorRT-LLM decode typically reaches 70-85% of HBM bandwidth
# and 50-65% of dense tensor peak in large GEMMs.
PRIOR_FAMILY = {
    "ampere": (0.78, 0.60), "ada": (0.78, 0.55), "hopper": (0.80, 0.55), "blackwell": (0.80, 0.50),
    "cdna3": (0.65, 0.40), "gaudi2": (0.70, 0.50), "gaudi3": (0.70, 0.50),
}
PRIOR_SHARED = {"tp_loss": 0.08, "allreduce_us": 12.0, "step_ms": 0.5, "wq_bw": 0.8, "roofline_p": 3.0}
BOUNDS = {"mem_bw": (0.3, 0.95), "compute": (0.15, 0.9), "tp_loss": (0.0, 0.25), "allreduce_us": (2.0, 60.0),
          "step_ms": (0.05, 5.0), "wq_bw": (0.4, 1.0), "roofline_p": (1.0, 10.0)}
SHRINK = 0.02  # weight of the pull towards the priors: sum of (ln(x / prior))^2, against a mean |ln error|
TP_LOSS_FLOOR = 0.005  # tp_loss may be 0; searched in log space above this floor


def _bounds(name: str) -> tuple[float, float]:
    return BOUNDS[name.split(".")[-1]]


def _prior(name: str) -> float:
    if "." in name:
        fam, what = name.split(".")
        return PRIOR_FAMILY[fam][0 if what == "mem_bw" else 1]
    return PRIOR_SHARED[name]


def efficiencies(params: dict[str, float]) -> dict[str, Efficiency]:
    """Per family Efficiency from a parameter dict; families without fitted parameters keep their priors."""
    shared = {k: params.get(k, PRIOR_SHARED[k]) for k in PRIOR_SHARED}
    out = {}
    for fam, (bw, c) in PRIOR_FAMILY.items():
        out[fam] = Efficiency(mem_bw=params.get(f"{fam}.mem_bw", bw), compute=params.get(f"{fam}.compute", c),
                              basis="fit", **shared)
    return out


def loss(params: dict[str, float], rows, weights) -> float:
    effs = efficiencies(params)
    err = sum(w * log_error(predict(m, effs[m.family]), m.value) for m, w in zip(rows, weights)) / sum(weights)
    pull = sum(math.log(max(v, TP_LOSS_FLOOR) / max(_prior(k), TP_LOSS_FLOOR)) ** 2 for k, v in params.items())
    return err + SHRINK * pull


def pattern_search(f, x0: dict[str, float], step: float = 0.25, min_step: float = 0.004,
                   max_evals: int = 4000) -> tuple[dict[str, float], float]:
    """Hooke-Jeeves in log space, clipped to the bounds."""
    names = list(x0)

    def clip(k, v):
        lo, hi = _bounds(k)
        return min(max(v, max(lo, TP_LOSS_FLOOR if k == "tp_loss" else lo)), hi)

    x = {k: clip(k, v) for k, v in x0.items()}
    fx, evals = f(x), 1
    steps = {k: step for k in names}
    while max(steps.values()) > min_step and evals < max_evals:
        improved = False
        for k in names:
            if steps[k] <= min_step:
                continue
            for sgn in (1, -1):
                y = dict(x)
                y[k] = clip(k, x[k] * math.exp(sgn * steps[k]))
                if y[k] == x[k]:
                    continue
                fy = f(y)
                evals += 1
                if fy < fx - 1e-9:
                    # pattern move: keep going in the same direction while it helps
                    while True:
                        z = dict(y)
                        z[k] = clip(k, y[k] * math.exp(sgn * steps[k]))
                        if z[k] == y[k]:
                            break
                        fz = f(z)
                        evals += 1
                        if fz < fy - 1e-9:
                            y, fy = z, fz
                        else:
                            break
                    x, fx, improved = y, fy, True
                    break
            else:
                steps[k] /= 2
        if not improved:
            steps = {k: s / 2 for k, s in steps.items()}
    return x, fx


def fit(rows, start: dict[str, float] | None = None) -> dict[str, float]:
    fams = sorted({m.family for m in rows})
    x0 = {}
    for fam in fams:
        x0[f"{fam}.mem_bw"] = PRIOR_FAMILY[fam][0]
        x0[f"{fam}.compute"] = PRIOR_FAMILY[fam][1]
    x0.update(PRIOR_SHARED)
    if start:
        x0.update({k: v for k, v in start.items() if k in x0})
    n = Counter(m.framework for m in rows)
    weights = [1 / math.sqrt(n[m.framework]) for m in rows]
    x, _ = pattern_search(lambda p: loss(p, rows, weights), x0)
    return x


def cross_validate(rows, full: dict[str, float]) -> list[float | None]:
    """Leave-one-framework-out predictions, in the order of `rows`."""
    preds: list[float | None] = [None] * len(rows)
    for fw in sorted({m.framework for m in rows}):
        train = [m for m in rows if m.framework != fw]
        params = fit(train, start=full)
        # families the training rows do not cover fall back to their prior
        fams = {m.family for m in train}
        params = {k: v for k, v in params.items() if "." not in k or k.split(".")[0] in fams}
        effs = efficiencies(params)
        for i, m in enumerate(rows):
            if m.framework == fw:
                preds[i] = predict(m, effs[m.family])
        print(f"  cv: left out {fw!r} ({sum(m.framework == fw for m in rows)} rows)", file=sys.stderr)
    return preds


def write_block(params: dict[str, float], basis: str) -> None:
    """Rewrite the fitted block of optimizer/perf/calibration.py."""
    path = ROOT / "optimizer" / "perf" / "calibration.py"
    text = path.read_text()
    shared = ", ".join(f'"{k}": {round(params[k], 4)}' for k in PRIOR_SHARED)
    fams = sorted({k.split(".")[0] for k in params if "." in k})
    fam_lines = "\n".join(f'    "{f}": ({round(params[f + ".mem_bw"], 4)}, {round(params[f + ".compute"], 4)}),'
                          for f in fams)
    block = (f"SHARED = {{{shared}}}\nFITTED = {{\n{fam_lines}\n}}\nFIT_BASIS = \"{basis}\"\n")
    new, n = re.subn(r"(# ---- fitted by bench/fit_calibration.py[^\n]*\n)(.*?)(# ---- end of fitted values ----)",
                     lambda mt: mt.group(1) + block + mt.group(3), text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{path}: fitted-block markers not found")
    path.write_text(new)
    print(f"wrote the fitted block of {path}", file=sys.stderr)


def table(title: str, rows, preds) -> str:
    lines = [f"**{title}**", "", "| metric | rows | median APE | 90th pct APE | median signed error |",
             "|---|---:|---:|---:|---:|"]
    for e in error_table(rows, preds):
        lines.append(f"| {e.group} | {e.n} | {e.median_ape:.1f}% | {e.p90_ape:.1f}% | {e.median_signed:+.1f}% |")
    return "\n".join(lines)


def by_family(rows, preds) -> str:
    lines = ["| GPU family | rows | median APE | worst row |", "|---|---:|---:|---:|"]
    from optimizer.perf.measurements import ape
    import statistics
    for fam in sorted({m.family for m in rows}):
        errs = [ape(p, m.value) for m, p in zip(rows, preds) if m.family == fam]
        lines.append(f"| {fam} | {len(errs)} | {statistics.median(errs):.1f}% | {max(errs):.0f}% |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the fitted block of optimizer/perf/calibration.py")
    ap.add_argument("--markdown", action="store_true", help="print the docs tables")
    ap.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    args = ap.parse_args()

    cat = load_catalog(ROOT / "catalogs" / "2026-11-24")
    rows, skipped = load_measurements(cat)
    for s in skipped:
        print(f"skipped {s}", file=sys.stderr)
    t = time.perf_counter()
    params = fit(rows)
    print(f"fitted {len(params)} factors on {len(rows)} rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    for k, v in params.items():
        print(f"  {k:22s} {v:8.4f}   (prior {_prior(k)})")
    effs = efficiencies(params)
    fitted = [predict(m, effs[m.family]) for m in rows]
    prior_effs = efficiencies({})
    prior = [predict(m, prior_effs[m.family]) for m in rows]
    out = [table(f"In-sample, the fitted factors ({len(rows)} rows)", rows, fitted), "",
           table("Before calibration: the engineering priors", rows, prior), "", by_family(rows, fitted)]
    if not args.no_cv:
        cv = cross_validate(rows, params)
        out += ["", table("Leave-one-framework-out cross-validation", rows, cv), "", by_family(rows, cv)]
    print("\n".join(out))
    if args.markdown:
        print("\n| line | framework | model | GPU | tp | prec | isl/osl | batch | metric | measured | model | error |")
        print("|---:|---|---|---|---:|---|---|---|---|---:|---:|---:|")
        for m, p in zip(rows, fitted):
            print(f"| {m.line} | {m.framework} | {m.model.name} | {m.gpu.name} | {m.tp} | {m.precision} | "
                  f"{m.isl}/{m.osl} | {m.batch or 'max'} | {m.metric} | {m.value:g} | {p:.4g} | "
                  f"{(p / m.value - 1) * 100:+.0f}% |")
    if args.write:
        write_block(params, f"fit on {len(rows)} rows of catalogs/_sources/calibration (bench/fit_calibration.py)")


if __name__ == "__main__":
    main()
