"""What a constraint family is, written once.

Every family of restrictions on a plan has one `Family` descriptor here, and every module that needs to know about
a family reads it from `FAMILIES` instead of keeping a list of its own:

- candidates (stage "filter") count the options each filter removes per workload, and the infeasibility pre-check
  prints the filter's `meaning` and `fix`;
- the formulation (stage "constraint") registers its rows under the family's name; `relaxable` says whether the
  infeasibility explanation may give the family an elastic slack, and `slack_text` words the violation;
- the dominance pruning keeps apart the pool traits (`pool_traits`, see `TRAITS`) of every family active in the
  problem, so a pool that a family can tell apart from a cheaper one is never pruned;
- `solve --explain` prices a family by re-solving with `whatif` applied (a relaxed problem and a set of formulation
  families to drop); families priced together share `priced_as`.

Adding a family means adding one entry here (and its `add_*` function in the formulation, or its filter in the
candidates); nothing else has to be kept in step by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .problem import Problem

# --- pool traits the pruning may have to keep apart --------------------------------------------------------------


@dataclass(frozen=True)
class Trait:
    """A property of a pool that the formulation can see besides its capacity and price. `replaces(a, b)` says
    whether a pool with value `a` can stand in for one with value `b` (default: only when equal)."""

    name: str
    value: Callable
    replaces: Callable | None = None

    def ok(self, a, b) -> bool:
        va, vb = self.value(a), self.value(b)
        return va == vb if self.replaces is None else self.replaces(va, vb, b)


def _spot_gpus_ok(va: int, vb: int, b) -> bool:
    # under a spot cap, a spot pool with fewer GPUs per instance uses less of the cap, a non-spot pool with more
    # GPUs per instance adds more room to it
    return va <= vb if b.capacity_type == "spot" else va >= vb


TRAITS = {
    "spot": Trait("spot", lambda p: p.capacity_type == "spot"),
    "provider": Trait("provider", lambda p: p.failover_provider),
    "gpus_per_instance": Trait("gpus_per_instance", lambda p: p.gpus_per_instance, _spot_gpus_ok),
    # an availability-capped pool cannot stand in for an uncapped one (it may run out)
    "offer_cap": Trait("offer_cap", lambda p: p.offer.max_instances is not None, lambda va, vb, b: not va),
    # hour by hour: a reserved pool is paid all month, so it cannot stand in for one that scales (the reverse is
    # fine); pools of providers that bill starts differently are kept apart
    "scales": Trait("scales", lambda p: not p.capacity_type.startswith("reserved"), lambda va, vb, b: va or not vb),
    "billing": Trait("billing", lambda p: _billing_key(p.offer.provider)),
    # under a carbon cap: kg CO2e per instance-hour running and per busy instance-hour; a pool replaces another only
    # when it emits no more in both (with at least its capacity, fewer busy hours per request too)
    "carbon": Trait("carbon", lambda p: _carbon_key(p),
                    lambda va, vb, b: va[0] <= vb[0] + 1e-12 and va[1] <= vb[1] + 1e-12),
    # under a quality floor a pool can only stand in for one whose quality score is no higher
    "quality": Trait("quality", lambda p: _quality_of(p), lambda va, vb, b: va >= vb),
}


def _carbon_key(pool) -> tuple[float, float]:
    e = pool.energy
    if e is None or e.gco2e_per_kwh is None:
        return (float("inf"), float("inf"))
    return (e.kw_idle * e.gco2e_per_kwh, e.kw_busy * e.gco2e_per_kwh)


def _quality_of(pool) -> float:
    from .techniques import option_score
    return option_score(pool.model.quality_tier, pool.precision)


def _quality_text(fam, key, v, scale, unit, ctx) -> str:
    return (f"quality: workload '{key}' cannot keep its quality floor min_quality {scale:g}: the best plan "
            f"falls short by {v:.4g} (score x share of traffic); fix: lower min_quality, allow higher-tier models "
            f"or APIs or 16-bit precision, or set the technique that lowers quality (cascade, prompt compression, "
            f"semantic cache) to use: auto or off")


def _billing_key(provider: str):
    from .billing import billing_of
    return billing_of(provider).key


def autoscaled(problem: Problem) -> list[str]:
    """Serving workloads planned hour by hour (their own `autoscale`, else `policy.autoscale`)."""
    return [w.name for w in problem.serving
            if (w.autoscale if w.autoscale is not None else problem.policy.autoscale)]


# --- the families ------------------------------------------------------------------------------------------------

def _always(problem: Problem) -> bool:
    return True


def _with_workloads(problem: Problem, **changes) -> Problem:
    ws = []
    for w in problem.workloads:
        upd = {k: v for k, v in changes.items() if k in type(w).model_fields}
        ws.append(w.model_copy(update=upd))
    return problem.model_copy(update={"workloads": tuple(ws)})


def _with_policy(problem: Problem, **changes) -> Problem:
    return problem.model_copy(update={"policy": problem.policy.model_copy(update=changes)})


@dataclass(frozen=True)
class Family:
    name: str
    stage: str  # "filter" (candidates) or "constraint" (formulation)
    meaning: str
    fix: str = ""
    relaxable: bool = False  # may take an elastic slack when explaining infeasibility
    pool_traits: tuple[str, ...] = ()  # traits the pruning keeps apart while the family is active
    active: Callable[[Problem], bool] = _always
    priced_as: str | None = None  # the what-if that prices it (families priced together share one)
    # (problem, catalog, candidates) -> (description, relaxed problem, formulation families to drop), or None when
    # the family does not restrict this problem
    whatif: Callable | None = None


def _rate_text(fam, key, v, scale, unit, ctx) -> str:
    g = key[1] if isinstance(key, tuple) else key
    tail = f" when provider '{key[0]}' is lost" if fam.startswith("failover") else ""
    return (f"{fam}: API '{g}' needs {scale + v:,.0f} {unit} at peak{tail} but its limit is {scale:,.0f} "
            f"(short by {v:,.0f}, {v / scale:.0%}); fix: raise the account tier, add another provider for the "
            f"workload, or allow self-hosting")


def _failover_text(fam, key, v, scale, unit, ctx) -> str:
    prov, w = key
    others = ctx.get("providers_of", {}).get(w, [])
    peak = ctx["peak"][w]
    return (f"failover_demand: after losing '{prov}', workload '{w}' can serve only {_rps((scale - v) * peak)} "
            f"of the {_rps(scale * peak)} req/s required ({FAMILIES[fam].meaning}); providers that can "
            f"serve it: {others}; fix: allow options from another provider for it, or lower "
            f"policy.failover.fraction")


def _rps(v: float) -> str:
    return f"{v:,.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}"


def _kg(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _carbon_text(fam, key, v, scale, unit, ctx) -> str:
    return (f"carbon: the plan needs {_kg(scale + v)} kg CO2e/month, {_kg(v)} kg over the {_kg(scale)} kg cap; fix: "
            f"raise policy.max_co2e_kg_month to at least {_kg(scale + v)}, allow regions with cleaner grids, or "
            f"allow more efficient GPUs")


def _budget_text(fam, key, v, scale, unit, ctx) -> str:
    return (f"budget: the cheapest plan costs ${scale + v:,.2f}/month, ${v:,.2f} over the ${scale:,.2f} budget; "
            f"fix: raise budget_monthly_usd to at least ${scale + v:,.0f} or relax other requirements")


def _spot_text(fam, key, v, scale, unit, ctx) -> str:
    return f"spot_cap: needs {v:,.0f} more spot GPU-hours than max_spot_share allows; fix: raise policy.max_spot_share"


def _avail_text(fam, key, v, scale, unit, ctx) -> str:
    return (f"availability: offer '{key}' needs {scale + v:.0f} instances, cap is {scale:.0f}; fix: raise "
            f"max_instances or allow other offers")


SLACK_TEXT = {
    "rate_limit_rpm": _rate_text, "rate_limit_tpm": _rate_text, "failover_rpm": _rate_text,
    "failover_tpm": _rate_text, "failover_demand": _failover_text, "budget": _budget_text,
    "spot_cap": _spot_text, "availability": _avail_text, "carbon": _carbon_text, "quality": _quality_text,
}


# --- what-ifs: how `solve --explain` relaxes a family (None: it does not restrict this problem) ----------------

def _whatif_residency(p, catalog, cands):
    if all("any" in w.jurisdictions for w in p.workloads):
        return None
    return ("workloads processed only in their allowed jurisdictions", _with_workloads(p, jurisdictions=("any",)),
            frozenset())


def _whatif_latency(p, catalog, cands):
    if not p.serving:
        return None
    return ("TTFT/TPOT targets of each workload's latency tier", _with_workloads(p, ttft_ms=1e9, tpot_ms=1e9),
            frozenset())


def _whatif_spot_allowed(p, catalog, cands):
    if all(w.spot for w in p.workloads) or not any(o.spot_hourly_usd for o in catalog.offers):
        return None
    return "spot capacity only for workloads that allow it", _with_workloads(p, spot=True), frozenset()


def _whatif_spot_cap(p, catalog, cands):
    if p.policy.max_spot_share >= 1:
        return None
    return (f"at most {p.policy.max_spot_share:.0%} of GPU-hours on spot", _with_policy(p, max_spot_share=1.0),
            frozenset())


def _whatif_rate(p, catalog, cands):
    if not any((a.api.rpm or a.api.tpm) for a in cands.apis):
        return None
    return ("API RPM/TPM limits at peak", p,
            frozenset({"rate_limit_rpm", "rate_limit_tpm", "failover_rpm", "failover_tpm"}))


def _whatif_failover(p, catalog, cands):
    if p.policy.failover is None:
        return None
    return (f"{p.policy.failover.fraction:.0%} of peak survives the loss of any one provider",
            _with_policy(p, failover=None), frozenset())


def _whatif_availability(p, catalog, cands):
    if not any(pool.offer.max_instances for pool in cands.pools):
        return None
    return "offers' availability caps", p, frozenset({"availability"})


def _whatif_no_commitment(p, catalog, cands):
    reserved = tuple(ct for ct in ("reserved_1y", "reserved_3y") if ct not in p.policy.capacity_types)
    if not reserved or not any(o.hourly_usd(ct) for o in catalog.offers for ct in reserved):
        return None
    return (f"no {'/'.join(reserved)} capacity (policy.capacity_types)",
            _with_policy(p, capacity_types=p.policy.capacity_types + reserved), frozenset())


def _whatif_carbon(p, catalog, cands):
    if p.policy.max_co2e_kg_month is None:
        return None
    return (f"carbon cap {p.policy.max_co2e_kg_month:,.0f} kg CO2e/month", _with_policy(p, max_co2e_kg_month=None),
            frozenset())


def _whatif_quality(p, catalog, cands):
    if not any(w.min_quality for w in p.serving):
        return None
    return "quality floors (min_quality)", _with_workloads(p, min_quality=None), frozenset()


def _has_quality(p: Problem) -> bool:
    return any(w.min_quality is not None for w in p.serving)


def _whatif_budget(p, catalog, cands):
    if p.policy.budget_monthly_usd is None:
        return None
    return f"monthly budget ${p.policy.budget_monthly_usd:,.0f}", _with_policy(p, budget_monthly_usd=None), frozenset()


_FAMILY_LIST = [
    # filters: remove options before the model is built
    Family("vram_fit", "filter", "the model does not fit in the GPU memory at that precision and TP",
           "allow a lower precision (fp8, int8, int4) or use GPUs with more memory / more GPUs per instance"),
    Family("residency", "filter", "the option processes data outside the workload's allowed jurisdictions",
           "allow more jurisdictions for the workload, or add offers/APIs in its jurisdictions to the catalog",
           priced_as="residency", whatif=_whatif_residency),
    Family("latency_tier", "filter", "the option misses the workload's TTFT/TPOT target",
           "relax ttft_ms/tpot_ms (or use a slower latency_tier), allow more precisions, or add faster GPUs/APIs",
           priced_as="latency_tier", whatif=_whatif_latency),
    Family("spot_allowed", "filter", "spot capacity is not allowed for the workload",
           "set spot: true for the workload, or allow on_demand/reserved capacity types in the policy",
           priced_as="spot_allowed", whatif=_whatif_spot_allowed),
    Family("context_length", "filter", "the request is longer than the option's context window",
           "use a model or API with a longer context window, or shorten the requests"),
    Family("precision", "filter", "the precision is not in the workload's allowed precisions",
           "allow more precisions for the workload"),
    Family("capacity_type", "filter", "the capacity type is not in policy.capacity_types",
           "add it to policy.capacity_types, or quote another capacity type"),
    Family("provider", "filter", "the provider is excluded by policy.exclude_providers / include_providers",
           "change policy.include_providers / exclude_providers"),
    Family("deprecated", "filter", "the API's deprecation date has passed", "choose a current model or API"),
    Family("carbon_unknown", "filter", "under policy.max_co2e_kg_month, the option's carbon is unknown (grid not in "
           "grid.csv, GPU without tdp_w, or an API with no published carbon figure)",
           "add the region's grid intensity to the catalog's grid.csv, or allow regions and APIs whose carbon is "
           "known", priced_as="carbon", whatif=_whatif_carbon),
    # constraints: rows of the MILP
    Family("demand", "constraint", "all traffic of every serving workload is served"),
    # spot and non-spot pools are kept apart: a spot pool's instances can be reclaimed (simulation, routing)
    Family("capacity", "constraint", "pool load at peak fits its instances", pool_traits=("spot",)),
    Family("share_link", "constraint", "any traffic on a pool needs at least one instance of it"),
    Family("rate_limit_rpm", "constraint", "API requests/min at peak stay within the account's RPM", relaxable=True,
           priced_as="rate_limits", whatif=_whatif_rate),
    Family("rate_limit_tpm", "constraint", "API tokens/min at peak stay within the account's TPM", relaxable=True,
           priced_as="rate_limits", whatif=_whatif_rate),
    Family("ops_link", "constraint", "self-hosted instances require the self-hosting ops overhead"),
    Family("spot_cap", "constraint", "spot GPU-hours stay within the policy's max_spot_share", relaxable=True,
           pool_traits=("gpus_per_instance",), active=lambda p: p.policy.max_spot_share < 1,
           priced_as="spot_cap", whatif=_whatif_spot_cap),
    Family("failover_demand", "constraint",
           "after losing any one provider, the rest serve the failover fraction of peak", relaxable=True,
           pool_traits=("provider",), active=lambda p: p.policy.failover is not None, priced_as="failover",
           whatif=_whatif_failover),
    Family("failover_capacity", "constraint", "failover traffic fits the surviving pools"),
    Family("failover_link", "constraint", "failover traffic on a pool needs at least one instance of it"),
    Family("failover_rpm", "constraint", "failover traffic fits the surviving APIs' RPM", relaxable=True),
    Family("failover_tpm", "constraint", "failover traffic fits the surviving APIs' TPM", relaxable=True),
    Family("availability", "constraint", "instances of an offer stay within its availability cap", relaxable=True,
           pool_traits=("offer_cap",), priced_as="availability", whatif=_whatif_availability),
    Family("fixed_choice", "constraint", "every fixed-hours block is bought once"),
    # hour by hour (optimizer/model/hourly.py), when some workload autoscales
    Family("hourly_demand", "constraint", "all traffic of every serving workload is served in every hour",
           active=lambda p: bool(autoscaled(p))),
    Family("hourly_capacity", "constraint", "each hour's pool load at that hour's peak fits the instances running",
           pool_traits=("scales", "billing"), active=lambda p: bool(autoscaled(p))),
    Family("hourly_link", "constraint", "traffic on a pool in an hour needs an instance running in that hour"),
    Family("autoscale_bounds", "constraint", "a pool in use runs between the minimum and its maximum instances "
           "every hour"),
    Family("autoscale_starts", "constraint", "instances started in an hour are the increase over the hour before "
           "(the day repeats); each start pays its billed warm-up"),
    # cost techniques and the quality floor (optimizer/model/techniques.py)
    Family("technique_demand", "constraint", "a workload's slices and its cache hits add up to all its traffic"),
    Family("compression_slices", "constraint", "with prompt compression on, all fresh traffic is compressed; "
           "without it, none"),
    Family("cascade_share", "constraint", "with the cascade on, exactly share_routable of the fresh traffic goes "
           "to the small models/APIs; without it, none"),
    Family("quality", "constraint", "the blended quality score of a workload stays at or above its min_quality",
           "lower min_quality, allow higher-tier models/APIs or 16-bit precision, or let the solver drop the "
           "technique that lowers quality (use: auto)", relaxable=True, pool_traits=("quality",),
           active=_has_quality, priced_as="quality", whatif=_whatif_quality),
    # a policy choice priced like a family
    Family("no_commitment", "policy", "no reserved capacity unless policy.capacity_types admits it",
           "add reserved_1y/reserved_3y to policy.capacity_types (after confirming the reserved prices)",
           priced_as="no_commitment", whatif=_whatif_no_commitment),
    Family("budget", "constraint", "monthly cost stays within the budget", relaxable=True,
           priced_as="budget", whatif=_whatif_budget),
    Family("carbon", "constraint", "the plan's kg CO2e a month stays within policy.max_co2e_kg_month",
           relaxable=True, pool_traits=("carbon",), active=lambda p: p.policy.max_co2e_kg_month is not None,
           priced_as="carbon", whatif=_whatif_carbon),
]

FAMILIES: dict[str, Family] = {f.name: f for f in _FAMILY_LIST}
FILTERS: dict[str, Family] = {f.name: f for f in _FAMILY_LIST if f.stage == "filter"}


def active_traits(problem: Problem) -> tuple[Trait, ...]:
    """The pool traits the pruning must keep apart for this problem: the union over its active families."""
    names = []
    for f in _FAMILY_LIST:
        if f.active(problem):
            names += [t for t in f.pool_traits if t not in names]
    return tuple(TRAITS[n] for n in names)


def slack_text(fam: str, key, v: float, scale: float, unit: str, ctx: dict) -> str:
    """Words for an elastic slack of `v` (in `unit`) on the family's row `key` whose right-hand side is `scale`."""
    f = SLACK_TEXT.get(fam)
    if f is not None:
        return f(fam, key, v, scale, unit, ctx)
    return f"{fam} ({key}): violated by {v:,.3f} {unit}; {FAMILIES[fam].meaning}"


def priced_whatifs() -> list[tuple[str, Callable]]:
    """(name, what-if) for every priced family, once per `priced_as`, in the order of the table."""
    out: dict[str, Callable] = {}
    for f in _FAMILY_LIST:
        if f.whatif is not None and f.priced_as not in out:
            out[f.priced_as] = f.whatif
    return list(out.items())
