"""The pruning run on would-be pools (`_Cheapest`, `_undominated_pools`) keeps exactly the pools the plain
algorithm keeps: build every pool, group by signature, keep the cheapest of each group (every capped one), then
drop, pair by pair with `_dominates`, each pool an earlier kept one dominates.

`tests/test_build_speed_same.py` shows the same on the example problems, whose catalog has no availability caps;
these random instances have capped offers, equal prices (ties broken by id), equal measured capacities on
several providers, spot and reserved prices, failover and a spot cap."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from helpers import measured, offer, serving, write_catalog

from optimizer import candidates as cand
from optimizer.catalog import load_catalog
from optimizer.families import active_traits
from optimizer.problem import parse_problem


def reference_prune(pools, traits):
    """The pruning as first written: all pools built, grouped, then dominance pair by pair."""
    groups = defaultdict(list)
    for p in pools:
        sig = (p.gpus_per_instance, tuple(t.value(p) for t in traits),
               tuple(sorted((w, round(c, 9)) for w, c in p.capacity.items())))
        groups[sig].append(p)
    kept = []
    for grp in groups.values():
        grp.sort(key=lambda p: (p.hourly_usd, p.id))
        kept += [p for p in grp if p.offer.max_instances is not None] or grp[:1]
    exact = [t for t in traits if t.replaces is None]
    classes = defaultdict(list)
    for p in sorted(kept, key=lambda p: (p.hourly_usd, p.id)):
        classes[tuple(t.value(p) for t in exact)].append(p)
    final = []
    for members in classes.values():
        survivors = []
        for b in members:
            if not any(cand._dominates(a, b, traits) for a in survivors):
                survivors.append(b)
        final += survivors
    final.sort(key=lambda p: p.id)
    return final, len(pools) - len(final)


def random_instance(tmp_path, seed: int):
    rng = random.Random(seed)
    offers = []
    for i in range(rng.randint(3, 7)):
        prov = f"p{i % 2}"  # offers share providers
        jur = rng.choice(["us", "eu"])
        for k in rng.sample([1, 2, 4, 8], rng.randint(1, 3)):
            price = rng.choice([1.0, 1.5, 2.0]) * k  # few prices: ties between offers
            offers.append(offer(f"{prov}:r{i}:x{k}", prov, f"r{i}", jur, k, price,
                                spot=rng.choice([None, round(price * 0.4, 2)]),
                                cap=rng.choice([None, None, rng.randint(1, 5)]),
                                r1=rng.choice([None, round(price * 0.7, 2)])))
    rng.shuffle(offers)  # met out of id order: an equal price must still go to the smaller id
    names = ["a", "b", "c"][:rng.randint(1, 3)]
    workloads = [serving(n, peak=rng.uniform(5, 30), spot=rng.random() < 0.5,
                         jurisdictions=rng.choice([["any"], ["us"], ["eu"]])) for n in names]
    policy = {"capacity_types": ["on_demand", "spot", "reserved_1y"],
              "max_spot_share": rng.choice([1.0, 0.4])}
    if rng.random() < 0.6:
        policy["failover"] = {"fraction": 0.5}
    problem = {"workloads": workloads, "policy": policy,
               "measured": [measured(n, rps=rng.choice([3.0, 4.0]), tp=tp) for n in names for tp in (1, 2)
                            if rng.random() < 0.7]}
    folder = write_catalog(tmp_path / f"cat{seed}", offers=offers, apis=[])
    return parse_problem(problem, "pruning.yaml"), load_catalog(folder)


@pytest.mark.parametrize("seed", range(25))
def test_pruning_on_would_be_pools_matches_the_plain_algorithm(tmp_path, monkeypatch, seed):
    problem, catalog = random_instance(tmp_path, seed)
    met = []
    add = cand._Cheapest.add

    def record(self, spec):
        met.append(spec)
        add(self, spec)

    monkeypatch.setattr(cand._Cheapest, "add", record)
    got = cand.build_candidates(problem, catalog)
    want, pruned = reference_prune([s.pool() for s in met], active_traits(problem))
    assert got.pools == want  # every field: ids, order, capacities, points, bands, energy
    assert got.pruned == pruned
    assert len(met) == len(got.pools) + got.pruned


def test_the_instances_have_what_the_pruning_must_keep_apart(tmp_path):
    """The random instances above are not vacuous: they prune, keep capped pools, and meet equal prices."""
    capped = ties = pruned = 0
    for seed in range(25):
        problem, catalog = random_instance(tmp_path, seed)
        c = cand.build_candidates(problem, catalog)
        capped += sum(p.offer.max_instances is not None for p in c.pools)
        prices = [p.hourly_usd for p in c.pools]
        ties += len(prices) - len(set(prices))
        pruned += c.pruned
    assert capped > 0 and ties > 0 and pruned > 0


def _spec(pid: str, price: float, cap: int | None, capacity: dict):
    o = offer(f"{pid}:r:x1", "prov", "r", "us", 1, price, cap=cap)
    from optimizer.catalog.schema import Offer
    return cand._PoolSpec(pid, None, Offer(**{k: v for k, v in o.items() if v is not None}), None, "fp16", 1,
                          "on_demand", price, 1, capacity, ({}, {}, set(), {}, {}), None)


def test_cheapest_keeps_per_signature_the_cheapest_by_price_then_id_and_every_capped_one():
    first = cand._Cheapest(())
    for s in [_spec("b", 2.0, None, {"w": 1.0}), _spec("a", 2.0, None, {"w": 1.0}),
              _spec("c", 1.0, None, {"w": 2.0}), _spec("d", 3.0, 2, {"w": 2.0}), _spec("e", 2.5, 1, {"w": 2.0}),
              _spec("f", 9.0, None, {"w": 1.0 + 1e-12})]:  # f: the same capacity to 1e-9
        first.add(s)
    # w=1.0: a and b tie on price, a wins by id (f is dearer); w=2.0: capped d and e, by price, and the
    # uncapped c is left out as the plain algorithm leaves it out
    assert [s.id for s in first.kept()] == ["a", "e", "d"]
    assert first.seen == 6


def test_the_bands_computed_for_kept_pools_only_are_replica_points_bands():
    """The band of a modelled capacity is computed only when a kept pool reads it (`_LazyBands`); it is the
    band `replica_point` (which verify uses) gives, at a capacity_confidence whose median needs its own solve."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from large_problem import large_problem

    from optimizer.problem import Problem
    problem = Problem.model_validate(large_problem(n=6))
    assert problem.policy.capacity_confidence != 0.5
    c = cand.build_candidates(problem, load_catalog(Path(__file__).resolve().parents[1] / "catalogs" / "2026-12-03"))
    ws = {w.name: w for w in problem.serving}
    checked = 0
    for p in c.pools:
        for wn, b in p.bands.items():
            r, pt, want = cand.replica_point(p.model, p.gpu, p.precision, p.tp, ws[wn], problem.policy)
            assert (b, p.points[wn]) == (want, pt)
            assert b.point_rps > b.planned_rps
            checked += 1
    assert checked > 100
