"""The failure simulation: known answers on small plans, determinism, and the failover promise of the seed's
8M-conversation chatbot with and without `policy.failover`."""

import json
import math
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from routing_helpers import routing_plan

from optimizer.cli import main
from optimizer.errors import LlmplanError
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem
from optimizer.render.json_out import to_json
from optimizer.routing.report import to_dict, to_text, verdict
from optimizer.routing.simulate import Failure, SimOptions, parse_duration, parse_failure, simulate
from optimizer.routing.targets import route_tables

ROOT = Path(__file__).resolve().parents[1]


def within_poisson(n, mean, k=5.0):
    return abs(n - mean) <= k * math.sqrt(mean) + 1


def test_arrivals_are_poisson_at_the_peak_and_average_rates(tmp_path):
    p = routing_plan(tmp_path)
    peak = simulate(p, SimOptions(hours=1.0, seed=1)).workloads["chat"]
    assert within_poisson(peak.arrived, 18.0 * 3600)
    avg = simulate(p, SimOptions(hours=2.0, load="average", seed=1)).workloads["chat"]
    assert within_poisson(avg.arrived, 300_000 / (730 * 3600) * 7200)


def test_same_seed_same_result_other_seed_other_result(tmp_path):
    p = routing_plan(tmp_path)
    opts = SimOptions(hours=0.25, seed=9, failures=(Failure("clouda", 300, 600),))
    a, b = to_dict(simulate(p, opts)), to_dict(simulate(p, opts))
    c = to_dict(simulate(p, SimOptions(hours=0.25, seed=10, failures=opts.failures)))
    assert a == b and a != c


def test_an_api_at_its_rpm_answers_429_and_traffic_falls_over(tmp_path):
    # openai takes 10/18 of 18 req/s = exactly its 600 RPM at peak: Poisson bursts exceed it, the 429s fall over
    # to the pool (8 req/s planned, 10 modelled) or the standby; nothing is rejected.
    s = simulate(routing_plan(tmp_path), SimOptions(hours=1.0, seed=2)).workloads["chat"]
    assert s.rate_limit_hits > 0 and s.failed_over >= 1 and s.rejected == 0 and s.served == s.arrived
    # the sliding 60 s window never lets more than 600 requests a minute through: <= 600 x 60 in an hour
    assert s.served_by["openai/tiny-8b"] <= 600 * 60


def test_rate_limit_aware_avoids_the_429s(tmp_path):
    p = routing_plan(tmp_path)
    bal = simulate(p, SimOptions(hours=0.5, seed=4)).workloads["chat"]
    rla = simulate(p, SimOptions(hours=0.5, seed=4, strategy="rate_limit_aware")).workloads["chat"]
    assert bal.rate_limit_hits > 100
    assert rla.rate_limit_hits < bal.rate_limit_hits / 10
    assert rla.served == rla.arrived


def test_single_api_with_a_hard_limit_serves_its_rpm_and_rejects_the_rest(tmp_path):
    # No pool, no failover, one API at 600 RPM and 20 req/s offered: in an hour it serves at most 600 x 60
    # + 600 (the first window), at least 97% of that, and every other request is rejected after a 429.
    from helpers import api, serving, solve_problem
    prob = {"workloads": [serving("chat", peak=9.9, req=100_000, models=[], apis=["tiny-8b"])]}
    p = solve_problem(tmp_path, prob, apis=[api("openai/tiny-8b", "openai", "global", 1.0, 2.0, rpm=600)])
    assert [a.share for a in p.api] == [1.0]
    data = json.loads(to_json(p))
    data["workloads"][0]["peak_rps"] = 20.0  # replay twice the planned peak
    from optimizer.render.json_out import load_plan
    s = simulate(load_plan(json.dumps(data)), SimOptions(hours=1.0, seed=3)).workloads["chat"]
    assert 0.97 * 36_000 <= s.served <= 36_000 + 600
    assert s.rejected == s.arrived - s.served == s.rate_limit_hits
    assert s.failed_over == 0


def test_an_overloaded_pool_serves_its_planned_capacity_and_turns_the_rest_away(tmp_path):
    # A pool planned at 8 req/s (10 modelled, max_utilization 0.8) alone, replayed at 20 req/s: its rpm cap
    # (the planned capacity, 480/min, as the LiteLLM export sets it) lets through 8 req/s; each other request
    # gets one 429 or a full queue and is rejected (there is nothing to fall back to).
    from helpers import measured, serving, solve_problem
    prob = {"workloads": [serving("chat", peak=8.0, req=100_000)], "measured": [measured("chat", rps=10.0)],
            "policy": {"max_utilization": 0.8}}
    p = solve_problem(tmp_path, prob, apis=[])
    data = json.loads(to_json(p))
    data["workloads"][0]["peak_rps"] = 20.0
    from optimizer.render.json_out import load_plan
    s = simulate(load_plan(json.dumps(data)), SimOptions(hours=0.5, seed=5)).workloads["chat"]
    assert 0.97 * 8 * 1800 <= s.served <= 8 * 1800 + 480
    assert s.rejected == s.arrived - s.served == s.rate_limit_hits + s.shed
    assert s.failed_over == 0


def test_light_load_has_no_queueing_and_meets_the_ttft_target(tmp_path):
    from helpers import measured, serving, solve_problem
    prob = {"workloads": [serving("chat", peak=8.0, req=100_000)], "measured": [measured("chat", rps=10.0)],
            "policy": {"max_utilization": 0.8}}
    p = solve_problem(tmp_path, prob, apis=[])
    s = simulate(p, SimOptions(hours=0.5, load="average", seed=6)).workloads["chat"]
    assert s.served == s.arrived and s.late == 0 and s.queue_percentiles()["max"] == 0.0


