"""`llmplan serve`: every endpoint through FastAPI's TestClient, the CLI's error messages, the time limit and
deadline, a full pool, the catalog folder as the only thing read, and concurrent solves on a real server."""

import asyncio
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import yaml

fastapi = pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from service_helpers import NEW, OLD, problem, write_catalog_root  # noqa: E402

import optimizer  # noqa: E402
from optimizer.cli import main  # noqa: E402
from optimizer.errors import InfeasibleError, ProblemError  # noqa: E402
from optimizer.schemas import json_schema  # noqa: E402
from optimizer.service import ServiceConfig, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
YAML = {"content-type": "application/yaml"}


@pytest.fixture(scope="module")
def catalog_root(tmp_path_factory):
    return write_catalog_root(tmp_path_factory.mktemp("catalogs"))


@pytest.fixture(scope="module")
def client(catalog_root):
    app = create_app(ServiceConfig(catalog_root=catalog_root, workers=2, default_time_limit_s=20,
                                   max_time_limit_s=60, deadline_s=120))
    with TestClient(app) as c:
        yield c


def _local_plan(catalog_root, prob, version=OLD):
    return optimizer.plan(prob, catalog_root / version, time_limit=20)


def _same_error(body: dict, e) -> None:
    """The service's error is the CLI's: message, field and fix (the file is the request body)."""
    err = body["error"]
    assert (err["kind"], err["message"], err["where"], err["fix"]) == (type(e).__name__, e.message, e.where, e.fix)


# --- health, catalogs, schemas -------------------------------------------------------------------------------

def test_health(client):
    h = client.get("/health").json()
    assert h == {"status": "ok", "version": optimizer.__version__, "solve_workers": 2, "default_time_limit_s": 20.0,
                 "max_time_limit_s": 60.0}


def test_catalog_versions_are_the_dated_folders(client):
    assert client.get("/catalogs").json() == {"versions": [OLD, NEW], "default": NEW}


