"""`llmplan benchmark` output: a bash script (one server per configuration, its runs, a sidecar per result) or
the runs as JSON. Pure functions of the runs."""

from __future__ import annotations

import json
from collections import OrderedDict

from ..perf.engines import BenchRun, client_cmd, model_var, result_file, server_cmd, shell

HEADER = """#!/usr/bin/env bash
# Benchmarks for the self-hosted pools of plan '{plan}', written by `llmplan benchmark`.
# Run it on a machine with the pool's GPUs (one configuration at a time; each starts its server on port {port}),
# with the engine installed (vLLM also provides the client, `vllm bench serve`, for TensorRT-LLM and TGI).
# Then: llmplan measured import "$RESULTS"/*.json* --problem PROBLEM.yaml -o PROBLEM-measured.yaml
# Each result has a sidecar NAME.llmplan.json naming the workload, model, GPU, precision, TP and engine it measures.
set -euo pipefail
RESULTS="${{RESULTS:-llmplan-results}}"
mkdir -p "$RESULTS"

wait_ready() {{  # until the server answers /health (model download and load can take minutes)
  for _ in $(seq 1 720); do
    if curl -sf "http://127.0.0.1:{port}/health" >/dev/null; then return 0; fi
    if ! kill -0 "$1" 2>/dev/null; then echo "server exited; see its log" >&2; return 1; fi
    sleep 5
  done
  echo "server not ready after 1 hour" >&2; return 1
}}
"""


def _servers(runs: list[BenchRun]) -> "OrderedDict":
    groups: OrderedDict = OrderedDict()
    for r in runs:
        groups.setdefault(r.server, []).append(r)
    return groups


def to_script(runs: list[BenchRun], plan: str) -> str:
    from ..perf.engines import PORT
    out = [HEADER.format(plan=plan, port=PORT)]
    groups = _servers(runs)
    if not groups:
        out.append('echo "the plan has no self-hosted pool to benchmark" >&2\n')
    for i, (s, rs) in enumerate(groups.items(), start=1):
        whys = sorted({r.why for r in rs})
        out.append(f"# === {i}/{len(groups)}: {s.model} {s.precision} tp{s.tp} on {s.tp}x {s.gpu}, {s.engine}, "
                   f"KV cache {s.kv_dtype}, context {s.max_model_len}")
        out += [f"# {w}" for w in whys]
        out.append(model_var(s))
        log = f"$RESULTS/server-{i}-{s.engine}.log"
        out.append(f'{shell(server_cmd(s))} > "{log}" 2>&1 &')
        out.append("SERVER=$!")
        out.append('wait_ready "$SERVER"')
        for r in rs:
            point = (f"{int(r.value)} concurrent" if r.mode == "concurrency" else f"{r.value:g} req/s Poisson")
            out.append(f"# {r.workload}: {r.isl} in / {r.osl} out tokens, {point}, {r.num_prompts} prompts; "
                       f"targets TTFT {r.ttft_target_ms:g} ms, TPOT {r.tpot_target_ms:g} ms")
            out.append(f"cat > \"$RESULTS/{r.name}.llmplan.json\" <<'EOF'")
            out.append(json.dumps({**r.metadata(plan), "result_file": result_file(r)}, sort_keys=True))
            out.append("EOF")
            out.append(shell(client_cmd(r, plan)))
        out.append('kill "$SERVER"; wait "$SERVER" 2>/dev/null || true')
        out.append("")
    return "\n".join(out) + "\n"


def to_json(runs: list[BenchRun], plan: str) -> str:
    rows = []
    for r in runs:
        rows.append({**r.metadata(plan), "name": r.name, "result_file": result_file(r),
                     "num_prompts": r.num_prompts, "ttft_target_ms": r.ttft_target_ms,
                     "tpot_target_ms": r.tpot_target_ms, "kv_dtype": r.server.kv_dtype,
                     "max_model_len": r.server.max_model_len, "hf_id": r.server.hf_id,
                     "server": shell(server_cmd(r.server)), "client": shell(client_cmd(r, plan))})
    return json.dumps({"plan": plan, "runs": rows}, indent=2) + "\n"
