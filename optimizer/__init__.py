"""llmplan: the cheapest plan of GPUs and LLM APIs that meets an SLA.

Data flows one way through the sub-packages:

    catalog  ->  problem  ->  perf  ->  candidates  ->  model (formulate, solve)  ->  result  ->  render

`optimizer.planner.plan()` runs that pipeline; `cli.py` is a thin layer on top.

The Python API (see optimizer/api.py and README.md, "Python API"):

    import optimizer
    p = optimizer.plan("problems/portfolio.yaml")             # a Plan; or a Problem, dict or YAML text
    optimizer.deployments_frame(p)                             # pandas DataFrame (also apis_, workloads_, categories_)
    optimizer.estimate("llama-3.1-8b", "L40S", isl=800, osl=300)
    optimizer.breakeven(problem), optimizer.budget(p), optimizer.SolveOptions(solver="cbc", time_limit=30)

Names are imported on first use (module `__getattr__`), so `import optimizer` (and the CLI's start-up) loads
neither pandas, pydantic nor the solver. The result types (`Plan` and its lines) live in optimizer/result.py.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None = the module itself
_LAZY = {
    "load_problem": ("optimizer.api", "load_problem"),
    "parse_problem": ("optimizer.api", "parse_problem"),
    "load_catalog": ("optimizer.api", "load_catalog"),
    "plan": ("optimizer.api", "plan"),
    "estimate": ("optimizer.api", "estimate"),
    "breakeven": ("optimizer.api", "breakeven"),
    "budget": ("optimizer.api", "budget"),
    "load_plan": ("optimizer.api", "load_plan"),
    "diff": ("optimizer.api", "diff"),
    "export_routes": ("optimizer.api", "export_routes"),
    "SolveOptions": ("optimizer.planner", "SolveOptions"),
    "Budget": ("optimizer.api", "Budget"),
    "Problem": ("optimizer.problem", "Problem"),
    "Plan": ("optimizer.result", "Plan"),
    "Catalog": ("optimizer.catalog", "Catalog"),
    "LlmplanError": ("optimizer.errors", "LlmplanError"),
    "InfeasibleError": ("optimizer.errors", "InfeasibleError"),
    "deployments_frame": ("optimizer.frames", "deployments"),
    "apis_frame": ("optimizer.frames", "apis"),
    "workloads_frame": ("optimizer.frames", "workloads"),
    "categories_frame": ("optimizer.frames", "categories"),
    "plan_frames": ("optimizer.frames", "frames"),
    "json_schema": ("optimizer.schemas", "json_schema"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'optimizer' has no attribute '{name}'") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    if attr is not None:
        globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
