"""Plans over a horizon (issue 12): known answers, brute force, both solvers, and verify catching tampering.

Every instance here runs on quoted prices and measured capacities, so the answers follow from the numbers in the
test alone: a quoted L40S serving llama-3.1-8b at 3,600 requests/hour (1 request/s per instance at
max_utilization 1.0), peak = average (peak_to_average 1), so a month of V requests needs ceil(V / 2,628,000)
instances (730 h x 3,600 s = 2,628,000 s in a month).
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from optimizer.errors import ProblemError
from optimizer.horizon_plan import plan_horizon
from optimizer.pipeline import SolveOptions
from optimizer.problem import Problem
from optimizer.render.horizon import render_horizon
from optimizer.verify_horizon import verify_horizon

SECONDS = 730 * 3600  # 2,628,000: requests one instance at 1 request/s serves in a month
Q = {"name": "q-l40s", "gpu": "L40S", "gpus_per_instance": 1, "jurisdiction": "us", "source": "test quote",
     "checked": "2026-11-20"}


def problem(volumes, *, od=4.0, r1=None, apis=(), ops=0.0, rate=0.0, owned=None, spike=1.0, spike_hours=24.0,
            deployment="cloud", rented=True) -> Problem:
    q = {**Q, "ondemand_hourly_usd": od}
    if r1 is not None:
        q["reserved_1y_hourly_usd"] = r1
    quotes = [q] if rented else []
    if owned:
        quotes.append({"kind": "owned", "name": "own-l40s", "gpu": "L40S", "gpus_per_instance": 1,
                       "jurisdiction": "us", "source": "test: an owned server", "checked": "2026-11-20", **owned})
    types = ["on_demand"] + (["reserved_1y"] if r1 is not None else [])
    return Problem.model_validate({
        "name": "h", "horizon": {"months": len(volumes), "discount_rate_annual": rate,
                                 "spike_hours_per_month": spike_hours},
        "workloads": [{"name": "chat", "models": ["llama-3.1-8b"], "apis": list(apis),
                       "requests_per_month": volumes[0], "peak_to_average": 1.0, "input_tokens": 800,
                       "output_tokens": 300, "precisions": ["fp16"], "spike_factor": spike,
                       "growth": {"monthly_volumes": list(volumes)}}],
        "quotes": quotes,
        "measured": [{"workload": "chat", "model": "llama-3.1-8b", "gpu": "L40S", "precision": "fp16", "tp": 1,
                      "requests_per_hour": 3600}],
        "policy": {"ops_overhead_monthly_usd": ops, "max_utilization": 1.0, "capacity_confidence": 0.5,
                   "include_providers": ["quoted", "openai"], "capacity_types": types,
                   "deployment": deployment}})


def fleet(plan, t):
    return {(f.capacity_type, f.gpu): f.instances for f in plan.timeline[t].fleet}


# --- known answer: commit iff the volume stays above one instance's capacity ------------------------------------
# On-demand $4/h; reserved 1 year $0.90/h, charged for all 12 months whatever the horizon (12 x 0.9 = 10.8 < 3 x 4
# = 12 instance-hours-dollars per hour of the month). An instance needed in all 3 months: commit (10.8 x 730 =
# $7,884 < $8,760). Needed in 2 months only: rent ($5,840 < $7,884). Months 1-2 need 2 instances (1.5 x capacity);
# the second instance is committed iff month 3 stays above one instance's capacity (2,628,000 requests).

HIGH = 1.5 * SECONDS


@pytest.mark.parametrize("month3,commits,npv", [
    (1.2 * SECONDS, 2, 2 * 12 * 730 * 0.9),  # above the threshold: both instances committed
    (0.8 * SECONDS, 1, 12 * 730 * 0.9 + 2 * 730 * 4.0),  # below: one committed, the second rented 2 months
])
def test_commit_iff_volume_stays_above_threshold(default_catalog, solver, month3, commits, npv):
    p = plan_horizon(problem([HIGH, HIGH, month3], r1=0.9), default_catalog, SolveOptions(solver=solver))
    assert p.status == "optimal", p.warnings
    assert sum(c.instances for c in p.commitments) == commits
    assert all(c.start_month == 1 and c.term_months == 12 for c in p.commitments)
    assert p.npv_usd == pytest.approx(npv, abs=0.02)
    # the binding constraint: month 1's capacity, exactly 2 instances for 1.5 instances of load
    assert sum(fleet(p, 0).values()) == 2
    assert p.committed_past_horizon_usd == pytest.approx(commits * 9 * 730 * 0.9, abs=0.02)
    assert p.verification["violations"] == []


def test_commitment_past_horizon_is_charged_in_full(default_catalog):
    """One month of need, reserved at 0.30 x on-demand: 12 months of commitment ($2,628) beat no commitment? No:
    one month of on-demand is $2,920 > $2,628, so it commits, and the 11 months past the horizon are charged."""
    p = plan_horizon(problem([0.5 * SECONDS], od=4.0, r1=0.3), default_catalog)
    assert sum(c.instances for c in p.commitments) == 1
    assert p.npv_usd == pytest.approx(12 * 730 * 0.3, abs=0.02)
    assert p.total_usd == pytest.approx(730 * 0.3, abs=0.02)
    assert p.committed_past_horizon_usd == pytest.approx(11 * 730 * 0.3, abs=0.02)


# --- known answer: buy vs rent breakeven ------------------------------------------------------------------------
# One owned server at price P, no lead time, fully expensed at purchase (depreciation_months 1, residual 0), running
# cost E per month; renting costs 730 h per month. Undiscounted, buying pays over T months iff P + E T < 730 h T:
# the breakeven month is T* = P / (730 h - E).

OWN = {"server_price_usd": 10000.0, "lead_time_months": 0, "depreciation_months": 1, "residual_value_usd": 0.0,
       "power_kw_load": 1.0, "power_kw_idle": 0.2, "electricity_usd_per_kwh": 0.1, "pue": 1.5,
       "facility_usd_per_kw_month": 100.0}


def test_buy_vs_rent_breakeven_month(default_catalog):
    h = 4.0
    E = 1.0 * 1.5 * 730 * 0.1 + 100.0  # $209.50/month
    t_star = OWN["server_price_usd"] / (730 * h - E)  # 3.66 months
    below, above = math.floor(t_star), math.ceil(t_star)
    for T, buys in ((below, False), (above, True)):
        p = plan_horizon(problem([0.5 * SECONDS] * T, od=h, owned=OWN), default_catalog)
        assert bool(p.purchases) is buys, (T, t_star, p.npv_usd)
        expected = min(OWN["server_price_usd"] + E * T, 730 * h * T)
        assert p.npv_usd == pytest.approx(expected, abs=0.02)
        assert p.verification["violations"] == []


def test_owned_lead_time_and_book_value(default_catalog):
    """Ordered in month 1 with a 2-month lead time, the server serves from month 3; renting covers months 1-2. Its
    straight-line book value at the end (age T - lead) is credited."""
    own = {**OWN, "lead_time_months": 2, "depreciation_months": 36, "residual_value_usd": 1000.0}
    p = plan_horizon(problem([0.5 * SECONDS] * 12, od=4.0, owned=own), default_catalog)
    assert [b.order_month for b in p.purchases] == [1]
    assert p.purchases[0].delivery_month == 3
    assert fleet(p, 0) == {("on_demand", "L40S"): 1} and fleet(p, 2) == {("owned", "L40S"): 1}
    bv = 10000 - 9000 * 10 / 36
    assert p.residual_value_usd == pytest.approx(bv, abs=0.01)
    assert p.verification["violations"] == []


def test_air_gapped_uses_no_api_and_no_cloud(default_catalog):
    p = plan_horizon(problem([0.5 * SECONDS] * 3, owned=OWN, apis=["openai/gpt-4o-mini"], deployment="air_gapped"),
                     default_catalog)
    assert all(s.option.startswith("owned:") for mo in p.timeline for s in mo.shares)
    with pytest.raises(ProblemError):
        plan_horizon(problem([0.5 * SECONDS] * 3, deployment="on_prem"), default_catalog)


def test_spike_goes_to_the_cheaper_of_headroom_and_overflow(default_catalog):
    """A 3x spike of 1 instance's worth: headroom costs 2 more instances all month ($5,840); overflow pays the API
    for 2 x peak x 3,600 x spike hours requests. With 1 spike hour overflow is cheaper; with 730 it is not."""
    short = plan_horizon(problem([0.9 * SECONDS], apis=["openai/gpt-4o-mini"], spike=3.0, spike_hours=1),
                         default_catalog)
    assert any(s.option.startswith("api:") and s.spike_share > 0.99 for s in short.timeline[0].shares)
    long = plan_horizon(problem([0.9 * SECONDS], od=0.5, apis=["openai/gpt-4o"], spike=3.0, spike_hours=730),
                        default_catalog)
    assert sum(fleet(long, 0).values()) == 3  # 0.9 x 3 = 2.7 instances of load at the spike
    for p in (short, long):
        assert p.verification["violations"] == []


# --- brute force on small random horizons ------------------------------------------------------------------------

def brute_force(vols, od, r1, ops, pi, cap_rps=1.0):
    """Enumerate commitments r_s (each 12 months, in full) and on-demand counts n_t; the pool takes what its
    instances can carry, the API the rest; ops from the first self-hosted month to the end."""
    T = len(vols)
    lam = [v / SECONDS for v in vols]
    U = max(math.ceil(l / cap_rps - 1e-9) for l in lam)
    best = math.inf
    for r in itertools.product(range(U + 1), repeat=T):
        active = [sum(r[s] for s in range(t + 1)) for t in range(T)]  # T <= 12: nothing expires
        if any(a > U for a in active):
            continue
        commit = sum(r) * 12 * 730 * r1
        for n in itertools.product(range(U + 1), repeat=T):
            cost, started = commit, False
            for t in range(T):
                N = active[t] + n[t]
                served = min(1.0, N * cap_rps / lam[t])
                cost += 730 * od * n[t] + pi * vols[t] * (1 - served)
                started = started or N > 0
                cost += ops if started else 0.0
            best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_random_small_horizons_against_brute_force(default_catalog, seed):
    from optimizer.candidates import api_usd_per_request
    rng = random.Random(seed)
    T = rng.choice([2, 3])
    vols = [rng.uniform(0.2, 2.6) * SECONDS for _ in range(T)]
    od, r1, ops = rng.choice([2.0, 4.0, 6.0]), rng.choice([0.5, 0.9, 1.5]), rng.choice([0.0, 500.0, 3000.0])
    api = "openai/gpt-4o"
    p = plan_horizon(problem(vols, od=od, r1=r1, apis=[api], ops=ops), default_catalog)
    a = next(a for a in default_catalog.apis if a.api_id == api)
    wl = problem(vols).serving[0]
    pi = api_usd_per_request(a, wl, "realtime")
    assert p.status == "optimal"
    assert p.npv_usd == pytest.approx(brute_force(vols, od, r1, ops, pi), rel=1e-6, abs=0.05)
    assert p.verification["violations"] == []


def test_lp_relaxation_below_milp(default_catalog):
    import pulp

    from optimizer.horizon_candidates import build_horizon_candidates
    from optimizer.model.horizon import build_horizon_model
    from optimizer.model.solve import solve
    pr = problem([HIGH, HIGH, 1.2 * SECONDS], r1=0.9, apis=["openai/gpt-4o"], ops=500)
    hc = build_horizon_candidates(pr, default_catalog)
    lp = build_horizon_model(pr, hc, integer=False)
    milp = build_horizon_model(pr, hc)
    rl, rm = solve(lp.prob), solve(milp.prob)
    assert rl.objective <= rm.objective + 1e-6
    assert pulp.value(milp.prob.objective) == pytest.approx(rm.objective)


# --- verify catches tampering -------------------------------------------------------------------------------------

def test_verify_catches_tampering(default_catalog):
    pr = problem([HIGH, HIGH, 1.2 * SECONDS], r1=0.9, apis=["openai/gpt-4o"], ops=500)
    p = plan_horizon(pr, default_catalog)
    assert verify_horizon(p, pr, default_catalog).ok
    mo = p.timeline[1]
    # fewer instances than the load needs
    small = [f.model_copy(update={"instances": f.instances - 1}) for f in mo.fleet]
    bad = p.model_copy(update={"timeline": [*p.timeline[:1], mo.model_copy(update={"fleet": small}),
                                            *p.timeline[2:]]})
    checks = {v.check for v in verify_horizon(bad, pr, default_catalog).violations}
    assert "capacity" in checks and "commitment" in checks
    # a commitment that ends early (a 1-year commitment listed as 2 months)
    c = p.commitments[0].model_copy(update={"term_months": 2})
    bad = p.model_copy(update={"commitments": [c, *p.commitments[1:]]})
    assert "commitment" in {v.check for v in verify_horizon(bad, pr, default_catalog).violations}
    # a cheaper NPV than the lines add up to
    bad = p.model_copy(update={"npv_usd": p.npv_usd - 100})
    assert "npv" in {v.check for v in verify_horizon(bad, pr, default_catalog).violations}
    # shares that do not cover the demand
    sh = [s.model_copy(update={"share": s.share / 2}) for s in p.timeline[0].shares]
    bad = p.model_copy(update={"timeline": [p.timeline[0].model_copy(update={"shares": sh}), *p.timeline[1:]]})
    assert "demand" in {v.check for v in verify_horizon(bad, pr, default_catalog).violations}


def test_bad_inputs_are_clear_errors():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="give one per month"):
        Problem.model_validate({**problem([SECONDS] * 2).model_dump(exclude_defaults=True),
                                "horizon": {"months": 3}})
    base = problem([SECONDS]).model_dump(exclude_defaults=True)
    with pytest.raises(ValidationError, match="horizon"):
        Problem.model_validate({**base, "horizon": None})
    with pytest.raises(ValidationError):
        Problem.model_validate({**base, "horizon": {"months": 0}})
    with pytest.raises(ValidationError, match="use a smaller rate"):
        Problem.model_validate({**base, "horizon": {"months": 120},
                                "workloads": [{**base["workloads"][0], "growth": {"monthly_rate": 9.0}}]})
    with pytest.raises(ValidationError, match="air_gapped runs on owned servers"):
        Problem.model_validate({**base, "policy": {**base["policy"], "deployment": "air_gapped"}})
    with pytest.raises(ValidationError, match="residual"):
        problem([SECONDS], owned={**OWN, "residual_value_usd": 20000.0})


# --- property: every horizon plan passes the independent check ---------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vols=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=4), od=st.sampled_from([1.0, 3.0, 6.0]),
       r1=st.sampled_from([None, 0.4, 1.2]), spike=st.sampled_from([1.0, 2.5, 4.0]),
       own=st.booleans(), api=st.sampled_from([(), ("openai/gpt-4o-mini",), ("openai/gpt-4o",)]),
       ops=st.sampled_from([0.0, 800.0]), rate=st.sampled_from([0.0, 0.08, 0.3]))
def test_every_horizon_plan_passes_verify(default_catalog, vols, od, r1, spike, own, api, ops, rate):
    owned = {**OWN, "lead_time_months": 1, "depreciation_months": 24, "residual_value_usd": 500.0,
             "staff_usd_month": 300.0} if own else None
    pr = problem([v * SECONDS for v in vols], od=od, r1=r1, spike=spike, owned=owned, apis=list(api), ops=ops,
                 rate=rate)
    p = plan_horizon(pr, default_catalog)
    assert p.status == "optimal", p.warnings
    assert p.verification["violations"] == [] and p.verification["checks"] > 10


def test_fleet_changes_stay_readable_on_big_plans():
    """Up to MAX_CHANGES fleet changes in a month are written one by one; more become one line with their count,
    the GPUs added and removed and the two largest (a 24-month, 10-workload plan had 267 decision lines before)."""
    from optimizer.horizon_plan import MAX_CHANGES, fleet_changes
    few = [(8, "add 1x (8x H100) on_demand in aws us-east-1 (3 running)"), (-2, "stop 2x L4 spot in gcp us-east4")]
    assert fleet_changes(4, few) == [f"month 4: {w}" for _, w in few]
    many = [(8, "add a"), (-16, "remove b"), (4, "add c"), (-1, "stop d"), (2, "add e")]
    assert len(many) > MAX_CHANGES
    (line,) = fleet_changes(5, many)
    assert line == "month 5: 5 on-demand/spot changes, +14 and -17 GPUs (net -3); largest: remove b; add a"


# --- known answer: a monthly budget caps running costs, not purchases ---------------------------------------------
# Three months at half an instance's capacity: renting costs 730 x $4 = $2,920 a month (NPV $8,760, undiscounted);
# buying the server costs $10,000 once plus E = $209.50 a month (NPV $10,628.50). Unbudgeted, renting wins (the
# breakeven is 3.66 months). A $2,000 monthly budget rules renting out; the purchase is capital, not counted against
# it, so the plan buys. Below E nothing fits.

@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_monthly_budget_over_a_horizon(default_catalog, solver):
    from optimizer.errors import InfeasibleError
    E = 1.0 * 1.5 * 730 * 0.1 + 100.0

    def with_budget(b):
        pr = problem([0.5 * SECONDS] * 3, od=4.0, owned=OWN)
        return pr.model_copy(update={"policy": pr.policy.model_copy(update={"budget_monthly_usd": b})})
    free = plan_horizon(with_budget(None), default_catalog, SolveOptions(solver=solver))
    assert not free.purchases and free.npv_usd == pytest.approx(3 * 730 * 4.0, abs=0.02)
    pr = with_budget(2000.0)
    p = plan_horizon(pr, default_catalog, SolveOptions(solver=solver))
    assert p.status == "optimal" and p.verification["violations"] == []
    assert [b.servers for b in p.purchases] == [1]
    assert p.npv_usd == pytest.approx(10000 + 3 * E, abs=0.02)
    assert all(mo.total_usd - mo.cost_usd["owned_capex"] <= 2000 for mo in p.timeline)
    # verify holds every month to the budget: the same plan against a tighter one fails, month by month
    tight = with_budget(200.0)
    assert [v.line for v in verify_horizon(p, tight, default_catalog).violations if v.check == "budget"] == [
        "month 1", "month 2", "month 3"]
    with pytest.raises(InfeasibleError) as e:
        plan_horizon(with_budget(E - 1), default_catalog, SolveOptions(solver=solver))
    assert "budget_monthly_usd" in str(e.value)
    # --explain: the budget costs the purchase over renting, $10,628.50 - $8,760 = $1,868.50 of NPV
    from optimizer.horizon_plan import constraint_costs
    (c,) = constraint_costs(pr, default_catalog, SolveOptions(solver=solver), p)
    assert c.field == "policy.budget_monthly_usd" and c.costs_npv_usd == pytest.approx(10000 + 3 * E - 3 * 2920, abs=0.02)


# --- fixed-hours blocks over a horizon ----------------------------------------------------------------------------

FT = {"name": "ft", "category": "fine-tuning", "gpu": "L40S", "gpu_count": 2, "hours_per_month": 40,
      "price_per_gpu_hour_usd": 1.5, "price_jurisdiction": "us"}


def with_fixed(pr, block, **policy):
    data = pr.model_dump(mode="json", exclude_none=True)
    data["workloads"].append(block)
    data["policy"].update(policy)
    return Problem.model_validate(data)


def test_fixed_block_over_a_horizon_by_hand(default_catalog):
    """A quoted block (2 GPUs x 40 h at $1.50) costs 2 x 1.5 x 40 = $120 every month, next to the serving plan."""
    base = problem([0.5 * SECONDS] * 3)
    p0 = plan_horizon(base, default_catalog)
    p = plan_horizon(with_fixed(base, FT), default_catalog)
    assert p.status == "optimal" and p.verification["violations"] == []
    assert all(len(mo.fixed) == 1 and mo.cost_usd["fixed"] == pytest.approx(120.0) for mo in p.timeline)
    assert p.npv_usd == pytest.approx(p0.npv_usd + 3 * 120.0, abs=0.02)
    assert any("ft rent 2x L40S on_demand" in d for d in p.decisions)
    assert "ft: 2x L40S on_demand quoted 40 h" in render_horizon(p, "table")


def test_fixed_block_is_the_cheapest_allowed_each_month(default_catalog):
    """From the catalog: the block is the cheapest option the candidates offer (enumerated); with
    max_spot_share 0 no spot block is allowed, so it is the cheapest on-demand one."""
    from optimizer.horizon_candidates import build_horizon_candidates
    block = {"name": "train", "category": "training", "gpu": "L4", "gpu_count": 4, "hours_per_month": 100,
             "spot": True}
    for share in (1.0, 0.0):
        pr = with_fixed(problem([0.5 * SECONDS] * 2), block, include_providers=None, max_spot_share=share,
                        capacity_types=["on_demand", "spot"])
        opts = build_horizon_candidates(pr, default_catalog).fixed["train"]
        p = plan_horizon(pr, default_catalog)
        assert p.verification["violations"] == [], p.verification
        want = min(q.monthly_usd for q in opts if share > 0 or q.capacity_type != "spot")
        assert [mo.cost_usd["fixed"] for mo in p.timeline] == [pytest.approx(want, abs=0.01)] * 2
        assert share > 0 or all(b.capacity_type == "on_demand" for mo in p.timeline for b in mo.fixed)


def test_verify_catches_tampered_fixed_blocks(default_catalog):
    pr = with_fixed(problem([0.5 * SECONDS] * 2), FT)
    p = plan_horizon(pr, default_catalog)
    mo = p.timeline[1]
    gone = p.model_copy(update={"timeline": [p.timeline[0], mo.model_copy(update={"fixed": []})]})
    assert "fixed_choice" in {v.check for v in verify_horizon(gone, pr, default_catalog).violations}
    cheap = [b.model_copy(update={"hourly_usd_per_instance": 0.5, "monthly_cost_usd": 40.0}) for b in mo.fixed]
    bad = p.model_copy(update={"timeline": [p.timeline[0], mo.model_copy(update={"fixed": cheap})]})
    assert {"price", "cost"} <= {v.check for v in verify_horizon(bad, pr, default_catalog).violations}
    small = [b.model_copy(update={"instances": 1}) for b in mo.fixed]
    bad = p.model_copy(update={"timeline": [p.timeline[0], mo.model_copy(update={"fixed": small})]})
    assert "fixed_choice" in {v.check for v in verify_horizon(bad, pr, default_catalog).violations}


def test_fixed_block_needs_rented_capacity(default_catalog):
    """Blocks rent cloud capacity month by month: under deployment on_prem (owned servers only) they are refused
    with the field named, and without on-demand or spot in capacity_types they have no option."""
    pr = with_fixed(problem([0.5 * SECONDS] * 2, owned=OWN, deployment="on_prem", rented=False), FT,
                    include_providers=None)
    with pytest.raises(ProblemError, match="fixed-hours workload 'ft' under policy.deployment on_prem"):
        plan_horizon(pr, default_catalog)
    pr = with_fixed(problem([0.5 * SECONDS] * 2, r1=0.9), FT, capacity_types=["reserved_1y"])
    with pytest.raises(ProblemError, match="no on-demand or spot option"):
        plan_horizon(pr, default_catalog)


def test_residual_value_check_allows_a_cent_per_server(default_catalog):
    """A purchase's book value per server is rounded to the cent and multiplied by its servers: nine servers at
    $6,666.67 (2/3 of $10,000) are $60,000.03 against $60,000.00 exactly, which is not a violation (hypothesis
    found a plan 3 cents off under the old tolerance of a cent per purchase)."""
    own = {**OWN, "depreciation_months": 3}
    p = plan_horizon(problem([0.5 * SECONDS] * 6, od=4.0, owned=own), default_catalog)
    (b,) = p.purchases
    bv = own["server_price_usd"] * 2 / 3
    crafted = p.model_copy(update={
        "purchases": [b.model_copy(update={"servers": 9, "order_month": 6, "delivery_month": 6,  # age 1 at the end
                                           "book_value_end_usd": round(bv, 2)})],
        "residual_value_usd": round(round(bv, 2) * 9, 2)})
    pr = problem([0.5 * SECONDS] * 6, od=4.0, owned=own)
    msgs = [v.message for v in verify_horizon(crafted, pr, default_catalog).violations if v.check == "owned"]
    assert not any("residual value" in m for m in msgs), msgs
