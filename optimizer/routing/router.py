"""The seed chapter's multi-provider router (Code Fragment 33.5.4), kept reproducible and grown to six strategies.

`InferenceProvider` and `InferenceRouter.select_provider(priority)` keep the seed's names and fields (weight,
is_healthy, current_rps, max_rps), so the seed's example runs unchanged:

    router = InferenceRouter([InferenceProvider("OpenAI", 0.60, max_rps=500), ...], seed=0)
    router.select_provider("balanced")

Strategies (`STRATEGIES`):
- balanced: weighted random over healthy providers by `weight` (the plan's traffic shares);
- cost: the cheapest healthy provider by `usd_per_request` (the seed picks the lowest *weight*, assuming the
  self-hosted one has the lowest weight; llmplan knows the real unit costs, so it uses them);
- latency: the healthy provider with the lowest `latency_ms` (built from a plan: TTFT + output tokens x TPOT);
- quality: the healthy provider with the highest `quality_tier` (the seed's "always the primary": ties go to the
  larger weight, then the failover order);
- failover: the first healthy provider in the router's order (ordered fallbacks);
- rate_limit_aware: like balanced, but providers at their limit (`current_rps >= max_rps`) are skipped and the
  others are weighted by their headroom, weight x (1 - current_rps / max_rps).
The seed filters providers at their limit in every strategy; here only rate_limit_aware looks at limits, so that a
simulation can show the 429s the other strategies run into (and then absorb by falling back).

Health: `is_healthy` is the operator's switch (the seed's). On top, a circuit breaker: after `allowed_fails`
consecutive failures a provider cools down for `cooldown_s` seconds, then is tried again.
Failover weights: while exactly one failure domain (`provider`: a cloud or an API vendor) is down and
`failover_weights` has an entry for it, balanced and rate_limit_aware use those weights (the solver's re-routing
after losing that provider) instead of the plan's shares, so standby targets with weight 0 take the traffic.
Randomness comes only from `random.Random(seed)`: the same seed gives the same decisions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

STRATEGIES = ("balanced", "cost", "latency", "quality", "failover", "rate_limit_aware")


@dataclass
class InferenceProvider:
    name: str
    weight: float  # routing weight (the plan's share of the workload's traffic)
    is_healthy: bool = True
    current_rps: float = 0.0  # requests per second now
    max_rps: float = 100.0  # rate limit (or planned capacity)
    usd_per_request: float | None = None
    latency_ms: float | None = None
    quality_tier: int | None = None
    provider: str | None = None  # failure domain (a cloud or an API vendor); defaults to name
    cooldown_until: float = 0.0
    consecutive_fails: int = 0

    @property
    def domain(self) -> str:
        return self.provider or self.name

    def healthy(self, now: float = 0.0) -> bool:
        return self.is_healthy and now >= self.cooldown_until

    def at_limit(self) -> bool:
        return self.current_rps >= self.max_rps


class InferenceRouter:
    """Route requests across providers; `providers` are given in failover order (first = preferred)."""

    def __init__(self, providers: list[InferenceProvider], seed: int | None = None, *,
                 failover_weights: dict | None = None, allowed_fails: int = 3, cooldown_s: float = 30.0):
        if not providers:
            raise ValueError("a router needs at least one provider")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique: {names}")
        self.providers = list(providers)
        self.rng = random.Random(seed)
        self.failover_weights = failover_weights or {}
        self.allowed_fails = allowed_fails
        self.cooldown_s = cooldown_s

    # --- health -------------------------------------------------------------------------------------------
    def record_failure(self, p: InferenceProvider, now: float = 0.0) -> None:
        p.consecutive_fails += 1
        if p.consecutive_fails >= self.allowed_fails:
            p.cooldown_until = now + self.cooldown_s
            p.consecutive_fails = 0

    def record_success(self, p: InferenceProvider) -> None:
        p.consecutive_fails = 0

    def down_domains(self, now: float = 0.0) -> set[str]:
        return {p.domain for p in self.providers if not p.healthy(now)}

    # --- selection ----------------------------------------------------------------------------------------
    def available(self, now: float = 0.0, respect_limits: bool = False) -> list[InferenceProvider]:
        return [p for p in self.providers if p.healthy(now) and not (respect_limits and p.at_limit())]

    def _weights(self, avail: list[InferenceProvider], now: float) -> list[float]:
        down = self.down_domains(now)
        if len(down) == 1:
            fw = self.failover_weights.get(next(iter(down)))
            if fw:
                return [max(fw.get(p.name, 0.0), 0.0) for p in avail]
        return [max(p.weight, 0.0) for p in avail]

    def _weighted(self, avail: list[InferenceProvider], weights: list[float]) -> InferenceProvider:
        total = sum(weights)
        if total <= 0:
            return avail[0]  # only standby providers left: the failover order decides
        r = self.rng.random() * total
        acc = 0.0
        for p, w in zip(avail, weights):
            acc += w
            if r < acc:
                return p
        return next(p for p, w in zip(reversed(avail), reversed(weights)) if w > 0)

    def ranked(self, strategy: str = "balanced", now: float = 0.0) -> list[InferenceProvider]:
        """The strategy's first choice, then the other candidates in failover order (the fallbacks)."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}")
        avail = self.available(now, respect_limits=strategy == "rate_limit_aware")
        if not avail:
            return []
        order = {p.name: i for i, p in enumerate(self.providers)}
        if strategy == "balanced":
            first = self._weighted(avail, self._weights(avail, now))
        elif strategy == "rate_limit_aware":
            base = self._weights(avail, now)
            head = [w * max(0.0, 1.0 - p.current_rps / p.max_rps) if p.max_rps > 0 else 0.0
                    for p, w in zip(avail, base)]
            first = self._weighted(avail, head if sum(head) > 0 else base)
        elif strategy == "cost":
            first = min(avail, key=lambda p: (_inf(p.usd_per_request), order[p.name]))
        elif strategy == "latency":
            first = min(avail, key=lambda p: (_inf(p.latency_ms), order[p.name]))
        elif strategy == "quality":
            first = min(avail, key=lambda p: (-(p.quality_tier or 0), -p.weight, order[p.name]))
        else:  # failover
            first = avail[0]
        return [first] + [p for p in avail if p is not first]

    def select_provider(self, priority: str = "balanced", now: float = 0.0) -> InferenceProvider | None:
        """Select a provider by strategy; None when every provider is down (or, for rate_limit_aware, limited)."""
        ranked = self.ranked(priority, now)
        return ranked[0] if ranked else None


def _inf(v: float | None) -> float:
    return float("inf") if v is None else v


def seed_example_router(seed: int | None = 0) -> InferenceRouter:
    """The seed chapter's example: OpenAI 0.60 / Anthropic 0.25 / self-hosted 0.15."""
    return InferenceRouter([
        InferenceProvider("OpenAI", weight=0.60, max_rps=500),
        InferenceProvider("Anthropic", weight=0.25, max_rps=200),
        InferenceProvider("Self-hosted", weight=0.15, max_rps=50),
    ], seed=seed)


def router_for(routes, seed: int | None = None, **kw) -> InferenceRouter:
    """A router over one workload's route table (`targets.WorkloadRoutes`): weights are the plan's shares,
    max_rps the planned capacity or API limit, failover weights the solver's re-routing."""
    tpr = routes.tokens_per_request
    providers = [InferenceProvider(
        name=t.id, weight=t.share, max_rps=t.max_rps(tpr), usd_per_request=t.usd_per_request,
        latency_ms=t.ttft_ms + routes.output_tokens * t.tpot_ms, quality_tier=t.quality_tier, provider=t.provider)
        for t in routes.targets]
    return InferenceRouter(providers, seed, failover_weights=routes.failover, **kw)
