"""Route tables: for every serving workload of a plan, the targets a router may send its requests to.

A *target* is a self-hosted pool (one `deployments[]` line) or an API (one `api[]` or `standby_api[]` line) for
one workload. Its weight is the plan's `share` of the workload's traffic: the router's weights are the optimizer's
traffic shares, never guesses. Standby targets (share 0) take traffic only when another provider fails.

Rules:
- `planned_rps` of a pool is the plan's `capacity_rps` (after `max_utilization`); `full_rps` is the modelled
  throughput behind it (`capacity_rps / max_utilization`), the rate a simulated pool actually serves at;
- an API's `max_rps` is its account limit at this workload's token length: min(RPM / 60, TPM / 60 / tokens);
  limits are per API account (`rate_group`), shared by every workload on it;
- a pool's unit cost is its allocated monthly cost over the requests it serves; a standby pool's is its whole
  cost at its planned capacity; it is split into input/output token prices by prefill vs decode time (TTFT vs
  output tokens x TPOT), so input_tokens x input price + output_tokens x output price = USD per request;
- failover order: targets by share (largest first), then standby targets by the traffic the solver's failover
  routes give them (largest first), ties by id;
- `failover[p]` maps each target to the requests/s the solver planned on it at peak after provider p is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LlmplanError
from ..result import Plan
from ..units import SECONDS_PER_MONTH


@dataclass(frozen=True)
class Target:
    id: str  # pool id, or api_id (with ":batch" for a batch-mode API)
    kind: str  # "pool" or "api"
    workload: str
    provider: str  # cloud (pools) or API vendor
    model: str
    share: float  # planned fraction of the workload's traffic (0 for standby)
    usd_per_request: float
    ttft_ms: float  # time to first token at the plan's operating point (pools) or the API's typical TTFT
    tpot_ms: float
    quality_tier: int
    jurisdictions: tuple[str, ...]
    region: str | None = None
    capacity_type: str | None = None  # pools: on_demand, spot, reserved_*
    instances: int = 0  # pools
    planned_rps: float | None = None  # pools: the plan's capacity_rps for this workload
    full_rps: float | None = None  # pools: modelled throughput (planned_rps / max_utilization)
    rpm_limit: int | None = None  # APIs: the account's limits
    tpm_limit: int | None = None
    rate_group: str | None = None  # APIs: the account the limits belong to (api_id)
    hf_id: str | None = None  # pools: the model's Hugging Face id
    provider_model_id: str | None = None  # APIs
    mode: str | None = None  # APIs: realtime or batch
    batch: int | None = None  # pools: the plan's batch per replica for this workload (None when measured)
    replicas: int = 0  # pools: replicas on the instances
    planned_isl: int = 1  # pools: the workload's input tokens the operating point was planned for

    def slot_s(self, isl: int, osl: int, planned_osl: int) -> float:
        """Seconds one request of isl/osl tokens holds a batch slot on this pool, as the performance model counts
        it (perf/speed.py: `batch / requests_per_s`): with continuous batching the prompt rides along the running
        decodes, so a slot is held for osl decode steps; alone (batch 1) for the whole request; an encoder for
        its prefill. Lengths scale the planned operating point."""
        if osl <= 0 or not self.tpot_ms:
            return self.ttft_ms / 1000.0 * isl / max(1, self.planned_isl)
        if (self.batch or 1) > 1:
            return osl * self.tpot_ms / 1000.0
        return (self.ttft_ms * isl / max(1, self.planned_isl) + max(osl - 1, 0) * self.tpot_ms) / 1000.0

    @property
    def standby(self) -> bool:
        return self.share <= 0

    def max_rps(self, tokens_per_request: int) -> float:
        """Requests/s this target accepts before it is 'at its limit': the planned capacity (pools) or the
        account's RPM/TPM at this token length (APIs; unlimited when the catalog has no limit)."""
        if self.kind == "pool":
            return self.planned_rps or 0.0
        lims = []
        if self.rpm_limit:
            lims.append(self.rpm_limit / 60.0)
        if self.tpm_limit:
            lims.append(self.tpm_limit / 60.0 / max(tokens_per_request, 1))
        return min(lims) if lims else float("inf")


@dataclass(frozen=True)
class WorkloadRoutes:
    workload: str
    peak_rps: float
    average_rps: float
    input_tokens: int
    output_tokens: int
    ttft_target_ms: float
    tpot_target_ms: float
    latency_tier: str
    jurisdictions: tuple[str, ...]
    targets: tuple[Target, ...]  # in failover order
    failover: dict = field(default_factory=dict)  # lost provider -> {target id: rps}

    @property
    def tokens_per_request(self) -> int:
        return self.input_tokens + self.output_tokens

    def target(self, tid: str) -> Target:
        for t in self.targets:
            if t.id == tid:
                return t
        raise KeyError(tid)

    def providers(self) -> list[str]:
        return sorted({t.provider for t in self.targets})

    def service_s(self, t: Target) -> float:
        """Seconds a request occupies target t: TTFT plus output tokens x TPOT at its operating point."""
        return (t.ttft_ms + self.output_tokens * t.tpot_ms) / 1000.0

    def token_prices(self, t: Target) -> tuple[float, float]:
        """(USD per input token, USD per output token) that add up to t's USD per request."""
        prefill = t.ttft_ms
        decode = self.output_tokens * t.tpot_ms
        total = prefill + decode
        frac_in = prefill / total if total > 0 else 1.0
        if self.output_tokens == 0:
            frac_in = 1.0
        per_in = t.usd_per_request * frac_in / self.input_tokens
        per_out = t.usd_per_request * (1 - frac_in) / self.output_tokens if self.output_tokens else 0.0
        return per_in, per_out


