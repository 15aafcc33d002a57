import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture(scope="session")
def default_catalog():
    from optimizer.catalog import load_catalog
    return load_catalog(ROOT / "catalogs" / "2026-12-03")


@pytest.fixture(params=["highs", "cbc"])
def solver(request):
    return request.param
