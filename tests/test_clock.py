"""Planning as of a date (optimizer/clock.py): deprecations follow LLMPLAN_TODAY, and a bad value is bad input."""

from pathlib import Path

from click.testing import CliRunner

from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_a_deprecation_date_passing_excludes_the_api_with_its_reason(monkeypatch):
    prob = str(ROOT / "problems" / "seed_breakeven.yaml")
    monkeypatch.setenv("LLMPLAN_TODAY", "2026-12-03")
    before = CliRunner().invoke(main, ["solve", prob])
    assert before.exit_code == 0 and "$150.00" in before.stdout  # GPT-4o mini serves it
    monkeypatch.setenv("LLMPLAN_TODAY", "2027-01-20")  # gpt-4o-mini's deprecation date (2027-01-14) has passed
    after = CliRunner().invoke(main, ["solve", prob])
    assert after.exit_code == 0
    assert "api openai/gpt-4o-mini for chat: excluded (deprecated: deprecated since 2027-01-14)" in after.stdout
    assert "$150.00" not in after.stdout


def test_a_bad_date_names_the_variable_and_the_fix(monkeypatch):
    monkeypatch.setenv("LLMPLAN_TODAY", "next tuesday")
    r = CliRunner().invoke(main, ["solve", str(ROOT / "problems" / "seed_breakeven.yaml")])
    assert r.exit_code == 2
    assert "LLMPLAN_TODAY='next tuesday' is not a date" in r.stderr and "ISO date" in r.stderr
