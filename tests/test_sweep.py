"""Sweep inputs: field paths, RANGE grids and Monte Carlo draws, price selectors, scenario expansion."""

import math
from pathlib import Path

import numpy as np
import pytest
from helpers import APIS, OFFERS, write_catalog

from optimizer.catalog import load_catalog
from optimizer.errors import ProblemError
from optimizer.problem import load_problem, parse_problem
from optimizer.sweep import build_sweep
from optimizer.sweep.paths import problem_data, resolve, scenario_problem
from optimizer.sweep.prices import Selector, apply_multipliers, parse_selector
from optimizer.sweep.ranges import Z90, grid_values, parse_range, sample_values

ROOT = Path(__file__).resolve().parents[1]
PORTFOLIO = ROOT / "problems" / "portfolio.yaml"


@pytest.fixture(scope="module")
def portfolio():
    return load_problem(PORTFOLIO)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "problems").glob("*.yaml")))
def test_dumped_problem_validates_back_to_itself(name):
    # a scenario is the dumped problem with leaves set: with nothing set it must be the problem itself
    p = load_problem(ROOT / "problems" / name)
    assert parse_problem(problem_data(p), name) == p


def test_paths_by_name_by_index_and_unset_defaults(portfolio):
    d = problem_data(portfolio)
    by_name = resolve(d, "workloads.chat.requests_per_month")
    assert by_name.steps == ("workloads", 0, "requests_per_month") and by_name.current == 20_000_000
    by_index = resolve(d, "workloads[1].input_tokens")
    assert by_index.steps == ("workloads", 1, "input_tokens") and by_index.current == 400 and by_index.is_int
    assert resolve(d, "policy.budget_monthly_usd").current == 60000
    assert resolve(d, "policy.failover.fraction").current == 0.5
    assert resolve(d, "workloads.fine-tuning.hours_per_month").current == 40
    # a field the file leaves out still has its default
    assert resolve(problem_data(load_problem(ROOT / "problems" / "seed_breakeven.yaml")),
                   "policy.max_spot_share").current == 1.0


@pytest.mark.parametrize("path,words", [
    ("workloads.chta.requests_per_month", ["no entry of workloads is named 'chta'", "Did you mean: chat?"]),
    ("workloads.chat.requests_per_mnth", ["has no field 'requests_per_mnth'", "Did you mean: requests_per_month"]),
    ("workloads[7].input_tokens", ["has 4 entries, no [7]", "0 to 3"]),
    ("polcy.budget_monthly_usd", ["has no field 'polcy'", "Did you mean: policy?"]),
    ("policy", ["is a mapping, not a single value", "budget_monthly_usd"]),
    ("workloads.chat.models", ["is a list, not a single value"]),
    ("workloads.chat..input_tokens", ["is not a field path"]),
    ("policy.budget_monthly_usd.x", ["is a value, it has no field 'x'"]),
])
def test_bad_paths_say_what_exists(portfolio, path, words):
    with pytest.raises(ProblemError) as e:
        resolve(problem_data(portfolio), path)
    assert e.value.where == "--vary"
    for w in words:
        assert w in str(e.value)


def test_unset_section_is_named_with_the_fix():
    p = load_problem(ROOT / "problems" / "seed_breakeven.yaml")  # no failover
    with pytest.raises(ProblemError, match=r"policy.failover is not set") as e:
        resolve(problem_data(p), "policy.failover.fraction")
    assert "add policy.failover" in e.value.fix


def test_setting_one_alternative_clears_the_other(portfolio):
    d = problem_data(portfolio)
    p = scenario_problem(d, [(resolve(d, "workloads.chat.peak_rps"), 50.0)], "t")
    chat = p.serving[0]
    assert chat.peak_rps == 50.0 and chat.peak_to_average is None and chat.peak == 50.0
    assert portfolio.serving[0].peak_to_average == 3.0  # the original is untouched


def test_invalid_value_is_a_problem_error_naming_the_field(portfolio):
    d = problem_data(portfolio)
    with pytest.raises(ProblemError) as e:
        scenario_problem(d, [(resolve(d, "workloads.chat.requests_per_month"), -5.0)], "p.yaml (scenario 3)")
    assert "requests_per_month" in e.value.where and "scenario 3" in e.value.file


