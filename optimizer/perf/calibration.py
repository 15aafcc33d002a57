"""Efficiency factors: the fraction of datasheet figures a serving engine achieves on a GPU family, and the error
band of the model's speed figures.

Few and physically meaningful, so that they generalise to measurements the fit never saw. The achieved fractions
of a (GPU family f, serving engine e) pair are

    mem_bw(f, e)  = FAM[f].mem_bw  x ENG[e] x CELL[f, e]      fraction of peak memory bandwidth (decode)
    compute(f, e) = FAM[f].compute x ENG[e] x CELL[f, e]      fraction of dense tensor TFLOPS (GEMMs)

- `FAM[f]`: the family's fractions under the reference engine (TensorRT-LLM, the vendor-tuned stack);
- `ENG[e]`: the engine's speed relative to the reference, shared by all families (vLLM, SGLang, TGI, and the
  calibration-only harnesses lmdeploy, gpt-fast, optimum-habana);
- `CELL[f, e]`: what is particular to the pair (e.g. vLLM on ROCm), pulled hard towards 1 by the fit, so that a
  pair with few rows borrows strength from its family and its engine instead of copying another family.
Fixed costs, per forward pass:
- `step_ms` x `ENG_STEP[e]` x `PLATFORM[p].step`: scheduler, sampling and launch time (Python schedulers cost
  more than C++ ones; ROCm and SynapseAI launches more than CUDA graphs);
- `allreduce_us` x `PLATFORM[p].allreduce`: latency of one all-reduce over the switched fabric (NVLink; RCCL over
  Infinity Fabric, Gaudi RoCE), paid twice per layer; over PCIe it is `PCIE_ALLREDUCE_FACTOR` times higher.
Shared by all: `tp_loss` (relative loss of both fractions per doubling of tp), `wq_bw` (bandwidth factor of
weight-only kernels), `roofline_p` (sharpness of the soft roofline), `attn` (attention kernels' fraction of the
GEMM compute fraction: long-context prefill and decode attention run below GEMM efficiency), `request_ms` (fixed
time to a request's first token besides its prefill: admission, tokenisation, first sampling and detokenisation).

The fitted values come from `python bench/fit_calibration.py --write` on both files of
`catalogs/_sources/calibration/`; the method, its leave-one-source-out error and the per-cell ratios are in
docs/performance-model.md. A factor the data does not reach keeps its prior below.

**Error band.** `BAND[(f, e)]` is the root-mean-square of the leave-one-source-out log errors of the throughput
rows of that cell, shrunk towards `SIGMA_UNSEEN` (the error on cells whose only source was left out) with
`BAND_PSEUDO_ROWS` pseudo-rows: sigma^2 = (n rms^2 + k sigma_unseen^2) / (n + k). A pair with no rows gets the
largest of `SIGMA_UNSEEN` and the bands of the calibrated pairs sharing its family or its engine. The model's speed is read as lognormal around the point estimate with that sigma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist

ENGINES = ("vllm", "sglang", "trtllm", "tgi")  # what a problem may name (problem.Engine)
DEFAULT_ENGINE = "vllm"
REFERENCE_ENGINE = "trtllm"
HARNESSES = ("lmdeploy", "gpt-fast", "optimum-habana")  # calibration-only engines
PLATFORM_OF = {"cdna3": "rocm", "cdna2": "rocm", "gaudi2": "gaudi", "gaudi3": "gaudi"}  # else "cuda"

# all-reduce over PCIe (no NVLink: A10G, L4, L40S, H100 PCIe) costs this many times the fabric latency
PCIE_ALLREDUCE_FACTOR = 2.5
MEASURED_SIGMA = 0.05  # band of a capacity the user measured (run-to-run spread of a serving benchmark)
BAND_PSEUDO_ROWS = 5

# Engineering priors: vendor-tuned stacks (TensorRT-LLM; Intel's optimum-habana on Gaudi) are the reference. Their decode reaches 70-85% of HBM bandwidth and 50-65% of dense tensor peak in
# large GEMMs; vLLM/TGI reach 0.6-0.85 of the vendor-tuned tables (catalogs/_sources/calibration/README.md);
# ROCm and SynapseAI pay more per launch and per collective than CUDA graphs and NVLink.
PRIOR_FAMILY = {
    "ampere": (0.78, 0.60), "ada": (0.78, 0.55), "hopper": (0.80, 0.55), "blackwell": (0.80, 0.50),
    "cdna3": (0.70, 0.45), "gaudi2": (0.70, 0.50), "gaudi3": (0.70, 0.50),
}
PRIOR_ENGINE = {"trtllm": 1.0, "vllm": 0.85, "sglang": 0.9, "tgi": 0.8, "lmdeploy": 0.95, "gpt-fast": 0.95,
                "optimum-habana": 1.0}
PRIOR_ENGINE_STEP = {"trtllm": 1.0, "vllm": 1.5, "sglang": 1.2, "tgi": 1.5, "lmdeploy": 1.0, "gpt-fast": 1.0,
                     "optimum-habana": 1.0}
PRIOR_PLATFORM = {"cuda": (1.0, 1.0), "rocm": (2.0, 2.0), "gaudi": (2.0, 2.0)}  # (step, allreduce) multipliers
PRIOR_SHARED = {"tp_loss": 0.08, "allreduce_us": 12.0, "step_ms": 0.5, "wq_bw": 0.8, "roofline_p": 3.0,
                "attn": 0.7, "request_ms": 2.0}
DEFAULT_FAMILY = (0.70, 0.50)  # a family with neither rows nor a prior

# ---- fitted by bench/fit_calibration.py (do not edit by hand; rerun the script) ----
FIT = {
    "fam.ada.mem_bw": 0.7214,
    "fam.ada.compute": 0.4631,
    "fam.ampere.mem_bw": 0.756,
    "fam.ampere.compute": 0.6906,
    "fam.blackwell.mem_bw": 0.5762,
    "fam.blackwell.compute": 0.4081,
    "fam.cdna3.mem_bw": 0.7688,
    "fam.cdna3.compute": 0.3318,
    "fam.gaudi3.mem_bw": 0.6785,
    "fam.gaudi3.compute": 0.4412,
    "fam.hopper.mem_bw": 0.7284,
    "fam.hopper.compute": 0.55,
    "eng.gpt-fast": 0.9802,
    "eng.lmdeploy": 0.95,
    "eng.tgi": 0.865,
    "eng.vllm": 0.683,
    "eng.gpt-fast.step": 1.0398,
    "eng.lmdeploy.step": 1.0078,
    "eng.tgi.step": 1.5118,
    "eng.vllm.step": 1.4202,
    "cell.cdna3|vllm": 0.9845,
    "cell.hopper|vllm": 1.0,
    "plat.gaudi.step": 2.0315,
    "plat.gaudi.allreduce": 2.0,
    "plat.rocm.step": 1.9084,
    "plat.rocm.allreduce": 1.821,
    "tp_loss": 0.0806,
    "allreduce_us": 11.5403,
    "step_ms": 0.5322,
    "wq_bw": 0.7515,
    "roofline_p": 1.696,
    "attn": 0.7569,
    "request_ms": 2.1457,
}
BAND = {
    "ada|trtllm": (0.3065, 17),
    "ampere|gpt-fast": (0.1719, 13),
    "ampere|lmdeploy": (0.3206, 9),
    "ampere|trtllm": (0.2068, 20),
    "blackwell|trtllm": (0.1543, 15),
    "cdna3|tgi": (0.4385, 4),
    "cdna3|vllm": (0.3181, 54),
    "gaudi3|optimum-habana": (0.2368, 24),
    "hopper|trtllm": (0.1744, 77),
    "hopper|vllm": (0.3288, 10),
}
SIGMA_UNSEEN = 0.2621
FIT_BASIS = "fit on 276 rows of catalogs/_sources/calibration (bench/fit_calibration.py)"
# ---- end of fitted values ----

# Gaudi 2 runs the same SynapseAI software and graph compiler as Gaudi 3: without rows of its own it borrows
# Gaudi 3's fitted fractions (applied to its own datasheet figures).
BORROWED = {"gaudi2": "gaudi3"}


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
    attn: float = 1.0
    engine: str = REFERENCE_ENGINE
    request_ms: float = 0.0

    def slowed(self, factor: float) -> Efficiency:
        """Every rate divided and every fixed cost multiplied by `factor` (> 1: slower): the model at a
        quantile of its error band."""
        return replace(self, mem_bw=self.mem_bw / factor, compute=self.compute / factor,
                       step_ms=self.step_ms * factor, allreduce_us=self.allreduce_us * factor,
                       request_ms=self.request_ms * factor)


def platform(architecture: str) -> str:
    return PLATFORM_OF.get(architecture, "cuda")


def param(name: str, fit: dict | None = None) -> float:
    """A factor by its flat name (as the fit names it): fitted value, else prior."""
    fit = FIT if fit is None else fit
    if name in fit:
        return fit[name]
    parts = name.split(".")
    if parts[0] == "fam":
        return PRIOR_FAMILY.get(parts[1], DEFAULT_FAMILY)[0 if parts[2] == "mem_bw" else 1]
    if parts[0] == "eng":
        return (PRIOR_ENGINE_STEP if parts[-1] == "step" else PRIOR_ENGINE).get(parts[1], 0.85 if parts[-1] != "step"
                                                                                else 1.5)
    if parts[0] == "cell":
        return 1.0
    if parts[0] == "plat":
        return PRIOR_PLATFORM[parts[1]][0 if parts[2] == "step" else 1]
    return PRIOR_SHARED[name]


def _family_key(architecture: str, fit: dict) -> tuple[str, str]:
    """(family whose fractions apply, basis)."""
    if f"fam.{architecture}.mem_bw" in fit:
        return architecture, "fit"
    src = BORROWED.get(architecture)
    if src and f"fam.{src}.mem_bw" in fit:
        return src, f"borrowed from {src}"
    return architecture, "prior"


def efficiency(architecture: str, engine: str = DEFAULT_ENGINE, fit: dict | None = None) -> Efficiency:
    """The factors of a GPU family under a serving engine."""
    fit = FIT if fit is None else fit
    fam, fam_basis = _family_key(architecture, fit)
    plat = platform(architecture)
    cell = param(f"cell.{architecture}|{engine}", fit)
    speed = (1.0 if engine == REFERENCE_ENGINE else param(f"eng.{engine}", fit)) * cell
    eng_step = 1.0 if engine == REFERENCE_ENGINE else param(f"eng.{engine}.step", fit)
    plat_step = 1.0 if plat == "cuda" else param(f"plat.{plat}.step", fit)
    plat_ar = 1.0 if plat == "cuda" else param(f"plat.{plat}.allreduce", fit)
    eng_basis = "reference" if engine == REFERENCE_ENGINE else ("fit" if f"eng.{engine}" in fit else "prior")
    basis = (f"{architecture}: {fam_basis}; {engine}: {eng_basis}"
             + (f"; pair factor {cell:.3g} (fit)" if f"cell.{architecture}|{engine}" in fit else "")
             + (f" ({FIT_BASIS})" if fit is FIT else ""))
    return Efficiency(
        mem_bw=param(f"fam.{fam}.mem_bw", fit) * speed, compute=param(f"fam.{fam}.compute", fit) * speed,
        tp_loss=param("tp_loss", fit), allreduce_us=param("allreduce_us", fit) * plat_ar,
        step_ms=param("step_ms", fit) * eng_step * plat_step, wq_bw=param("wq_bw", fit),
        roofline_p=param("roofline_p", fit), basis=basis, attn=param("attn", fit), engine=engine,
        request_ms=param("request_ms", fit))


@dataclass(frozen=True)
class Band:
    """Lognormal error band of the model's speed for one (family, engine) pair."""

    sigma: float  # standard deviation of ln(model / measured)
    rows: int  # calibration rows of the pair behind it
    basis: str  # "model" or "measured"

    def factor(self, confidence: float) -> float:
        """How much slower than the point estimate the truth is with probability 1 - confidence: the planned
        capacity is point / factor (1 at confidence 0.5)."""
        return math.exp(NormalDist().inv_cdf(confidence) * self.sigma)

    def interval(self, point: float, coverage: float = 0.8) -> tuple[float, float]:
        """The central `coverage` interval around a point estimate (10th-90th percentile by default)."""
        f = self.factor(0.5 + coverage / 2)
        return point / f, point * f


def band(architecture: str, engine: str = DEFAULT_ENGINE) -> Band:
    """The pair's band; a pair without rows is at least as uncertain as the error on unseen pairs and as every
    calibrated pair that shares its family or its engine."""
    hit = BAND.get(f"{architecture}|{engine}")
    if hit is not None:
        return Band(hit[0], hit[1], "model")
    kin = [s for k, (s, _) in BAND.items() if k.split("|")[0] == architecture or k.split("|")[1] == engine]
    return Band(max([SIGMA_UNSEEN, *kin]), 0, "model")


MEASURED_BAND = Band(MEASURED_SIGMA, 0, "measured")
