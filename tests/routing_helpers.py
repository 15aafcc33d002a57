"""Small solved plans for the routing, export and simulation tests (each fixture says why it exists)."""

from __future__ import annotations

from pathlib import Path

from helpers import api, measured, serving, solve_problem

# Provider names are real LiteLLM providers so that LiteLLM can load the exported config; prices are made up.
# openai: $1/$2 per MTok ($0.002 per 1000/500-token request), 600 RPM = 10 req/s: cheap but rate-limited.
# anthropic: five times the price, 6,000 RPM / 9M TPM, US-pinned: only worth it as a failover standby.
ROUTING_APIS = [
    api("openai/tiny-8b", "openai", "global", 1.0, 2.0, rpm=600),
    api("anthropic/tiny-8b", "anthropic", "us", 5.0, 10.0, rpm=6000, tpm=9_000_000, ttft=200, tpot=5),
]


def routing_problem(failover: float | None = 0.5, peak: float = 18.0) -> dict:
    """18 req/s at peak, 300k requests/month; a replica serves 10 req/s, planned at 80% (8 req/s).
    Optimum: one clouda instance takes 8/18 of the traffic, openai the 10 req/s its RPM allows (10/18); with
    failover 0.5, losing clouda leaves openai at its limit, so anthropic is kept as a standby (share 0, no cost)."""
    return {"name": "routing", "workloads": [serving("chat", peak=peak, req=300_000, apis=["tiny-8b"])],
            "measured": [measured("chat", rps=10.0)],
            "policy": {"max_utilization": 0.8, **({"failover": {"fraction": failover}} if failover else {})}}


def routing_plan(tmp_path: Path, failover: float | None = 0.5, **kw):
    return solve_problem(tmp_path, routing_problem(failover, **kw), apis=ROUTING_APIS)