def test_outage_window_counts_and_interruptions(tmp_path):
    p = routing_plan(tmp_path)
    res = simulate(p, SimOptions(hours=0.5, seed=7, failures=(Failure("clouda", 600, 1200),)))
    s = res.workloads["chat"]
    (w,) = s.windows
    assert within_poisson(w.arrived, 18.0 * 600)
    assert w.served_fraction >= 0.5 and verdict(res)["holds"] is True
    assert s.errors >= 3 and res.interrupted > 0  # in-flight requests on clouda when it went down
    assert s.served_by.get("anthropic/tiny-8b", 0) > 0  # the standby took traffic


def test_the_promise_fails_without_failover_when_the_only_provider_goes(tmp_path):
    p = routing_plan(tmp_path, failover=None)
    res = simulate(p, SimOptions(hours=0.5, seed=8, failures=(Failure("openai", 600, 1800),)))
    (w,) = res.workloads["chat"].windows
    assert w.served_fraction < 0.5  # only the pool is left: 10 of 18 req/s at most, capped at 8 by its rpm
    assert verdict(res)["promise"] is None and "promises nothing" in to_text(res)


def test_spot_reclaims_remove_capacity_and_interrupt_requests(tmp_path):
    from helpers import measured, serving, solve_problem
    prob = {"workloads": [serving("emb", peak=30.0, req=1_000_000, spot=True, latency_tier="batch")],
            "measured": [measured("emb", rps=10.0)], "policy": {"max_utilization": 1.0, "capacity_types": ["spot"]}}
    p = solve_problem(tmp_path, prob, apis=[])
    assert p.deployments[0].capacity_type == "spot" and p.deployments[0].instances == 3
    calm = simulate(p, SimOptions(hours=2.0, seed=1))
    rough = simulate(p, SimOptions(hours=2.0, seed=1, spot_rate=1.0, spot_recovery_s=900))
    assert calm.spot_reclaims == 0 and calm.interrupted == 0
    assert rough.spot_reclaims >= 2 and rough.interrupted > 0
    assert rough.workloads["emb"].served < calm.workloads["emb"].served


def test_parse_failure_and_durations(tmp_path):
    tables = route_tables(routing_plan(tmp_path))
    assert parse_duration("30m", "t") == 1800 and parse_duration("0.5h", "t") == 1800
    assert parse_duration("90s", "t") == 90 and parse_duration("2", "t") == 120
    assert parse_failure("largest@10m", tables, 3600) == Failure("openai", 600, 3600)
    assert parse_failure("clouda@10m+5m", tables, 3600) == Failure("clouda", 600, 900)
    for bad in ("clouda", "nobody@5m", "clouda@later", "clouda@2h"):
        with pytest.raises(LlmplanError):
            parse_failure(bad, tables, 3600)


def test_cli_simulate_json_and_errors(tmp_path):
    pj = tmp_path / "plan.json"
    pj.write_text(to_json(routing_plan(tmp_path)))
    r = CliRunner().invoke(main, ["simulate", str(pj), "--hours", "0.1", "--fail", "clouda@1m", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["workloads"][0]["outages"][0]["provider"] == "clouda" and d["failover"]["holds"] is True
    assert "[#" not in r.stderr  # a run of a fraction of a second shows no progress bar
    r = CliRunner().invoke(main, ["simulate", str(pj), "--fail", "clouda"])
    assert r.exit_code == 2 and "PROVIDER@TIME" in r.stderr and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["simulate", str(pj), "--hours", "0"])
    assert r.exit_code == 2


# --- the seed's 8M-conversation chatbot: the failover promise --------------------------------------------

def chatbot_plan(default_catalog, failover: bool, **policy):
    data = yaml.safe_load((ROOT / "problems" / "seed_chatbot_8m.yaml").read_text())
    if not failover:
        data["policy"].pop("failover")
    data["policy"].update(policy)
    # planned at the point estimate: these tests are about failover, not about the capacity's error band
    data["policy"]["capacity_confidence"] = 0.5
    return plan(parse_problem(data, "seed_chatbot_8m.yaml"), default_catalog, SolveOptions())


def outage_fraction(p):
    tables = route_tables(p)
    res = simulate(p, SimOptions(hours=1.0, seed=0, failures=(parse_failure("largest@30m", tables, 3600),)))
    (s,) = res.workloads.values()
    (w,) = s.windows
    return w, res


def test_chatbot_with_failover_keeps_its_promise_when_its_largest_provider_fails(default_catalog):
    p = chatbot_plan(default_catalog, failover=True)
    assert p.failover["fraction"] == 0.5 and p.failover_routes  # re-routing planned for every provider it uses
    w, res = outage_fraction(p)
    assert w.served_fraction >= 0.5 and w.fraction_of_peak(res.workloads["chatbot"].peak_rps) >= 0.5
    assert verdict(res)["holds"] is True and "HOLDS" in to_text(res)


def test_chatbot_without_failover_does_not(default_catalog):
    # one cloud and no API: nothing is left when that cloud fails
    p = chatbot_plan(default_catalog, failover=False, include_providers=["lambda"])
    assert p.failover is None and not p.standby_api and {d.cloud for d in p.deployments} == {"lambda"}
    w, res = outage_fraction(p)
    assert w.served_fraction < 0.5
