"""`llmplan serve`: the planner as an HTTP service (FastAPI + uvicorn, the optional `serve` extra).

Modules: `models` (request, response and error bodies), `catalogs` (the configured catalog folder: versions,
validation, cached loading), `jobs` (solves in a pool of worker processes, with a time limit and a deadline),
`app` (the routes). `create_app(ServiceConfig(...))` builds the ASGI app; `cli.py serve` runs it with uvicorn.
"""

from .app import ServiceConfig, create_app

__all__ = ["ServiceConfig", "create_app"]
