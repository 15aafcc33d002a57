"""Cost techniques (Exercise 33.5.4) as slices of a workload, and the quality score they are held to.

A serving workload w with `techniques:` is planned as up to four *slices*, each a serving workload of the expanded
problem with w's volume and peak (so that every share x_{s,o} is a share of w's whole traffic):

    w                     the large options (w's models and APIs), full prompts
    w~compressed          the large options, prompts shortened by the compression's input_reduction
    w~small               the cascade's small models and APIs, full prompts
    w~small~compressed    the small options, shortened prompts

Slices exist only for the techniques w has; candidates, capacities, context, latency and rate-limit rows see each
slice at its own token lengths. Caches add no slice: their hits are removed from demand (the technique rows in
optimizer/model/techniques.py). Quantization is a choice of pool precision and adds no slice either.

Quality score (docs/cost-techniques.md): a request served by option o scores
    q_o = TIER_SCORE[tier(o)] - PRECISION_PENALTY[precision(o)]      (APIs: their catalog precision is fp16)
minus the compression's quality_penalty on compressed slices, times (1 - misroute_rate) on small slices (a
misrouted hard request counts as a failed answer, score 0). Exact cache hits replay answers of the same mix, and
semantic hits replay them too except semantic_error_rate of them, which score 0, so the workload's blended score is
    Q_w = q_fresh (1 - e h_s c_s),    q_fresh = sum_o q'_o x_o / sum_o x_o.
A `measured:` capacity of w applies to w~small as well (same token lengths), not to the compressed slices.
Expansion is idempotent (the slices of an expanded problem are not expanded again).
"""

from __future__ import annotations

from dataclasses import dataclass

from .problem import Problem, ServingWorkload

SEP = "~"
COMPRESSED, SMALL = "compressed", "small"

# Score of a model's editorial quality tier (catalog `quality_tier`, 1..4). An assumption of this planner, not a
# measurement: tier 4 (frontier APIs) is the reference 1.0; each tier below loses a step. Visible in every plan.
TIER_SCORE = {1: 0.80, 2: 0.88, 3: 0.94, 4: 1.00}
# Quality lost by serving weights below 16 bits (assumption from published quantisation studies: FP8 and INT8
# weight-only within about 1% of FP16 on common benchmarks, 4-bit AWQ/GPTQ about 1-3%).
PRECISION_PENALTY = {"fp16": 0.0, "fp8": 0.005, "int8": 0.01, "int4": 0.03, "fp4": 0.03}
# Cost reduction the chapter's Exercise 33.5.4 quotes for each technique (low, high), in percent
CHAPTER_RANGE = {"exact_cache": (50, 80), "semantic_cache": (20, 40), "quantization": (30, 50),
                 "prompt_compression": (20, 30), "cascade": (40, 60)}
TECHNIQUES = ("exact_cache", "semantic_cache", "prompt_compression", "cascade", "quantization")


def slice_name(workload: str, small: bool, compressed: bool) -> str:
    return workload + (SEP + SMALL if small else "") + (SEP + COMPRESSED if compressed else "")


def owner(name: str) -> str:
    """The workload a slice belongs to ('chat~small~compressed' -> 'chat')."""
    return name.split(SEP, 1)[0]


def slice_flags(name: str) -> tuple[bool, bool]:
    """(small, compressed) of a slice name."""
    parts = name.split(SEP)[1:]
    return SMALL in parts, COMPRESSED in parts


@dataclass(frozen=True)
class Group:
    """A workload planned through technique slices, with the parameters the rows need."""

    workload: ServingWorkload  # the original workload (its techniques and min_quality)
    slices: tuple[str, ...]  # names of its slices in the expanded problem

    @property
    def t(self):
        return self.workload.techniques

    @property
    def name(self) -> str:
        return self.workload.name

    def cache_rates(self) -> tuple[float, float]:
        c = self.t.cache if self.t else None
        return (c.exact_hit_rate, c.semantic_hit_rate) if c else (0.0, 0.0)


def has_groups(problem: Problem) -> bool:
    return any(w.techniques is not None or w.min_quality is not None for w in problem.serving)


def groups(problem: Problem) -> list[Group]:
    """Workloads with techniques or a quality floor, with their slices (in an expanded or original problem)."""
    out = []
    for w in problem.serving:
        if SEP in w.name or (w.techniques is None and w.min_quality is None):
            continue
        out.append(Group(w, tuple(_slice_names(w))))
    return out


def _slice_names(w: ServingWorkload) -> list[str]:
    t = w.techniques
    smalls = (False, True) if t is not None and t.cascade is not None and t.cascade.use != "off" else (False,)
    comps = (False, True) if t is not None and t.prompt_compression is not None and \
        t.prompt_compression.use != "off" else (False,)
    return [slice_name(w.name, s, c) for s in smalls for c in comps]


def compressed_tokens(w: ServingWorkload) -> int:
    """Input tokens of a compressed prompt: round(input x (1 - reduction)), at least 1."""
    return max(1, round(w.input_tokens * (1 - w.techniques.prompt_compression.input_reduction)))


