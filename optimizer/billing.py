"""How providers bill instance time: the increment and the minimum charge per instance start.

Used by hour-by-hour planning (autoscaling): an instance started for an hour is billed from its start, so it is
paid for its warm-up too (boot, driver, weights loaded; `policy.autoscale_warmup_min`) before it serves. The
warm-up is billed as max(minimum, ceil(warm-up / increment) x increment): per-second billing pays the warm-up
itself, per-hour billing pays a whole extra hour per start.

A provider missing from the table is assumed to bill per started hour (the dearest common rule), and plans that
use one say so in their assumptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Billing:
    provider: str
    increment_s: float
    minimum_s: float
    source: str
    checked: str
    assumed: bool = False

    @property
    def key(self) -> tuple[float, float]:
        return (self.increment_s, self.minimum_s)

    def billed_hours(self, seconds: float) -> float:
        """Hours billed for running `seconds` once."""
        if seconds <= 0:
            return 0.0
        return max(self.minimum_s, math.ceil(seconds / self.increment_s - 1e-9) * self.increment_s) / 3600.0


_TABLE = [
    Billing("aws", 1, 60, "AWS What's New 2017-10-02 'Announcing Amazon EC2 per second billing' (Linux instances, "
            "on-demand, reserved and spot: one-second increments, 60-second minimum)", "2026-11-24"),
    Billing("gcp", 1, 60, "Google Compute Engine VM instance pricing page (per-second billing, 1-minute minimum for "
            "vCPUs, GPUs and memory); not re-read here", "2026-11-24"),
    Billing("azure", 1, 300, "Microsoft Q&A 2259765 (2025-04-21): per-second billing with a 5-minute minimum per "
            "start from 2025-06-01", "2026-11-24"),
    Billing("lambda", 60, 60, "docs.lambda.ai/public-cloud/billing: on-demand instances billed in one-minute "
            "increments", "2026-11-24"),
]
BILLING = {b.provider: b for b in _TABLE}
DEFAULT_SOURCE = "assumption: no published billing increment in this table; per started hour assumed"


def billing_of(provider: str) -> Billing:
    return BILLING.get(provider) or Billing(provider, 3600, 3600, DEFAULT_SOURCE, "-", assumed=True)
