"""Performance model: memory fit and serving speed of a model on a GPU at a precision and TP degree.

`memory.py` answers "does it fit, and how many tokens of KV cache remain"; `speed.py` answers "how fast is prefill
and decode at a given batch" and "how many requests/s does one replica serve under a TTFT/TPOT target";
`calibration.py` holds the few efficiency factors per GPU family; `measurements.py` reads published measurements
as what each one measured and predicts them (the fit, bench/fit_calibration.py, and the quality tests use it);
`estimate.py` is `llmplan estimate`. `solve` and `estimate` use the same functions.
"""

from .memory import MemoryPlan, kv_bytes_per_token, memory_plan, weight_bytes
from .speed import ServingPoint, capacity_under_slo, max_throughput_point, serving_point

__all__ = ["MemoryPlan", "memory_plan", "weight_bytes", "kv_bytes_per_token", "ServingPoint", "serving_point",
           "capacity_under_slo", "max_throughput_point"]
