"""Cost techniques as plan decisions (issue 13): known answers, brute force over technique subsets, verify.

The workloads here are all-API on the default catalog (claude-sonnet-4-6, tier 4; mistral-large, tier 3), so the
unit prices come from the catalog rows and the answers can be computed by hand from them."""

from __future__ import annotations

import itertools
import random

import pytest

from optimizer.candidates import api_usd_per_request
from optimizer.errors import InfeasibleError, ProblemError
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem
from optimizer.techniques import TIER_SCORE
from optimizer.verify import verify_plan

BIG, SMALL = "anthropic/claude-sonnet-4-6", "mistral/mistral-large"
V = 1_000_000


def _problem(techniques: dict | None = None, min_quality: float | None = None, **w) -> object:
    wl = {"name": "chat", "apis": [BIG], "requests_per_month": V, "peak_to_average": 2.0, "input_tokens": 1000,
          "output_tokens": 200, **w}
    if techniques is not None:
        wl["techniques"] = techniques
    if min_quality is not None:
        wl["min_quality"] = min_quality
    return parse_problem({"name": "t", "workloads": [wl]})


def _unit(catalog, api_id: str, p) -> float:
    api = next(a for a in catalog.apis if a.api_id == api_id)
    return api_usd_per_request(api, p.serving[0], "realtime")


def _used(pl, technique: str) -> bool:
    return next(t["used"] for t in pl.extras["techniques"]["chat"]["techniques"] if t["technique"] == technique)


# --- the cache threshold: hit rate x volume x unit cost = cache cost ------------------------------------------------

@pytest.mark.parametrize("side", [0.9, 1.1])
def test_exact_cache_pays_exactly_above_its_closed_form_threshold(default_catalog, solver, side):
    base = _problem()
    u = _unit(default_catalog, BIG, base)  # $0.006 per request (1000 x $3 + 200 x $15 per million)
    M = 1200.0
    h_star = M / (V * u)  # 0.2
    h = h_star * side
    p = _problem({"cache": {"exact_hit_rate": h, "monthly_cost_usd": M}})
    pl = plan(p, default_catalog, SolveOptions(solver=solver))
    assert pl.status == "optimal" and not pl.verification["violations"]
    if side < 1:
        assert not _used(pl, "exact_cache")
        assert pl.monthly_cost_usd == pytest.approx(V * u, abs=0.01)
    else:
        assert _used(pl, "exact_cache")
        assert pl.monthly_cost_usd == pytest.approx(V * u * (1 - h) + M, abs=0.01)
        assert any(f.name == "technique: exact cache (chat)" and f.monthly_cost_usd == M for f in pl.fixed)


def test_explain_gives_the_closed_form_hit_rate_for_an_unused_cache(default_catalog):
    base = _problem()
    u = _unit(default_catalog, BIG, base)
    p = _problem({"cache": {"exact_hit_rate": 0.1, "monthly_cost_usd": 1200.0}})
    pl = plan(p, default_catalog, explain=True)
    row = next(t for t in pl.extras["techniques"]["chat"]["techniques"] if t["technique"] == "exact_cache")
    assert not row["used"]
    assert row["threshold"]["value"] == pytest.approx(1200.0 / (V * u), abs=1e-4)
    assert row["threshold"]["method"].startswith("closed form")
    # forcing it on costs what the hits do not save: M - h V u
    assert row["saving_usd"] == pytest.approx(-(1200.0 - 0.1 * V * u), abs=0.02)


def test_bisection_threshold_agrees_with_the_closed_form(default_catalog):
    """The semantic layer (no errors) has no closed form in the report; its bisection lands on M / (V u)."""
    base = _problem()
    u = _unit(default_catalog, BIG, base)
    p = _problem({"cache": {"semantic_hit_rate": 0.05, "semantic_error_rate": 0.0,
                            "semantic_monthly_cost_usd": 1200.0}})
    pl = plan(p, default_catalog, explain=True)
    row = next(t for t in pl.extras["techniques"]["chat"]["techniques"] if t["technique"] == "semantic_cache")
    assert not row["used"] and row["threshold"]["method"].startswith("bisection")
    assert row["threshold"]["value"] == pytest.approx(1200.0 / (V * u), abs=0.003)


# --- cascade and the quality floor ------------------------------------------------------------------------------------

