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
# chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak
MODEL=test/tiny-8b
vllm serve "$MODEL" --tensor-parallel-size 1 --dtype auto --kv-cache-dtype auto --max-model-len 1536 --gpu-memory-utilization 0.90 --port 8000 > "$RESULTS/server-1-vllm.log" 2>&1 &
SERVER=$!
wait_ready "$SERVER"
# chat: 1000 in / 500 out tokens, 26 concurrent, 260 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c26.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c26.json", "tp": 1, "value": 26.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 260 --max-concurrency 26 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c26.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 52 concurrent, 520 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c52.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c52.json", "tp": 1, "value": 52.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 520 --max-concurrency 52 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c52.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 105 concurrent, 1050 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c105.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c105.json", "tp": 1, "value": 105.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 1050 --max-concurrency 105 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c105.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 158 concurrent, 1580 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c158.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c158.json", "tp": 1, "value": 158.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 1580 --max-concurrency 158 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c158.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 210 concurrent, 2100 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c210.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "concurrency", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c210.json", "tp": 1, "value": 210.0, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 2100 --max-concurrency 210 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__c210.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
# chat: 1000 in / 500 out tokens, 1.667 req/s Poisson, 501 prompts; targets TTFT 2000 ms, TPOT 100 ms
cat > "$RESULTS/chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r1.667.llmplan.json" <<'EOF'
{"engine": "vllm", "gpu": "TESTGPU", "isl": 1000, "llmplan_version": 1, "mode": "rate", "model": "tiny-8b", "osl": 500, "plan": "loop", "precision": "fp16", "result_file": "chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r1.667.json", "tp": 1, "value": 1.667, "why": "chosen: pool clouda:us-a:eight|tiny-8b|fp16|tp1|on_demand, 24 replicas at peak", "workload": "chat"}
EOF
vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --model "$MODEL" --dataset-name random --random-input-len 1000 --random-output-len 500 --random-range-ratio 0 --ignore-eos --num-prompts 501 --request-rate 1.667 --seed 0 --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result --result-dir "$RESULTS" --result-filename chat__tiny-8b__TESTGPU__fp16__tp1__vllm__r1.667.json --metadata llmplan_workload=chat llmplan_model=tiny-8b llmplan_gpu=TESTGPU llmplan_precision=fp16 llmplan_tp=1 llmplan_engine=vllm llmplan_isl=1000 llmplan_osl=500
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

