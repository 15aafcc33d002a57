"""Request, response and error bodies of the service. Problems, plans, breakevens, diffs and estimates use the
models the rest of llmplan validates with (optimizer.problem, optimizer.result, ...), so the OpenAPI schema is
generated from the same pydantic models as `llmplan schema`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InfeasibleError, LlmplanError


class Strict(BaseModel):
    # strict: a request's `true` or "8" where a number belongs is refused, not converted
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ErrorDetail(Strict):
    """The CLI's error, field by field: `text` is exactly what `llmplan` prints on stderr."""

    kind: str  # the error class: ProblemError, CatalogError, InfeasibleError, SolverError, RequestError, ...
    message: str
    file: str | None = None  # where the input came from ("request body", a catalog file)
    where: str | None = None  # the row, field or parameter
    fix: str | None = None
    report: list[str] = []  # infeasible: each constraint that fails, by how much, and how to fix it
    text: str


class ErrorResponse(Strict):
    error: ErrorDetail


def error_detail(e: LlmplanError) -> ErrorDetail:
    text = f"error: {e}" if not isinstance(e, InfeasibleError) else str(e)  # as cli.handle_errors prints it
    return ErrorDetail(kind=type(e).__name__, message=e.message, file=e.file, where=e.where, fix=e.fix,
                       report=list(getattr(e, "report", []) or []), text=text)


def status_of(e: LlmplanError) -> int:
    """409 when no plan meets every constraint (the explanation is in `report`), 422 for input to correct."""
    return 409 if isinstance(e, InfeasibleError) else 422


class Health(Strict):
    status: Literal["ok"] = "ok"
    version: str
    solve_workers: int
    default_time_limit_s: float
    max_time_limit_s: float


class CatalogVersions(Strict):
    versions: list[str]  # dated folders (YYYY-MM-DD) in the configured catalog folder, oldest first
    default: str  # the newest: what `catalog=latest` (or no catalog parameter) selects


class CatalogListing(Strict):
    """`llmplan catalog list VIEW --format json`."""

    view: str
    catalog: str
    filters: dict[str, str]
    columns: list[str]
    rows: list[dict[str, Any]]


class EstimateRequest(Strict):
    """The options of `llmplan estimate`."""

    model: str = Field(min_length=1, max_length=200, description="catalog name or common spelling")
    gpu: str = Field(min_length=1, max_length=200, description="catalog name or common spelling")
    precision: str = Field("fp16", min_length=1, max_length=60)
    tp: int = Field(1, ge=1, le=64, description="tensor-parallel degree (GPUs per replica)")
    isl: int = Field(1000, ge=1, le=10_000_000, description="input tokens per request")
    osl: int = Field(1000, ge=0, le=10_000_000, description="output tokens per request")
    concurrency: int | Literal["max"] = Field("max", description="concurrent requests, or 'max'")
    kv_dtype: Literal["auto", "fp16", "fp8"] = "auto"


class ExportResponse(Strict):
    to: Literal["litellm", "portkey", "openrouter"]
    media_type: str  # of `text`: application/yaml (litellm) or application/json
    text: str  # the config as `llmplan route export` writes it
    config: Any  # the same config, parsed
    warnings: list[str]