def _require(value, what: str, source: str):
    if value is None:
        raise LlmplanError(f"the plan has no {what} (written before plan schema 1.1)", file=source,
                           fix="re-run `llmplan solve PROBLEM --format json` with this version of llmplan")
    return value


def route_tables(plan: Plan, source: str = "<plan>") -> dict[str, WorkloadRoutes]:
    """One route table per serving workload that has at least one target."""
    mu = plan.max_utilization or 1.0
    out: dict[str, WorkloadRoutes] = {}
    for wl in plan.workloads:
        if wl.kind != "serving":
            continue
        isl = _require(wl.input_tokens, f"input_tokens for workload '{wl.name}'", source)
        osl = _require(wl.output_tokens, f"output_tokens for workload '{wl.name}'", source)
        volume = _require(wl.requests_per_month, f"requests_per_month for workload '{wl.name}'", source)
        targets = []
        for d in plan.deployments:
            if d.workload != wl.name or d.share is None:
                continue
            ttft, tpot = d.ttft_ms, d.tpot_ms
            if ttft is not None and d.queue_ms:  # the plan's TTFT at load includes its modelled queueing delay;
                ttft -= d.queue_ms  # the simulator queues requests itself
            if ttft is None or tpot is None:  # a measured capacity: no modelled operating point
                ttft = _require(wl.ttft_target_ms, "ttft_target_ms", source)
                tpot = _require(wl.tpot_target_ms, "tpot_target_ms", source)
            served = volume * d.share
            if served > 0:
                usd = d.monthly_cost_usd / served
            else:
                usd = d.hourly_usd_per_instance * d.instances / max(d.capacity_rps * 3600.0, 1e-9)
            targets.append(Target(
                id=d.pool, kind="pool", workload=wl.name, provider=d.cloud, model=d.model, share=d.share,
                usd_per_request=usd, ttft_ms=ttft, tpot_ms=tpot, quality_tier=d.quality_tier or 0,
                jurisdictions=(d.jurisdiction,), region=d.region, capacity_type=d.capacity_type,
                instances=d.instances, planned_rps=d.capacity_rps, full_rps=d.capacity_rps / mu, hf_id=d.hf_id,
                batch=d.batch if d.ttft_ms is not None else None, replicas=d.replicas, planned_isl=isl))
        for a in list(plan.api) + list(plan.standby_api):
            if a.workload != wl.name:
                continue
            tid = a.api_id + (":batch" if a.mode == "batch" else "")
            targets.append(Target(
                id=tid, kind="api", workload=wl.name, provider=a.provider, model=a.model, share=a.share,
                usd_per_request=a.usd_per_request, ttft_ms=_require(a.ttft_ms, f"ttft_ms for API {a.api_id}", source),
                tpot_ms=_require(a.tpot_ms, f"tpot_ms for API {a.api_id}", source),
                quality_tier=a.quality_tier or 0, jurisdictions=tuple(a.jurisdictions), rpm_limit=a.rpm_limit,
                tpm_limit=a.tpm_limit, rate_group=a.api_id, provider_model_id=a.provider_model_id, mode=a.mode))
        if not targets:
            continue
        failover: dict[str, dict[str, float]] = {}
        for r in plan.failover_routes:
            if r.workload == wl.name:
                tid = r.target + (":batch" if r.kind == "api" and r.mode == "batch" else "")
                failover.setdefault(r.lost_provider, {})[tid] = failover.get(r.lost_provider, {}).get(tid, 0) + r.rps
        standby_rps = {t.id: max((m.get(t.id, 0.0) for m in failover.values()), default=0.0) for t in targets}
        targets.sort(key=lambda t: (-t.share, -standby_rps[t.id], t.id))
        out[wl.name] = WorkloadRoutes(
            workload=wl.name, peak_rps=_require(wl.peak_rps, "peak_rps", source),
            average_rps=(wl.requests_per_month or 0.0) / SECONDS_PER_MONTH, input_tokens=isl, output_tokens=osl,
            ttft_target_ms=_require(wl.ttft_target_ms, "ttft_target_ms", source),
            tpot_target_ms=_require(wl.tpot_target_ms, "tpot_target_ms", source),
            latency_tier=wl.latency_tier or "standard", jurisdictions=tuple(wl.jurisdictions or ("any",)),
            targets=tuple(targets), failover=failover)
    return out


def provider_loads(tables: dict[str, WorkloadRoutes]) -> dict[str, float]:
    """Planned requests/s at peak carried by each provider, over all workloads."""
    loads: dict[str, float] = {}
    for r in tables.values():
        for t in r.targets:
            loads[t.provider] = loads.get(t.provider, 0.0) + t.share * r.peak_rps
    return loads


def largest_provider(tables: dict[str, WorkloadRoutes]) -> str:
    loads = provider_loads(tables)
    if not loads:
        raise LlmplanError("the plan routes no serving traffic", fix="simulate a plan with serving workloads")
    return max(sorted(loads), key=lambda p: loads[p])
