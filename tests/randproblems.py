"""Random *valid* problems over the shipped catalog (for the property test and bench/verify_random.py).

Volumes from 1 to 1e11 requests/month, 1-6 workloads, tiny and huge token counts, any latency tier, residency,
precisions, spot, failover, spot caps and budgets: every problem is valid input, so solving it must end in a plan
that passes `verify`, or in a clear infeasibility (never a traceback, never an unverified plan)."""

from __future__ import annotations

import random

DECODERS = ["llama-3.1-8b", "llama-3.1-70b", "llama-2-13b", "mistral-7b", "mixtral-8x7b", "qwen2.5-7b",
            "llama-3.3-70b", "llama-3.1-405b"]
EMBEDDERS = ["bge-large-en-v1.5", "e5-mistral-7b-instruct"]
CHAT_APIS = ["gpt-4o-mini", "gpt-4o", "claude-haiku-4-5", "gemini-2.5-flash-lite", "llama-3.1-8b", "llama-3.1-70b",
             "deepinfra/llama-3.1-8b", "azure/gpt-4o@data-zone-eu", "mistral-small"]
EMBED_APIS = ["text-embedding-3-small", "text-embedding-3-large"]
JURISDICTIONS = [["any"], ["any"], ["us"], ["eu"], ["us", "ca"], ["eu", "uk", "ch"], ["jp"]]
PRECISIONS = [["fp16", "fp8", "int8"], ["fp16"], ["fp8", "int4"], ["fp16", "int8", "int4"]]


def random_problem(rng: random.Random) -> dict:
    workloads = []
    for i in range(rng.randint(1, 6)):
        embed = rng.random() < 0.2
        volume = float(10 ** rng.uniform(0, 11))
        w = {"name": f"w{i}", "category": "embeddings" if embed else "inference",
             "requests_per_month": round(volume, 3) if volume > 1 else 1.0,
             "input_tokens": int(10 ** rng.uniform(0, 5.2)) if not embed else int(10 ** rng.uniform(0, 3.3)),
             "output_tokens": 0 if embed else int(10 ** rng.uniform(0, 3.6)),
             "jurisdictions": rng.choice(JURISDICTIONS), "precisions": rng.choice(PRECISIONS),
             "spot": rng.random() < 0.4}
        if rng.random() < 0.5:
            w["peak_to_average"] = round(rng.uniform(1, 10), 3)
        else:
            avg = w["requests_per_month"] / (730 * 3600)
            w["peak_rps"] = avg * rng.uniform(1, 10)
        if not embed:
            w["latency_tier"] = rng.choice(["interactive", "standard", "batch"])
        kinds = rng.choice(["models", "apis", "both"])
        if kinds in ("models", "both"):
            w["models"] = rng.sample(EMBEDDERS if embed else DECODERS, rng.randint(1, 2))
        if kinds in ("apis", "both"):
            w["apis"] = rng.sample(EMBED_APIS if embed else CHAT_APIS, rng.randint(1, 2))
        workloads.append(w)
    if rng.random() < 0.2:
        workloads.append({"name": "ft", "category": "fine-tuning", "gpu": rng.choice(["H100", "A100-80GB", "L40S"]),
                          "gpu_count": rng.choice([1, 2, 8]), "hours_per_month": rng.choice([10, 100, 730]),
                          "spot": rng.random() < 0.5})
    policy = {"ops_overhead_monthly_usd": rng.choice([0, 500, 5000])}
    if rng.random() < 0.25:
        policy["failover"] = {"fraction": rng.choice([0.25, 0.5, 1.0])}
    if rng.random() < 0.25:
        policy["max_spot_share"] = rng.choice([0.0, 0.3, 0.7])
    if rng.random() < 0.2:
        policy["budget_monthly_usd"] = float(10 ** rng.uniform(2, 6))
    if rng.random() < 0.2:
        policy["max_utilization"] = rng.choice([0.5, 0.7, 1.0])
    return {"name": "random", "workloads": workloads, "policy": policy}
