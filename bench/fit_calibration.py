"""Fit the performance model's efficiency factors on the published measurements in catalogs/_sources/calibration/.

Run from the repository root:

    python bench/fit_calibration.py              # fit, cross-validate; print factors and error tables
    python bench/fit_calibration.py --write      # also rewrite the fitted block of optimizer/perf/calibration.py
                                                 # and bench/calibration_folds.json (the cross-validation folds)
    python bench/fit_calibration.py --markdown   # also print every row: measured, modelled, error

Method (docs/performance-model.md explains why):
- parameters (optimizer/perf/calibration.py says what each one means): per GPU family with rows `mem_bw` and
  `compute` under the reference engine; per engine with rows a speed multiplier and a per-step overhead
  multiplier; a pair factor for the (family, engine) pairs that share both their family and their engine with
  other rows (the only pairs where it is identifiable); per non-CUDA platform a step and an all-reduce
  multiplier; shared `tp_loss`, `allreduce_us`, `step_ms`, `wq_bw`, `roofline_p`, `attn`;
- loss: the weighted mean of |ln(predicted / measured)| over the rows, each row weighted 1 / sqrt(rows of its
  source document) so that no single table dominates, plus a pull of every factor towards its engineering prior
  in log space (`SHRINK`; `SHRINK_PAIR` for the pair factors, much stronger: a pair with few rows borrows its
  family's and its engine's factors);
- search: Hooke-Jeeves pattern search in log-parameter space within physical bounds (the loss has kinks, so a
  derivative-free search; no SciPy needed). Each row's error is cached by the values of the factors it depends
  on, so a move re-predicts only the rows it touches;
- honesty: leave-one-source-out cross-validation refits without each source document's rows and predicts them;
  factors no training row reaches fall back to their prior. The error bands (calibration.BAND) come from these
  held-out errors, never from the in-sample ones.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.catalog import load_catalog  # noqa: E402
from optimizer.perf import calibration as cal  # noqa: E402
from optimizer.perf.measurements import ape, load_measurements, log_error, percentile, predict  # noqa: E402

FOLDS_FILE = ROOT / "bench" / "calibration_folds.json"
BOUNDS = {"mem_bw": (0.2, 0.95), "compute": (0.1, 0.9), "eng": (0.3, 1.3), "step": (0.3, 10.0),
          "cell": (0.5, 2.0), "plat": (0.5, 10.0), "tp_loss": (0.0, 0.25), "allreduce_us": (2.0, 60.0),
          "step_ms": (0.05, 5.0), "wq_bw": (0.4, 1.0), "roofline_p": (1.0, 10.0), "attn": (0.1, 1.5),
          "request_ms": (0.1, 30.0)}
SHRINK = 0.02  # weight of the pull towards the priors: sum of (ln(x / prior))^2, against a mean |ln error|
SHRINK_PAIR = 0.05  # pair factors: pulled towards 1 a little harder than the rest
TP_LOSS_FLOOR = 0.005  # tp_loss may be 0; searched in log space above this floor
THROUGHPUT_KINDS = ("max_throughput", "static_batch", "concurrency", "single_stream")
METRIC_CLASS = {"max_throughput": "throughput", "static_batch": "throughput", "concurrency": "throughput",
                "single_stream": "single-stream decode", "ttft": "TTFT", "tpot": "TPOT"}


def _bounds(name: str) -> tuple[float, float]:
    parts = name.split(".")
    if parts[0] == "fam":
        return BOUNDS[parts[2]]
    if parts[0] == "eng":
        return BOUNDS["step" if parts[-1] == "step" else "eng"]
    if parts[0] in ("cell", "plat"):
        return BOUNDS[parts[0]]
    return BOUNDS[name]


def row_params(m, names: set[str]) -> tuple[str, ...]:
    """The fitted factors a row's prediction depends on."""
    plat = cal.platform(m.family)
    keys = [f"fam.{m.family}.mem_bw", f"fam.{m.family}.compute", f"eng.{m.engine}", f"eng.{m.engine}.step",
            f"cell.{m.family}|{m.engine}", f"plat.{plat}.step", f"plat.{plat}.allreduce", *cal.PRIOR_SHARED]
    return tuple(k for k in keys if k in names)


def parameter_names(rows) -> list[str]:
    fams = sorted({m.family for m in rows})
    fam_engines = defaultdict(set)
    eng_fams = defaultdict(set)
    for m in rows:
        fam_engines[m.family].add(m.engine)
        eng_fams[m.engine].add(m.family)
    engines = sorted({m.engine for m in rows} - {cal.REFERENCE_ENGINE})
    names = [f"fam.{f}.{w}" for f in fams for w in ("mem_bw", "compute")]
    # an engine whose rows all sit on families that no other engine ran on is confounded with those families:
    # its factors stay at their priors
    engines = [e for e in engines if any(len(fam_engines[f]) > 1 for f in eng_fams[e])]
    names += [f"eng.{e}" for e in engines] + [f"eng.{e}.step" for e in engines]
    names += sorted({f"cell.{m.family}|{m.engine}" for m in rows if m.engine != cal.REFERENCE_ENGINE
                     and len(fam_engines[m.family]) > 1 and len(eng_fams[m.engine]) > 1})
    plats = sorted({cal.platform(f) for f in fams} - {"cuda"})
    names += [f"plat.{p}.{w}" for p in plats for w in ("step", "allreduce")]
    names += list(cal.PRIOR_SHARED)
    return names


