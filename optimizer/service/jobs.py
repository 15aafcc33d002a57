"""Solves run in a pool of worker processes, so they never hold up the server's event loop, run in parallel,
and keep to themselves what a solve does to its process (the solver silences file descriptor 1 while it runs,
which threads would share).

Limits, each answered with its own status:
- the solver's time limit (every solve of the request; `time_limit` in the request, a default and a cap in the
  configuration): a plan found within it is `feasible` with its gap, none found is a SolverError (422);
- a deadline for the whole request (`deadline_s`): past it the request is answered 504 and the job is cancelled
  if it has not started; one that has started runs on to its own time limits and keeps its worker until then;
- at most `workers + queue` jobs at once: past that a request is answered 503 with Retry-After at once.
A worker returns plain JSON data, or the error as data: an LlmplanError's location, fix and report do not
survive pickling as an exception.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..errors import LlmplanError

_CATALOGS: dict[str, tuple] = {}  # in a worker: folder -> (signature, Catalog)


class ServiceBusy(Exception):
    """Every worker is busy and the queue is full."""


class DeadlineExceeded(Exception):
    def __init__(self, seconds: float):
        super().__init__(f"no answer within the service's deadline of {seconds:g} s")
        self.seconds = seconds


class WorkerCrashed(Exception):
    """A worker process died (killed, out of memory); the pool is replaced."""


def _warm() -> None:
    """Worker start-up: import the pipeline once, so the first request pays no import time."""
    import optimizer.planner  # noqa: F401


def _catalog(folder: str):
    from ..catalog import load_catalog
    from .catalogs import signature

    sig = signature(Path(folder))
    hit = _CATALOGS.get(folder)
    if hit is None or hit[0] != sig:
        hit = (sig, load_catalog(folder))
        _CATALOGS[folder] = hit
    return hit[1]


def run_job(kind: str, payload: dict) -> dict:
    """In a worker: solve `payload["problem"]` on the catalog folder `payload["catalog"]` and return
    {"ok": JSON data} (a plan, a list of breakevens or a budget) or {"error": ErrorDetail data, "status": int}."""
    from .. import api
    from ..planner import SolveOptions
    from .models import error_detail, status_of

    try:
        problem = api.parse_problem(payload["problem"], payload.get("source", "request body"))
        catalog = _catalog(payload["catalog"])
        options = SolveOptions(**payload["options"])
        if kind == "plan":
            return {"ok": api.plan(problem, catalog, options, explain=payload.get("explain", False))
                    .model_dump(mode="json")}
        if kind == "breakeven":
            bes = api.breakeven(problem, catalog, options, workload=payload.get("workload"))
            return {"ok": [b.model_dump(mode="json") for b in bes]}
        if kind == "budget":
            return {"ok": api.budget(problem, catalog, options).model_dump(mode="json")}
        raise ValueError(f"unknown job kind {kind!r}")
    except LlmplanError as e:
        return {"error": error_detail(e).model_dump(mode="json"), "status": status_of(e)}


class SolvePool:
    """A process pool with a bounded number of jobs in it (running + queued)."""

    def __init__(self, workers: int, queue: int):
        if workers < 1 or queue < 0:
            raise ValueError("workers >= 1 and queue >= 0")
        self.workers, self.capacity = workers, workers + queue
        self._lock = threading.Lock()
        self._busy = 0
        self._executor: ProcessPoolExecutor | None = None

    @property
    def busy(self) -> int:
        return self._busy

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn: forking a server that runs threads can copy a held lock into the child
                self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_warm)
            return self._executor

    def warm(self) -> None:
        """Start the workers now instead of on the first requests."""
        pool = self._pool()
        for _ in range(self.workers):
            pool.submit(_warm)

    def _release(self, _future) -> None:
        with self._lock:
            self._busy -= 1

    async def run(self, kind: str, payload: dict, deadline_s: float) -> dict:
        with self._lock:
            if self._busy >= self.capacity:
                raise ServiceBusy()
            self._busy += 1
        try:
            future = self._pool().submit(run_job, kind, payload)
        except BrokenProcessPool:
            self._release(None)
            self._reset()
            raise WorkerCrashed() from None
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), deadline_s)
        except asyncio.TimeoutError:
            raise DeadlineExceeded(deadline_s) from None
        except BrokenProcessPool:
            self._reset()
            raise WorkerCrashed() from None

    def shutdown(self) -> None:
        """Stop the workers (queued jobs are cancelled); the next job starts a new pool."""
        with self._lock:
            old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    _reset = shutdown  # after a worker died: the executor is broken for good
