"""Problem fields of a plan over several months (issue 12): the horizon, each workload's growth path and spike
factor, owned hardware (offers of kind `owned` in `quotes:`) and the deployment mode.

Kept apart from problem.py so that the single-month problem stays as it was; problem.py imports these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import bounds as B
from .bounds import PastDate, num, whole

MAX_MONTHS = 120  # ten years


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Horizon(_Strict):
    """Plan `months` months at once; costs are discounted at `discount_rate_annual` (monthly (1 + r)^(1/12) - 1,
    month 1 undiscounted). A spike is `spike_factor` x a workload's peak for `spike_hours_per_month` hours a month
    (an assumption: the chapter gives the factor, 3-5x, not the duration); spike traffic beyond the normal peak is
    served by pool headroom or by API overflow, whichever is cheaper."""

    months: whole(1, MAX_MONTHS)
    discount_rate_annual: num(0, 1) = 0.08
    spike_hours_per_month: num(0, 730) = 24.0

    @property
    def monthly_rate(self) -> float:
        return (1 + self.discount_rate_annual) ** (1 / 12) - 1

    def discount(self, t: int) -> float:
        """Discount factor of month index t (0 = the first month)."""
        return 1 / (1 + self.monthly_rate) ** t


class Growth(_Strict):
    """A workload's volume path: a compound monthly rate (month 1 = requests_per_month, month m = that x (1 +
    rate)^(m-1)), or explicit volumes for every month of the horizon. The peak scales with the volume."""

    monthly_rate: num(-0.99, 10) | None = None
    monthly_volumes: tuple[num(1, B.MAX_REQUESTS_PER_MONTH), ...] | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.monthly_rate is None) == (self.monthly_volumes is None):
            raise ValueError("give exactly one of monthly_rate (e.g. 0.2 for 20%/month) or monthly_volumes "
                             "(requests per month, one per month of the horizon)")
        if self.monthly_volumes is not None and not self.monthly_volumes:
            raise ValueError("monthly_volumes is empty: give one volume per month of the horizon")
        return self


Deployment = Literal["cloud", "on_prem", "air_gapped"]


class OwnedQuote(_Strict):
    """A server you may buy (`kind: owned` in `quotes:`): its price with its GPUs, delivered `lead_time_months`
    after the order, depreciated straight-line to `residual_value_usd` over `depreciation_months`; it draws
    `power_kw_load` when serving and `power_kw_idle` when idle (kW, the whole server), times the facility's PUE at
    `electricity_usd_per_kwh`, plus `facility_usd_per_kw_month` per kW of load power (colocation or your own
    room) and `staff_usd_month` per month once any server of a configuration (model, precision, TP) is on site."""

    kind: Literal["owned"]
    name: str = Field(min_length=1)
    gpu: str
    gpus_per_instance: whole(1, 64) = 8
    server_price_usd: num(1, 1e9)
    lead_time_months: whole(0, 36) = 0
    depreciation_months: whole(1, 240) = 60
    residual_value_usd: num(0, 1e9) = 0.0
    power_kw_load: num(0.01, 1000)
    power_kw_idle: num(0, 1000)
    electricity_usd_per_kwh: num(0, 10)
    pue: num(1, 5) = 1.4
    facility_usd_per_kw_month: num(0, 1e5) = 0.0
    staff_usd_month: num(0, B.MAX_USD_PER_MONTH) = 0.0
    # the site's grid carbon intensity (location-based, gCO2e/kWh, from your utility or grid operator; cite it in
    # `source`); without it the servers' carbon is reported unknown, never guessed
    grid_gco2e_per_kwh: num(0, 2000) | None = None
    region: str = "on-prem"
    jurisdiction: str
    source: str = Field(min_length=3)
    checked: PastDate

    @model_validator(mode="after")
    def _physical(self):
        if self.residual_value_usd > self.server_price_usd:
            raise ValueError(f"residual_value_usd {self.residual_value_usd} is above server_price_usd "
                             f"{self.server_price_usd}: a server is not worth more at the end of its depreciation")
        if self.power_kw_idle > self.power_kw_load:
            raise ValueError(f"power_kw_idle {self.power_kw_idle} is above power_kw_load {self.power_kw_load}")
        return self

    @property
    def provider(self) -> str:
        return "owned"

    def book_value(self, age_months: int) -> float:
        """Straight-line: price - (price - residual) x min(age / depreciation, 1)."""
        f = min(max(age_months, 0) / self.depreciation_months, 1.0)
        return self.server_price_usd - (self.server_price_usd - self.residual_value_usd) * f

    def energy_usd_month(self, kw: float) -> float:
        """kW x PUE x 730 h x $/kWh."""
        return kw * self.pue * 730 * self.electricity_usd_per_kwh

    @property
    def running_usd_month(self) -> float:
        """One server serving all month: energy at load plus facility per kW of load."""
        return self.energy_usd_month(self.power_kw_load) + self.facility_usd_per_kw_month * self.power_kw_load

    @property
    def idle_usd_month(self) -> float:
        """One delivered server idle all month: energy at idle plus facility per kW of load (the space and power
        are reserved whether it runs or not)."""
        return self.energy_usd_month(self.power_kw_idle) + self.facility_usd_per_kw_month * self.power_kw_load


def check_horizon_fields(problem) -> None:
    """Growth, spikes and owned servers need a horizon; explicit volumes cover every month of it; an air-gapped
    deployment has owned servers to run on."""
    h = problem.horizon
    for w in problem.serving:
        if h is None and (w.growth is not None or w.spike_factor != 1.0):
            raise ValueError(f"workload '{w.name}': growth and spike_factor plan several months; add "
                             f"`horizon: {{months: N}}` (or remove them)")
        if h is not None and w.growth is not None and w.growth.monthly_volumes is not None \
                and len(w.growth.monthly_volumes) != h.months:
            raise ValueError(f"workload '{w.name}': growth.monthly_volumes has {len(w.growth.monthly_volumes)} "
                             f"volumes for a horizon of {h.months} months: give one per month")
        if h is not None and w.growth is not None and w.growth.monthly_rate is not None:
            last = w.requests_per_month * (1 + w.growth.monthly_rate) ** (h.months - 1)
            if not 1 <= last <= B.MAX_REQUESTS_PER_MONTH:
                raise ValueError(f"workload '{w.name}': growth.monthly_rate {w.growth.monthly_rate} takes "
                                 f"{w.requests_per_month:g} requests to {last:.4g} in month {h.months}, outside 1 to "
                                 f"{B.MAX_REQUESTS_PER_MONTH:g}: use a smaller rate or give monthly_volumes")
    owned = [q for q in problem.quotes if isinstance(q, OwnedQuote)]
    if owned and h is None:
        raise ValueError(f"quote '{owned[0].name}' is an owned server (kind: owned): buying hardware is planned "
                         f"over a horizon; add `horizon: {{months: N}}`")
    if problem.policy.deployment != "cloud" and h is None:
        raise ValueError(f"policy.deployment {problem.policy.deployment} is planned over a horizon; add "
                         f"`horizon: {{months: N}}` (or use deployment: cloud)")
    if problem.policy.deployment == "air_gapped" and not owned:
        raise ValueError("policy.deployment air_gapped runs on owned servers only: add a quote of kind owned")


def volume(w, horizon: Horizon | None, t: int) -> float:
    """Requests in month index t (0 = the first month) of workload w."""
    g = w.growth
    if g is None:
        return float(w.requests_per_month)
    if g.monthly_volumes is not None:
        return float(g.monthly_volumes[t])
    return w.requests_per_month * (1 + g.monthly_rate) ** t


def peak(w, horizon: Horizon | None, t: int) -> float:
    """Peak requests/s in month t: the workload's peak scaled with its volume."""
    return w.peak * volume(w, horizon, t) / w.requests_per_month


def spike_requests(w, horizon: Horizon, t: int) -> float:
    """Requests in month t beyond the peak during spikes: (spike_factor - 1) x peak x 3,600 x spike hours."""
    return (w.spike_factor - 1) * peak(w, horizon, t) * 3600 * horizon.spike_hours_per_month