CASCADE = {"cascade": {"small_apis": [SMALL], "share_routable": 0.5, "misroute_rate": 0.04,
                       "router_cost_per_request": 0.0001}}


def test_cascade_meets_the_floor_then_becomes_infeasible_when_it_rises(default_catalog, solver):
    # blended score: 0.5 x 1.00 + 0.5 x 0.94 x (1 - 0.04) = 0.9512
    q = 0.5 * TIER_SCORE[4] + 0.5 * TIER_SCORE[3] * 0.96
    on = {"cascade": {**CASCADE["cascade"], "use": "on"}}
    pl = plan(_problem(on, min_quality=0.95), default_catalog, SolveOptions(solver=solver))
    assert pl.status == "optimal" and not pl.verification["violations"]
    assert pl.extras["techniques"]["chat"]["quality"]["score"] == pytest.approx(q, abs=1e-6)
    ub, us = _unit(default_catalog, BIG, _problem()), _unit(default_catalog, SMALL, _problem())
    assert pl.monthly_cost_usd == pytest.approx(V * (0.5 * ub + 0.5 * us) + V * 0.0001, abs=0.02)
    with pytest.raises(InfeasibleError) as e:
        plan(_problem(on, min_quality=0.96), default_catalog, SolveOptions(solver=solver))
    assert any("quality" in line and "min_quality" in line for line in e.value.report)
    # left to the solver, the cascade is simply not used above the floor it can keep
    pl = plan(_problem(CASCADE, min_quality=0.96), default_catalog, SolveOptions(solver=solver))
    assert not _used(pl, "cascade") and pl.monthly_cost_usd == pytest.approx(V * ub, abs=0.01)


def test_semantic_errors_lower_the_score(default_catalog):
    t = {"cache": {"semantic_hit_rate": 0.5, "semantic_error_rate": 0.2, "semantic_monthly_cost_usd": 1.0,
                   "semantic_use": "on"}}
    pl = plan(_problem(t, min_quality=0.85), default_catalog)
    assert pl.extras["techniques"]["chat"]["quality"]["score"] == pytest.approx(1 - 0.5 * 0.2)
    with pytest.raises(InfeasibleError):
        plan(_problem(t, min_quality=0.95), default_catalog)


# --- brute force over technique subsets ----------------------------------------------------------------------------

def _random_techniques(rng: random.Random) -> tuple[dict, float]:
    he = round(rng.uniform(0.05, 0.4), 3)
    t = {"cache": {"exact_hit_rate": he, "monthly_cost_usd": round(rng.uniform(100, 3000), 2),
                   "semantic_hit_rate": round(rng.uniform(0.05, 0.5 - he + 0.05), 3),
                   "semantic_error_rate": round(rng.uniform(0, 0.2), 3),
                   "semantic_monthly_cost_usd": round(rng.uniform(100, 3000), 2)},
         "prompt_compression": {"input_reduction": round(rng.uniform(0.1, 0.5), 3),
                                "quality_penalty": round(rng.uniform(0, 0.05), 3),
                                "cost_per_million_tokens": round(rng.uniform(0, 1.0), 3)},
         "cascade": {"small_apis": [SMALL], "share_routable": round(rng.uniform(0.2, 0.8), 3),
                     "misroute_rate": round(rng.uniform(0, 0.1), 3),
                     "router_cost_per_request": round(rng.uniform(0, 0.001), 5)}}
    return t, round(rng.uniform(0.85, 0.99), 3)


def _forced(t: dict, subset: set) -> dict:
    out = {k: dict(v) for k, v in t.items()}
    out["cache"]["use"] = "on" if "exact_cache" in subset else "off"
    out["cache"]["semantic_use"] = "on" if "semantic_cache" in subset else "off"
    out["prompt_compression"]["use"] = "on" if "prompt_compression" in subset else "off"
    out["cascade"]["use"] = "on" if "cascade" in subset else "off"
    return out


