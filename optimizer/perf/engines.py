"""Serving engines: how to start one replica of a configuration and how to load it, written once per engine.

Each `EngineSpec` turns a `ServerConfig` (model, precision, TP, KV-cache dtype, context) into the engine's server
command, and a `BenchRun` (token lengths and an operating point: a concurrency or a Poisson request rate) into the
command that measures it and saves a result file `measured import` can read. Flags were checked against the
engines' sources and docs:
- vLLM: `vllm serve` (--tensor-parallel-size, --dtype, --quantization fp8, --kv-cache-dtype, --max-model-len,
  --gpu-memory-utilization) and `vllm bench serve` (vllm/benchmarks/serve.py: --dataset-name random,
  --random-input-len/--random-output-len/--random-range-ratio, --ignore-eos, --max-concurrency, --request-rate,
  --num-prompts, --percentile-metrics, --metric-percentiles, --metadata KEY=VALUE, --save-result, --result-dir,
  --result-filename). The result is one JSON object; --metadata pairs become top-level keys.
- SGLang: `python -m sglang.launch_server` (--model-path, --tp-size, --quantization, --kv-cache-dtype,
  --context-length, --mem-fraction-static, --is-embedding) and `python -m sglang.bench_serving` (--backend sglang,
  --dataset-name random, --random-range-ratio 1 for fixed lengths: SGLang draws from [ratio x len, len], --output-file
  appends one JSON line per run). It has no --metadata: the sidecar file carries the configuration.
- TensorRT-LLM: `trtllm-serve MODEL --backend pytorch --tp_size --max_seq_len` (an OpenAI-compatible server);
  quantised weights come from a pre-quantised checkpoint. TGI: `text-generation-launcher --model-id --num-shard
  --quantize fp8 --kv-cache-dtype fp8_e4m3fn --max-input-tokens --max-total-tokens`. Both are loaded with
  `vllm bench serve --backend openai --endpoint /v1/completions`.
Precisions without an online quantisation path in an engine (int8, int4, fp4 everywhere; fp8 in TensorRT-LLM)
need a pre-quantised checkpoint: the script asks for it in a variable (MODEL_INT4=...) and stops if it is unset.
"""

from __future__ import annotations

from ..errors import ProblemError, did_you_mean

import re
import shlex
from dataclasses import dataclass

ENGINES = ("vllm", "sglang", "trtllm", "tgi")
PORT = 8000
GPU_MEMORY_UTILIZATION = 0.90  # memory.py's budget, so the measured KV cache matches the modelled one
PERCENTILES = "50,90,99"
CHECKPOINT_KIND = {"fp8": "an FP8 checkpoint (e.g. ModelOpt or llm-compressor FP8)",
                   "int8": "an INT8 W8A8 checkpoint (e.g. llm-compressor / compressed-tensors)",
                   "int4": "an INT4 AWQ or GPTQ checkpoint", "fp4": "an NVFP4 checkpoint (ModelOpt)"}


@dataclass(frozen=True)
class ServerConfig:
    engine: str
    model: str  # catalog name
    hf_id: str
    gpu: str
    precision: str
    tp: int
    kv_dtype: str  # fp16 | fp8, what the performance model assumed
    max_model_len: int
    embedding: bool


@dataclass(frozen=True)
class BenchRun:
    name: str  # file stem of the result and of its sidecar
    server: ServerConfig
    workload: str
    isl: int
    osl: int
    ttft_target_ms: float
    tpot_target_ms: float
    mode: str  # "concurrency" or "rate"
    value: float  # concurrent requests, or requests/s (Poisson)
    num_prompts: int
    why: str  # "chosen pool ..." or "runner-up ..."

    def metadata(self, plan: str) -> dict:
        """What `measured import` needs to match the result to the problem (the sidecar's content)."""
        s = self.server
        return {"llmplan_version": 1, "plan": plan, "workload": self.workload, "model": s.model, "gpu": s.gpu,
                "precision": s.precision, "tp": s.tp, "engine": s.engine, "isl": self.isl, "osl": self.osl,
                "mode": self.mode, "value": self.value, "why": self.why}


def safe_name(*parts) -> str:
    return "__".join(re.sub(r"[^A-Za-z0-9._-]+", "-", str(p)) for p in parts)


def needs_checkpoint(s: ServerConfig) -> bool:
    """True when the precision has no online quantisation path in the engine."""
    if s.precision == "fp16":
        return False
    if s.precision == "fp8":
        return s.engine == "trtllm"
    return True


def model_var(s: ServerConfig) -> str:
    """Shell assignment of MODEL: the Hugging Face id, or a pre-quantised checkpoint the user must name."""
    if not needs_checkpoint(s):
        return f"MODEL={shlex.quote(s.hf_id)}"
    var = f"MODEL_{s.precision.upper()}"
    return (f'MODEL="${{{var}:?set {var} to {CHECKPOINT_KIND[s.precision]} of {s.hf_id} '
            f'(this engine has no online {s.precision} quantisation)}}"')