class Loss:
    """Weighted mean |ln error| plus the pull towards the priors, with per-row caching."""

    def __init__(self, rows):
        self.rows = rows
        n = Counter(m.source_doc for m in rows)
        self.weights = [1 / math.sqrt(n[m.source_doc]) for m in rows]
        self.wsum = sum(self.weights)
        self.names = parameter_names(rows)
        nameset = set(self.names)
        self.deps = [row_params(m, nameset) for m in rows]
        self.cache: list[dict] = [{} for _ in rows]

    def row_error(self, i: int, params: dict) -> float:
        key = tuple(params[k] for k in self.deps[i])
        hit = self.cache[i].get(key)
        if hit is None:
            m = self.rows[i]
            hit = log_error(predict(m, cal.efficiency(m.family, m.engine, fit=params)), m.value)
            self.cache[i][key] = hit
        return hit

    def __call__(self, params: dict) -> float:
        err = sum(w * self.row_error(i, params) for i, w in enumerate(self.weights)) / self.wsum
        pull = 0.0
        for k, v in params.items():
            prior = cal.param(k, {})
            d = math.log(max(v, TP_LOSS_FLOOR) / max(prior, TP_LOSS_FLOOR)) ** 2
            pull += (SHRINK_PAIR if k.startswith("cell.") else SHRINK) * d
        return err + pull


def pattern_search(f, x0: dict[str, float], step: float = 0.25, min_step: float = 0.004,
                   max_evals: int = 6000) -> tuple[dict[str, float], float]:
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
                    while True:  # pattern move: keep going in the same direction while it helps
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


def fit(rows, start: dict[str, float] | None = None, step: float = 0.25) -> dict[str, float]:
    loss = Loss(rows)
    x0 = {k: cal.param(k, {}) for k in loss.names}
    if start:
        x0.update({k: v for k, v in start.items() if k in x0})
    x, _ = pattern_search(loss, x0, step=step)
    return {k: round(v, 4) for k, v in x.items()}


def cross_validate(rows, full: dict[str, float]) -> tuple[list[float | None], dict[str, dict]]:
    """Leave-one-source-out predictions, in the order of `rows`, and each fold's factors."""
    preds: list[float | None] = [None] * len(rows)
    folds = {}
    for src in sorted({m.source_doc for m in rows}):
        train = [m for m in rows if m.source_doc != src]
        params = fit(train, start=full, step=0.1)
        folds[src] = params
        for i, m in enumerate(rows):
            if m.source_doc == src:
                preds[i] = predict(m, cal.efficiency(m.family, m.engine, fit=params))
        print(f"  cv: left out {src} ({sum(m.source_doc == src for m in rows)} rows)", file=sys.stderr)
    return preds, folds


def fold_predictions(rows, folds: dict[str, dict]) -> list[float | None]:
    """Held-out predictions from stored fold factors (what the tests recompute)."""
    return [predict(m, cal.efficiency(m.family, m.engine, fit=folds[m.source_doc])) for m in rows]


def log_residuals(rows, preds) -> list[float]:
    return [math.log(p / m.value) if p and p > 0 else math.log(2.0) for m, p in zip(rows, preds)]


def bands(rows, preds, folds) -> tuple[dict[str, tuple[float, int]], float]:
    """Per (family, engine) pair: (sigma, rows) of the held-out log errors of throughput rows, shrunk towards
    sigma_unseen, the error on rows whose pair had no training row in their fold."""
    res = log_residuals(rows, preds)
    unseen = []
    by_cell = defaultdict(list)
    for m, r in zip(rows, res):
        if m.kind not in THROUGHPUT_KINDS:
            continue
        by_cell[m.cell].append(r)
        others = [o for o in rows if o.source_doc != m.source_doc and o.cell == m.cell]
        if not others:
            unseen.append(r)
    sigma_unseen = math.sqrt(statistics.fmean(r * r for r in unseen)) if len(unseen) >= 5 else 0.4
    out = {}
    k = cal.BAND_PSEUDO_ROWS
    for cell, rs in sorted(by_cell.items()):
        n = len(rs)
        ms = statistics.fmean(r * r for r in rs)
        out[cell] = (round(math.sqrt((n * ms + k * sigma_unseen ** 2) / (n + k)), 4), n)
    return out, round(sigma_unseen, 4)