def expand_techniques(problem: Problem) -> Problem:
    """One serving workload per slice (see module docstring); other workloads unchanged. The base slice keeps
    the workload's name, techniques and floor; the other slices have neither."""
    if not any(w.techniques is not None for w in problem.serving):
        return problem
    names = {w.name for w in problem.workloads}
    out = []
    for w in problem.workloads:
        if isinstance(w, ServingWorkload) and w.techniques is not None and w.techniques.quantization.use == "off":
            w = w.model_copy(update={"precisions": ("fp16",)})  # quantization off: 16-bit weights only
        out.append(w)
        if not isinstance(w, ServingWorkload) or w.techniques is None:
            continue
        for s in _slice_names(w)[1:]:
            if s in names:  # already expanded
                continue
            small, comp = slice_flags(s)
            upd = {"name": s, "techniques": None, "min_quality": None, "peak_rps": w.peak, "peak_to_average": None}
            if w.techniques.quantization.use == "off":
                upd["precisions"] = ("fp16",)
            if comp:
                upd["input_tokens"] = compressed_tokens(w)
            if small:
                c = w.techniques.cascade
                upd.update(models=c.small_models, apis=c.small_apis, min_quality_tier=None)
            out.append(w.model_copy(update=upd))
    # a measured capacity holds at its workload's token lengths: it carries over to the small slice (same prompts),
    # not to compressed slices (shorter prompts: the performance model sizes those)
    extra = tuple(m.model_copy(update={"workload": slice_name(m.workload, True, False)}) for m in problem.measured
                  if slice_name(m.workload, True, False) in {w.name for w in out} and
                  slice_name(m.workload, True, False) not in names)
    return problem.model_copy(update={"workloads": tuple(out), "measured": problem.measured + extra})


def option_score(tier: int, precision: str) -> float:
    """q_o before the slice's adjustments: the tier's score less the precision's penalty."""
    return TIER_SCORE[tier] - PRECISION_PENALTY.get(precision, 0.0)


def slice_score(g: Group, slice_: str, tier: int, precision: str) -> float:
    """q'_o of an option on a slice: compression penalty on compressed slices, x (1 - misroute) on small ones."""
    q = option_score(tier, precision)
    small, comp = slice_flags(slice_)
    if comp:
        q = max(q - g.t.prompt_compression.quality_penalty, 0.0)
    if small:
        q *= 1 - g.t.cascade.misroute_rate
    return round(q, 6)


def semantic_factor(g: Group) -> float:
    """1 - e h_s: the blended score's factor when the semantic layer is on."""
    c = g.t.cache if g.t else None
    return 1 - (c.semantic_error_rate * c.semantic_hit_rate if c else 0.0)


__all__ = ["CHAPTER_RANGE", "Group", "PRECISION_PENALTY", "SEP", "TECHNIQUES", "TIER_SCORE", "compressed_tokens",
           "expand_techniques", "groups", "has_groups", "option_score", "owner", "semantic_factor", "slice_flags",
           "slice_name", "slice_score"]


# --- the plan's view: technique lines and the quality score, from the solved shares -------------------------------

def technique_costs(g: Group, on: dict, shares: dict) -> dict:
    """Monthly cost of each technique of g that is on: {technique: (USD, effect words)}. `on` maps a technique to
    True/False, `shares` maps a slice to the share of g's traffic it carries (from the plan's lines)."""
    t, w = g.t, g.workload
    if t is None:
        return {}
    V = w.requests_per_month
    out = {}
    if on.get("exact_cache"):
        out["exact_cache"] = (t.cache.monthly_cost_usd, f"{t.cache.exact_hit_rate:.1%} of requests answered from "
                                                        f"the exact cache")
    if on.get("semantic_cache"):
        out["semantic_cache"] = (t.cache.semantic_monthly_cost_usd,
                                 f"{t.cache.semantic_hit_rate:.1%} of requests answered from the semantic cache, "
                                 f"{t.cache.semantic_error_rate:.1%} of them wrong")
    if on.get("prompt_compression"):
        comp = sum(v for s, v in shares.items() if slice_flags(s)[1])
        pc = t.prompt_compression
        out["prompt_compression"] = (V * comp * w.input_tokens * pc.cost_per_million_tokens / 1e6,
                                     f"prompts {w.input_tokens:,} -> {compressed_tokens(w):,} input tokens on "
                                     f"{comp:.1%} of requests")
    if on.get("cascade"):
        small = sum(v for s, v in shares.items() if slice_flags(s)[0])
        c = t.cascade
        out["cascade"] = (V * c.router_cost_per_request * small / c.share_routable,
                          f"{small:.1%} of requests routed to {', '.join(c.small_models + c.small_apis)}")
    return out


def quality_assumption() -> str:
    """The scoring's inputs, as the plan's assumptions list them."""
    tiers = ", ".join(f"tier {t} = {v:.2f}" for t, v in TIER_SCORE.items())
    prec = ", ".join(f"{p} -{v:g}" for p, v in PRECISION_PENALTY.items())
    return (f"quality score per request (an assumption of this planner, docs/cost-techniques.md): {tiers}; "
            f"weights below 16 bits lose {prec}; compression loses its quality_penalty; misrouted requests and "
            f"wrong semantic-cache answers score 0; technique slices (workload~compressed, workload~small) carry "
            f"shares of the whole workload's traffic")


def technique_line_name(technique: str, workload: str) -> str:
    return f"technique: {technique.replace('_', ' ')} ({workload})"


def quality_score(g: Group, served: list, semantic_on: bool) -> dict:
    """The blended score from the plan's lines: `served` is [(slice, option, share, tier, precision)]."""
    inputs, num, den = [], 0.0, 0.0
    for s, opt, share, tier, prec in served:
        q = slice_score(g, s, tier, prec)
        inputs.append({"slice": s, "option": opt, "share": share, "tier": tier, "precision": prec, "score": q})
        num += q * share
        den += share
    fresh = num / den if den > 0 else 0.0
    factor = semantic_factor(g) if semantic_on else 1.0
    return {"score": round(fresh * factor, 6), "fresh_score": round(fresh, 6), "semantic_factor": round(factor, 6),
            "min_quality": g.workload.min_quality, "inputs": inputs}
