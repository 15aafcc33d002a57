"""The routes of `llmplan serve`. Each is a thin layer over optimizer.api, answering what the CLI prints as JSON.

    GET  /health                           the service's version and limits
    GET  /catalogs                         catalog versions in the configured folder
    GET  /catalogs/{version}/{view}        `llmplan catalog list VIEW --format json` (gpus, offers, models, apis)
    GET  /schemas/{name}                   `llmplan schema NAME` (problem, plan, catalog-row)
    POST /plan, /breakeven, /budget        a problem (JSON, or YAML with Content-Type application/yaml) -> plan,
                                           breakevens, budget (solved in a worker process)
    POST /estimate                         `llmplan estimate` options (JSON) -> the estimate
    POST /diff                             {"old": plan, "new": plan} -> `llmplan diff --format json`
    POST /export/{to}                      a plan -> `llmplan route export --to litellm|portkey|openrouter`

Statuses: 200; 409 no plan meets every constraint (`error.report` says which constraint, by how much, the fix);
413 body too large; 415 body neither JSON nor YAML; 422 input to correct (`error` = the CLI's message with its
file, field and fix); 503 busy (Retry-After) or a worker died; 504 past the deadline. Every error body is an
`ErrorResponse`.
"""


import json
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from pydantic import create_model

from .. import __version__, api
from ..catalog.query import VIEWS, Filters, list_view
from ..errors import LlmplanError, ProblemError
from ..explain.diff import PlanDiff, Reason, catalog_mismatch
from ..perf.estimate import Estimate
from ..result import Breakeven, Plan
from ..problem import parse_problem, read_yaml
from ..render.diff import plan_diff_dict
from ..render.json_out import load_plan
from ..schemas import NAMES as SCHEMA_NAMES
from ..schemas import ROW_KINDS, json_schema, problem_schema
from .catalogs import VERSION_PATTERN, CatalogRoot
from .jobs import DeadlineExceeded, ServiceBusy, SolvePool, WorkerCrashed
from .models import (CatalogListing, CatalogVersions, ErrorDetail, ErrorResponse, EstimateRequest,
                     ExportResponse, Health, error_detail, status_of)

log = logging.getLogger("llmplan.service")
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
SOURCE = "request body"


@dataclass(frozen=True)
class ServiceConfig:
    catalog_root: Path
    workers: int = max(1, min(4, os.cpu_count() or 1))  # solve processes
    queue: int = 16  # jobs waiting for a worker beyond those running; more are answered 503
    default_time_limit_s: float = 30.0  # solver time limit when a request gives none
    max_time_limit_s: float = 120.0  # the most a request may ask for
    deadline_s: float = 600.0  # the longest a request waits for its worker, explain re-solves included
    max_body_bytes: int = 1 << 20
    max_workloads: int = 100
    warm: bool = True  # start the workers when the app starts


class ApiError(Exception):
    def __init__(self, status: int, detail: ErrorDetail, headers: dict | None = None):
        self.status, self.detail, self.headers = status, detail, headers


def _error(kind: str, message: str, *, where: str | None = None, fix: str | None = None,
           file: str | None = None) -> ErrorDetail:
    e = LlmplanError(message, file=file, where=where, fix=fix)
    return ErrorDetail(kind=kind, message=message, file=file, where=where, fix=fix, text=f"error: {e}")