def write_block(params: dict, band: dict, sigma_unseen: float, basis: str, folds: dict) -> None:
    """Rewrite the fitted block of optimizer/perf/calibration.py and the folds file."""
    path = ROOT / "optimizer" / "perf" / "calibration.py"
    text = path.read_text()
    fit_lines = "\n".join(f'    "{k}": {v},' for k, v in params.items())
    band_lines = "\n".join(f'    "{k}": ({s}, {n}),' for k, (s, n) in band.items())
    block = (f"FIT = {{\n{fit_lines}\n}}\nBAND = {{\n{band_lines}\n}}\nSIGMA_UNSEEN = {sigma_unseen}\n"
             f"FIT_BASIS = \"{basis}\"\n")
    new, n = re.subn(r"(# ---- fitted by bench/fit_calibration.py[^\n]*\n)(.*?)(# ---- end of fitted values ----)",
                     lambda mt: mt.group(1) + block + mt.group(3), text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{path}: fitted-block markers not found")
    path.write_text(new)
    FOLDS_FILE.write_text(json.dumps(folds, indent=1, sort_keys=True) + "\n")
    print(f"wrote the fitted block of {path} and {FOLDS_FILE}", file=sys.stderr)


def metric_table(title: str, rows, preds) -> str:
    """Median and 90th-percentile APE per metric class (throughput, single-stream decode, TTFT, TPOT)."""
    groups = defaultdict(list)
    for m, p in zip(rows, preds):
        groups[METRIC_CLASS[m.kind]].append((ape(p, m.value), 100.0 if p is None else (p / m.value - 1) * 100))
    lines = [f"**{title}**", "", "| metric | rows | median APE | 90th pct APE | median signed error |",
             "|---|---:|---:|---:|---:|"]
    for g in ("throughput", "single-stream decode", "TTFT", "TPOT"):
        v = groups.get(g)
        if v:
            lines.append(f"| {g} | {len(v)} | {statistics.median(a for a, _ in v):.1f}% | "
                         f"{percentile([a for a, _ in v], 90):.1f}% | {statistics.median(s for _, s in v):+.1f}% |")
    return "\n".join(lines)


def metric_summary(rows, preds) -> dict[str, tuple[float, float]]:
    groups = defaultdict(list)
    for m, p in zip(rows, preds):
        groups[METRIC_CLASS[m.kind]].append(ape(p, m.value))
    return {g: (statistics.median(v), percentile(v, 90)) for g, v in groups.items()}


def cell_ratios(rows, preds, kinds=THROUGHPUT_KINDS) -> dict[str, tuple[int, float]]:
    """Per (family, engine): rows and the median estimate / measurement ratio (throughput rows)."""
    by = defaultdict(list)
    for m, p in zip(rows, preds):
        if m.kind in kinds:
            by[m.cell].append((p or 0.0) / m.value)
    return {c: (len(v), statistics.median(v)) for c, v in sorted(by.items())}


def cell_table(rows, fitted, cv) -> str:
    a, b = cell_ratios(rows, fitted), cell_ratios(rows, cv)
    lines = ["| GPU family, engine | throughput rows | median estimate / measured (fit) | (held out) | band sigma |",
             "|---|---:|---:|---:|---:|"]
    for c, (n, r) in a.items():
        f, e = c.split("|")
        lines.append(f"| {f}, {e} | {n} | {r:.2f} | {b[c][1]:.2f} | {cal.band(f, e).sigma:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the fitted block of optimizer/perf/calibration.py")
    ap.add_argument("--markdown", action="store_true", help="print every row")
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
        print(f"  {k:30s} {v:8.4f}   (prior {cal.param(k, {})})")
    fitted = [predict(m, cal.efficiency(m.family, m.engine, fit=params)) for m in rows]
    prior = [predict(m, cal.efficiency(m.family, m.engine, fit={})) for m in rows]
    out = [metric_table(f"In-sample, the fitted factors ({len(rows)} rows)", rows, fitted), "",
           metric_table("Before calibration: the engineering priors", rows, prior)]
    band, sigma_unseen, folds = {}, cal.SIGMA_UNSEEN, {}
    if not args.no_cv:
        cv, folds = cross_validate(rows, params)
        band, sigma_unseen = bands(rows, cv, folds)
        out += ["", metric_table("Leave-one-source-out cross-validation", rows, cv), "", cell_table(rows, fitted, cv),
                "", f"sigma_unseen {sigma_unseen}; bands {band}"]
    print("\n".join(out))
    if args.markdown:
        print("\n| file:line | framework | model | GPU | tp | prec | isl/osl | batch | metric | measured | model | "
              "error |")
        print("|---|---|---|---|---:|---|---|---|---|---:|---:|---:|")
        for m, p in zip(rows, fitted):
            print(f"| {m.file}:{m.line} | {m.framework} | {m.model.name} | {m.gpu.name} | {m.tp} | {m.precision} | "
                  f"{m.isl}/{m.osl} | {m.batch or 'max'} | {m.metric} | {m.value:g} | "
                  f"{(p or 0):.4g} | {((p or 0) / m.value - 1) * 100:+.0f}% |")
    if args.write:
        if args.no_cv:
            raise SystemExit("--write needs the cross-validation (the bands come from it)")
        write_block(params, band, sigma_unseen, f"fit on {len(rows)} rows of catalogs/_sources/calibration "
                    f"(bench/fit_calibration.py)", folds)


if __name__ == "__main__":
    main()