# --- ranges -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,current,is_int,expect", [
    ("10M:40M:4", 20e6, False, [10e6, 20e6, 30e6, 40e6]),
    ("x0.5:x2:4", 800, True, [400, 800, 1200, 1600]),
    ("100,250,x2", 800, True, [100, 250, 1600]),
    ("1_000:2k:3", 0.0, False, [1000.0, 1500.0, 2000.0]),
    ("0.1:0.3:3", 0.5, False, [0.1, 0.2, 0.3]),
    ("5", 1, True, [5]),
    ("1:3:5", 1, True, [1, 2, 3]),  # 1, 1.5, 2, 2.5, 3 rounded: duplicates dropped (round half to even)
    ("interactive,standard", "batch", False, ["interactive", "standard"]),
    ("true,false", False, False, [True, False]),
])
def test_grid_values(text, current, is_int, expect):
    assert grid_values(parse_range(text, "--vary k"), current, is_int, "--vary k") == expect


@pytest.mark.parametrize("text,fix", [
    ("10:20", "add --samples"), ("x1:20:3", "mixes"), ("1:2:0", "whole number"), ("1:2:2.5", "whole number"),
    ("a:b:3", "cannot read"), ("", "empty"), ("3:4:1", "1 step"),
])
def test_bad_ranges(text, fix):
    with pytest.raises(ProblemError) as e:
        grid_values(parse_range(text, "--vary k"), 1.0, False, "--vary k")
    assert fix in str(e.value) and e.value.where == "--vary k"


def test_multiples_need_a_numeric_current_value():
    with pytest.raises(ProblemError, match="numeric current value"):
        grid_values(parse_range("x0.5:x2:3", "w"), None, False, "w")


def _draw(text, dist, seed=7, n=20_000, current=1.0, is_int=False):
    return sample_values(parse_range(text, "w"), dist, current, is_int, np.random.default_rng(seed), n, "w")


def test_draws_are_deterministic_under_a_seed():
    assert _draw("1:3", "normal", seed=1, n=50) == _draw("1:3", "normal", seed=1, n=50)
    assert _draw("1:3", "normal", seed=1, n=50) != _draw("1:3", "normal", seed=2, n=50)


@pytest.mark.parametrize("dist,text", [("normal", "100:200"), ("lognormal", "100:400"), ("uniform", "100:200")])
def test_bounds_are_the_90_percent_interval_or_the_support(dist, text):
    lo, hi = map(float, text.split(":"))
    v = np.array(_draw(text, dist))
    if dist == "uniform":
        assert v.min() >= lo and v.max() <= hi
        assert np.mean(v) == pytest.approx((lo + hi) / 2, rel=0.01)
    else:  # 5th and 95th percentiles at the bounds
        assert np.quantile(v, 0.05) == pytest.approx(lo, rel=0.03)
        assert np.quantile(v, 0.95) == pytest.approx(hi, rel=0.03)
    if dist == "lognormal":  # median at the geometric mean
        assert np.median(v) == pytest.approx(math.sqrt(lo * hi), rel=0.02)


def test_triangular_mode_and_multiples():
    v = np.array(_draw("x0.5:x1:x2", "triangular", current=100.0))
    assert v.min() >= 50 and v.max() <= 200
    assert np.mean(v) == pytest.approx((50 + 100 + 200) / 3, rel=0.01)  # mean of a triangular = (a+m+b)/3
    assert Z90 == pytest.approx(1.6448536, abs=1e-6)


def test_draws_of_integer_fields_and_lists():
    ints = _draw("100:200", "uniform", n=100, is_int=True)
    assert all(isinstance(x, int) and 100 <= x <= 200 for x in ints)
    words = _draw("interactive,standard", "uniform", n=200)
    assert set(words) == {"interactive", "standard"} and 60 < words.count("standard") < 140
    with pytest.raises(ProblemError, match="drawn uniformly"):
        _draw("1,2", "normal", n=3)
    with pytest.raises(ProblemError, match="positive bounds"):
        _draw("-1:2", "lognormal", n=3)
    with pytest.raises(ProblemError, match="triangular"):
        _draw("1:2:3", "normal", n=3)


# --- price selectors ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_catalog(write_catalog(tmp_path_factory.mktemp("cat") / "2026-11-24"))


def test_selectors_resolve_aliases_and_suggest(tiny):
    assert parse_selector("gpu=Test GPU", tiny) == Selector("gpu", "TESTGPU")
    assert parse_selector("provider=CloudA", tiny) == Selector("provider", "clouda")
    assert parse_selector("api=tiny-8b", tiny) == Selector("api", "tiny-8b")
    with pytest.raises(ProblemError, match="Did you mean: .*clouda"):
        parse_selector("provider=clouad", tiny)
    with pytest.raises(ProblemError, match="no API 'tiny-9b'"):
        parse_selector("api=tiny-9b", tiny)
    with pytest.raises(ProblemError, match="gpu=NAME"):
        parse_selector("region=us", tiny)