@pytest.mark.parametrize("view", ["gpus", "offers", "models", "apis"])
def test_catalog_listing_is_the_cli_json(client, catalog_root, view):
    r = client.get(f"/catalogs/{OLD}/{view}")
    assert r.status_code == 200
    cli = CliRunner().invoke(main, ["catalog", "list", view, "--catalog", str(catalog_root / OLD), "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert r.json() == json.loads(cli.stdout)


def test_catalog_listing_filters_and_their_errors(client, catalog_root):
    r = client.get("/catalogs/latest/offers", params={"cloud": "clouda"})
    assert r.status_code == 200 and {row["offer_id"].split(":")[0] for row in r.json()["rows"]} == {"clouda"}
    assert r.json()["catalog"] == NEW
    r = client.get(f"/catalogs/{OLD}/offers", params={"cloud": "clowda"})
    cli = CliRunner().invoke(main, ["catalog", "list", "offers", "--catalog", str(catalog_root / OLD),
                                    "--cloud", "clowda"])
    assert r.status_code == 422 and cli.exit_code == 2
    assert r.json()["error"]["text"] == cli.stderr.strip()
    assert client.get(f"/catalogs/{OLD}/models", params={"region": "us-a"}).status_code == 422


@pytest.mark.parametrize("version", ["2026-01-01", "..", "../2026-11-24", "%2e%2e", "/etc", "2026-11-24/../..",
                                     "_notes"])
def test_catalog_version_must_be_a_listed_version(client, version):
    r = client.get(f"/catalogs/{version}/gpus")
    assert r.status_code in (404, 422)  # 404: a path that no route matches
    r = client.post("/plan", params={"catalog": version}, json=problem())
    assert r.status_code == 422
    assert r.json()["error"]["where"] in ("catalog", "query.catalog")


def test_unknown_version_suggests_the_near_ones(client):
    err = client.get("/catalogs/2026-11-25/gpus").json()["error"]
    assert err["message"] == "unknown catalog version '2026-11-25'. Did you mean: 2026-11-24, 2026-12-01?"
    assert err["fix"] == f"use one of: latest, {OLD}, {NEW}"


def test_a_version_linked_out_of_the_root_is_not_a_version(tmp_path):
    root = write_catalog_root(tmp_path / "root")
    write_catalog_root(tmp_path / "outside")
    (root / "2027-01-01").symlink_to(tmp_path / "outside" / OLD)
    app = create_app(ServiceConfig(catalog_root=root, workers=1, warm=False))
    with TestClient(app) as c:
        assert c.get("/catalogs").json()["versions"] == [OLD, NEW]
        assert c.get("/catalogs/2027-01-01/gpus").status_code == 422


def test_schemas_are_the_cli_schemas(client):
    assert client.get("/schemas/problem").json() == json_schema("problem")
    assert client.get("/schemas/catalog-row", params={"kind": "offers"}).json() == json_schema("catalog-row", "offers")
    assert client.get("/schemas/plan", params={"kind": "offers"}).status_code == 422
    assert client.get("/schemas/nope").status_code == 422


def test_openapi_problem_body_is_the_problem_schema(client):
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/plan"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/yaml"}
    comps = doc["components"]["schemas"]
    assert comps["Problem"]["properties"] == json.loads(
        json.dumps(json_schema("problem")["properties"]).replace("#/$defs/", "#/components/schemas/"))
    for code in ("409", "422", "503", "504"):
        assert doc["paths"]["/plan"]["post"]["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"}


# --- plan, breakeven, budget ---------------------------------------------------------------------------------

def test_plan_from_json_and_yaml_is_the_local_plan(client, catalog_root):
    want = _local_plan(catalog_root, problem())
    r = client.post("/plan", params={"catalog": OLD}, json=problem())
    assert r.status_code == 200
    got = r.json()
    assert got["status"] == "optimal" and got["monthly_cost_usd"] == want.monthly_cost_usd
    assert [d["pool"] for d in got["deployments"]] == [d.pool for d in want.deployments]
    assert got["solver"]["time_limit_s"] == 20.0
    r2 = client.post("/plan", params={"catalog": OLD, "time_limit": 5, "solver": "cbc"}, headers=YAML,
                     content=yaml.safe_dump(problem()))
    assert r2.status_code == 200 and r2.json()["solver"]["name"] == "cbc"
    assert r2.json()["solver"]["time_limit_s"] == 5.0
    assert r2.json()["monthly_cost_usd"] == pytest.approx(want.monthly_cost_usd, abs=0.01)


def test_plan_on_the_shipped_catalog_is_the_cli_plan():
    app = create_app(ServiceConfig(catalog_root=ROOT / "catalogs", workers=1, warm=False))
    with TestClient(app) as c:
        r = c.post("/plan", headers=YAML, content=(ROOT / "problems" / "portfolio.yaml").read_bytes())
    cli = CliRunner().invoke(main, ["solve", str(ROOT / "problems" / "portfolio.yaml"), "--format", "json",
                                    "--time-limit", "30"])
    assert r.status_code == 200 and cli.exit_code == 0
    assert r.json()["monthly_cost_usd"] == json.loads(cli.stdout)["monthly_cost_usd"]
    newest = max(p.name for p in (ROOT / "catalogs").iterdir() if p.name[:1].isdigit())
    assert r.json()["catalog"]["version"] == newest


def test_plan_explain_adds_the_explanations(client):
    r = client.post("/plan", params={"explain": True}, json=problem())
    assert r.status_code == 200
    assert r.json()["constraint_costs"] is not None and r.json()["alternatives"] is not None


def test_bad_problem_gets_the_cli_message(client, tmp_path):
    bad = problem()
    bad["workloads"][0]["peak_rsp"] = 3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ProblemError) as e:
        optimizer.load_problem(path)
    for r in (client.post("/plan", json=bad), client.post("/budget", headers=YAML, content=path.read_bytes())):
        assert r.status_code == 422
        _same_error(r.json(), e.value)
        assert r.json()["error"]["file"] == "request body"
        assert r.json()["error"]["text"] == f"error: {ProblemError(e.value.message, file='request body', where=e.value.where, fix=e.value.fix)}"


