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


def test_an_api_past_its_deprecation_is_named_as_deprecated_not_unknown(tmp_path):
    """The LiteLLM importer keeps keys past their deprecation date (with it): a problem naming one is told why it
    is not used instead of being told the name is unknown."""
    prob = tmp_path / "p.yaml"
    prob.write_text("name: dep\nworkloads:\n  - name: chat\n    apis: [claude-sonnet-4-5, gpt-4o-mini]\n"
                    "    requests_per_month: 1000000\n    peak_to_average: 2\n    input_tokens: 500\n"
                    "    output_tokens: 200\n")
    r = CliRunner().invoke(main, ["solve", str(prob)])
    assert r.exit_code == 0, r.output
    assert "api anthropic/claude-sonnet-4-5 for chat: excluded (deprecated: deprecated since 2026-11-30)" in r.stdout


def test_the_importer_keeps_deprecated_keys_with_their_date(tmp_path):
    import datetime as dt
    import json

    from optimizer.catalog.importers.litellm import import_litellm
    src = tmp_path / "prices.json"
    entry = {"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "litellm_provider": "x"}
    src.write_text(json.dumps({"old-model": dict(entry, deprecation_date="2026-01-01"), "new-model": entry}))
    meta = [{"litellm_key": k, "provider": "x", "model": k, "ttft_ms": 100, "tpot_ms": 10, "quality_tier": 2}
            for k in ("old-model", "new-model")]
    rows, summary = import_litellm(src, meta, today=dt.date(2026, 12, 3), source_label="test")
    by = {r["model"]: r for r in rows}
    assert by["old-model"]["deprecation_date"] == "2026-01-01" and by["new-model"]["deprecation_date"] is None
    assert any("old-model is past its deprecation date 2026-01-01" in w for w in summary.warnings)
