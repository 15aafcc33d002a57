"""Models defined inline in a problem (`models:`), added to the catalog for that problem only.

An inline model becomes a `ModelSpec` like a models.csv row: the fields it leaves out are filled in as
`InlineModel` documents (MHA when kv_heads is missing, head_dim = hidden / heads, parameters computed from the
architecture), and `source` says it was defined in the problem. A name or alias that a catalog model already
answers to is an error: the problem would silently plan a different model than the user defined.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..errors import ProblemError
from ..problem import InlineModel, Problem
from .load import Catalog
from .names import NameIndex, normalize_model
from .schema import ModelSpec


def to_model_spec(m: InlineModel, today: dt.date | None = None) -> ModelSpec:
    """The catalog row an inline model stands for."""
    params = m.params_b if m.params_b is not None else m.architecture_params_b()
    active = m.active_params_b
    if active is None:
        active = m.architecture_params_b(active=True) * params / m.architecture_params_b() if m.moe_experts else params
    source = m.source
    if m.params_b is None:
        source += f"; params_b {params:.3f} computed from the architecture"
    return ModelSpec(
        name=m.name, display_name=m.display_name or m.name, hf_id=m.hf_id or m.name, kind=m.kind,
        params_b=params, active_params_b=active, layers=m.layers, hidden_size=m.hidden_size,
        intermediate_size=m.intermediate_size, attention_heads=m.attention_heads,
        kv_heads=m.kv_heads or m.attention_heads, head_dim=m.head_dim or m.hidden_size // m.attention_heads,
        vocab_size=m.vocab_size, tied_embeddings=m.tied_embeddings, max_context=m.max_context,
        moe_experts=m.moe_experts, moe_active_experts=m.moe_active_experts, quality_tier=m.quality_tier,
        aliases=tuple(a for a in (*m.aliases, m.hf_id) if a), source=source,
        checked=m.checked or today or dt.date.today())


def with_problem_models(catalog: Catalog, problem: Problem, file: str | None = None) -> Catalog:
    """`catalog` plus the problem's inline models (the same object when the problem defines none, or when they
    were added already)."""
    if not problem.models:
        return catalog
    if all(m.name in catalog.models and "defined in the problem" in catalog.models[m.name].source
           for m in problem.models):
        return catalog
    models = dict(catalog.models)
    for i, m in enumerate(problem.models):
        where = f"models[{i}] ({m.name})"
        for spelling in (m.name, *m.aliases, *([m.hf_id] if m.hf_id else [])):
            hit = catalog.model_names.get(spelling)
            if hit is not None:
                raise ProblemError(f"'{spelling}' names catalog model '{hit}'", file=file, where=where,
                                   fix=f"rename the inline model (e.g. '{m.name}-custom') or drop it and use "
                                       f"'{hit}' from the catalog")
        models[m.name] = to_model_spec(m)
    try:
        names = NameIndex("model", normalize_model, {s.name: s.aliases for s in models.values()})
    except ValueError as e:
        raise ProblemError(str(e), file=file, where="models", fix="give each inline model distinct aliases") from None
    return dataclasses.replace(catalog, models=models, model_names=names)
