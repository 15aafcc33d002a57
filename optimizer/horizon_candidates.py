"""Candidates of a plan over several months: the single-month candidates built once per kind of capacity.

The single-month pruning treats on-demand and reserved pools of one configuration as the same pool at two prices
(it keeps the cheaper). Over a horizon they differ in what they commit, so the candidates are built per group:
- `flex`: on-demand and spot (change every month), with the APIs; fixed-hours blocks (`fixed`) rent on-demand or
  spot capacity month by month too;
- `reserved_1y` / `reserved_3y`: each term on its own (a commitment for 12 / 36 months);
- `owned`: the problem's owned servers (`quotes:` of kind owned), bought once.
`policy.deployment` decides the groups: cloud = all; on_prem = owned servers and APIs (no cloud offer);
air_gapped = owned servers only (no API, no cloud offer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .bounds import MIN_USD_PER_HOUR
from .candidates import ApiOption, Candidates, Pool, build_candidates
from .catalog import Catalog
from .errors import ProblemError
from .horizon_spec import OwnedQuote
from .problem import Problem, Quote

TERM_MONTHS = {"reserved_1y": 12, "reserved_3y": 36}
OWNED_PROVIDER = "owned"


@dataclass
class HorizonCandidates:
    flex: list[Pool]
    reserved: list[Pool]  # capacity_type reserved_1y / reserved_3y
    owned: list[Pool]  # provider 'owned'; `owned_quote[pool.id]` is its server
    apis: list[ApiOption]
    eligible: dict  # workload -> option ids
    owned_quote: dict = field(default_factory=dict)  # pool id -> OwnedQuote
    base: Candidates | None = None  # the flex group's candidates (why_not, excluded)
    fixed: dict = field(default_factory=dict)  # fixed-hours workload -> FixedOption (on-demand or spot, each month)

    def __post_init__(self):
        self._opt = {p.id: p for p in (*self.flex, *self.reserved, *self.owned)} | {a.id: a for a in self.apis}

    def option(self, oid: str):
        return self._opt[oid]

    @property
    def pools(self) -> list[Pool]:
        return [*self.flex, *self.reserved, *self.owned]


def owned_as_quote(q: OwnedQuote) -> Quote:
    """An owned server as a rented quote at the smallest hourly price, so the single-month candidate builder
    computes its pools (capacity per workload); its real costs are the horizon model's (capex, power, facility)."""
    return Quote(name=q.name, provider=OWNED_PROVIDER, gpu=q.gpu, gpus_per_instance=q.gpus_per_instance,
                 ondemand_hourly_usd=MIN_USD_PER_HOUR, region=q.region, jurisdiction=q.jurisdiction,
                 source=q.source, checked=q.checked)


def _with_policy(problem: Problem, **kw) -> Problem:
    return problem.model_copy(update={"policy": problem.policy.model_copy(update=kw)})


def unsupported(problem: Problem) -> None:
    """What the horizon model does not plan yet: an error naming the field, never a silent drop."""
    pol = problem.policy
    bad = []
    if problem.fixed and pol.deployment != "cloud":
        bad.append(("workloads", f"fixed-hours workload '{problem.fixed[0].name}' under policy.deployment "
                                 f"{pol.deployment} (blocks rent cloud capacity)"))
    if pol.failover is not None:
        bad.append(("policy.failover", "failover"))
    if getattr(pol, "autoscale", False) or any(w.autoscale for w in problem.serving):
        bad.append(("autoscale", "hour-by-hour autoscaling"))
    if any(w.classes for w in problem.serving):
        bad.append(("classes", "request classes"))
    if any(w.techniques is not None or w.min_quality is not None for w in problem.serving):
        bad.append(("techniques", "cost techniques and quality floors"))
    if bad:
        where, what = bad[0]
        raise ProblemError(f"{what} is not planned over a horizon yet", where=where,
                           fix="remove it from the problem, or plan one month at a time (remove `horizon:`)")


def prune_same_offer(pools: list[Pool]) -> list[Pool]:
    """Exact over the horizon: of two pools on the same offer and capacity type (same price, same server, same GPUs,
    same availability cap and spot-ness), one that serves every workload the other serves with at least its
    capacity replaces it instance for instance in every month; keep only undominated ones (ties: the first id)."""
    groups: dict[tuple, list[Pool]] = {}
    for p in pools:
        groups.setdefault((p.offer.offer_id, p.capacity_type), []).append(p)
    kept = []
    for grp in groups.values():
        grp = sorted(grp, key=lambda p: p.id)
        for i, b in enumerate(grp):
            if not any(_covers(a, b) and (not _covers(b, a) or j < i) for j, a in enumerate(grp) if j != i):
                kept.append(b)
    return kept