@pytest.mark.parametrize("seed", range(5))
def test_milp_matches_brute_force_over_technique_subsets(default_catalog, seed):
    rng = random.Random(seed)
    t, floor = _random_techniques(rng)
    names = ("exact_cache", "semantic_cache", "prompt_compression", "cascade")
    best = None
    for r in range(len(names) + 1):
        for subset in itertools.combinations(names, r):
            try:
                pl = plan(_problem(_forced(t, set(subset)), min_quality=floor), default_catalog)
            except InfeasibleError:
                continue
            assert not pl.verification["violations"], (subset, pl.verification)
            for n in names:
                assert _used(pl, n) == (n in subset)
            best = pl.monthly_cost_usd if best is None else min(best, pl.monthly_cost_usd)
    try:
        milp = plan(_problem(t, min_quality=floor), default_catalog)
    except InfeasibleError:
        assert best is None
        return
    assert milp.status == "optimal" and not milp.verification["violations"]
    assert milp.monthly_cost_usd == pytest.approx(best, abs=0.02)


def test_lp_relaxation_is_a_lower_bound(default_catalog):
    from optimizer.model.formulation import build_model
    from optimizer.model.solve import solve
    from optimizer.pipeline import solve_problem
    from optimizer.techniques import expand_techniques
    t, floor = _random_techniques(random.Random(7))
    p = expand_techniques(_problem(t, min_quality=floor))
    cands, _, res = solve_problem(p, default_catalog)
    lp = build_model(p, cands, integer=False)
    r = solve(lp.prob, "highs", None, None, False)
    assert r.objective <= res.objective + 1e-6


# --- verify catches a tampered technique plan ------------------------------------------------------------------------

def test_verify_catches_a_tampered_technique_plan(default_catalog):
    p = _problem({"cache": {"exact_hit_rate": 0.3, "monthly_cost_usd": 100.0}, **CASCADE}, min_quality=0.9)
    pl = plan(p, default_catalog)
    assert _used(pl, "exact_cache") and _used(pl, "cascade") and not pl.verification["violations"]
    ex = pl.extras["techniques"]["chat"]
    # claim the cache was not used: the shares no longer cover the traffic
    rows = [{**r, "used": False} if r["technique"] == "exact_cache" else r for r in ex["techniques"]]
    bad = pl.model_copy(update={"extras": {"techniques": {"chat": {**ex, "techniques": rows}}}})
    v = verify_plan(bad, p, default_catalog)
    assert any(x.check == "demand" for x in v.violations)
    # drop the cache's cost line: cost check and totals fail
    bad = pl.model_copy(update={"fixed": [f for f in pl.fixed if "exact cache" not in f.name]})
    v = verify_plan(bad, p, default_catalog)
    assert any(x.check == "cost" and "exact_cache" in x.message for x in v.violations)
    # move the routed traffic back to the big model: the cascade share and the cost no longer match
    api = [a.model_copy(update={"share": a.share + 0.05}) if a.api_id == BIG else
           a.model_copy(update={"share": a.share - 0.05}) for a in pl.api]
    v = verify_plan(pl.model_copy(update={"api": api}), p, default_catalog)
    assert any(x.check == "cascade_share" for x in v.violations)
    # a floor the plan does not keep
    p2 = _problem({"cache": {"exact_hit_rate": 0.3, "monthly_cost_usd": 100.0}, **CASCADE}, min_quality=0.99)
    v = verify_plan(pl, p2, default_catalog)
    assert any(x.check == "quality" for x in v.violations)


# --- inputs ------------------------------------------------------------------------------------------------------

def test_techniques_refused_with_failover_and_bad_rates_are_named():
    wl = {"name": "chat", "apis": [BIG], "requests_per_month": V, "peak_to_average": 2.0, "input_tokens": 1000,
          "output_tokens": 200, "techniques": {"cache": {"exact_hit_rate": 0.3}}}
    with pytest.raises(ProblemError, match="failover"):
        parse_problem({"workloads": [wl], "policy": {"failover": {"fraction": 0.5}}})
    bad = {**wl, "techniques": {"cache": {"exact_hit_rate": 0.7, "semantic_hit_rate": 0.5}}}
    with pytest.raises(ProblemError, match="exceed 0.99"):
        parse_problem({"workloads": [bad]})
    bad = {**wl, "techniques": {"cascade": {"share_routable": 0.5}}}
    with pytest.raises(ProblemError, match="small models"):
        parse_problem({"workloads": [bad]})
    bad = {**wl, "min_quality": 1.5}
    with pytest.raises(ProblemError, match="min_quality"):
        parse_problem({"workloads": [bad]})


