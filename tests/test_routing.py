"""The router (the seed's example and six strategies, known answers) and route tables built from plans."""

import json
import math
from collections import Counter

import pytest
from routing_helpers import routing_plan

from optimizer.errors import LlmplanError
from optimizer.render.json_out import load_plan, to_json
from optimizer.routing.router import (STRATEGIES, InferenceProvider, InferenceRouter, router_for,
                                      seed_example_router)
from optimizer.routing.targets import largest_provider, provider_loads, route_tables


def counts(router, n=1000, strategy="balanced"):
    return Counter(router.select_provider(strategy).name for _ in range(n))


# --- the seed's example -----------------------------------------------------------------------------------

def test_seed_example_reproduces_its_shape():
    # OpenAI 0.60 / Anthropic 0.25 / self-hosted 0.15 over 1,000 decisions: each count within 4 binomial
    # standard deviations of its weight (the seed printed 601 / 249 / 150 for its own random draw).
    c = counts(seed_example_router(seed=7))
    assert sum(c.values()) == 1000
    for name, w in (("OpenAI", 0.60), ("Anthropic", 0.25), ("Self-hosted", 0.15)):
        sd = math.sqrt(1000 * w * (1 - w))
        assert abs(c[name] - 1000 * w) <= 4 * sd, (name, c[name])
    assert c["OpenAI"] > c["Anthropic"] > c["Self-hosted"]


def test_seed_example_is_deterministic_under_a_seed():
    r1, r2, r3 = seed_example_router(3), seed_example_router(3), seed_example_router(4)
    s1 = [r1.select_provider().name for _ in range(500)]
    s2 = [r2.select_provider().name for _ in range(500)]
    s3 = [r3.select_provider().name for _ in range(500)]
    assert s1 == s2 and s1 != s3


def test_weighted_frequencies_converge_to_the_weights():
    c = counts(seed_example_router(seed=1), n=200_000)
    assert c["OpenAI"] / 2e5 == pytest.approx(0.60, abs=0.005)
    assert c["Anthropic"] / 2e5 == pytest.approx(0.25, abs=0.005)
    assert c["Self-hosted"] / 2e5 == pytest.approx(0.15, abs=0.005)


# --- strategies, known answers ----------------------------------------------------------------------------

def four(seed=0, **kw):
    """a: cheap but slow and low quality; b: fast; c: best quality; d: standby (weight 0). Order a, b, c, d."""
    return InferenceRouter([
        InferenceProvider("a", 0.5, usd_per_request=0.001, latency_ms=900, quality_tier=1, provider="cloud1"),
        InferenceProvider("b", 0.3, usd_per_request=0.004, latency_ms=200, quality_tier=2, provider="vendor1"),
        InferenceProvider("c", 0.2, usd_per_request=0.010, latency_ms=400, quality_tier=4, provider="vendor2"),
        InferenceProvider("d", 0.0, usd_per_request=0.020, latency_ms=300, quality_tier=4, provider="vendor3"),
    ], seed=seed, **kw)


@pytest.mark.parametrize("strategy,first", [("cost", "a"), ("latency", "b"), ("quality", "c"), ("failover", "a")])
def test_deterministic_strategies_pick_the_known_answer(strategy, first):
    r = four()
    assert r.select_provider(strategy).name == first
    ranked = [p.name for p in r.ranked(strategy)]
    assert ranked[0] == first and sorted(ranked) == ["a", "b", "c", "d"]
    assert [n for n in ranked if n != first] == [n for n in "abcd" if n != first]  # fallbacks in failover order


def test_unhealthy_providers_are_skipped_and_all_down_gives_none():
    r = four()
    r.providers[0].is_healthy = False
    assert r.select_provider("cost").name == "b"
    assert r.select_provider("failover").name == "b"
    assert "a" not in counts(r, 300)
    for p in r.providers:
        p.is_healthy = False
    assert r.select_provider("balanced") is None and r.ranked("quality") == []


