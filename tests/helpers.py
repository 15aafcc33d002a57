"""Tiny, annotated synthetic catalogs and problems for known-answer tests.

Every row says why it exists. Capacities in the hand-solvable tests come from `measured:` entries, so the
expected answers do not depend on the performance model.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from optimizer.catalog import load_catalog
from optimizer.catalog.write import columns
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem

CHECKED = "2026-11-24"

# One synthetic GPU with round numbers: 80 GiB, 2 TB/s, 100 TFLOPS fp16 (fits an 8B model at fp16).
GPU = {"name": "TESTGPU", "vendor": "nvidia", "architecture": "hopper", "vram_gib": 80, "mem_bw_tbps": 2.0,
       "fp16_tflops": 100, "fp8_tflops": 200, "int8_tops": 200, "fp4_tflops": "", "interconnect": "nvlink4",
       "interconnect_gbps": 900, "aliases": "TG;Test GPU", "notes": "synthetic", "source": "test fixture",
       "checked": CHECKED}

# The Llama 3.1 8B architecture under a test name.
MODEL = {"name": "tiny-8b", "display_name": "Tiny 8B", "hf_id": "test/tiny-8b", "kind": "decoder", "params_b": 8.03,
         "active_params_b": 8.03, "layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
         "attention_heads": 32, "kv_heads": 8, "head_dim": 128, "vocab_size": 128256, "tied_embeddings": "false",
         "max_context": 131072, "moe_experts": "", "moe_active_experts": "", "quality_tier": 1,
         "aliases": "Tiny-8B", "source": "test fixture", "checked": CHECKED}


def offer(oid: str, provider: str, region: str, jur: str, k: int, od: float | None, spot: float | None = None,
          cap: int | None = None, r1: float | None = None) -> dict:
    return {"offer_id": oid, "provider": provider, "region": region, "jurisdiction": jur,
            "instance_type": oid.split(":")[-1], "gpu": "TESTGPU", "gpus_per_instance": k,
            "ondemand_hourly_usd": od, "spot_hourly_usd": spot, "spot_hourly_usd_max": None,
            "reserved_1y_hourly_usd": r1, "reserved_3y_hourly_usd": None, "max_instances": cap,
            "price_basis": "catalog", "source": "test fixture", "checked": CHECKED}


# cloudA, US: one GPU for $1.00/h (spot $0.40/h); eight GPUs for $7.00/h.
# cloudB, EU: one GPU for $1.50/h.
OFFERS = [
    offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, spot=0.40),
    offer("clouda:us-a:eight", "clouda", "us-a", "us", 8, 7.00),
    offer("cloudb:eu-b:one", "cloudb", "eu-b", "eu", 1, 1.50),
]


def api(aid: str, provider: str, jur: str, inp: float, out: float, rpm: int | None = None, tpm: int | None = None,
        ttft: float = 300, tpot: float = 10, batch: tuple | None = None) -> dict:
    return {"api_id": aid, "provider": provider, "model": "tiny-8b", "provider_model_id": aid, "scope": "global",
            "jurisdictions": jur, "input_usd_per_mtok": inp, "output_usd_per_mtok": out,
            "cached_input_usd_per_mtok": None, "batch_input_usd_per_mtok": batch[0] if batch else None,
            "batch_output_usd_per_mtok": batch[1] if batch else None, "residency_uplift": 1.0,
            "account_tier": "test", "rpm": rpm, "tpm": tpm, "ttft_ms": ttft, "tpot_ms": tpot, "quality_tier": 1,
            "max_context": 131072, "deprecation_date": None, "rate_limit_source": "test", "latency_source": "test",
            "source": "test fixture", "checked": CHECKED}


# apix: $1/$2 per MTok -> 1000 in + 500 out = $0.002 per request.
APIS = [api("apix/tiny-8b", "apix", "global", 1.0, 2.0)]


def write_catalog(folder: Path, offers=None, apis=None, gpus=None, models=None, grid=None) -> Path:
    """A catalog folder; `grid` rows (provider, region, gco2e_per_kwh, pue, ...) write an optional grid.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = [("gpus", gpus or [GPU]), ("offers", OFFERS if offers is None else offers),
              ("models", models or [MODEL]), ("apis", APIS if apis is None else apis)]
    if grid is not None:
        tables.append(("grid", grid))
    for kind, rows in tables:
        with open(folder / f"{kind}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns(kind))
            w.writeheader()
            for r in rows:
                w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in columns(kind)})
    return folder


def serving(name="w", rpm=None, peak=30.0, req=1_000_000, **kw) -> dict:
    """A serving workload on tiny-8b with 1000 in / 500 out tokens and a fixed peak (req/s)."""
    d = {"name": name, "category": "inference", "models": ["tiny-8b"], "requests_per_month": req, "peak_rps": peak,
         "input_tokens": 1000, "output_tokens": 500, "latency_tier": "standard", "precisions": ["fp16"]}
    d.update(kw)
    return d


def measured(workload="w", rps=10.0, tp=1) -> dict:
    return {"workload": workload, "model": "tiny-8b", "gpu": "TESTGPU", "precision": "fp16", "tp": tp,
            "requests_per_s": rps}


def solve_problem(tmp_path: Path, problem: dict, solver: str = "highs", **cat):
    folder = write_catalog(tmp_path / "cat", **cat)
    prob = parse_problem(problem, "test.yaml")
    return plan(prob, load_catalog(folder), SolveOptions(solver=solver))


GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


def failover_instance(tmp_path: Path, seed: int):
    """A random small failover instance (seed 100 + `seed`): two workloads, four providers of two offers each, an API
    with an RPM limit, failover 0.5 or 1.0. Returns (problem, catalog)."""
    import random

    from optimizer.problem import parse_problem
    rng = random.Random(100 + seed)
    offers = [offer(f"p{i}:r:x{k}", f"p{i}", "r", "us", k, round(rng.uniform(0.5, 3.0) * k, 2))
              for i in range(4) for k in rng.sample([1, 2, 4], 2)]
    apis = [api("apix/tiny-8b", "apix", "global", 0.2, 0.4, rpm=rng.choice([300, 900]))]
    problem = {"workloads": [serving("a", peak=rng.uniform(5, 30), req=2_000_000, apis=["tiny-8b"]),
                             serving("b", peak=rng.uniform(5, 30), req=1_000_000)],
               "measured": [measured("a", rps=rng.uniform(2, 6)), measured("b", rps=rng.uniform(2, 6))],
               "policy": {"max_utilization": 1.0, "ops_overhead_monthly_usd": 300,
                          "failover": {"fraction": rng.choice([0.5, 1.0])}}}
    folder = write_catalog(tmp_path / "cat", offers=offers, apis=apis)
    return parse_problem(problem, "failover.yaml"), load_catalog(folder)
