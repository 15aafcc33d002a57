#!/usr/bin/env bash
# Benchmarks for the self-hosted pools of plan 'loop', written by `llmplan benchmark`.
# Run it on a machine with the pool's GPUs (one configuration at a time; each starts its server on port 8000),
# with the engine installed (vLLM also provides the client, `vllm bench serve`, for TensorRT-LLM and TGI).
# Then: llmplan measured import "$RESULTS"/*.json* --problem PROBLEM.yaml -o PROBLEM-measured.yaml
# Each result has a sidecar NAME.llmplan.json naming the workload, model, GPU, precision, TP and engine it measures.
set -euo pipefail
RESULTS="${RESULTS:-llmplan-results}"
mkdir -p "$RESULTS"

wait_ready() {  # until the server answers /health (model download and load can take minutes)
  for _ in $(seq 1 720); do
    if curl -sf "http://127.0.0.1:8000/health" >/dev/null; then return 0; fi
    if ! kill -0 "$1" 2>/dev/null; then echo "server exited; see its log" >&2; return 1; fi
    sleep 5
  done
  echo "server not ready after 1 hour" >&2; return 1
}

# === 1/1: tiny-8b fp16 tp1 on 1x TESTGPU, vllm, KV cache fp16, context 1536
# chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak
# chosen: pool clouda:us-a:one|tiny-8b|fp16|tp1|on_demand, 6 replicas at peak
MODEL=test/tiny-8b
vllm serve "$MODEL" --tensor-parallel-size 1 --dtype auto --kv-cache-dtype auto --max-model-len 1536 --gpu-memory-utilization 0.90 --port 8000 > "$RESULTS/server-1-vllm.log" 2>&1 &
SERVER=$!
wait_ready "$SERVER"
# chat: 1000 in / 500 out tokens, 11 concurrent, 200 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c11.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c11.json", "tp": 1, "value": 11.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 200 --max-concurrency 11 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c11.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 23 concurrent, 230 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c23.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c23.json", "tp": 1, "value": 23.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 230 --max-concurrency 23 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c23.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 46 concurrent, 460 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c46.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c46.json", "tp": 1, "value": 46.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 460 --max-concurrency 46 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c46.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 69 concurrent, 690 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c69.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c69.json", "tp": 1, "value": 69.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 690 --max-concurrency 69 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c69.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 92 concurrent, 920 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c92.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c92.json", "tp": 1, "value": 92.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 920 --max-concurrency 92 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c92.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 0.743 req/s Poisson, 223 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r0.743.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "rate", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r0.743.json", "tp": 1, "value": 0.743, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 48 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 223 --request-rate 0.743 --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r0.743.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 0.72 req/s Poisson, 216 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r0.72.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "rate", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r0.72.json", "tp": 1, "value": 0.72, "why": "chosen: pool clouda:us-a:one|tiny-8b|fp16|tp1|on_demand, 6 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 216 --request-rate 0.72 --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r0.72.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

