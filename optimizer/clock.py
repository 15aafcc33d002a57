"""The date a plan is made on: today, or `LLMPLAN_TODAY` (an ISO date) to plan as of another day.

It decides which APIs are past their deprecation date (and which are warned about), how old the catalog's prices
are, and what `verify` checks against. Setting it reproduces an old plan exactly on the catalog it was made with
(`LLMPLAN_TODAY=2026-12-03 llmplan solve ...`); the tests pin it, so that a deprecation date passing in the real
world does not change their known answers.
"""

from __future__ import annotations

import datetime as dt
import os

from .errors import LlmplanError

ENV = "LLMPLAN_TODAY"


def today() -> dt.date:
    raw = os.environ.get(ENV)
    if not raw:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise LlmplanError(f"environment variable {ENV}={raw!r} is not a date", where=ENV,
                           fix="set it to an ISO date such as 2026-12-03, or unset it to plan as of today") from None
