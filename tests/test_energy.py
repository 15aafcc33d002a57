"""Energy and carbon: the power model against its closed form, a hand-solvable carbon cap (both sides, the binding
constraint and its price), brute force over small instances, unknown carbon under a cap, API estimates, verify's
recomputation, and the shipped catalog's coverage."""

import itertools
import json

import pytest
from helpers import GPU, CHECKED, measured, offer, serving, write_catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.catalog import load_catalog
from optimizer.perf.energy import HOST_FRACTION, IDLE_FRACTION, api_estimate
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem
from optimizer.result import load_plan
from optimizer.verify import verify_plan

H = 730.0
TDP = 500.0
GPU_TDP = {**GPU, "tdp_w": TDP, "tdp_source": "test fixture: 500 W"}
REQ = 1_000_000  # requests a month
PEAK = 30.0  # req/s at peak; 10 req/s per instance (measured, max_utilization 1) -> 3 instances


def grid_row(provider, region, g, pue=1.0):
    return {"provider": provider, "region": region, "gco2e_per_kwh": g, "proxy": None, "pue": pue,
            "pue_source": "test fixture", "source": "test fixture", "checked": CHECKED}


def cap_catalog(tmp_path, dirty_usd=1.0, clean_usd=1.2, dirty_g=500.0, clean_g=50.0, extra_offers=(), apis=()):
    offers = [offer("dirty:d1:one", "dirty", "d1", "us", 1, dirty_usd),
              offer("clean:c1:one", "clean", "c1", "us", 1, clean_usd), *extra_offers]
    grid = [grid_row("dirty", "d1", dirty_g), grid_row("clean", "c1", clean_g), grid_row("*", "*", None, 1.5)]
    return load_catalog(write_catalog(tmp_path / "cat", offers=offers, gpus=[GPU_TDP], grid=grid, apis=list(apis)))


def cap_problem(cap=None, apis=()):
    pol = {"max_utilization": 1.0}
    if cap is not None:
        pol["max_co2e_kg_month"] = cap
    return parse_problem({"workloads": [serving(peak=PEAK, req=REQ, apis=list(apis))],
                          "measured": [measured(rps=10.0)], "policy": pol}, "t.yaml")


def kg_of(n, g, busy_h):
    """Closed form: n instances all month, busy_h busy instance-hours, grid g gCO2e/kWh, PUE 1."""
    kw_idle = TDP * (IDLE_FRACTION + HOST_FRACTION) / 1000
    kw_busy = TDP * (1 - IDLE_FRACTION) / 1000
    return (n * H * kw_idle + busy_h * kw_busy) * g / 1000


BUSY_H = REQ / (3600 * 10.0)  # each request keeps an instance busy 1/10 s (max_utilization 1)


def test_energy_line_matches_the_closed_form(tmp_path):
    p = plan(cap_problem(), cap_catalog(tmp_path), SolveOptions())
    assert p.status == "optimal" and p.monthly_cost_usd == pytest.approx(3 * H * 1.0)
    (line,) = p.energy.lines
    assert line.name.startswith("dirty:d1:one") and line.instance_hours == pytest.approx(3 * H)
    # 0.25 kW idle+host x 2,190 h + 0.4 kW x 27.8 busy h = 558.6 kWh; x 500 g = 279.3 kg
    assert line.kwh == pytest.approx(3 * H * 0.25 + BUSY_H * 0.4, abs=0.01)
    assert line.kg_co2e == pytest.approx(kg_of(3, 500, BUSY_H), abs=0.01) == pytest.approx(279.31, abs=0.01)
    assert line.busy_fraction == pytest.approx(BUSY_H / (3 * H), abs=1e-4)
    assert p.energy.kg_co2e == line.kg_co2e and p.energy.unknown_co2e == []


def test_carbon_cap_known_answer_both_sides(tmp_path, solver):
    # dirty: $1.00/h at 500 g/kWh (279.3 kg for 3 instances); clean: $1.20/h at 50 g/kWh (27.9 kg). Same GPU and
    # capacity, so without the cap the clean pool is dominated on price: the pruning must keep it under a cap.
    cat = cap_catalog(tmp_path)
    free = plan(cap_problem(300), cat, SolveOptions(solver=solver))
    assert free.status == "optimal" and free.monthly_cost_usd == pytest.approx(3 * H)
    assert {d.cloud for d in free.deployments} == {"dirty"}
    tight = plan(cap_problem(100), cat, SolveOptions(solver=solver), explain=True)
    assert tight.status == "optimal" and tight.monthly_cost_usd == pytest.approx(3 * H * 1.2)
    assert {d.cloud for d in tight.deployments} == {"clean"}
    assert tight.energy.kg_co2e == pytest.approx(kg_of(3, 50, BUSY_H), abs=0.01)
    assert tight.energy.kg_co2e <= 100
    carbon = next(c for c in tight.constraint_costs if c.family == "carbon")
    assert carbon.binding and carbon.monthly_cost_usd == pytest.approx(3 * H * 0.2, abs=0.01)


