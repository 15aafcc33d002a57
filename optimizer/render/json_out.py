"""JSON: the Plan's own serialization (versioned by `schema_version`)."""

from __future__ import annotations

from ..errors import LlmplanError
from ..plan import LOAD_BOUNDS, MAX_PLAN_USD, SCHEMA_VERSION, Plan

FIX = "pass a plan written by `llmplan solve --format json`"


def to_json(plan: Plan) -> str:
    return plan.model_dump_json(indent=2) + "\n"


def load_plan(text: str, source: str = "<plan>") -> Plan:
    """A plan from JSON text (see `loaders.load_plan_file` for a file)."""
    from ..loaders import parse_json
    return plan_from_data(parse_json(text, file=source, fix=FIX), source)


def plan_from_data(data, source: str = "<plan>") -> Plan:
    """Validate parsed JSON (already through `loaders.check_tree`: finite, bounded numbers) as a Plan."""
    ver = data.get("schema_version") if isinstance(data, dict) else None
    if ver is None or str(ver).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise LlmplanError(f"unsupported plan schema_version {ver!r} (this llmplan reads {SCHEMA_VERSION})",
                           file=source, fix="re-run `llmplan solve --format json` with this version")
    _check_bounds(data, source)
    try:
        return Plan.model_validate(data)
    except Exception as e:  # pydantic ValidationError: name the first field
        errs = getattr(e, "errors", lambda: [])()
        where = ".".join(str(p) for p in errs[0]["loc"]) if errs else None
        raise LlmplanError(f"not a valid plan: {errs[0]['msg'] if errs else e}", file=source, where=where,
                           fix=FIX) from None


def _check_bounds(data, source: str) -> None:
    """Every number whose field name `plan.LOAD_BOUNDS` lists (or that ends in `_usd`) within its bounds."""
    stack = [(data, "")]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            where = f"{path}[{k}]" if isinstance(k, int) else (f"{path}.{k}" if path else str(k))
            if isinstance(v, (dict, list)):
                stack.append((v, where))
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or isinstance(k, int):
                continue
            lo, hi = LOAD_BOUNDS.get(k, (-MAX_PLAN_USD, MAX_PLAN_USD) if k.endswith("_usd") else (None, None))
            if lo is not None and not lo <= v <= hi:
                raise LlmplanError(f"{v:g} is outside [{lo:g}, {hi:g}]", file=source, where=where,
                                   fix="a plan written by llmplan is always inside it: " + FIX)