def test_quality_ties_go_to_the_larger_weight():
    r = four()
    r.providers[2].weight, r.providers[3].weight = 0.1, 0.2  # c and d both tier 4
    assert r.select_provider("quality").name == "d"


def test_rate_limit_aware_skips_providers_at_their_limit_and_balanced_does_not():
    r = four(seed=5)
    a = r.providers[0]
    a.current_rps, a.max_rps = 100.0, 100.0  # at its limit
    assert "a" not in counts(r, 500, "rate_limit_aware")
    assert counts(r, 2000, "balanced")["a"] > 800  # balanced only looks at health: the 429 comes later
    a.current_rps = 50.0  # half its headroom: weight 0.5 x 0.5 against b 0.3 and c 0.2
    c = counts(r, 20_000, "rate_limit_aware")
    assert c["a"] / 20_000 == pytest.approx(0.25 / 0.75, abs=0.015)
    assert c["d"] == 0


def test_standby_gets_traffic_only_when_all_weighted_providers_are_gone():
    r = four()
    assert counts(r, 2000)["d"] == 0
    for p in r.providers[:3]:
        p.is_healthy = False
    assert counts(r, 10) == {"d": 10}


def test_circuit_breaker_cools_down_after_allowed_fails_and_recovers():
    r = four(allowed_fails=3, cooldown_s=30.0)
    a = r.providers[0]
    r.record_failure(a, now=10.0)
    r.record_failure(a, now=10.5)
    assert a.healthy(11.0)
    r.record_failure(a, now=11.0)
    assert not a.healthy(11.0) and not a.healthy(40.9) and a.healthy(41.0)
    assert r.select_provider("failover", now=20.0).name == "b"
    assert r.select_provider("failover", now=41.0).name == "a"
    r.record_failure(a, 42.0)
    r.record_success(a)
    r.record_failure(a, 43.0)
    r.record_failure(a, 44.0)
    assert a.healthy(44.0)  # a success resets the count


def test_failover_weights_apply_while_one_domain_is_down():
    # The solver re-routes cloud1's traffic to d (standby) and c: weights 3:1 while cloud1 is down.
    r = four(seed=2, failover_weights={"cloud1": {"d": 3.0, "c": 1.0}})
    r.providers[0].is_healthy = False
    c = counts(r, 8000)
    assert set(c) == {"c", "d"}
    assert c["d"] / 8000 == pytest.approx(0.75, abs=0.02)


def test_unknown_strategy_and_bad_router_are_rejected():
    with pytest.raises(ValueError, match="unknown strategy"):
        four().select_provider("cheapest")
    with pytest.raises(ValueError):
        InferenceRouter([])
    with pytest.raises(ValueError, match="unique"):
        InferenceRouter([InferenceProvider("x", 1), InferenceProvider("x", 1)])
    assert len(STRATEGIES) == 6


# --- route tables from a plan -----------------------------------------------------------------------------

def test_plan_carries_routing_fields_and_failover_routes(tmp_path):
    plan = routing_plan(tmp_path)
    (d,) = plan.deployments
    assert d.share == pytest.approx(8 / 18, abs=1e-6) and d.capacity_rps == pytest.approx(8.0)
    assert [(a.api_id, round(a.share, 6)) for a in plan.api] == [("openai/tiny-8b", round(10 / 18, 6))]
    assert [a.api_id for a in plan.standby_api] == ["anthropic/tiny-8b"]
    sb = plan.standby_api[0]
    assert (sb.share, sb.monthly_cost_usd, sb.ttft_ms, sb.tpot_ms, sb.rpm_limit) == (0.0, 0.0, 200, 5, 6000)
    wl = plan.workloads[0]
    assert (wl.input_tokens, wl.output_tokens, wl.ttft_target_ms, wl.tpot_target_ms) == (1000, 500, 2000, 100)
    assert plan.max_utilization == 0.8 and d.hf_id == "test/tiny-8b" and d.quality_tier == 1
    # every provider the plan uses has routes that carry at least the failover fraction of the peak
    by = {}
    for r in plan.failover_routes:
        by[r.lost_provider] = by.get(r.lost_provider, 0.0) + r.rps
        assert not (r.lost_provider == "clouda" and r.target == d.pool)  # never re-routed onto the lost provider
    # providers that carry traffic have routes; losing the standby-only provider changes nothing, so the solver
    # (which generates failover scenarios lazily) has no scenario for it
    assert set(by) == {"clouda", "openai"}
    assert all(v == pytest.approx(0.5 * 18.0) for v in by.values())
    # the standby's cost is zero, so the plan's total is unchanged: one instance ($730) + 54% of 300k at $0.002
    assert plan.monthly_cost_usd == pytest.approx(730 + 300_000 * 10 / 18 * 0.002, abs=0.01)


