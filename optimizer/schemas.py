"""JSON Schemas of what llmplan reads and writes, generated from the pydantic models that validate them.

- `problem`: a problem file (problems/*.yaml). Editors that follow the yaml-language-server convention complete
  and check a problem file whose first line is `# yaml-language-server: $schema=<path or URL of the schema>`;
  the examples point at the copy shipped in schemas/ (tests/test_schemas.py keeps it current).
- `plan`: the JSON written by `llmplan solve --format json` (and returned by the service).
- `catalog-row`: one row of a catalog file, as validated (`kind`: gpus, offers, models or apis; without it, any
  of the four). A list cell, written `a;b;c` in the CSV, is an array here.

The schemas describe what the validators accept, so two of pydantic's choices are adjusted: a list field whose
validator also takes a single string (`models: llama-3.1-8b`) accepts a string too, and a problem needs at least
one workload.
"""

from __future__ import annotations

import json

NAMES = ("problem", "plan", "horizon-plan", "catalog-row")
ROW_KINDS = ("gpus", "offers", "models", "apis", "grid")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# list fields whose validator also accepts one string (problem.py's `_listify`)
_STRING_OR_LIST = {"ServingWorkload": ("models", "apis", "jurisdictions", "precisions"),
                   "FixedWorkload": ("jurisdictions",)}


def _head(title: str, description: str) -> dict:
    return {"$schema": DIALECT, "title": title, "description": description}


def problem_schema() -> dict:
    from .problem import Problem

    s = Problem.model_json_schema(mode="validation")
    for model, fields in _STRING_OR_LIST.items():
        props = s["$defs"][model]["properties"]
        for f in fields:
            array = props[f]
            outer = {k: array.pop(k) for k in ("title", "default", "description") if k in array}
            props[f] = {**outer, "anyOf": [array["items"], array]}
    s["properties"]["workloads"]["minItems"] = 1
    head = _head("llmplan problem", "Workloads (serving or fixed-hours), policy, measured capacities, quotes and "
                                    "references: the input of `llmplan solve`. See README.md, 'Problem files'.")
    return {**head, **{k: v for k, v in s.items() if k != "title"}}


def plan_schema() -> dict:
    from .result import Plan

    s = Plan.model_json_schema(mode="serialization")
    head = _head("llmplan plan", "The plan written by `llmplan solve --format json` (see schema_version). "
                                 "See README.md, 'Output'.")
    return {**head, **{k: v for k, v in s.items() if k != "title"}}


def horizon_plan_schema() -> dict:
    from .horizon_result import HorizonPlan

    s = HorizonPlan.model_json_schema(mode="serialization")
    head = _head("llmplan horizon plan", "The plan over several months written by `llmplan solve --format json` for "
                                         "a problem with `horizon:` (kind 'horizon'; see schema_version).")
    return {**head, **{k: v for k, v in s.items() if k != "title"}}


def catalog_row_schema(kind: str | None = None) -> dict:
    from pydantic.json_schema import models_json_schema

    from .catalog.schema import ROW_TYPES
    from .errors import LlmplanError, did_you_mean

    if kind is not None and kind not in ROW_KINDS:
        raise LlmplanError(f"unknown catalog row kind '{kind}'.{did_you_mean(kind, ROW_KINDS)}", where="--kind",
                           fix=f"use one of {', '.join(ROW_KINDS)}")
    if kind is not None:
        s = ROW_TYPES[kind].model_json_schema(mode="validation")
        head = _head(f"llmplan catalog row: {kind}.csv", f"One row of {kind}.csv in a catalog folder, as validated.")
        return {**head, **{k: v for k, v in s.items() if k != "title"}}
    refs, defs = models_json_schema([(ROW_TYPES[k], "validation") for k in ROW_KINDS])
    head = _head("llmplan catalog row", "One row of a catalog file (gpus.csv, offers.csv, models.csv or apis.csv), "
                                        "as validated. See catalogs/README.md.")
    return {**head, "anyOf": [refs[(ROW_TYPES[k], "validation")] for k in ROW_KINDS], **defs}


def json_schema(name: str, kind: str | None = None) -> dict:
    """The JSON Schema `name` (problem, plan or catalog-row; `kind` narrows a catalog row to one file)."""
    from .errors import LlmplanError, did_you_mean

    if name not in NAMES:
        raise LlmplanError(f"unknown schema '{name}'.{did_you_mean(name, NAMES)}", fix=f"use one of {', '.join(NAMES)}")
    if kind is not None and name != "catalog-row":
        raise LlmplanError("--kind applies only to the catalog-row schema", where="--kind", fix="drop --kind")
    if name == "problem":
        return problem_schema()
    if name == "plan":
        return plan_schema()
    if name == "horizon-plan":
        return horizon_plan_schema()
    return catalog_row_schema(kind)


def schema_text(name: str, kind: str | None = None) -> str:
    """The schema as the files in schemas/ hold it: JSON, two-space indent, a final newline."""
    return json.dumps(json_schema(name, kind), indent=2) + "\n"
