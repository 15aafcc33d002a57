"""JSON: the Plan's own serialization (versioned by `schema_version`)."""

from __future__ import annotations

import json

from ..errors import LlmplanError
from ..plan import SCHEMA_VERSION, Plan


def to_json(plan: Plan) -> str:
    return plan.model_dump_json(indent=2) + "\n"


def load_plan(text: str, source: str = "<plan>", *, strict: bool = False) -> Plan:
    """A plan from its JSON text; `strict` refuses values of the wrong JSON type (true or "1" for a number)
    instead of converting them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise LlmplanError(f"not valid JSON ({e.msg} at line {e.lineno})", file=source,
                           fix="pass a plan written by `llmplan solve --format json`") from None
    ver = data.get("schema_version") if isinstance(data, dict) else None
    if ver is None or str(ver).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise LlmplanError(f"unsupported plan schema_version {ver!r} (this llmplan reads {SCHEMA_VERSION})",
                           file=source, fix="re-run `llmplan solve --format json` with this version")
    try:
        return Plan.model_validate(data, strict=strict)
    except Exception as e:  # pydantic ValidationError: name the first field
        errs = getattr(e, "errors", lambda: [])()
        where = ".".join(str(p) for p in errs[0]["loc"]) if errs else None
        raise LlmplanError(f"not a valid plan: {errs[0]['msg'] if errs else e}", file=source, where=where,
                           fix="pass a plan written by `llmplan solve --format json`") from None
