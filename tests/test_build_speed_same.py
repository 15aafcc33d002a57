"""The faster candidate generation and model build give exactly the results of the code before them.

`tests/fixtures/build_digests.json` was recorded (tests/digests.py) from commit 713459b, before any of the speed
work: candidate pools with every capacity, the exclusion counts, every model row with its coefficients, and the
HiGHS LP handed over, on the example problems and two sizes of the large benchmark problem."""

import json
import math

import pytest
from digests import FIXTURE, cases, digests

from optimizer.perf import queueing

RECORDED = json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("name,problem", list(cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_candidates_and_model_unchanged(name, problem):
    got = digests(name, problem)
    want = RECORDED[name]
    assert got["candidates"] == want["candidates"]
    assert got["model"] == want["model"]
    assert got["highs"] == want["highs"]
    assert got.get("elastic") == want.get("elastic")


def erlang_c_direct(c: int, a: float) -> float:
    """Erlang C from its textbook sum: (a^c / c!) (c / (c - a)) / (sum_{k<c} a^k / k! + (a^c / c!) c / (c - a))."""
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    terms = [math.exp(k * math.log(a) - math.lgamma(k + 1)) for k in range(c)]
    top = math.exp(c * math.log(a) - math.lgamma(c + 1)) * c / (c - a)
    return top / (sum(terms) + top)


@pytest.mark.parametrize("c", [1, 2, 3, 5, 8, 16, 40, 100, 256])
def test_erlang_c_matches_the_direct_formula_over_a_grid(c):
    for i in range(0, 41):
        a = c * i / 40
        assert queueing.erlang_c(c, a) == pytest.approx(erlang_c_direct(c, a), rel=1e-9, abs=1e-12)