def test_route_table_weights_are_the_plans_shares(tmp_path):
    plan = routing_plan(tmp_path)
    (r,) = route_tables(plan).values()
    assert [(t.id, t.share) for t in r.targets] == [
        ("openai/tiny-8b", plan.api[0].share), (plan.deployments[0].pool, plan.deployments[0].share),
        ("anthropic/tiny-8b", 0.0)]
    pool = r.target(plan.deployments[0].pool)
    assert pool.full_rps == pytest.approx(10.0) and pool.planned_rps == pytest.approx(8.0)
    assert r.target("openai/tiny-8b").max_rps(r.tokens_per_request) == pytest.approx(10.0)
    assert r.target("anthropic/tiny-8b").max_rps(1500) == pytest.approx(min(100.0, 9e6 / 60 / 1500))
    # the pool's unit cost: $730 over the 8/18 x 300k requests it serves, split so the tokens add up to it
    assert pool.usd_per_request == pytest.approx(730 / (300_000 * 8 / 18), rel=1e-5)
    cin, cout = r.token_prices(pool)
    assert 1000 * cin + 500 * cout == pytest.approx(pool.usd_per_request)
    # after losing clouda, exactly the failover fraction (0.5 x 18 req/s) is re-routed, none of it to clouda
    assert sum(r.failover["clouda"].values()) == pytest.approx(9.0)
    assert plan.deployments[0].pool not in r.failover["clouda"]
    assert provider_loads({"chat": r}) == pytest.approx({"openai": 10.0, "clouda": 8.0, "anthropic": 0.0}, rel=1e-5)
    assert largest_provider({"chat": r}) == "openai"


def test_router_for_a_plan_sends_traffic_in_the_plans_shares(tmp_path):
    plan = routing_plan(tmp_path)
    (r,) = route_tables(plan).values()
    router = router_for(r, seed=11)
    c = Counter(router.select_provider().name for _ in range(50_000))
    assert c[plan.deployments[0].pool] / 5e4 == pytest.approx(8 / 18, abs=0.01)
    assert c["openai/tiny-8b"] / 5e4 == pytest.approx(10 / 18, abs=0.01)
    assert c["anthropic/tiny-8b"] == 0
    assert router.select_provider("cost").name == "openai/tiny-8b"  # $0.002 vs the pool's ~$0.0055
    assert router.select_provider("latency").name == "anthropic/tiny-8b"  # 200 + 500 x 5 ms is the fastest


def test_a_plan_from_before_schema_1_1_is_refused_with_a_fix(tmp_path):
    data = json.loads(to_json(routing_plan(tmp_path)))
    data["schema_version"] = "1.0"
    for w in data["workloads"]:
        for k in ("input_tokens", "output_tokens", "latency_tier", "ttft_target_ms", "tpot_target_ms",
                  "jurisdictions"):
            w.pop(k)
    old = load_plan(json.dumps(data), "old.json")  # a 1.0 plan still loads ...
    with pytest.raises(LlmplanError, match="input_tokens") as e:
        route_tables(old, "old.json")  # ... but cannot be routed
    assert "re-run `llmplan solve" in str(e.value) and "old.json" in str(e.value)
