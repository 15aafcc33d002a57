"""Random bad inputs for every command and every option exit 2 with a message naming the file or option and a
fix, never a traceback (issue 9). The cases are in fuzzcases.py.

Default run: a few hundred cases. The long run (10,000+ cases, with figures) is `python bench/fuzz_inputs.py`;
`LLMPLAN_FUZZ_EXAMPLES=N pytest tests/test_fuzz_inputs.py` runs N hypothesis examples per test instead.
"""

import os

import pytest
from fuzzcases import Bases, Chooser, field_case, file_case, option_case, run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

N = int(os.environ.get("LLMPLAN_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=N, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return Bases.make(tmp_path_factory.mktemp("fuzz") / "bases")


def _check(case, bases):
    o = run_case(case, bases)
    assert o.ok, f"{case.what}: {o.why}\n{o.output[-2000:]}"


@FUZZ
@given(data=st.data())
def test_bad_option_values(bases, data):
    _check(option_case(Chooser(data=data)), bases)


@FUZZ
@given(data=st.data())
def test_broken_files(bases, data):
    _check(file_case(Chooser(data=data)), bases)


@FUZZ
@given(data=st.data())
def test_nasty_field_values(bases, data):
    _check(field_case(Chooser(data=data), bases), bases)
