"""`llmplan serve`: check the configuration, then run the app with uvicorn (logs, access log included, on
stderr)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from ..errors import LlmplanError


def serve(*, host: str, port: int, catalog_root: Path | None, workers: int | None, time_limit: float,
          max_time_limit: float, deadline: float) -> None:
    try:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        from .app import ServiceConfig, create_app
    except ImportError as e:
        raise LlmplanError(f"the service needs the `serve` extra ({e.name} is not installed)",
                           fix="pip install 'llmplan[serve]'") from None
    from ..catalog.load import catalog_search_roots

    if catalog_root is None:
        catalog_root = next((r for r in catalog_search_roots() if r.is_dir()), None)
        if catalog_root is None:
            raise LlmplanError("no catalog folder found", where="--catalog-root",
                               fix="pass --catalog-root DIR (a folder of dated catalog folders)")
    if time_limit > max_time_limit:
        raise LlmplanError(f"--time-limit {time_limit:g} is above --max-time-limit {max_time_limit:g}",
                           where="--time-limit", fix="lower --time-limit or raise --max-time-limit")
    if deadline < max_time_limit:
        raise LlmplanError(f"--deadline {deadline:g} is below --max-time-limit {max_time_limit:g}",
                           where="--deadline", fix="give the deadline at least the longest time limit")
    kw = {} if workers is None else {"workers": workers}
    config = ServiceConfig(catalog_root=Path(catalog_root), default_time_limit_s=time_limit,
                           max_time_limit_s=max_time_limit, deadline_s=deadline, **kw)
    app = create_app(config)  # validates the catalog folder
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout carries no logs
    print(f"llmplan: serving on http://{host}:{port} (catalogs in {app.state.catalogs.root}, "
          f"versions {', '.join(app.state.catalogs.versions()) or 'none'}; {config.workers} solve workers; "
          f"API docs at /docs)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_config=log_config)
