"""Efficiency factors: the fraction of datasheet figures a serving engine achieves, per GPU family.

Few and physically meaningful, so that they generalise to measurements the fit never saw. Per GPU family (the
`architecture` column of gpus.csv):
- `mem_bw`: achieved fraction of peak memory bandwidth when streaming weights and KV cache (decode);
- `compute`: achieved fraction of dense tensor TFLOPS in large GEMMs and attention (prefill, big decode batches).
Shared by all families (one value each, fitted on all families' rows together):
- `tp_loss`: relative loss of both fractions per doubling of the TP degree (smaller shards, more synchronisation),
  so that at tp the fractions are `x * (1 - tp_loss * log2(tp))`;
- `allreduce_us`: latency of one all-reduce over a switched GPU fabric (NVLink, Infinity Fabric, Gaudi RoCE),
  paid twice per layer per forward pass; over PCIe it is `PCIE_ALLREDUCE_FACTOR` times higher;
- `step_ms`: fixed scheduler, sampling and launch time per forward pass;
- `wq_bw`: bandwidth factor of weight-only kernels (int4/int8 weights, or fp8 weights on a GPU without fp8
  units, dequantised to fp16 inside the GEMM), relative to `mem_bw`;
- `roofline_p`: how sharply a kernel moves from the memory roof to the compute roof. Its time is
  `(t_mem^p + t_compute^p)^(1/p)`: p = 1 adds the two (no overlap), large p is the hard roofline max(). Kernels
  near the crossover (prefill of short prompts, decode batches of a few hundred) reach neither roof.

The factors below come from `python bench/fit_calibration.py` on `catalogs/_sources/calibration/` (the method,
the error on that set and its cross-validated error are in docs/performance-model.md). Families without any
measured row keep an engineering prior (`basis="prior"`) or borrow a sibling family's fit (`BORROWED`); each
Efficiency says which in `basis`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Efficiency:
    mem_bw: float
    compute: float
    tp_loss: float
    allreduce_us: float
    step_ms: float
    wq_bw: float
    roofline_p: float
    basis: str


# all-reduce over PCIe (no NVLink: A10G, L4, L40S, H100 PCIe) costs this many times the fabric latency
PCIE_ALLREDUCE_FACTOR = 2.5

# ---- fitted by bench/fit_calibration.py (do not edit by hand; rerun the script) ----
SHARED = {"tp_loss": 0.0706, "allreduce_us": 13.387, "step_ms": 0.5984, "wq_bw": 0.7284, "roofline_p": 1.5809}
FITTED = {
    "ada": (0.78, 0.5543),
    "ampere": (0.7619, 0.6746),
    "blackwell": (0.5899, 0.3955),
    "gaudi3": (0.6576, 0.431),
    "hopper": (0.7341, 0.5331),
}
FIT_BASIS = "fit on 153 rows of catalogs/_sources/calibration (bench/fit_calibration.py)"
# ---- end of fitted values ----

# Families no calibration row covers keep an engineering prior, not a measurement: CDNA3 (MI300X, MI325X) set
# below the NVIDIA fits (65% of bandwidth, 40% of the 1,307 TFLOPS bf16 peak) for a less mature software stack;
# an unknown family gets DEFAULT. Gaudi 2 runs the same SynapseAI software and graph compiler as Gaudi 3, so it borrows
# Gaudi 3's fitted fractions (applied to its own datasheet figures).
PRIORS = {"cdna3": (0.65, 0.40)}
BORROWED = {"gaudi2": "gaudi3"}
DEFAULT = (0.70, 0.50)


def _make(pair: tuple[float, float], basis: str) -> Efficiency:
    s = SHARED
    return Efficiency(mem_bw=pair[0], compute=pair[1], tp_loss=s["tp_loss"], allreduce_us=s["allreduce_us"],
                      step_ms=s["step_ms"], wq_bw=s["wq_bw"], roofline_p=s["roofline_p"], basis=basis)


FAMILY = {
    **{k: _make(v, "prior") for k, v in PRIORS.items()},
    **{k: _make(v, FIT_BASIS) for k, v in FITTED.items()},
    **{k: _make(FITTED[v], f"borrowed from {v} ({FIT_BASIS})") for k, v in BORROWED.items() if v in FITTED},
}


def efficiency(architecture: str) -> Efficiency:
    """The factors of a GPU family; an unknown family gets the default prior."""
    return FAMILY.get(architecture) or _make(DEFAULT, "prior")

