"""Planning with the labelled assumptions: spot capacity counted at its expected availability (known answers),
reserved prices from documented discounts named in the plan."""

import pytest
from helpers import measured, offer, serving, solve_problem

H = 730.0


def spot_offer(rate: float | None) -> dict:
    """One GPU: $1.00/h on demand, $0.40/h spot, with an expected spot interruption rate."""
    o = offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, spot=0.40)
    if rate is not None:
        o.update(spot_interruption_rate=rate, spot_interruption_source="assumption: test rate")
    return o


def spot_problem() -> dict:
    # 30 req/s at peak; an instance serves 10 req/s (measured), so 3 instances when nothing is lost to interruptions
    return {"name": "spot", "workloads": [serving(spot=True)], "measured": [measured(rps=10.0)],
            "policy": {"max_utilization": 1.0, "capacity_types": ["on_demand", "spot"]}}


@pytest.mark.parametrize("rate,want", [
    (None, {"spot": 3}),  # no rate: 3 x 10 req/s on spot, $1.20/h
    (0.2, {"spot": 4}),   # 8 req/s expected per spot instance: 4 spot ($1.60/h) beats 3 spot + 1 on demand ($2.20/h)
    (0.5, {"spot": 6}),   # 5 req/s each: 6 spot ($2.40/h) still beats 3 on demand ($3.00/h)
    (0.7, {"on_demand": 3}),  # 3 req/s each: 10 spot ($4.00/h) loses to 3 on demand ($3.00/h)
])
def test_spot_capacity_counts_at_expected_availability(tmp_path, solver, rate, want):
    p = solve_problem(tmp_path, spot_problem(), solver, offers=[spot_offer(rate)])
    got = {d.capacity_type: d.instances for d in p.deployments}
    assert got == want
    price = {"spot": 0.40, "on_demand": 1.00}
    assert p.monthly_cost_usd == pytest.approx(sum(price[ct] * n * H for ct, n in want.items()), abs=0.01)
    (d,) = p.deployments
    avail = 1 - rate if rate and d.capacity_type == "spot" else 1.0
    assert d.capacity_rps == pytest.approx(d.instances * 10.0 * avail)
    if rate and "spot" in want:
        assert any(f"counted at {1 - rate:.0%} expected availability" in a for a in p.assumptions)


def test_assumed_reserved_price_is_flagged(tmp_path):
    o = offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, r1=0.70)
    o.update(reserved_price_basis="assumption", reserved_source="assumption: test discount 30%")
    prob = {"name": "r", "workloads": [serving()], "measured": [measured(rps=10.0)],
            "policy": {"max_utilization": 1.0, "capacity_types": ["on_demand", "reserved_1y"]}}
    p = solve_problem(tmp_path, prob, offers=[o])
    (d,) = p.deployments
    assert (d.capacity_type, d.instances) == ("reserved_1y", 3)
    assert p.monthly_cost_usd == pytest.approx(3 * 0.70 * H)
    assert d.price_source.startswith("assumption: test discount 30%")
    assert any("clouda reserved prices in this plan are assumptions" in w for w in p.warnings)


def test_source_given_reserved_price_is_not_flagged(tmp_path):
    o = offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 1.00, r1=0.70)  # basis: the row's own 'catalog'
    prob = {"name": "r", "workloads": [serving()], "measured": [measured(rps=10.0)],
            "policy": {"max_utilization": 1.0, "capacity_types": ["on_demand", "reserved_1y"]}}
    p = solve_problem(tmp_path, prob, offers=[o])
    assert p.deployments[0].capacity_type == "reserved_1y" and p.deployments[0].price_source.startswith("test fixture")
    assert not any("reserved prices" in w for w in p.warnings)


def test_interruption_rate_needs_a_source(tmp_path):
    from helpers import write_catalog

    from optimizer.catalog import load_catalog
    from optimizer.errors import CatalogError
    o = dict(spot_offer(None), spot_interruption_rate=0.2)
    with pytest.raises(CatalogError, match="spot_interruption_rate needs spot_interruption_source"):
        load_catalog(write_catalog(tmp_path / "c", offers=[o]))
    o = dict(spot_offer(None), spot_interruption_rate=1.0, spot_interruption_source="x")
    with pytest.raises(CatalogError, match="field 'spot_interruption_rate'"):
        load_catalog(write_catalog(tmp_path / "d", offers=[o]))