def _covers(a: Pool, b: Pool) -> bool:
    return all(a.capacity.get(w, 0.0) >= c for w, c in b.capacity.items())


def build_horizon_candidates(problem: Problem, catalog: Catalog) -> HorizonCandidates:
    unsupported(problem)
    dep = problem.policy.deployment
    owned_q = problem.owned_quotes
    types = problem.policy.capacity_types
    flex_types = tuple(t for t in types if t in ("on_demand", "spot"))
    cloud = dep == "cloud"
    apis_ok = dep != "air_gapped"
    if not cloud and not owned_q:
        raise ProblemError(f"policy.deployment {dep} runs self-hosted models only on owned servers, and the problem "
                           f"has none", where="quotes", fix="add a quote of kind owned, or use deployment: cloud")
    flex_problem = _with_policy(problem, capacity_types=flex_types or ("on_demand",))
    base = build_candidates(flex_problem, catalog, self_host=cloud and bool(flex_types), apis_allowed=apis_ok)
    flex = list(base.pools)
    reserved = []
    if cloud:
        for term in TERM_MONTHS:
            if term in types:
                reserved += build_candidates(_with_policy(problem, capacity_types=(term,)), catalog,
                                             apis_allowed=False).pools
    owned, owned_quote = [], {}
    if owned_q:
        rented = {q.name for q in problem.rented_quotes}
        clash = [q.name for q in owned_q if q.name in rented]
        if clash:
            raise ProblemError(f"quote name '{clash[0]}' is used by a rented and an owned quote", where="quotes",
                               fix="give every quote its own name")
        op = problem.model_copy(update={
            "quotes": tuple(owned_as_quote(q) for q in owned_q),
            "policy": problem.policy.model_copy(update={
                "capacity_types": ("on_demand",), "exclude_providers": (),
                "include_providers": (OWNED_PROVIDER,), "include_gpus": None})})
        op = _with_policy(op, max_co2e_kg_month=None)  # an owned server's carbon is its quote's (site grid)
        oc = build_candidates(op, catalog, apis_allowed=False)
        by_name = {q.name: q for q in owned_q}
        for p in oc.pools:
            if problem.policy.max_co2e_kg_month is not None and by_name[p.offer.instance_type].grid_gco2e_per_kwh \
                    is None:
                continue  # carbon unknown: a cap could not count it
            owned.append(p)
            owned_quote[p.id] = by_name[p.offer.instance_type]
    flex, reserved, owned = prune_same_offer(flex), prune_same_offer(reserved), prune_same_offer(owned)
    eligible = {w.name: [] for w in problem.serving}
    for p in (*flex, *reserved, *owned):
        for w in p.capacity:
            eligible[w].append(p.id)
    for w, opts in base.eligible.items():
        eligible[w] += [o for o in opts if o.startswith("api:")]
    empty = [w for w, o in eligible.items() if not o]
    if empty:
        raise ProblemError(f"workload '{empty[0]}' has no way to be served under policy.deployment {dep}",
                           where=f"workload '{empty[0]}'",
                           fix="allow an API, add an owned server that fits its model, or use deployment: cloud"
                           + ("; under policy.max_co2e_kg_month options of unknown carbon are excluded (give owned "
                              "quotes grid_gco2e_per_kwh)" if problem.policy.max_co2e_kg_month is not None else ""))
    fixed = base.fixed if flex_types else {f.name: [] for f in problem.fixed}
    none = [f for f, opts in fixed.items() if not opts]
    if none:
        raise ProblemError(f"fixed-hours workload '{none[0]}' has no on-demand or spot option (over a horizon a block "
                           f"rents capacity month by month; commitments are planned for serving pools only)",
                           where=f"workload '{none[0]}'",
                           fix="allow on_demand or spot in policy.capacity_types, or relax the block's GPU, "
                               "jurisdictions or spot setting")
    return HorizonCandidates(flex, reserved, owned, list(base.apis), eligible, owned_quote, base, fixed)
