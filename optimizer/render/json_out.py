"""JSON: the Plan's own serialization (versioned by `schema_version`)."""

from __future__ import annotations

from ..result import Plan, load_plan, plan_from_data  # noqa: F401  (re-exported for callers of the renderer)


def to_json(plan: Plan) -> str:
    return plan.model_dump_json(indent=2) + "\n"
