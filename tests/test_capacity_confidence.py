"""policy.capacity_confidence and the serving engine as inputs: validation, pool sizing at the band's quantile,
the plan's uncertainty fields and the cost of confidence."""

import pytest

from optimizer.candidates import build_candidates
from optimizer.errors import ProblemError
from optimizer.perf.calibration import band
from optimizer.perf.speed import capacity_under_slo
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem


def _problem(policy=None, measured=(), gpus=("L40S",), engine=None, **wl):
    w = dict(name="chat", models=["llama-3.1-8b"], requests_per_month=20_000_000, peak_to_average=2.0,
             input_tokens=800, output_tokens=300, latency_tier="standard", precisions=["fp16", "fp8"])
    if engine:
        w["engine"] = engine
    w.update(wl)
    pol = dict(include_gpus=list(gpus))
    pol.update(policy or {})
    return parse_problem(dict(name="c", workloads=[w], policy=pol, measured=list(measured)), "c.yaml")


@pytest.mark.parametrize("bad", [0.3, 0.4999, 0.9995, 1.0])
def test_confidence_outside_the_range_is_a_clear_error(bad):
    with pytest.raises(ProblemError) as e:
        _problem({"capacity_confidence": bad})
    text = str(e.value)
    assert "c.yaml: policy.capacity_confidence" in text and "outside [0.5, 0.999]" in text


@pytest.mark.parametrize("where", ["workload", "policy"])
def test_unknown_engine_gets_did_you_mean(where):
    with pytest.raises(ProblemError) as e:
        _problem({"engine": "sglan"}) if where == "policy" else _problem(engine="tensorrt-llm")
    text = str(e.value)
    assert "unknown value" in text and "Did you mean:" in text and ("sglang" in text or "trtllm" in text)
    assert "engine" in text and "fix: use one of vllm, sglang, trtllm, tgi" in text


def test_pools_are_sized_at_the_planned_quantile(default_catalog):
    """The capacity the MILP sees (and pruning compares) is the planned one; the point estimate rides along."""
    prob = _problem(gpus=("L40S", "H100-SXM", "A10G"))
    cands = build_candidates(prob, default_catalog)
    assert cands.pools
    for p in cands.pools:
        for w, cap in p.capacity.items():
            b = p.bands[w]
            spot = p.offer.spot_availability if p.capacity_type == "spot" else 1.0
            assert cap == pytest.approx(b.planned_rps * p.replicas_per_instance * 0.85 * spot)
            assert b.point_rps > b.planned_rps and b.basis == "model" and b.confidence == 0.9
            assert b.sigma == band(p.gpu.architecture, "vllm").sigma


def test_confidence_costs_money_and_the_plan_says_how_much(default_catalog):
    hi = plan(_problem({"capacity_confidence": 0.9}), default_catalog, SolveOptions())
    lo = plan(_problem({"capacity_confidence": 0.5}), default_catalog, SolveOptions())
    assert hi.monthly_cost_usd > lo.monthly_cost_usd
    assert hi.point_estimate_cost_usd == pytest.approx(lo.monthly_cost_usd, abs=0.01)
    assert lo.point_estimate_cost_usd is None and lo.capacity_confidence == 0.5
    d = hi.deployments[0]
    assert d.capacity_source == "model" and d.engine == "vllm" and d.capacity_confidence == 0.9
    assert d.capacity_point_rps > d.capacity_rps and d.capacity_sigma > 0.1
    pool = hi.pools[0]
    assert 0 < pool.uncertainty_cost_usd <= hi.monthly_cost_usd - lo.monthly_cost_usd + 0.01
    assert pool.capacity_basis == "model" and pool.point_instances <= pool.instances


def test_measured_capacity_has_a_narrow_band_and_says_so(default_catalog):
    meas = [dict(workload="chat", model="llama-3.1-8b", gpu="L40S", precision="fp16", tp=1, requests_per_s=3.0)]
    p = plan(_problem(measured=meas, precisions=["fp16"]), default_catalog, SolveOptions())
    assert p.deployments
    for d in p.deployments:
        assert d.capacity_source == "measured" and d.capacity_sigma == 0.05
        assert d.capacity_point_rps == pytest.approx(d.capacity_rps)  # planned as measured
    assert p.point_estimate_cost_usd is None  # nothing modelled: nothing to re-solve


def test_an_uncalibrated_gpu_is_planned_more_cautiously(default_catalog):
    """MI300X under SGLang has no calibration row: its band is wider than the H100's, so at 0.9 it keeps a smaller
    share of its point estimate."""
    m = default_catalog.model("llama-3.1-8b")
    ratio = {}
    for name in ("MI300X", "H100-SXM"):
        g = default_catalog.gpu(name)
        args = (m, g, "fp8", 1, 800, 300, 2000.0, 100.0)
        slow = band(g.architecture, "sglang").factor(0.9)
        planned = capacity_under_slo(*args, engine="sglang", slowdown=slow, utilization=0.85)
        point = capacity_under_slo(*args, engine="sglang", utilization=0.85)
        ratio[name] = planned.requests_per_s / point.requests_per_s
    assert band("cdna3", "sglang").sigma > band("hopper", "sglang").sigma
    assert ratio["MI300X"] < ratio["H100-SXM"] < 1


def test_engine_changes_capacity(default_catalog):
    caps = {}
    for eng in ("vllm", "trtllm"):
        c = build_candidates(_problem(engine=eng, precisions=["fp8"], gpus=("H100-SXM",)), default_catalog)
        caps[eng] = max(b.point_rps for p in c.pools for b in p.bands.values())
    assert caps["trtllm"] > caps["vllm"]


def test_uncertainty_lines_say_why_a_pool_needing_as_many_instances_could_still_save():
    """A pool whose point estimate needs as many instances as planned can only save through a smaller instance
    type; the line says so instead of reading '1 planned, 1 at the point estimate ... could save'."""
    from types import SimpleNamespace as NS

    from optimizer.render.sections import uncertainty_lines
    d = [NS(capacity_point_rps=2.0, capacity_source="model", pool=p, workload="w", engine="vllm") for p in "ab"]
    pools = [NS(pool="a", gpu="H100", cloud="c", instance_type="i1", instances=3, point_instances=2,
                uncertainty_cost_usd=100.0),
             NS(pool="b", gpu="H100", cloud="c", instance_type="i2", instances=1, point_instances=1,
                uncertainty_cost_usd=50.0)]
    plan = NS(capacity_confidence=0.9, deployments=d, pools=pools, point_estimate_cost_usd=None, monthly_cost_usd=1.0)
    lines = uncertainty_lines(plan)
    assert "(3 instance(s) planned, 2 at the point estimate)" in lines[1]
    assert "as many at the point estimate" in lines[2] and "smaller instance type" in lines[2]
