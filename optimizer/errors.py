"""Errors a user can act on.

Every error names where the problem is (file, row or field), what is wrong and how to fix it. The CLI prints
`str(error)` to stderr and exits with `exit_code`; no traceback ever reaches the user for these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LlmplanError(Exception):
    """Base class: a message with an optional location and fix."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, where: str | None = None,
                 fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.where = where
        self.fix = fix

    def __str__(self) -> str:
        head = ": ".join(str(p) for p in (self.file, self.where) if p)
        text = f"{head}: {self.message}" if head else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class CatalogError(LlmplanError):
    """A catalog file or row is invalid."""


class ProblemError(LlmplanError):
    """A problem spec is invalid or refers to something the catalog lacks."""


class SolverError(LlmplanError):
    """The solver failed for a reason other than infeasibility."""

    exit_code = 4


class InfeasibleError(LlmplanError):
    """No plan meets every constraint; `report` explains which constraint fails and what would fix it."""

    exit_code = 3

    def __init__(self, message: str, report: list[str] | None = None, **kw):
        super().__init__(message, **kw)
        self.report = report or []

    def __str__(self) -> str:
        lines = [f"infeasible: {self.message}"]
        lines += [f"  - {r}" for r in self.report]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """' Did you mean: a, b?' for the nearest choices, or '' when none is close."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean: " + ", ".join(lowered[c] for c in close) + "?"
