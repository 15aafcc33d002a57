"""Golden files for the horizon renderers (table, Markdown, HTML) on a plan with rented, reserved and owned
capacity, an API, spikes, a fixed-hours block and energy. The catalog is pinned to the 2026-12-03 snapshot. Volatile values (solve time)
are normalised. Regenerate with: UPDATE_GOLDEN=1 pytest tests/test_horizon_golden.py"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import check_golden
from test_horizon import FT, OWN, SECONDS, problem, with_fixed

from optimizer.catalog import load_catalog
from optimizer.horizon_plan import plan_horizon
from optimizer.render.horizon import render_horizon

CATALOG = Path(__file__).resolve().parents[1] / "catalogs" / "2026-12-03"


@pytest.fixture(scope="module")
def golden_horizon():
    own = {**OWN, "lead_time_months": 1, "depreciation_months": 24, "residual_value_usd": 2000.0,
           "grid_gco2e_per_kwh": 400.0}
    pr = with_fixed(problem([1.5 * SECONDS, 1.5 * SECONDS, 2.5 * SECONDS, 2.5 * SECONDS], od=4.0, r1=1.2, owned=own,
                            apis=["openai/gpt-4o"], ops=500.0, spike=2.0, rate=0.08), FT)
    return plan_horizon(pr, load_catalog(CATALOG))


def normalise(text: str) -> str:
    text = re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0.0', text)
    return re.sub(r"\((highs|cbc), [0-9.]+ s\)", r"(\1, 0.00 s)", text)


@pytest.mark.parametrize("fmt,name", [("table", "horizon_table.txt"), ("markdown", "horizon_report.md"),
                                      ("html", "horizon_report.html")])
def test_horizon_golden(golden_horizon, fmt, name):
    assert golden_horizon.status == "optimal" and golden_horizon.verification["violations"] == []
    check_golden(name, normalise(render_horizon(golden_horizon, fmt)))
