"""Cost techniques in the MILP: one binary per technique and workload, the demand it removes, the slices it
opens, and the quality floor (optimizer/techniques.py has the slices and the score; docs/cost-techniques.md the
whole model).

Notation, for a workload w planned through slices S(w) (optimizer/techniques.py), O(s) the options of slice s:
    c_e, c_s in {0,1}   exact / semantic cache layer on        h_e, h_s  their hit rates (shares of all requests)
    p in {0,1}          prompt compression on                  C(w), U(w)  compressed / uncompressed slices
    k in {0,1}          cascade on                             R(w)      small slices, rho the routable share
    F = 1 - h_e c_e - h_s c_s   the fresh share (what the options serve)
Rows
    technique_demand   sum_{s in S(w), o in O(s)} x_so + h_e c_e + h_s c_s = 1
    compression_slices sum_{U(w)} x <= 1 - p ;  sum_{C(w)} x <= p              (all fresh traffic or none)
    cascade_share      S_R <= rho k ;  S_R <= rho F ;  S_R >= rho F - rho (1 - k)   (S_R = sum_{R(w)} x: exactly
                       rho of the fresh traffic when k = 1, none when k = 0)
    quality            sum (q'_o - f) x_o >= 0 ;  sum (q'_o (1 - e h_s) - f) x_o >= -f (1 - c_s)
                       (the blended score q_fresh (1 - e h_s c_s) >= f, exact for c_s in {0,1}: the left side of
                       the second row is >= -f sum x >= -f)
Cost
    M_e c_e + M_s c_s + V pi_c I_w / 1e6 sum_{C(w)} x + V r S_R / rho
    (cache months; compression at pi_c per million input tokens compressed; the router's r per request on all
    fresh traffic, which is S_R / rho when the cascade is on)
`use: on` fixes a binary to 1, `use: off` leaves it out (0).
"""

from __future__ import annotations

import pulp

from ..techniques import Group, groups, semantic_factor, slice_flags, slice_score

QCOEF_MIN = 1e-6


def qcoef(v: float) -> float:
    """A quality-row coefficient with |v| < 1e-6 written conservatively: small positives as 0, small negatives as
    -1e-6 (the row never admits a lower score than the true one)."""
    if 0 <= v < QCOEF_MIN:
        return 0.0
    if -QCOEF_MIN < v < 0:
        return -QCOEF_MIN
    return v


def option_quality(b, g: Group, slice_: str, oid: str) -> float:
    o = b.c.option(oid)
    if hasattr(o, "api"):
        return slice_score(g, slice_, o.api.quality_tier, "fp16")
    return slice_score(g, slice_, o.model.quality_tier, o.precision)


def _binary(b, g: Group, name: str, use: str):
    if use == "off":
        return None
    lo = 1 if use == "on" else 0
    # an Integer in [lo, 1]: PuLP resets a Binary's bounds to [0, 1], which would drop `use: on`
    v = b.m.prob.add_variable(f"tech_{name}_{len(b.m.tech)}", lowBound=lo, upBound=1,
                              cat="Integer" if b.integer else "Continuous")
    b.m.tech[(g.name, name)] = v
    return v


def add_techniques(b) -> pulp.LpAffineExpression:
    """Every row of the module docstring for every workload with techniques or a quality floor; returns the
    techniques' monthly cost."""
    cost = []
    for g in groups(b.p):
        cost += _add_group(b, g)
    return pulp.lpSum(cost)


def _shares(b, slices):
    return pulp.lpSum(b.m.x[(s, o)] for s in slices for o in b.c.eligible.get(s, ()))


def _add_group(b, g: Group) -> list:
    t, w = g.t, g.workload
    V = w.requests_per_month
    he, hs = g.cache_rates()
    ce = _binary(b, g, "exact_cache", t.cache.use) if t and t.cache and he > 0 else None
    cs = _binary(b, g, "semantic_cache", t.cache.semantic_use) if t and t.cache and hs > 0 else None
    hits = (he * ce if ce is not None else 0) + (hs * cs if cs is not None else 0)
    fresh = 1 - hits
    b.reg("technique_demand", g.name, _shares(b, g.slices) + hits == 1)
    cost = []
    if ce is not None:
        cost.append(t.cache.monthly_cost_usd * ce)
    if cs is not None:
        cost.append(t.cache.semantic_monthly_cost_usd * cs)
    comp = [s for s in g.slices if slice_flags(s)[1]]
    if comp:
        p = _binary(b, g, "prompt_compression", t.prompt_compression.use)
        b.reg("compression_slices", (g.name, "plain"), _shares(b, [s for s in g.slices if s not in comp]) <= 1 - p)
        b.reg("compression_slices", (g.name, "compressed"), _shares(b, comp) <= p)
        per = V * t.prompt_compression.cost_per_million_tokens * w.input_tokens / 1e6
        if per > 0:
            cost.append(per * _shares(b, comp))
    small = [s for s in g.slices if slice_flags(s)[0]]
    if small:
        k = _binary(b, g, "cascade", t.cascade.use)
        rho = t.cascade.share_routable
        sr = _shares(b, small)
        b.reg("cascade_share", (g.name, "on"), sr <= rho * k)
        b.reg("cascade_share", (g.name, "fresh"), sr <= rho * fresh)
        b.reg("cascade_share", (g.name, "exact"), sr >= rho * fresh - rho * (1 - k))
        if t.cascade.router_cost_per_request > 0:
            cost.append(V * t.cascade.router_cost_per_request / rho * sr)
    f = w.min_quality
    if f is not None and f > 0:
        terms = [(option_quality(b, g, s, o), b.m.x[(s, o)]) for s in g.slices for o in b.c.eligible.get(s, ())]
        slack = b.slack("quality", g.name, f, "quality score")
        b.reg("quality", (g.name, "fresh"),
              pulp.lpSum(qcoef(q - f) * x for q, x in terms) + f * slack >= 0)
        if cs is not None:
            e = semantic_factor(g)
            b.reg("quality", (g.name, "semantic"),
                  pulp.lpSum(qcoef(q * e - f) * x for q, x in terms) + f * slack >= -f * (1 - cs))
    return cost