def test_a_cap_below_the_cleanest_plan_is_explained(tmp_path):
    from optimizer.errors import InfeasibleError
    with pytest.raises(InfeasibleError) as e:
        plan(cap_problem(20), cap_catalog(tmp_path), SolveOptions())
    msg = str(e.value)
    need = kg_of(3, 50, BUSY_H)  # 27.9 kg: the cleanest plan
    assert "carbon" in msg and f"{need:.3g}" in msg and "max_co2e_kg_month" in msg


def _brute(cap, dirty_usd, clean_usd, dirty_g, clean_g):
    """Cheapest (n_dirty, n_clean) with capacity for the peak whose least-carbon routing fits the cap: traffic goes
    to the clean pool first (carbon is linear in each pool's share), cost does not depend on the routing."""
    best = None
    for nd, nc in itertools.product(range(5), range(5)):
        if 10 * (nd + nc) < PEAK:
            continue
        s_clean = min(1.0, 10 * nc / PEAK)  # share of traffic on clean instances
        kg = (kg_of(nd, dirty_g, BUSY_H * (1 - s_clean)) + kg_of(nc, clean_g, BUSY_H * s_clean))
        if kg > cap * (1 + 1e-9):
            continue
        cost = H * (nd * dirty_usd + nc * clean_usd)
        best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_random_caps_match_brute_force(tmp_path, seed):
    import random
    rnd = random.Random(seed)
    dirty_usd, clean_usd = 1.0, round(rnd.uniform(1.05, 2.0), 2)
    dirty_g, clean_g = rnd.choice([300, 500, 800]), rnd.choice([5, 50, 150])
    cap = round(rnd.uniform(kg_of(3, clean_g, BUSY_H) * 0.9, kg_of(3, dirty_g, BUSY_H) * 1.1), 1)
    cat = cap_catalog(tmp_path, dirty_usd, clean_usd, dirty_g, clean_g)
    want = _brute(cap, dirty_usd, clean_usd, dirty_g, clean_g)
    if want is None:
        from optimizer.errors import InfeasibleError
        with pytest.raises(InfeasibleError):
            plan(cap_problem(cap), cat, SolveOptions())
        return
    p = plan(cap_problem(cap), cat, SolveOptions())
    assert p.status == "optimal" and p.monthly_cost_usd == pytest.approx(want, abs=0.01)
    assert p.energy.kg_co2e <= cap + 0.01


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cap=st.floats(20, 400), clean_usd=st.floats(1.01, 3.0))
def test_every_capped_plan_passes_the_independent_check(tmp_path_factory, cap, clean_usd):
    tmp = tmp_path_factory.mktemp("cap")
    cat = cap_catalog(tmp, clean_usd=round(clean_usd, 2))
    prob = cap_problem(round(cap, 2))
    try:
        p = plan(prob, cat, SolveOptions())
    except Exception as e:  # only an explained infeasibility is acceptable
        assert type(e).__name__ == "InfeasibleError" and "carbon" in str(e)
        return
    v = verify_plan(p, prob, cat)
    assert p.status == "optimal" and v.ok, v.violations
    assert p.energy.kg_co2e <= round(cap, 2) + 0.011


def test_verify_catches_tampered_energy_and_a_plan_over_the_cap(tmp_path):
    cat = cap_catalog(tmp_path)
    p = plan(cap_problem(), cat, SolveOptions())
    data = json.loads(p.model_dump_json())
    data["energy"]["lines"][0]["kg_co2e"] = 1.0
    v = verify_plan(load_plan(json.dumps(data)), cap_problem(), cat)
    assert any(x.check == "energy" and "kg_co2e" in x.message for x in v.violations)
    # the dirty plan (279 kg) checked against a problem capped at 100 kg
    v = verify_plan(p, cap_problem(100), cat)
    assert [x.check for x in v.violations] == ["carbon"] and "279.31" in v.violations[0].message


