"""Service benchmark: N concurrent POST /plan requests to `llmplan serve` on 127.0.0.1, against the same N
solves run one after another in this process (the baseline, measured in the same run), and the latency of
GET /health while the solves run.

    python bench/bench_service.py [--requests 10] [--workers 2] [--problem problems/portfolio.yaml]

Prints: the baseline's seconds, the service's wall seconds for all N (the workers are started first, so the
figure is solving, not process start-up), the ratio, each request's latency, and the health check's latency.
The ratio depends on the cores: with W workers on at least W cores it approaches 1/W, plus transfer costs.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--problem", type=Path, default=ROOT / "problems" / "portfolio.yaml")
    args = ap.parse_args()

    import httpx
    import uvicorn

    import optimizer
    from optimizer.service import ServiceConfig, create_app

    body = args.problem.read_bytes()
    catalog = optimizer.load_catalog(ROOT / "catalogs" / "2026-11-24")
    problem = optimizer.load_problem(args.problem)
    t = time.perf_counter()
    costs = {optimizer.plan(problem, catalog, time_limit=30).monthly_cost_usd for _ in range(args.requests)}
    baseline = time.perf_counter() - t

    app = create_app(ServiceConfig(catalog_root=ROOT / "catalogs", workers=args.workers, queue=args.requests))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    async def timed(c, method, path, **kw):
        t0 = time.perf_counter()
        r = await c.request(method, path, **kw)
        return r, time.perf_counter() - t0

    async def run():
        async with httpx.AsyncClient(base_url=url, timeout=600) as c:
            # start the workers and load the catalog in each: one request per worker
            await asyncio.gather(*(c.post("/plan", content=body, headers={"content-type": "application/yaml"})
                                   for _ in range(args.workers)))
            t0 = time.perf_counter()
            solves = [asyncio.create_task(timed(c, "POST", "/plan", content=body,
                                                headers={"content-type": "application/yaml"}))
                      for _ in range(args.requests)]
            await asyncio.sleep(0.1)
            health = await timed(c, "GET", "/health")
            results = await asyncio.gather(*solves)
            return results, health, time.perf_counter() - t0

    results, (hr, health_s), wall = asyncio.run(run())
    server.should_exit = True
    thread.join(30)
    statuses = [r.status_code for r, _ in results]
    got = {r.json()["monthly_cost_usd"] for r, _ in results if r.status_code == 200}
    lat = sorted(s for _, s in results)
    print(f"{args.requests} solves of {args.problem.name}, {args.workers} workers")
    print(f"baseline (in process, one after another): {baseline:.2f} s")
    print(f"service (concurrent): {wall:.2f} s; ratio {wall / baseline:.2f}")
    print(f"statuses: {statuses}; same cost as in process: {got == costs}")
    print(f"request latency: median {statistics.median(lat):.2f} s, max {lat[-1]:.2f} s")
    print(f"GET /health during the solves: {hr.status_code} in {health_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