def test_problem_naming_what_the_catalog_lacks_gets_the_cli_message(client, catalog_root):
    bad = problem(models=["no-such-model"])
    with pytest.raises(ProblemError) as e:
        _local_plan(catalog_root, bad)
    r = client.post("/plan", json=bad)
    assert r.status_code == 422
    _same_error(r.json(), e.value)


def test_infeasible_is_409_with_the_explanation(client, catalog_root):
    tight = {**problem(), "policy": {"budget_monthly_usd": 100}}
    with pytest.raises(InfeasibleError) as e:
        _local_plan(catalog_root, tight)
    r = client.post("/plan", json=tight)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["kind"] == "InfeasibleError" and err["report"] == e.value.report and err["report"]
    assert err["text"] == str(e.value) and "budget" in err["text"]


@pytest.mark.parametrize("body, headers, status, where", [
    (b'{"workloads": [', {"content-type": "application/json"}, 422, "line 1, column 16"),
    (b"workloads: [\n", YAML, 422, "line 2, column 1"),
    (b"- a\n- b\n", YAML, 422, None),
    (b"\xff\xfe", YAML, 422, None),
    (b"{}", {"content-type": "text/plain"}, 415, "Content-Type"),
    (b"{}", {}, 415, "Content-Type"),
    (b" " * (1 << 20) + b"{}", {"content-type": "application/json"}, 413, None),
    (b" " * (1 << 20) + b"{}", YAML, 413, None),
])
def test_unreadable_bodies(client, body, headers, status, where):
    r = client.post("/plan", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["where"] == where and r.json()["error"]["fix"]


@pytest.mark.parametrize("params, where", [
    ({"time_limit": 61}, "query.time_limit"),  # above the cap
    ({"time_limit": 0}, "query.time_limit"),
    ({"gap": 1.5}, "query.gap"),
    ({"solver": "gurobi"}, "query.solver"),
    ({"catalog": "yesterday"}, "query.catalog"),
])
def test_bad_parameters_are_422_naming_the_parameter(client, params, where):
    r = client.post("/plan", params=params, json=problem())
    assert r.status_code == 422 and r.json()["error"]["where"] == where


def test_too_many_workloads(catalog_root):
    app = create_app(ServiceConfig(catalog_root=catalog_root, workers=1, warm=False, max_workloads=1))
    two = problem()
    two["workloads"].append({**two["workloads"][0], "name": "w2"})
    with TestClient(app) as c:
        r = c.post("/plan", json=two)
    assert r.status_code == 422 and "over the service's limit of 1" in r.json()["error"]["message"]


def test_breakeven_is_the_local_breakeven(client, catalog_root):
    want = optimizer.breakeven(problem(), catalog_root / OLD, time_limit=20)
    r = client.post("/breakeven", params={"catalog": OLD, "workload": "w"}, json=problem())
    assert r.status_code == 200
    assert r.json() == [json.loads(b.model_dump_json()) for b in want]
    r = client.post("/breakeven", params={"workload": "v"}, json=problem())
    assert r.status_code == 422 and r.json()["error"]["message"] == "no serving workload 'v'."


def test_budget_is_the_local_budget(client, catalog_root):
    want = optimizer.budget(problem(), catalog_root / OLD, time_limit=20)
    r = client.post("/budget", params={"catalog": OLD}, json=problem())
    assert r.status_code == 200 and r.json() == json.loads(want.model_dump_json())


# --- estimate, diff, export ----------------------------------------------------------------------------------

def test_estimate_is_the_cli_estimate(client, catalog_root):
    r = client.post("/estimate", params={"catalog": OLD}, json={"model": "tiny-8b", "gpu": "TG", "isl": 800,
                                                                 "osl": 300, "concurrency": 16})
    cli = CliRunner().invoke(main, ["estimate", "--model", "tiny-8b", "--gpu", "TG", "--isl", "800", "--osl", "300",
                                    "--concurrency", "16", "--catalog", str(catalog_root / OLD), "--format", "json"])
    assert r.status_code == 200 and cli.exit_code == 0
    assert r.json() == json.loads(cli.stdout)
    r = client.post("/estimate", json={"model": "tiny-8b", "gpu": "H-100"})
    assert r.status_code == 422 and r.json()["error"]["where"] == "--gpu"
    assert client.post("/estimate", json={"model": "tiny-8b", "gpu": "TG", "tp": 0}).status_code == 422
    assert client.post("/estimate", json={"model": "tiny-8b", "gpu": "TG", "colour": 1}).status_code == 422


def test_diff_names_the_catalog_price_change(client, catalog_root):
    old = client.post("/plan", params={"catalog": OLD}, json=problem(peak=25)).json()  # the API: $2,000
    new = client.post("/plan", params={"catalog": NEW}, json=problem(peak=25)).json()  # 3 GPUs at $0.80/h
    r = client.post("/diff", json={"old": old, "new": new})
    assert r.status_code == 200
    d = r.json()
    assert d["amount_usd"] == pytest.approx(new["monthly_cost_usd"] - old["monthly_cost_usd"], abs=0.01)
    cli = CliRunner().invoke(main, ["diff", "--format", "json", "--old-catalog", str(catalog_root / OLD),
                                    "--new-catalog", str(catalog_root / NEW), _save(catalog_root, "old", old),
                                    _save(catalog_root, "new", new)])
    assert cli.exit_code == 0, cli.output
    assert d == json.loads(cli.stdout)
    assert (old["monthly_cost_usd"], new["monthly_cost_usd"]) == (2000.0, 1752.0)
    [price] = [x for x in d["reasons"] if x["kind"] == "offer-price"]
    assert (price["old"], price["new"], price["evidence"], price["percent"]) == (1.0, 0.8, "catalogs", -20.0)


def _save(root: Path, name: str, plan: dict) -> str:
    path = root.parent / f"{root.name}-{name}.json"
    path.write_text(json.dumps(plan))
    return str(path)


def test_diff_never_reads_a_folder_a_plan_names(client, catalog_root, monkeypatch):
    """A plan records its catalog folder; the service looks only at versions in its own catalog folder."""
    import optimizer.service.catalogs as svc_catalogs

    read = []
    real = svc_catalogs.load_catalog
    monkeypatch.setattr(svc_catalogs, "load_catalog", lambda path: read.append(Path(path)) or real(path))
    plan = client.post("/plan", params={"catalog": OLD}, json=problem()).json()
    elsewhere = dict(plan, catalog={**plan["catalog"], "path": "/etc", "version": "../../etc"})
    r = client.post("/diff", json={"old": elsewhere, "new": elsewhere})
    assert r.status_code == 200 and r.json()["notes"]  # "catalog prices not compared"
    assert all(p.resolve().is_relative_to(catalog_root.resolve()) for p in read)


@pytest.mark.parametrize("to", ["litellm", "portkey", "openrouter"])
def test_export_is_the_cli_export(client, catalog_root, to):
    plan = client.post("/plan", params={"catalog": OLD}, json=problem(peak=5)).json()
    r = client.post(f"/export/{to}", json=plan)
    cli = CliRunner().invoke(main, ["route", "export", _save(catalog_root, "export", plan), "--to", to])
    assert r.status_code == 200 and cli.exit_code == 0, cli.output
    body = r.json()
    assert body["text"] == cli.stdout
    assert body["config"] == (yaml.safe_load(cli.stdout) if to == "litellm" else json.loads(cli.stdout))


def test_export_and_diff_read_plans_as_the_cli_does_and_strictly(client, catalog_root):
    assert client.post("/export/nginx", json={}).status_code == 422
    r = client.post("/export/litellm", json={"schema_version": "0.9"})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("unsupported plan schema_version '0.9'")
    plan = client.post("/plan", params={"catalog": OLD}, json=problem(peak=5)).json()
    bad = dict(plan, monthly_cost_usd=True)  # the CLI's reader would take it as 1.0; the service refuses it
    r = client.post("/export/portkey", json=bad)
    assert r.status_code == 422 and r.json()["error"]["where"] == "monthly_cost_usd"
    assert client.post("/diff", json={"old": plan, "new": bad}).json()["error"]["file"] == "request body (new)"
    assert client.post("/diff", json={"old": plan}).status_code == 422
    assert client.post("/diff", content=b"{", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/diff", content=b"old: {}", headers=YAML).status_code == 415


# --- limits: deadline, a full pool ---------------------------------------------------------------------------

def test_past_the_deadline_is_504(catalog_root):
    app = create_app(ServiceConfig(catalog_root=catalog_root, workers=1, warm=False, deadline_s=0.001))
    with TestClient(app) as c:
        r = c.post("/plan", json=problem())
    assert r.status_code == 504 and r.json()["error"]["kind"] == "DeadlineExceeded"


def test_a_full_pool_answers_503_at_once(catalog_root):
    app = create_app(ServiceConfig(catalog_root=catalog_root, workers=1, queue=0, warm=False))

    async def two():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
            return await asyncio.gather(*(c.post("/plan", json=problem()) for _ in range(2)))

    try:
        rs = asyncio.run(two())
    finally:
        app.state.pool.shutdown()
    assert sorted(r.status_code for r in rs) == [200, 503]
    busy = next(r for r in rs if r.status_code == 503)
    assert busy.headers["retry-after"] == "5" and busy.json()["error"]["kind"] == "ServiceBusy"


def test_a_dead_worker_is_503_and_the_pool_is_replaced(catalog_root):
    import signal

    app = create_app(ServiceConfig(catalog_root=catalog_root, workers=1, warm=False))
    with TestClient(app) as c:
        assert c.post("/plan", json=problem()).status_code == 200
        executor = app.state.pool._executor
        for proc in list(executor._processes.values()):
            os.kill(proc.pid, signal.SIGKILL)  # a worker killed (the OOM killer, an operator)
        t0 = time.monotonic()
        while not executor._broken:
            assert time.monotonic() - t0 < 30, "the pool did not notice its dead worker"
            time.sleep(0.05)
        r = c.post("/plan", json=problem())
        assert r.status_code == 503 and r.json()["error"]["kind"] == "WorkerCrashed"
        assert c.post("/plan", json=problem()).status_code == 200  # a new pool
        assert app.state.pool.busy == 0


# --- a real server: concurrent solves ------------------------------------------------------------------------

class Server:
    """uvicorn on 127.0.0.1 (a free port) in a thread."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        t0 = time.monotonic()
        while not self.server.started:
            assert time.monotonic() - t0 < 30, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


N_CONCURRENT = 10


def test_concurrent_solves_are_all_answered_and_health_is_not_held_up(catalog_root):
    peaks = [5.0 * (i + 1) for i in range(N_CONCURRENT)]
    want = {p: _local_plan(catalog_root, problem(peak=p)).monthly_cost_usd for p in peaks}
    app = create_app(ServiceConfig(catalog_root=catalog_root, workers=2, queue=N_CONCURRENT))

    async def run(url):
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            solves = [asyncio.create_task(c.post("/plan", params={"catalog": OLD}, json=problem(peak=p)))
                      for p in peaks]
            await asyncio.sleep(0.05)  # the solves are in the pool
            t = time.monotonic()
            health = await c.get("/health")
            health_s = time.monotonic() - t
            pending = sum(not s.done() for s in solves)
            return await asyncio.gather(*solves), health, health_s, pending

    with Server(app) as srv:
        rs, health, health_s, pending = asyncio.run(run(srv.url))
    assert health.status_code == 200
    assert pending > 0, "the health check should answer while solves are still running"
    assert [r.status_code for r in rs] == [200] * N_CONCURRENT
    assert {p: r.json()["monthly_cost_usd"] for p, r in zip(peaks, rs)} == want
    assert health_s < 5.0, f"health took {health_s:.2f} s while solves ran"