def server_cmd(s: ServerConfig) -> list[str]:
    online_fp8 = s.precision == "fp8" and not needs_checkpoint(s)
    if s.engine == "vllm":
        cmd = ["vllm", "serve", "$MODEL", "--tensor-parallel-size", str(s.tp), "--dtype", "auto"]
        cmd += ["--quantization", "fp8"] if online_fp8 else []
        cmd += ["--kv-cache-dtype", "fp8" if s.kv_dtype == "fp8" else "auto"]
        cmd += ["--max-model-len", str(s.max_model_len),
                "--gpu-memory-utilization", f"{GPU_MEMORY_UTILIZATION:.2f}", "--port", str(PORT)]
        return cmd
    if s.engine == "sglang":
        cmd = ["python", "-m", "sglang.launch_server", "--model-path", "$MODEL", "--tp-size", str(s.tp)]
        cmd += ["--quantization", "fp8"] if online_fp8 else []
        cmd += ["--kv-cache-dtype", "fp8_e4m3"] if s.kv_dtype == "fp8" else []
        cmd += ["--context-length", str(s.max_model_len), "--mem-fraction-static", f"{GPU_MEMORY_UTILIZATION:.2f}"]
        cmd += ["--is-embedding"] if s.embedding else []
        return cmd + ["--host", "127.0.0.1", "--port", str(PORT)]
    if s.engine == "trtllm":
        return ["trtllm-serve", "$MODEL", "--backend", "pytorch", "--tp_size", str(s.tp), "--max_seq_len",
                str(s.max_model_len), "--host", "127.0.0.1", "--port", str(PORT)]
    if s.engine == "tgi":
        cmd = ["text-generation-launcher", "--model-id", "$MODEL", "--num-shard", str(s.tp)]
        cmd += ["--quantize", "fp8"] if online_fp8 else []
        cmd += ["--kv-cache-dtype", "fp8_e4m3fn"] if s.kv_dtype == "fp8" else []
        return cmd + ["--max-input-tokens", str(s.max_model_len - 1), "--max-total-tokens", str(s.max_model_len),
                      "--port", str(PORT)]
    raise ValueError(s.engine)


def result_file(r: BenchRun) -> str:
    """The result file the client writes, under $RESULTS."""
    return f"{r.name}.jsonl" if r.server.engine == "sglang" and not r.server.embedding else f"{r.name}.json"


def client_cmd(r: BenchRun, plan: str) -> list[str]:
    s = r.server
    point = (["--max-concurrency", str(int(r.value)), "--request-rate", "inf"] if r.mode == "concurrency"
             else ["--request-rate", f"{r.value:g}"])
    if s.engine == "sglang" and not s.embedding:
        return ["python", "-m", "sglang.bench_serving", "--backend", "sglang", "--host", "127.0.0.1", "--port",
                str(PORT), "--model", "$MODEL", "--dataset-name", "random", "--random-input-len", str(r.isl),
                "--random-output-len", str(r.osl), "--random-range-ratio", "1.0", "--num-prompts",
                str(r.num_prompts), *point, "--seed", "0", "--output-file", f"$RESULTS/{result_file(r)}"]
    backend = ["--backend", "openai-embeddings", "--endpoint", "/v1/embeddings"] if s.embedding else (
        ["--backend", "vllm"] if s.engine == "vllm" else ["--backend", "openai", "--endpoint", "/v1/completions"])
    meta = [f"llmplan_{k}={v}" for k, v in r.metadata(plan).items() if k in ("workload", "model", "gpu", "precision",
                                                                            "tp", "engine", "isl", "osl")]
    metrics = "e2el" if s.embedding else "ttft,tpot,itl,e2el"
    return ["vllm", "bench", "serve", *backend, "--base-url", f"http://127.0.0.1:{PORT}", "--model", "$MODEL",
            "--dataset-name", "random", "--random-input-len", str(r.isl), "--random-output-len", str(max(r.osl, 1)),
            "--random-range-ratio", "0", *([] if s.embedding else ["--ignore-eos"]), "--num-prompts", str(r.num_prompts), *point, "--seed", "0",
            "--percentile-metrics", metrics, "--metric-percentiles", PERCENTILES, "--save-result", "--result-dir",
            "$RESULTS", "--result-filename", result_file(r), "--metadata", *meta]


def shell(cmd: list[str]) -> str:
    """One command line; $MODEL and $RESULTS stay expandable, everything else is quoted."""
    out = []
    for a in cmd:
        if a.startswith("$"):
            head, _, tail = a.partition("/")
            out.append(f'"{head}{"/" + tail if tail else ""}"')
        else:
            out.append(shlex.quote(a))
    return " ".join(out)


def check_engine(engine: str | None, where: str = "--engine") -> str | None:
    if engine is not None and engine not in ENGINES:
        raise ProblemError(f"unknown engine '{engine}'.{did_you_mean(engine, ENGINES)}", where=where,
                           fix=f"use one of {', '.join(ENGINES)}")
    return engine
