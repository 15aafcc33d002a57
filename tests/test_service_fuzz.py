"""Property-based tests of the service against its own OpenAPI schema (schemathesis): for generated requests to
every operation, no server error, and every response conforms to the schema (status code, content type,
headers, body).

Small in the default run (explicit examples and LLMPLAN_FUZZ_EXAMPLES=4 generated requests per operation, a few
seconds); a longer run, with schemathesis's coverage phase (boundary values of every parameter):
    LLMPLAN_FUZZ_EXAMPLES=200 LLMPLAN_FUZZ_COVERAGE=1 pytest tests/test_service_fuzz.py -s -p no:cacheprovider
(-s prints the tally: requests, statuses, failures). Solves run on the small synthetic catalog of
service_helpers.py, so a generated problem that happens to be valid solves in milliseconds.
"""

import atexit
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from service_helpers import write_catalog_root  # noqa: E402

from optimizer.service import ServiceConfig, create_app  # noqa: E402

EXAMPLES = int(os.environ.get("LLMPLAN_FUZZ_EXAMPLES", "4"))
# schemathesis's coverage phase (boundary values of every parameter: thousands of requests, minutes) runs only
# when asked for: LLMPLAN_FUZZ_COVERAGE=1
COVERAGE = os.environ.get("LLMPLAN_FUZZ_COVERAGE") == "1"
# Checks of the response against the schema. Left out: positive_data_acceptance (a problem the schema admits can
# still be refused, with 422, for what a schema cannot say: a model the catalog lacks, a peak below the average)
# and the checks that need authentication or stateful links (the service has neither).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection")
TALLY: Counter = Counter()


def _app():
    """The app, on a catalog folder made at import (schemathesis reads the schema when the module loads; its
    fixture-based loader does not work with pytest 9.2)."""
    root = Path(tempfile.mkdtemp(prefix="llmplan-fuzz-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return create_app(ServiceConfig(catalog_root=write_catalog_root(root), workers=2, warm=False,
                                    default_time_limit_s=5, max_time_limit_s=10, deadline_s=60))


APP = _app()
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", APP, config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}}))


@pytest.fixture(scope="module", autouse=True)
def _pool_and_tally():
    yield
    APP.state.pool.shutdown()
    if TALLY:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(TALLY.items(), key=str)
                             if k not in ("requests", "failures"))
        print(f"\nschemathesis: {TALLY['requests']} requests, {TALLY['failures']} failures; statuses {statuses}",
              file=sys.stderr)


def _checks():
    from schemathesis import checks
    return [getattr(checks, name) for name in CHECKS if hasattr(checks, name)] or None


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_responses_match_the_schema(case):
    TALLY["requests"] += 1
    try:
        response = case.call_and_validate(checks=_checks())
    except Exception:
        TALLY["failures"] += 1
        raise
    TALLY[response.status_code] += 1
    assert response.status_code < 500
