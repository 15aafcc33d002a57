"""A synthetic large planning problem on the shipped catalog: 24 serving workloads across 9 models, four token
shapes, three latency tiers and five jurisdiction sets, with failover and a spot cap."""

from __future__ import annotations

import random

MODELS = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.3-70b", "mistral-7b", "mixtral-8x7b", "qwen2.5-7b",
          "qwen2.5-72b", "llama-3.1-405b", "llama-3-8b"]
APIS = {"llama-3.1-8b": ["llama-3.1-8b", "gpt-4o-mini"], "llama-3.1-70b": ["llama-3.1-70b", "gpt-4o"],
        "llama-3.3-70b": ["llama-3.3-70b", "claude-haiku-4-5"], "llama-3.1-405b": ["llama-3.1-405b", "gpt-4.1"]}
SHAPES = [(800, 300), (2000, 200), (300, 800), (4000, 500)]
TIERS = ["interactive", "standard", "batch"]
JURS = [["any"], ["us"], ["eu"], ["us", "ca"], ["eu", "uk", "ch"]]


def large_problem(seed: int = 7, n: int = 24) -> dict:
    rng = random.Random(seed)
    workloads = []
    for i in range(n):
        m = MODELS[i % len(MODELS)]
        isl, osl = SHAPES[i % len(SHAPES)]
        tier = TIERS[i % len(TIERS)]
        workloads.append({
            "name": f"w{i:02d}-{m}", "category": "batch" if tier == "batch" else "inference", "models": [m],
            "apis": APIS.get(m, []), "requests_per_month": rng.choice([2e6, 5e6, 2e7, 6e7]),
            "peak_to_average": 1.0 if tier == "batch" else rng.choice([2.0, 3.0]), "input_tokens": isl,
            "output_tokens": osl, "latency_tier": tier, "jurisdictions": JURS[i % len(JURS)],
            "spot": tier == "batch", "precisions": ["fp16", "fp8", "int8", "int4"],
        })
    return {"name": "large-synthetic", "workloads": workloads,
            "policy": {"ops_overhead_monthly_usd": 20000, "failover": {"fraction": 0.5}, "max_spot_share": 0.4}}
