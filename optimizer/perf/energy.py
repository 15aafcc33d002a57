"""Energy and carbon of a self-hosted instance: the power model, written once.

An instance of `g` GPUs whose GPUs are busy a fraction `u` of the time (the share of its modelled throughput its
load uses, averaged over the month) draws at the wall

    P(u) = PUE x g x TDP x (IDLE + HOST + (1 - IDLE) x u)          [W]

- TDP: the GPU's board power limit from `gpus.csv` (`tdp_w`, datasheet). LLM serving keeps GPUs below it most of the
  time, so TDP at full throughput is an upper estimate of the busy draw.
- IDLE = 0.2: a GPU holding a model but serving nothing draws about a fifth of its TDP (assumption; e.g. an idle
  H100 SXM draws 60-120 W of 700 W in public nvidia-smi logs).
- HOST = 0.3: CPUs, memory, NICs and fans of the server, per GPU, as a share of its TDP (assumption: an 8x H100
  DGX is rated 10.2 kW at most, 4.6 kW of it outside the GPUs, i.e. up to 0.82 x TDP at full load; a serving host
  runs far below that maximum).
- PUE: the data centre's power usage effectiveness for the provider region (`grid.csv`).

Energy over a month is linear in instance-hours and busy instance-hours,

    kWh = instance_hours x kw_idle + busy_instance_hours x kw_busy,
    kw_idle = PUE g TDP (IDLE + HOST) / 1000,   kw_busy = PUE g TDP (1 - IDLE) / 1000,

and a request of workload w on pool c keeps one instance busy for max_utilization / (3600 kap_cw) hours (kap_cw is
the planned capacity after the utilisation headroom, so kap_cw / max_utilization is the modelled throughput). That
linearity lets the formulation cap carbon exactly as the plan reports it. kg CO2e = kWh x the region's grid
intensity (gCO2e/kWh) / 1000; a region whose grid is not in `grid.csv`, or a GPU without `tdp_w`, is unknown, never
guessed.

APIs publish no per-token energy. Where a provider has published a per-prompt figure it is used as a labelled
estimate (`API_ESTIMATES`); every other API is "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass

IDLE_FRACTION = 0.2
HOST_FRACTION = 0.3


@dataclass(frozen=True)
class PoolEnergy:
    """Power of one instance (at the wall, PUE included) and the carbon intensity of its grid."""

    kw_idle: float  # kW per instance running, whatever its load
    kw_busy: float  # extra kW per instance while its GPUs are fully busy
    gco2e_per_kwh: float | None  # None: the region's grid is unknown
    pue: float
    basis: str  # where the figures come from, in words

    def kwh(self, instance_hours: float, busy_instance_hours: float) -> float:
        return instance_hours * self.kw_idle + busy_instance_hours * self.kw_busy

    def kg(self, kwh: float) -> float | None:
        return None if self.gco2e_per_kwh is None else kwh * self.gco2e_per_kwh / 1000.0


def pool_energy(gpu, gpus_per_instance: int, provider: str, region: str, catalog) -> PoolEnergy | None:
    """The energy figures of an instance of `gpus_per_instance` x `gpu` in `provider`/`region`; None when the GPU
    has no TDP or the catalog has no grid table (energy unknown)."""
    own, site = catalog.grid_row(provider, region)
    if gpu.tdp_w is None or site is None:
        return None
    base = site.pue * gpus_per_instance * gpu.tdp_w / 1000.0
    if own is not None and own.gco2e_per_kwh is not None:
        grid = f"grid {own.gco2e_per_kwh:g} gCO2e/kWh ({own.proxy or own.region}; {own.source}, checked {own.checked})"
    else:
        grid = f"grid of {provider} {region} unknown (no row in grid.csv)"
    basis = (f"{gpus_per_instance}x {gpu.name} at TDP {gpu.tdp_w:g} W ({gpu.tdp_source}); PUE {site.pue:g} "
             f"({site.pue_source}); {grid}")
    return PoolEnergy(kw_idle=base * (IDLE_FRACTION + HOST_FRACTION), kw_busy=base * (1 - IDLE_FRACTION),
                      gco2e_per_kwh=own.gco2e_per_kwh if own is not None else None, pue=site.pue, basis=basis)


def busy_hours_per_request(capacity_rps_per_instance: float, max_utilization: float) -> float:
    """Instance-hours one request keeps an instance busy: max_utilization / (3600 x planned rps per instance)."""
    return max_utilization / (3600.0 * capacity_rps_per_instance)


@dataclass(frozen=True)
class ApiEstimate:
    wh_per_request: float
    gco2e_per_request: float | None
    source: str


# Per-prompt figures providers have published for their own serving. They are medians or averages over the
# provider's traffic, not scaled to a workload's token counts: labelled estimates.
API_ESTIMATES = {
    "google": ApiEstimate(0.24, 0.03, "Google, 'Measuring the environmental impact of delivering AI at Google "
                                      "scale' (Aug 2025): median Gemini Apps text prompt 0.24 Wh, 0.03 gCO2e "
                                      "(market-based)"),
    "openai": ApiEstimate(0.34, None, "S. Altman, 'The Gentle Singularity' (2025-06-10): average ChatGPT query "
                                      "about 0.34 Wh; no carbon figure"),
}


def api_estimate(provider: str, model: str) -> ApiEstimate | None:
    """The labelled per-request estimate for an API, or None (unknown). Google's figure covers Gemini models served
    by Google (gemini, vertex_ai); OpenAI's covers its own API, not the same models served elsewhere."""
    if provider in ("gemini", "vertex_ai") and model.startswith("gemini"):
        return API_ESTIMATES["google"]
    if provider == "openai" and model.startswith(("gpt", "o1", "o3", "o4")):
        return API_ESTIMATES["openai"]
    return None
