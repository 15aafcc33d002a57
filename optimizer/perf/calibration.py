"""Efficiency factors: the fraction of datasheet figures a serving engine achieves, per GPU family.

Physically meaningful and few, so that they generalise to measurements the fit never saw:
- `mem_bw`: achieved fraction of peak memory bandwidth when streaming weights and KV cache in decode;
- `compute`: achieved fraction of dense tensor TFLOPS in large GEMMs (prefill, big decode batches);
- `tp_bw_loss`: relative loss of achieved bandwidth per doubling of the TP degree (smaller shards, more syncs);
- `allreduce_us`: latency of one all-reduce over the instance's interconnect, paid twice per layer per step;
- `step_ms`: fixed scheduler/launch overhead per engine step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Efficiency:
    mem_bw: float
    compute: float
    tp_bw_loss: float
    allreduce_us: float
    step_ms: float
    basis: str


# v1 factors: engineering priors (vLLM/TensorRT-LLM decode typically reaches 70-85% of HBM bandwidth and
# 50-65% of dense tensor peak in prefill). The estimator issue refits them on catalogs/_sources/calibration.
FAMILY = {
    "ampere": Efficiency(0.78, 0.60, 0.08, 12.0, 1.0, "prior"),
    "ada": Efficiency(0.78, 0.55, 0.10, 30.0, 1.0, "prior"),
    "hopper": Efficiency(0.80, 0.55, 0.08, 10.0, 1.0, "prior"),
    "blackwell": Efficiency(0.80, 0.50, 0.08, 10.0, 1.0, "prior"),
    "cdna3": Efficiency(0.65, 0.40, 0.10, 15.0, 1.5, "prior"),
    "gaudi2": Efficiency(0.70, 0.55, 0.10, 20.0, 1.5, "prior"),
    "gaudi3": Efficiency(0.70, 0.50, 0.10, 20.0, 1.5, "prior"),
}
DEFAULT = Efficiency(0.70, 0.50, 0.10, 20.0, 1.5, "prior")

# Interconnects whose all-reduce runs over PCIe rather than a switch fabric pay a higher latency.
PCIE_PREFIX = "pcie"


def efficiency(architecture: str) -> Efficiency:
    return FAMILY.get(architecture, DEFAULT)