def test_unknown_carbon_is_reported_and_kept_out_of_a_capped_plan(tmp_path):
    # 'nowhere' is the cheapest offer but its region has no grid row: carbon unknown (energy known, PUE 1.5)
    cat = cap_catalog(tmp_path, extra_offers=[offer("nowhere:n1:one", "nowhere", "n1", "us", 1, 0.5)])
    p = plan(cap_problem(), cat, SolveOptions())
    (line,) = p.energy.lines
    assert line.name.startswith("nowhere") and line.kg_co2e is None and line.kwh is not None
    assert line.pue == 1.5 and p.energy.unknown_co2e == [line.name]
    capped = plan(cap_problem(300), cat, SolveOptions())
    assert {d.cloud for d in capped.deployments} == {"dirty"}
    assert capped.candidates["excluded"]["w"]["carbon_unknown"] >= 1


def test_api_estimates_are_labelled_and_unknown_apis_excluded_under_a_cap(tmp_path):
    from helpers import api
    gem = {**api("gemini/tiny-8b", "gemini", "global", 0.01, 0.01), "model": "tiny-8b"}
    assert api_estimate("gemini", "gemini-2.5-flash").gco2e_per_request == pytest.approx(0.03)
    assert api_estimate("gemini", "tiny-8b") is None  # the figure covers Gemini models only
    assert api_estimate("groq", "llama-3.1-8b") is None
    cat = cap_catalog(tmp_path, apis=[gem])
    p = plan(cap_problem(apis=["gemini/tiny-8b"]), cat, SolveOptions())
    (a,) = [x for x in p.energy.lines if x.kind == "api"]
    assert a.kwh is None and a.kg_co2e is None and a.basis.startswith("unknown")
    capped = plan(cap_problem(300, apis=["gemini/tiny-8b"]), cat, SolveOptions())
    assert not capped.api and capped.candidates["excluded"]["w"]["carbon_unknown"] >= 1


def test_the_shipped_catalog_knows_every_gpu_power_and_the_big_clouds_grids():
    cat = load_catalog()
    assert all(g.tdp_w and g.tdp_source for g in cat.gpus.values())
    missing = set()
    for o in cat.offers:
        own, site = cat.grid_row(o.provider, o.region)
        if o.provider in ("aws", "azure", "gcp") and (own is None or own.gco2e_per_kwh is None):
            missing.add(f"{o.provider}/{o.region}")
        assert site is not None and site.pue >= 1  # a PUE for every offer
    # Malaysia: no Google region, no Cloud Carbon Footprint factor (catalogs/_sources/grid/SOURCE.md)
    assert missing == {"azure/malaysiawest"}


def test_older_catalogs_without_power_figures_report_unknown_energy(tmp_path):
    p = plan(cap_problem(), load_catalog(write_catalog(tmp_path / "cat", offers=[
        offer("dirty:d1:one", "dirty", "d1", "us", 1, 1.0)])), SolveOptions())
    (line,) = p.energy.lines
    assert line.kwh is None and "tdp_w" in line.basis
    with pytest.raises(Exception) as e:
        plan(cap_problem(300), load_catalog(tmp_path / "cat"), SolveOptions())
    assert "carbon_unknown" in str(e.value) or "carbon" in str(e.value)


def test_a_cap_with_autoscaling_is_refused_with_a_clear_error():
    from optimizer.errors import ProblemError
    with pytest.raises(ProblemError) as e:
        parse_problem({"workloads": [serving(autoscale=True, daily_profile=[1.0] * 24)],
                       "policy": {"max_co2e_kg_month": 100}}, "t.yaml")
    assert "max_co2e_kg_month" in str(e.value) and "autoscale" in str(e.value)


def test_an_api_of_unknown_carbon_offers_no_batch_mode_under_a_cap(tmp_path):
    # a batch workload whose API misses the latency target in realtime would still get the API's batch mode; under
    # a cap an API of unknown carbon offers neither (it used to reach the carbon row and fail there)
    from helpers import api
    slow = api("apix/tiny-8b", "apix", "global", 1.0, 2.0, ttft=1e7, tpot=1e6, batch=(0.5, 1.0))
    cat = cap_catalog(tmp_path, apis=[slow])
    prob = parse_problem({"workloads": [serving(peak=PEAK, req=REQ, apis=["tiny-8b"], latency_tier="batch")],
                          "measured": [measured(rps=10.0)],
                          "policy": {"max_utilization": 1.0, "max_co2e_kg_month": 300}}, "t.yaml")
    p = plan(prob, cat, SolveOptions())
    assert p.status == "optimal" and not p.api and p.energy.unknown_co2e == []