# --- renderers: golden files ---------------------------------------------------------------------------------------

def _golden_plan(tmp_path):
    """On the synthetic test catalog (tier-1 APIs, tier score 0.80): an exact cache that pays, a semantic cache
    whose wrong answers break the floor, prompt compression that pays, and a cascade to a cheaper API."""
    import datetime as dt

    from helpers import api, write_catalog

    from optimizer.catalog import load_catalog
    apis = [api("apix/tiny-8b", "apix", "global", 1.0, 2.0),  # $0.002 per request at 1000/500 tokens
            api("apiy/tiny-8b", "apiy", "global", 0.1, 0.2)]  # $0.0002: the cascade's small option
    w = {"name": "chat", "apis": ["apix/tiny-8b"], "requests_per_month": 1_000_000, "peak_rps": 1.0,
         "input_tokens": 1000, "output_tokens": 500, "min_quality": 0.75,
         "techniques": {"cache": {"exact_hit_rate": 0.4, "monthly_cost_usd": 100, "semantic_hit_rate": 0.2,
                                  "semantic_error_rate": 0.5, "semantic_monthly_cost_usd": 50},
                        "prompt_compression": {"input_reduction": 0.5, "cost_per_million_tokens": 0.1},
                        "cascade": {"small_apis": ["apiy/tiny-8b"], "share_routable": 0.5, "misroute_rate": 0.05}}}
    cat = load_catalog(write_catalog(tmp_path / "cat", apis=apis))
    return plan(parse_problem({"name": "techniques", "workloads": [w]}, "techniques.yaml"), cat, SolveOptions(),
                today=dt.date(2026, 11, 24), explain=True)


def test_technique_report_golden(tmp_path):
    """Regenerate with: UPDATE_GOLDEN=1 pytest tests/test_techniques.py -k golden"""
    from test_render_golden import check

    from optimizer.render.markdown import to_markdown
    from optimizer.render.table import to_table
    p = _golden_plan(tmp_path)
    assert not p.verification["violations"]
    rows = {t["technique"]: t for t in p.extras["techniques"]["chat"]["techniques"]}
    assert rows["exact_cache"]["used"] and rows["prompt_compression"]["used"] and rows["cascade"]["used"]
    assert not rows["semantic_cache"]["used"] and rows["semantic_cache"]["saving_usd"] is None  # floor
    check("techniques_table.txt", to_table(p))
    check("techniques_report.md", to_markdown(p))
    from optimizer.render.html import to_html
    from optimizer.render.json_out import load_plan, to_json
    html = to_html(p)
    assert "<h2>Cost techniques</h2>" in html and "chat exact cache: USED, saves $270.00/month" in html
    again = load_plan(to_json(p))  # a saved plan re-renders the same section
    assert to_markdown(again) == to_markdown(p)


# --- self-hosted slices and random problems under verify -------------------------------------------------------------

def _self_hosted_problem(cap_rps: float, **tech):
    """A tier-1 API (apix, $0.002/request) with a cascade to self-hosted tiny-8b on TESTGPU (measured capacity)."""
    from helpers import measured, serving
    w = serving("chat", peak=2.0, req=2_000_000, apis=["apix/tiny-8b"], models=[],
                techniques={"cascade": {"small_models": ["tiny-8b"], "share_routable": 0.6, **tech}})
    return parse_problem({"name": "sh", "workloads": [w], "measured": [measured("chat", rps=cap_rps)],
                          "policy": {"max_utilization": 1.0}})


def test_cascade_to_a_self_hosted_model_uses_the_measured_capacity(tmp_path):
    from helpers import write_catalog

    from optimizer.catalog import load_catalog
    cat = load_catalog(write_catalog(tmp_path / "cat"))
    pl = plan(_self_hosted_problem(10.0), cat)
    assert not pl.verification["violations"]
    assert _used(pl, "cascade")
    d = [d for d in pl.deployments if d.workload == "chat~small"]
    assert d and d[0].capacity_source == "measured"
    assert sum(x.share for x in d) == pytest.approx(0.6)
    # the routed 60% of a 2 req/s peak is 1.2 req/s: one instance at 10 req/s carries it
    assert sum(x.load_rps for x in d) == pytest.approx(1.2)


