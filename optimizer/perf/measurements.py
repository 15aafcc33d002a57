"""Published measurements, read as what each one measured, and the model's prediction for each.

Reads `catalogs/_sources/calibration/measured_throughput.csv` (columns model, params_b, gpu, gpu_count,
precision, framework, isl, osl, concurrency, metric, value, unit, source). Each row becomes a `Measurement` of one
kind, predicted by the matching function of speed.py, never by one formula for all:

| kind            | rows                                                      | predicted by                                |
|-----------------|-----------------------------------------------------------|---------------------------------------------|
| max_throughput  | `concurrency=max` (trtllm-bench, vLLM benchmark_throughput) | `max_throughput_point(...).output_tok_s`    |
| static_batch    | a batch size with a static-batch engine (TRT-LLM <= 0.6,  | `static_batch_point(...).output_tok_s`      |
|                 | Intel Gaudi tables, lmdeploy static batch)                |                                             |
| concurrency     | a client concurrency with continuous batching             | `serving_point(...).output_tok_s`           |
| single_stream   | `single_stream_decode_tok_s`                              | osl / (TTFT + (osl-1) TPOT) where the source |
|                 |                                                           | includes prefill time, else 1 / TPOT         |
| ttft / tpot     | batch-1 first-token latency / per-token latency           | `serving_point(..., batch=1)`               |

`output_tok_s_per_gpu` rows are compared with the replica's output / tp. Rules for names a catalog lookup cannot
settle are written out in `GPU_OVERRIDES` and `EXTRA_MODELS`, each with its reason; rows on hardware the catalog
does not carry are skipped and listed (`skipped`), never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog
from ..catalog.schema import GpuSpec, ModelSpec
from .calibration import Efficiency, efficiency
from .memory import memory_plan, parse_precision
from .speed import max_throughput_point, serving_point, static_batch_point

CALIBRATION_DIR = Path(__file__).resolve().parents[2] / "catalogs" / "_sources" / "calibration"
DEFAULT_FILE = CALIBRATION_DIR / "measured_throughput.csv"
DEFAULT_FILES = (DEFAULT_FILE, CALIBRATION_DIR / "measured_throughput_2.csv")

# The serving engine behind a `framework` string (first match wins). lmdeploy, gpt-fast and Intel's
# optimum-habana are calibration-only harnesses; FasterTransformer is TensorRT-LLM's predecessor.
ENGINE_PATTERNS = (("tensorrt", "trtllm"), ("fastertransformer", "trtllm"), ("sglang", "sglang"),
                   ("vllm", "vllm"), ("tgi", "tgi"), ("lmdeploy", "lmdeploy"), ("gpt-fast", "gpt-fast"),
                   ("optimum-habana", "optimum-habana"))


def engine_of(framework: str) -> str:
    low = framework.lower()
    for pat, eng in ENGINE_PATTERNS:
        if pat in low:
            return eng
    raise ValueError(f"no serving engine known for framework '{framework}'")


def source_key(source: str) -> str:
    """The source document (the unit of leave-one-source-out cross-validation): the source string up to its first
    space, parenthesis or bracket (a URL or repo:path@commit)."""
    return re.split(r"[\s\[(]", source.strip(), maxsplit=1)[0]

# GPU spellings whose catalog row a name lookup cannot settle.
GPU_OVERRIDES = {
    # TRT-LLM performance.md (v0.5/v0.6.1) does not name the A100 variant; its Llama 7B fp16 batch 384 at
    # 128/128 needs ~63 GB (13.5 GB weights + 384 x 256 tokens x 0.5 MB KV), so it ran on the 80 GB part.
    "A100 (variant not stated)": "A100-80GB",
}

# Models the catalog does not carry because nobody serves them, but whose architecture a source states.
EXTRA_MODELS = {
    # kipp.ly "Transformer Inference Arithmetic": the 13B GPT used for the FasterTransformer figures
    # (40 layers, d_model 5120, 40 heads of 128, MHA, 4x FFN, GPT-2 vocabulary).
    "GPT-13B (kipply test-13b config)": dict(
        name="gpt-13b-kipply", display_name="GPT 13B (kipply)", hf_id="-", kind="decoder", params_b=13.0,
        active_params_b=13.0, layers=40, hidden_size=5120, intermediate_size=20480, attention_heads=40, kv_heads=40,
        head_dim=128, vocab_size=50257, tied_embeddings=True, max_context=2048, quality_tier=1,
        source="https://kipp.ly/transformer-inference-arithmetic/", checked=dt.date(2026, 11, 24)),
}

# gpt-fast's README figures generate max_new_tokens=200 (its generate.py default) after a ~5-token prompt.
GPT_FAST_OSL = 200

METRICS = ("output_tok_s_total", "output_tok_s_per_gpu", "single_stream_decode_tok_s", "ttft_ms", "tpot_ms")


@dataclass(frozen=True)
class Measurement:
    line: int  # line in the CSV (header = 1)
    model: ModelSpec
    gpu: GpuSpec
    tp: int
    precision: str  # fp16 | fp8 | int8 | int4 | fp4
    weight_only: bool
    group_size: int
    framework: str
    source: str  # the source document without bracketed notes (the unit of cross-validation)
    isl: int
    osl: int
    kind: str  # max_throughput | static_batch | concurrency | single_stream | ttft | tpot
    batch: int | None
    metric: str
    value: float
    includes_prefill: bool  # single_stream rows whose figure includes the prefill time
    engine: str = "trtllm"
    kv_dtype: str | None = None  # None = the engine's default
    file: str = "measured_throughput.csv"

    @property
    def source_doc(self) -> str:
        return source_key(self.source)

    @property
    def cell(self) -> str:
        return f"{self.family}|{self.engine}"

    @property
    def family(self) -> str:
        return self.gpu.architecture

    @property
    def group(self) -> str:
        """The metric group the error bars are reported for."""
        if self.kind == "max_throughput":
            return "output_tok_s_total (max concurrency)"
        if self.kind in ("static_batch", "concurrency"):
            return "output_tok_s_total (given batch)"
        return {"single_stream": "single_stream_decode_tok_s", "ttft": "ttft_ms", "tpot": "tpot_ms"}[self.kind]


def _num(s: str) -> float | None:
    s = (s or "").strip()
    return float(s) if s else None


def _kind(row: dict) -> tuple[str, int | None]:
    metric, conc = row["metric"], row["concurrency"].strip()
    if metric == "ttft_ms":
        return "ttft", 1
    if metric == "tpot_ms":
        return "tpot", 1
    if metric == "single_stream_decode_tok_s":
        return "single_stream", 1
    if conc == "max":
        return "max_throughput", None
    text = (row["framework"] + " " + row["source"]).lower()
    # a closed batch: every request sent at once (vLLM benchmark_throughput with num_prompts, benchmark_serving
    # with all requests at once) runs like a static batch: all prompts prefilled, then the decodes
    static = ("static" in text or "batch size given" in text or "gaudi" in text or "at once" in text)
    return ("static_batch" if static else "concurrency"), int(float(conc))


def load_measurements(catalog: Catalog, paths=DEFAULT_FILES) -> tuple[list[Measurement], list[str]]:
    """The rows the model can be checked on, and a line per skipped row saying why."""
    if isinstance(paths, (str, Path)):
        paths = (paths,)
    out, skipped = [], []
    for path in paths:
        rows, skip = _load_file(catalog, Path(path))
        out += rows
        skipped += skip
    return out, skipped


def _load_file(catalog: Catalog, path: Path) -> tuple[list[Measurement], list[str]]:
    out, skipped = [], []
    extra = {k: ModelSpec(**v) for k, v in EXTRA_MODELS.items()}
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            where = f"{path.name} line {i}"
            gname = GPU_OVERRIDES.get(row["gpu"], row["gpu"])
            try:
                gpu = catalog.gpu(gname)
            except KeyError:
                skipped.append(f"{where}: GPU '{row['gpu']}' is not in the catalog")
                continue
            try:
                model = extra[row["model"]] if row["model"] in extra else catalog.model(row["model"])
            except KeyError:
                skipped.append(f"{where}: model '{row['model']}' is not in the catalog")
                continue
            if row["metric"] not in METRICS:
                skipped.append(f"{where}: metric '{row['metric']}' is not modelled")
                continue
            gpt_fast = "gpt-fast" in row["framework"]
            if not gpt_fast and (_num(row["isl"]) is None or (_num(row["osl"]) is None and row["metric"] != "ttft_ms")):
                skipped.append(f"{where}: token lengths not stated (a dataset's variable lengths): no operating "
                               f"point to replay")
                continue
            if not row["concurrency"].strip() and row["metric"] not in ("single_stream_decode_tok_s",):
                skipped.append(f"{where}: measured under load at a target request rate (MLPerf Server): not a "
                               f"batch the model replays")
                continue
            precision, weight_only, group = parse_precision(row["precision"])
            kind, batch = _kind(row)
            isl = int(_num(row["isl"]) or 0)
            osl = _num(row["osl"])
            if osl is None:
                osl = GPT_FAST_OSL if gpt_fast else 1
            src = re.sub(r"\s*\[[^\]]*\]", "", row["source"]).strip()
            engine = engine_of(row["framework"])
            kv = "fp8" if re.search(r"fp8[-_]kv|kv[- ]cache[- ]dtype[= ]fp8", row["source"], re.I) else None
            out.append(Measurement(
                line=i, model=model, gpu=gpu, tp=int(float(row["gpu_count"] or 1)), precision=precision,
                weight_only=weight_only, group_size=group, framework=row["framework"], source=src, isl=isl,
                osl=int(osl), kind=kind, batch=batch, metric=row["metric"], value=float(row["value"]),
                includes_prefill=("incl. prefill" in row["source"] or "prefill included" in row["source"]),
                engine=engine, kv_dtype=kv, file=path.name))
    return out, skipped


def predict(m: Measurement, eff: Efficiency | None = None) -> float | None:
    """The model's figure for what the row measured (None: the configuration does not fit in memory)."""
    eff = eff or efficiency(m.gpu.architecture, m.engine)
    kw = dict(eff=eff, group_size=m.group_size, weight_only=m.weight_only)
    if m.kind == "max_throughput":
        pt = max_throughput_point(m.model, m.gpu, m.precision, m.tp, m.isl, m.osl, m.kv_dtype, **kw)
        if pt is None:
            return None
        value = pt.output_tok_s
    elif m.kind in ("static_batch", "concurrency"):
        mp = memory_plan(m.model, m.gpu, m.precision, m.tp, m.kv_dtype, min_kv_tokens=m.isl + m.osl,
                         group_size=m.group_size, engine=m.engine)
        if not mp.fits:
            return None
        if m.kind == "static_batch" or m.batch * (m.isl + m.osl) > mp.kv_tokens:
            value = static_batch_point(m.model, m.gpu, m.precision, m.tp, m.isl, m.osl, m.batch, m.kv_dtype,
                                       kv_tokens=mp.kv_tokens, **kw).output_tok_s
        else:
            value = serving_point(m.model, m.gpu, m.precision, m.tp, m.isl, m.osl, m.batch, m.kv_dtype,
                                  **kw).output_tok_s
    else:
        pt = serving_point(m.model, m.gpu, m.precision, m.tp, m.isl, m.osl, 1, m.kv_dtype, **kw)
        if m.kind == "ttft":
            return pt.ttft_ms
        if m.kind == "tpot":
            return pt.tpot_ms
        value = pt.output_tok_s if m.includes_prefill else 1e3 / pt.tpot_ms
    return value / m.tp if m.metric == "output_tok_s_per_gpu" else value


def ape(pred: float | None, actual: float) -> float:
    """Absolute percentage error; a prediction of 'does not fit' counts as 100%."""
    return 100.0 if pred is None else abs(pred - actual) / actual * 100


def log_error(pred: float | None, actual: float) -> float:
    """|ln(pred / actual)|: symmetric in over- and under-estimates (the fit's loss)."""
    return 2.0 if pred is None or pred <= 0 else abs(math.log(pred / actual))


@dataclass(frozen=True)
class ErrorRow:
    group: str
    n: int
    median_ape: float
    p90_ape: float
    median_signed: float  # median of (pred - actual) / actual, percent: the bias


def percentile(xs: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def error_table(rows: list[Measurement], preds: list[float | None]) -> list[ErrorRow]:
    """Median and 90th-percentile absolute percentage error per metric group."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for m, p in zip(rows, preds):
        signed = 100.0 if p is None else (p - m.value) / m.value * 100
        groups.setdefault(m.group, []).append((ape(p, m.value), signed))
    return [ErrorRow(g, len(v), statistics.median(a for a, _ in v), percentile([a for a, _ in v], 90),
                     statistics.median(s for _, s in v)) for g, v in sorted(groups.items())]
