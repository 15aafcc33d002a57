import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# Known answers are computed as of the default catalog's date: an API passing its deprecation date in the real world
# (gpt-5 on 2026-12-11, gpt-4o on 2027-01-14) must not change them (optimizer/clock.py).
os.environ.setdefault("LLMPLAN_TODAY", "2026-12-03")


@pytest.fixture(scope="session")
def default_catalog():
    from optimizer.catalog import load_catalog
    return load_catalog(ROOT / "catalogs" / "2026-12-03")


@pytest.fixture(params=["highs", "cbc"])
def solver(request):
    return request.param