def _random_problem(seed: int):
    rng = random.Random(seed)
    t, floor = _random_techniques(rng)
    for k in ("cache", "prompt_compression", "cascade"):
        if rng.random() < 0.3:
            t.pop(k)
    if not t:
        t = {"quantization": {"use": "auto"}}
    return _problem(t, min_quality=floor if rng.random() < 0.7 else None,
                    requests_per_month=round(rng.uniform(1e4, 5e6)), input_tokens=rng.randint(100, 4000),
                    output_tokens=rng.randint(10, 800))


@pytest.mark.parametrize("seed", range(100, 112))
def test_random_technique_plans_pass_verify(default_catalog, seed):
    p = _random_problem(seed)
    try:
        pl = plan(p, default_catalog)
    except InfeasibleError as e:
        assert e.report  # an infeasible floor is explained
        return
    assert pl.status == "optimal", pl.verification
    assert not pl.verification["violations"]


def test_solve_and_extract_take_the_problem_as_written(default_catalog):
    """The sweep and the what-ifs call solve_problem and extract_plan with the problem as written: both expand
    the technique slices themselves (idempotently)."""
    from optimizer.extract import extract_plan
    from optimizer.pipeline import solve_problem
    p = _problem({"cache": {"exact_hit_rate": 0.3, "monthly_cost_usd": 100.0}, **CASCADE}, min_quality=0.9)
    cands, model, res = solve_problem(p, default_catalog)
    pl = extract_plan(p, default_catalog, cands, model, res, SolveOptions())
    assert pl.monthly_cost_usd == pytest.approx(res.objective, abs=0.01)
    assert not verify_plan(pl, p, default_catalog).violations
    assert pl.monthly_cost_usd == plan(p, default_catalog).monthly_cost_usd


def test_a_slice_without_options_only_rules_its_technique_out(default_catalog):
    """A cascade to an API that misses the latency target is simply not used (or, forced on, named as the reason);
    a workload whose own (large) options all miss it is named as before."""
    slow = {"cascade": {"small_apis": [SMALL], "share_routable": 0.5}}
    # catalog typical TTFT: claude-sonnet-4-6 740 ms, mistral-large 280 ms; the target here is 500 ms
    p = _problem(slow, ttft_ms=500.0)  # the large slice (sonnet) has no option: the workload cannot be served
    with pytest.raises(InfeasibleError, match="no eligible option|some workloads"):
        plan(p, default_catalog)
    p = _problem({"cascade": {"small_apis": [BIG], "share_routable": 0.5}}, apis=[SMALL], ttft_ms=500.0)
    # the small slice (sonnet) misses 500 ms: the cascade is ruled out, mistral-large serves everything
    pl = plan(p, default_catalog)
    assert not _used(pl, "cascade") and not pl.verification["violations"]
    forced = _problem({"cascade": {"small_apis": [BIG], "share_routable": 0.5, "use": "on"}}, apis=[SMALL],
                      ttft_ms=500.0)
    with pytest.raises(InfeasibleError) as e:
        plan(forced, default_catalog)
    assert any("chat~small" in line and "latency_tier" in line for line in e.value.report)


def test_a_quality_floor_without_techniques_reports_quantization(default_catalog):
    """min_quality alone: the floor holds, quantization is reported (used when a pool below 16 bits carries
    traffic) and priced against fp16 only, and verify agrees."""
    p = parse_problem({"name": "q", "workloads": [{
        "name": "sum", "models": ["llama-3.1-70b"], "requests_per_month": 2_000_000, "peak_to_average": 2.0,
        "input_tokens": 2000, "output_tokens": 200, "precisions": ["fp16", "fp8", "int8", "int4"],
        "min_quality": 0.87}]})
    pl = plan(p, default_catalog)
    assert not pl.verification["violations"]
    e = pl.extras["techniques"]["sum"]
    assert e["quality"]["score"] >= 0.87 - 1e-6
    assert all(i["precision"] != "int4" or i["share"] < 1 for i in e["quality"]["inputs"])
    row = next(t for t in e["techniques"] if t["technique"] == "quantization")
    below16 = any(d.precision != "fp16" for d in pl.deployments if d.share)
    assert row["used"] == below16
    if below16:
        assert row["saving_usd"] >= 0 and row["alternative_cost_usd"] >= pl.monthly_cost_usd