def _response(status: int, detail: ErrorDetail, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(ErrorResponse(error=detail).model_dump(mode="json"), status_code=status, headers=headers)


ERRORS = {
    409: {"model": ErrorResponse, "description": "No plan meets every constraint: `error.report` names each "
                                                 "constraint that fails, by how much, and the fix."},
    413: {"model": ErrorResponse, "description": "Body larger than the service accepts."},
    415: {"model": ErrorResponse, "description": "Body neither JSON nor YAML."},
    422: {"model": ErrorResponse, "description": "Input to correct: the CLI's message, with file, field and fix."},
    503: {"model": ErrorResponse, "description": "Every solve worker busy (see Retry-After), or a worker died."},
    504: {"model": ErrorResponse, "description": "No answer within the service's deadline."},
}
INPUT_ERRORS = {422: ERRORS[422]}
ERRORS_415_422 = {k: ERRORS[k] for k in (413, 415, 422)}


def _diff_models():
    """`llmplan diff --format json` adds `percent` to each reason and `amount_usd`, `percent` to the diff: the
    response models are PlanDiff's with those fields, built from its own fields so the two cannot drift."""
    def fields(model, skip=()):
        return {k: (f.annotation, f) for k, f in model.model_fields.items() if k not in skip}

    reason = create_model("DiffReason", __config__=Reason.model_config, **fields(Reason),
                          percent=(float | None, None))
    diff = create_model("PlanDiffResponse", __config__=PlanDiff.model_config, **fields(PlanDiff, ("reasons",)),
                        reasons=(list[reason], ...), amount_usd=(float, ...), percent=(float | None, None))
    return diff


PlanDiffResponse = _diff_models()


async def _read_body(request: Request, config: ServiceConfig, yaml_ok: bool):
    """The body's data: JSON (or YAML where `yaml_ok`), at most `max_body_bytes` (read no further), UTF-8;
    parsed in a thread, so a large body does not hold up the event loop."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accepted = JSON_TYPES + (YAML_TYPES if yaml_ok else ())
    if media not in accepted:
        raise ApiError(415, _error("RequestError", f"unsupported Content-Type '{media or '(none)'}'",
                                   where="Content-Type", fix=f"send the body as {' or '.join(accepted[:2])}"))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > config.max_body_bytes:
            raise ApiError(413, _error("RequestError", f"body over the limit of {config.max_body_bytes:,} bytes",
                                       fix="send a smaller body"))
        chunks.append(chunk)
    return await run_in_threadpool(_parse_body, b"".join(chunks), media)


def _parse_body(body: bytes, media: str):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError("not UTF-8 text", file=SOURCE, fix="send the body as UTF-8") from None
    if media in YAML_TYPES:
        return read_yaml(text, SOURCE)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ProblemError(f"not valid JSON ({e.msg})", file=SOURCE, where=f"line {e.lineno}, column {e.colno}",
                           fix="send one JSON document") from None


async def _read_problem(request: Request, config: ServiceConfig) -> dict:
    """The problem in the body as data, validated (errors as the CLI words them, file = 'request body')."""
    data = await _read_body(request, config, yaml_ok=True)
    problem = await run_in_threadpool(parse_problem, data, SOURCE)
    if len(problem.workloads) > config.max_workloads:
        raise ProblemError(f"{len(problem.workloads)} workloads, over the service's limit of {config.max_workloads}",
                           file=SOURCE, where="workloads", fix="split the problem, or run `llmplan solve` locally")
    return data


def _plan(data, source: str) -> Plan:
    """A plan as `llmplan report/diff/route export` read it, refusing values of the wrong JSON type."""
    return load_plan(json.dumps(data), source, strict=True)


PLAN_REF = {"$ref": "#/components/schemas/Plan"}
PLAN_BODY = {"requestBody": {"required": True, "description": "a plan, as `llmplan solve --format json` writes it",
                             "content": {"application/json": {"schema": PLAN_REF}}}}
DIFF_BODY = {"requestBody": {"required": True, "description": "the old and the new plan",
                             "content": {"application/json": {"schema": {
                                 "type": "object", "properties": {"old": PLAN_REF, "new": PLAN_REF},
                                 "required": ["old", "new"], "additionalProperties": False}}}}}


def _problem_body(name: str) -> dict:
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {"requestBody": {"required": True, "description": f"A problem, as in problems/*.yaml: {name}",
                            "content": {t: ref for t in ("application/json", "application/yaml")}}}


def _rebase_refs(node, prefix: str = "#/components/schemas/"):
    if isinstance(node, dict):
        return {k: (prefix + v.removeprefix("#/$defs/") if k == "$ref" and isinstance(v, str) else _rebase_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    return node


def create_app(config: ServiceConfig) -> FastAPI:
    catalogs = CatalogRoot(config.catalog_root)
    pool = SolvePool(config.workers, config.queue)

    @asynccontextmanager
    async def lifespan(app):
        if config.warm:
            pool.warm()
        yield
        pool.shutdown()

    app = FastAPI(title="llmplan", version=__version__, lifespan=lifespan,
                  description="The cheapest plan of GPUs and LLM APIs that meets an SLA, from a solver. "
                              "Errors carry the CLI's message: file, field and fix.")
    app.state.pool, app.state.catalogs, app.state.config = pool, catalogs, config

    @app.exception_handler(LlmplanError)
    async def _llmplan_error(request, e: LlmplanError):
        return _response(status_of(e), error_detail(e))

    @app.exception_handler(ApiError)
    async def _api_error(request, e: ApiError):
        return _response(e.status, e.detail, e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request, e: RequestValidationError):
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        return _response(422, _error("RequestError", msg, where=where, fix="correct the value (see /docs)"))

    @app.exception_handler(HTTPException)
    async def _http_error(request, e: HTTPException):
        if e.status_code == 400:  # FastAPI could not decode a JSON body for a model
            return _response(422, _error("RequestError", f"body: {e.detail}", where="body",
                                         fix="send one JSON document in UTF-8"))
        return _response(e.status_code, _error("RequestError", str(e.detail), fix="see /docs for the routes"),
                         getattr(e, "headers", None))

    @app.exception_handler(ServiceBusy)
    async def _busy(request, e):
        return _response(503, _error("ServiceBusy", f"all {pool.capacity} solve slots are taken",
                                     fix="retry after a few seconds"), {"Retry-After": "5"})

    @app.exception_handler(WorkerCrashed)
    async def _crashed(request, e):
        return _response(503, _error("WorkerCrashed", "the solve worker stopped (killed or out of memory)",
                                     fix="retry; if it happens again, the problem may need more memory"))

    @app.exception_handler(DeadlineExceeded)
    async def _late(request, e: DeadlineExceeded):
        return _response(504, _error("DeadlineExceeded", str(e), fix="lower time_limit, drop explain, or run "
                                                                     "`llmplan solve` locally"))

    @app.exception_handler(Exception)
    async def _internal(request, e: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _response(500, _error("InternalError", f"{type(e).__name__}: {e}",
                                     fix="report this as a bug, with the request"))

    Catalog = Annotated[str, Query(pattern=VERSION_PATTERN, description="catalog version (YYYY-MM-DD) or latest")]
    Solver = Annotated[Literal["highs", "cbc"], Query()]
    TimeLimit = Annotated[float, Query(gt=0, le=config.max_time_limit_s,
                                       description=f"solver time limit per solve, seconds (at most "
                                                   f"{config.max_time_limit_s:g})")]
    Gap = Annotated[float | None, Query(gt=0, lt=1, description="relative MIP gap at which to stop")]

    async def solve(kind: str, request: Request, catalog: str, solver: str, time_limit: float, gap: float | None,
                    **extra) -> Any:
        data = await _read_problem(request, config)
        folder = catalogs.folder(catalog)
        payload = {"problem": data, "source": SOURCE, "catalog": str(folder),
                   "options": {"solver": solver, "time_limit": time_limit, "gap": gap}, **extra}
        out = await pool.run(kind, payload, config.deadline_s)
        if "error" in out:
            raise ApiError(out["status"], ErrorDetail(**out["error"]))
        return out["ok"]

    @app.get("/health", response_model=Health)
    def health():
        return Health(version=__version__, solve_workers=pool.workers, default_time_limit_s=config.default_time_limit_s,
                      max_time_limit_s=config.max_time_limit_s)

    @app.get("/catalogs", response_model=CatalogVersions, responses=INPUT_ERRORS)
    def catalog_versions():
        return CatalogVersions(versions=catalogs.versions(), default=catalogs.default())

    @app.get("/catalogs/{version}/{view}", response_model=CatalogListing, responses=INPUT_ERRORS)
    def catalog_list(version: Annotated[str, PathParam(pattern=VERSION_PATTERN)],
                     view: Literal[VIEWS],  # type: ignore[valid-type]
                     gpu: str | None = None, cloud: str | None = None, jurisdiction: str | None = None,
                     region: str | None = None, model: str | None = None, all_regions: bool = False):
        cat = catalogs.load(version)
        listing = list_view(cat, view, Filters(gpu=gpu, cloud=cloud, jurisdiction=jurisdiction, region=region,
                                               model=model), all_regions=all_regions)
        return CatalogListing(view=listing.view, catalog=listing.catalog_version, filters=listing.filters,
                              columns=[c.key for c in listing.columns],
                              rows=[{c.key: r.get(c.key) for c in listing.columns} for r in listing.rows])

    @app.get("/schemas/{name}", response_model=dict[str, Any], responses=INPUT_ERRORS)
    def schema(name: Literal[SCHEMA_NAMES],  # type: ignore[valid-type]
               kind: Literal[ROW_KINDS] | None = None):  # type: ignore[valid-type]
        return json_schema(name, kind)

    @app.post("/plan", response_model=Plan, responses=ERRORS, openapi_extra=_problem_body("solved to a plan"))
    async def plan(request: Request, catalog: Catalog = "latest", solver: Solver = "highs",
                   time_limit: TimeLimit = config.default_time_limit_s, gap: Gap = None, explain: bool = False):
        """The cheapest plan (`llmplan solve --format json`); `explain` adds constraint costs, alternatives and
        entry prices (re-solves: slower)."""
        return await solve("plan", request, catalog, solver, time_limit, gap, explain=explain)

    @app.post("/breakeven", response_model=list[Breakeven], responses=ERRORS,
              openapi_extra=_problem_body("its breakevens"))
    async def breakeven(request: Request, catalog: Catalog = "latest", solver: Solver = "highs",
                        time_limit: TimeLimit = config.default_time_limit_s, gap: Gap = None,
                        workload: Annotated[str | None, Query(min_length=1)] = None):
        """API vs self-hosting breakeven per serving workload (`llmplan breakeven --format json`)."""
        return await solve("breakeven", request, catalog, solver, time_limit, gap, workload=workload)

    @app.post("/budget", response_model=api.Budget, responses=ERRORS, openapi_extra=_problem_body("its budget"))
    async def budget(request: Request, catalog: Catalog = "latest", solver: Solver = "highs",
                     time_limit: TimeLimit = config.default_time_limit_s, gap: Gap = None):
        """Monthly budget by workload and category (`llmplan budget --format json`)."""
        return await solve("budget", request, catalog, solver, time_limit, gap)

    @app.post("/estimate", response_model=Estimate, responses=INPUT_ERRORS)
    def estimate(req: Annotated[EstimateRequest, Body()], catalog: Catalog = "latest"):
        """Memory and speed of one replica (`llmplan estimate --format json`)."""
        cat = catalogs.load_specs(catalog)
        est = api.estimate(req.model, req.gpu, precision=req.precision, tp=req.tp, isl=req.isl, osl=req.osl,
                           concurrency=req.concurrency, kv_dtype=None if req.kv_dtype == "auto" else req.kv_dtype,
                           catalog=cat)
        return est.to_dict()

    @app.post("/diff", response_model=PlanDiffResponse, responses=ERRORS_415_422, openapi_extra=DIFF_BODY)
    async def diff(request: Request, old_catalog: Annotated[str | None, Query(pattern=VERSION_PATTERN)] = None,
                   new_catalog: Annotated[str | None, Query(pattern=VERSION_PATTERN)] = None):
        """What changed between two plans and why (`llmplan diff --format json`). Catalog prices are compared
        when both catalogs are known: named here, or the versions the plans record, if their prices still match
        (a plan's recorded folder is never read: only versions in the service's catalog folder are)."""
        data = await _read_body(request, config, yaml_ok=False)
        if not isinstance(data, dict) or set(data) != {"old", "new"}:
            raise ProblemError("expected an object with exactly 'old' and 'new' (two plans)", file=SOURCE,
                               fix='send {"old": PLAN, "new": PLAN}, each from `llmplan solve --format json`')
        return await run_in_threadpool(_diff, data, old_catalog, new_catalog)

    def _diff(data: dict, old_catalog: str | None, new_catalog: str | None) -> dict:
        old, new = _plan(data["old"], f"{SOURCE} (old)"), _plan(data["new"], f"{SOURCE} (new)")
        old_cat, new_cat = _plan_catalog(old, old_catalog), _plan_catalog(new, new_catalog)
        return plan_diff_dict(api.diff(old, new, old_catalog=old_cat, new_catalog=new_cat))

    def _plan_catalog(p: Plan, version: str | None):
        if version is not None:
            return catalogs.load(version)
        recorded = p.catalog.get("version")
        if not isinstance(recorded, str) or recorded not in catalogs.versions():
            return None
        cat = catalogs.load(recorded)
        return cat if catalog_mismatch(p, cat) is None else None

    @app.post("/export/{to}", response_model=ExportResponse, responses=ERRORS_415_422, openapi_extra=PLAN_BODY)
    async def export(request: Request, to: Literal["litellm", "portkey", "openrouter"]):
        """The plan's traffic shares, limits and failover order as a router config (`llmplan route export`)."""
        return await run_in_threadpool(_export, await _read_body(request, config, yaml_ok=False), to)

    def _export(data, to: str) -> ExportResponse:
        text, warnings = api.export_routes(_plan(data, SOURCE), to)
        config_data = read_yaml(text, "export") if to == "litellm" else json.loads(text)
        return ExportResponse(to=to, media_type="application/yaml" if to == "litellm" else "application/json",
                              text=text, config=config_data, warnings=warnings)

    def openapi():
        """FastAPI's schema, plus the Problem schema (the one `llmplan schema problem` prints) that the problem
        endpoints read from their raw body."""
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            comps = doc.setdefault("components", {}).setdefault("schemas", {})
            ps = _rebase_refs(problem_schema())
            for name, s in ps.pop("$defs").items():
                if name in comps and comps[name] != s:
                    raise RuntimeError(f"OpenAPI component {name} defined twice, differently")
                comps[name] = s
            comps["Problem"] = {k: v for k, v in ps.items() if k != "$schema"}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
    return app