def test_multipliers_scale_only_selected_rows_and_multiply(tiny):
    sel_a, sel_gpu, sel_api = Selector("provider", "clouda"), Selector("gpu", "TESTGPU"), Selector("api", "tiny-8b")
    cat = apply_multipliers(tiny, [(sel_a, 2.0), (sel_gpu, 1.5), (sel_api, 0.5)])
    by = {o.offer_id: o for o in cat.offers}
    assert by["clouda:us-a:one"].ondemand_hourly_usd == pytest.approx(OFFERS[0]["ondemand_hourly_usd"] * 3.0)
    assert by["clouda:us-a:one"].spot_hourly_usd == pytest.approx(OFFERS[0]["spot_hourly_usd"] * 3.0)
    assert by["cloudb:eu-b:one"].ondemand_hourly_usd == pytest.approx(OFFERS[2]["ondemand_hourly_usd"] * 1.5)
    (a,) = cat.apis
    assert (a.input_usd_per_mtok, a.output_usd_per_mtok) == (APIS[0]["input_usd_per_mtok"] * 0.5,
                                                             APIS[0]["output_usd_per_mtok"] * 0.5)
    assert {o.offer_id: o.ondemand_hourly_usd for o in tiny.offers}["clouda:us-a:one"] == 1.0  # unchanged
    assert apply_multipliers(tiny, [(sel_a, 1.0)]) is tiny


# --- scenario expansion -------------------------------------------------------------------------------------

def test_grid_is_the_cartesian_product_in_order(portfolio, default_catalog):
    spec = build_sweep(portfolio, default_catalog, ["workloads.chat.requests_per_month=10M,20M",
                                                    "workloads[1].input_tokens=x0.5:x1:2"], ["gpu=H100=1,1.2"])
    assert spec.mode == "grid" and [a.label for a in spec.axes] == [
        "workloads.chat.requests_per_month", "workloads[1].input_tokens", "price[gpu=H100-SXM]"]
    assert [s.values for s in spec.scenarios] == [
        (a, b, c) for a in (10e6, 20e6) for b in (200, 400) for c in (1.0, 1.2)]
    s = spec.scenarios[5]  # 20M, 200, 1.2
    assert s.problem.serving[0].requests_per_month == 20e6 and s.problem.serving[1].input_tokens == 200
    assert s.multipliers == ((Selector("gpu", "H100-SXM"), 1.2),)


def test_monte_carlo_is_seeded_and_invalid_draws_become_rows(portfolio, default_catalog):
    kw = dict(samples=30, distributions=["normal"], seed=3)
    a = build_sweep(portfolio, default_catalog, ["workloads.chat.requests_per_month=-10M:30M"], **kw)
    b = build_sweep(portfolio, default_catalog, ["workloads.chat.requests_per_month=-10M:30M"], **kw)
    assert [s.values for s in a.scenarios] == [s.values for s in b.scenarios]
    bad = [s for s in a.scenarios if s.values[0] <= 0]
    assert bad and all(s.problem is None and "greater than or equal to 1" in s.error for s in bad)
    assert all(s.problem is not None for s in a.scenarios if s.values[0] > 0)


def test_sweep_input_errors(portfolio, default_catalog):
    with pytest.raises(ProblemError, match="nothing to vary"):
        build_sweep(portfolio, default_catalog, [])
    with pytest.raises(ProblemError, match="varied twice"):
        build_sweep(portfolio, default_catalog, ["workloads.chat.input_tokens=1,2", "workloads[0].input_tokens=3"])
    with pytest.raises(ProblemError, match="needs --samples"):
        build_sweep(portfolio, default_catalog, ["workloads.chat.input_tokens=1,2"], distributions=["normal"])
    with pytest.raises(ProblemError, match="KEY=RANGE"):
        build_sweep(portfolio, default_catalog, ["workloads.chat.input_tokens"])
    with pytest.raises(ProblemError, match="not varied"):
        build_sweep(portfolio, default_catalog, ["workloads.chat.input_tokens=1:2"], samples=3,
                    distributions=["policy.max_spot_share=normal"])
    with pytest.raises(ProblemError, match="scenario 1") as e:  # a bad grid value is the user's input: an error
        build_sweep(portfolio, default_catalog, ["workloads.chat.input_tokens=100,0"])
    assert "input_tokens" in e.value.where
    with pytest.raises(ProblemError, match="not positive"):
        build_sweep(portfolio, default_catalog, [], ["provider=aws=0,1"])


def test_per_axis_distributions(portfolio, default_catalog):
    spec = build_sweep(portfolio, default_catalog, ["workloads.chat.input_tokens=100:200"], ["gpu=L4=0.5:2"],
                       samples=5, distributions=["lognormal", "workloads.chat.input_tokens=uniform"])
    assert [a.distribution for a in spec.axes] == ["uniform", "lognormal"]
