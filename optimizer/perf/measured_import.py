"""`llmplan measured import`: benchmark results -> `measured:` entries of a problem, at the workloads' targets.

Result formats (field names read from the tools' sources; fixtures in tests/fixtures/bench/ say where from):
- `vllm bench serve --save-result` (vllm/benchmarks/serve.py): one JSON object (or one per line with
  --append-result) with `request_throughput`, `completed`, `failed`, `num_prompts`, `total_output_tokens`,
  `date` (YYYYmmdd-HHMMSS), `median_<m>_ms` and `p<q>_<m>_ms` for m in ttft, tpot, itl, e2el (the percentiles
  of --metric-percentiles), and every --metadata KEY=VALUE pair as a top-level key;
- `python -m sglang.bench_serving --output-file` (python/sglang/bench_serving.py): one JSON line per run with
  `request_throughput`, `completed`, `total_output_tokens`, `median_ttft_ms`, `p99_ttft_ms`, `median_tpot_ms`,
  `p99_tpot_ms` (p90 only in some versions), `random_input_len`, `random_output_len`.
What a result measured (workload, model, GPU, precision, TP, engine, token lengths) comes from its sidecar
`NAME.llmplan.json` (written by the `llmplan benchmark` script next to `NAME.json` / `NAME.jsonl`), else from the
`llmplan_*` keys vLLM stores from --metadata.

Rules: one server is one replica, so a run's `request_throughput` is requests/s per replica. A run counts when it
completed >= 99% of its prompts, generated >= 90% of the output length it asked for (an engine that stops at EOS
measures shorter requests), was taken at the workload's current token lengths and engine, and its TTFT and TPOT
at the chosen percentile meet the workload's targets (an encoder: end-to-end latency <= the TTFT target). Per
(workload, model, GPU, precision, TP) the highest such throughput becomes the `measured:` entry; when no run meets
the targets, nothing is claimed and the report says by how much the best run missed.
The problem file is edited as text: only its top-level `measured:` block is rewritten (entries for other
configurations kept), the rest of the file stays byte for byte; the result is validated, then written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..catalog import Catalog
from ..catalog.inline import with_problem_models
from ..errors import LlmplanError, ProblemError, did_you_mean
from ..fsutil import write_atomic
from ..problem import ServingWorkload, load_problem, parse_problem

SIDECAR = ".llmplan.json"
MIN_COMPLETED = 0.99
MIN_OUTPUT = 0.90


@dataclass(frozen=True)
class Run:
    file: str
    key: tuple  # (workload, model, gpu, precision, tp), catalog names
    engine: str
    mode: str
    rps: float
    ttft_ms: float | None
    tpot_ms: float | None
    pct_used: str
    date: dt.date | None
    completed: int
    meets: bool
    miss: str | None  # why it misses the targets


@dataclass
class Report:
    runs: list[Run] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    claimed: list[dict] = field(default_factory=list)
    not_claimed: list[str] = field(default_factory=list)
    output: str = ""

    def lines(self) -> list[str]:
        out = [f"skipped {s}" for s in self.skipped]
        for m in self.claimed:
            out.append(f"measured {m['workload']}: {m['model']} {m['precision']} tp{m['tp']} on {m['gpu']}: "
                       f"{m['requests_per_s']:g} req/s per replica ({m['source']})")
        out += [f"not claimed {s}" for s in self.not_claimed]
        out.append(f"wrote {len(self.claimed)} measured entries to {self.output}" if self.claimed
                   else f"no measured entry written; {self.output} unchanged")
        return out


def _read(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LlmplanError("file not found", file=str(path), fix="pass the result files the benchmark wrote") from None
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    lines = [ln for ln in text.splitlines() if ln.strip()]
    try:  # JSON lines (sglang.bench_serving, vllm --append-result): the last run
        obj = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError as e:
        raise LlmplanError(f"not JSON or JSON lines ({e.msg})", file=str(path),
                           fix="pass the files `vllm bench serve --save-result` or `sglang.bench_serving "
                               "--output-file` wrote") from None
    if not isinstance(obj, dict):
        raise LlmplanError("empty result file", file=str(path), fix="rerun the benchmark")
    return obj


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".jsonl", ".json"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _metadata(path: Path, result: dict) -> dict:
    side = path.with_name(_stem(path) + SIDECAR)
    if side.exists():
        try:
            return json.loads(side.read_text())
        except json.JSONDecodeError as e:
            raise LlmplanError(f"sidecar is not valid JSON ({e.msg})", file=str(side),
                               fix="regenerate it with `llmplan benchmark`") from None
    meta = {k.removeprefix("llmplan_"): v for k, v in result.items() if k.startswith("llmplan_")}
    if not meta:
        raise LlmplanError("no llmplan metadata: cannot tell which workload, model, GPU, precision and TP it measured",
                           file=str(path), fix=f"run the script `llmplan benchmark` writes, or write {side.name} with "
                                                '{"workload": ..., "model": ..., "gpu": ..., "precision": ..., '
                                                '"tp": ..., "engine": ..., "isl": ..., "osl": ...}')
    return meta


def _latency(result: dict, metric: str, pct: int) -> tuple[float | None, str]:
    """The metric at percentile `pct` (50 = median), else the next higher percentile the file has."""
    for q in [p for p in (50, 90, 95, 99) if p >= pct]:
        for k in ((f"median_{metric}_ms", f"p50_{metric}_ms") if q == 50 else (f"p{q}_{metric}_ms",)):
            if isinstance(result.get(k), (int, float)):
                return float(result[k]), ("median" if q == 50 else f"p{q}")
    return None, "-"


def _date(result: dict) -> dt.date | None:
    m = re.match(r"(\d{4})(\d{2})(\d{2})", str(result.get("date", "")))
    return dt.date(int(m[1]), int(m[2]), int(m[3])) if m else None


def parse_run(path: Path, problem, catalog: Catalog, pct: int) -> Run | str:
    """A run, or the reason (a string) it cannot count."""
    result = _read(path)
    meta = _metadata(path, result)
    where = f"{path.name}"
    names = [w.name for w in problem.serving]
    wname = str(meta.get("workload", ""))
    w = next((x for x in problem.serving if x.name == wname), None)
    if not isinstance(w, ServingWorkload):
        raise ProblemError(f"result names workload '{wname}', which the problem does not define."
                           f"{did_you_mean(wname, names)}", file=str(path), fix=f"use one of: {', '.join(names)}")
    try:
        model, gpu = catalog.model(str(meta["model"])), catalog.gpu(str(meta["gpu"]))
        precision, tp = str(meta["precision"]), int(meta["tp"])
    except KeyError as e:
        raise ProblemError(f"metadata: {e.args[0]}", file=str(path),
                           fix="the sidecar needs workload, model, gpu, precision, tp (catalog names)") from None
    engine = str(meta.get("engine") or "vllm")
    want_engine = w.engine or problem.policy.engine
    embedding = model.kind == "embedding"
    isl, osl = w.input_tokens, 0 if embedding else w.output_tokens
    if meta.get("isl") is not None and (int(meta["isl"]), int(meta.get("osl") or 0)) != (isl, osl):
        return (f"{where}: measured at {meta['isl']} in / {meta.get('osl')} out tokens; workload '{w.name}' now has "
                f"{isl} / {osl}: rerun `llmplan benchmark`")
    if engine != want_engine:
        return f"{where}: measured with {engine}; workload '{w.name}' is served with {want_engine}"
    completed = int(result.get("completed") or 0)
    asked = int(result.get("num_prompts") or completed)
    if completed == 0 or completed < MIN_COMPLETED * asked or int(result.get("failed") or 0) > asked - MIN_COMPLETED * asked:
        return f"{where}: only {completed} of {asked} requests completed"
    if not embedding:
        mean_out = float(result.get("total_output_tokens") or 0) / completed
        if mean_out < MIN_OUTPUT * osl:
            return (f"{where}: requests generated {mean_out:.0f} tokens on average, not the {osl} asked for (the "
                    f"engine stopped at end-of-sequence?): not comparable")
    rps = float(result["request_throughput"])
    if embedding:
        ttft, used = _latency(result, "e2el", pct)
        tpot = None
    else:
        ttft, used = _latency(result, "ttft", pct)
        tpot, _ = _latency(result, "tpot", pct)
    if ttft is None or (tpot is None and not embedding):
        return f"{where}: no TTFT/TPOT percentiles in the file (run with --percentile-metrics ttft,tpot)"
    misses = []
    if ttft > w.ttft_target_ms:
        misses.append(f"{used} {'latency' if embedding else 'TTFT'} {ttft:,.0f} ms > {w.ttft_target_ms:g} ms")
    if tpot is not None and tpot > w.tpot_target_ms:
        misses.append(f"{used} TPOT {tpot:,.1f} ms > {w.tpot_target_ms:g} ms")
    mode = (f"concurrency {result['max_concurrency']}" if result.get("max_concurrency") not in (None, "")
            and str(result.get("request_rate", "inf")) == "inf" else f"rate {result.get('request_rate')} req/s")
    return Run(path.name, (w.name, model.name, gpu.name, precision, tp), engine, mode, rps, ttft, tpot, used,
               _date(result), completed, not misses, "; ".join(misses) or None)


def best_entries(runs: list[Run], problem) -> tuple[list[dict], list[str]]:
    """Per configuration: the fastest run that meets the targets, as a `measured:` entry; else why not."""
    groups: dict[tuple, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.key, []).append(r)
    wl = {w.name: w for w in problem.serving}
    entries, refused = [], []
    for key, rs in groups.items():
        ok = [r for r in rs if r.meets]
        w = wl[key[0]]
        if not ok:
            best = max(rs, key=lambda r: r.rps)
            refused.append(f"{key[0]}: {key[1]} {key[3]} tp{key[4]} on {key[2]}: no run meets the targets (TTFT "
                           f"{w.ttft_target_ms:g} ms, TPOT {w.tpot_target_ms:g} ms); the fastest, {best.file} at "
                           f"{best.rps:.3g} req/s, misses: {best.miss}")
            continue
        r = max(ok, key=lambda r: r.rps)
        lat = f"{r.pct_used} TTFT {r.ttft_ms:,.0f} ms" + (f", TPOT {r.tpot_ms:.1f} ms" if r.tpot_ms else "")
        entry = {"workload": key[0], "model": key[1], "gpu": key[2], "precision": key[3], "tp": key[4],
                 "requests_per_s": round(r.rps, 4), "engine": r.engine, "ttft_ms": round(r.ttft_ms, 1)}
        if r.tpot_ms:
            entry["tpot_ms"] = round(r.tpot_ms, 2)
        entry["checked"] = (r.date or dt.date.today()).isoformat()
        entry["source"] = (f"{r.file}: {r.engine} benchmark, {r.mode}, {r.completed} requests; {lat} (targets "
                           f"{w.ttft_target_ms:g} / {w.tpot_target_ms:g} ms); best of {len(rs)} runs")
        entries.append(entry)
    return entries, refused


_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def merge_measured(text: str, entries: list[dict], same) -> str:
    """`text` with its top-level `measured:` block replaced by the old entries `same` does not match plus
    `entries`; every other line unchanged. `same(old_entry, new_entry)` says two entries describe one config."""
    data = yaml.safe_load(text) or {}
    old = [m for m in (data.get("measured") or []) if not any(same(m, e) for e in entries)]
    block = yaml.safe_dump({"measured": old + entries}, sort_keys=False, default_flow_style=False, width=120)
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(r"^measured\s*:", ln)), None)
    if start is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return text + sep + "\n" + block
    end = start + 1
    while end < len(lines) and not _TOP_KEY.match(lines[end]):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # blank lines and comments before the next key stay where they are
    return "".join(lines[:start]) + block + "".join(lines[end:])


def import_results(files: list[Path], problem_file: Path, output: Path, pct: int, catalog: Catalog) -> Report:
    problem = load_problem(problem_file)
    catalog = with_problem_models(catalog, problem, str(problem_file))
    rep = Report(output=str(output))
    for f in files:
        if f.name.endswith(SIDECAR) or f.name.endswith(".pytorch.json"):
            continue  # sidecars, and vLLM's PyTorch-benchmark-format copy of each result
        r = parse_run(Path(f), problem, catalog, pct)
        if isinstance(r, str):
            rep.skipped.append(r)
        else:
            rep.runs.append(r)
    entries, rep.not_claimed = best_entries(rep.runs, problem)
    rep.claimed = entries
    if not entries:
        return rep

    def canon(m: dict) -> tuple:
        try:
            return (m.get("workload"), catalog.model(str(m.get("model"))).name, catalog.gpu(str(m.get("gpu"))).name,
                    m.get("precision"), int(m.get("tp", 1)))
        except (KeyError, ValueError, TypeError):
            return (m.get("workload"), m.get("model"), m.get("gpu"), m.get("precision"), m.get("tp", 1))

    text = Path(problem_file).read_text()
    new_text = merge_measured(text, entries, lambda a, b: canon(a) == canon(b))
    parse_problem(yaml.safe_load(new_text), str(output))  # never write a problem that does not load
    write_atomic(output, new_text)
    return rep
