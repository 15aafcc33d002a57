"""llmplan: the cheapest plan of GPUs and LLM APIs that meets an SLA.

Data flows one way through the sub-packages:

    catalog  ->  problem  ->  perf  ->  candidates  ->  model (formulate, solve)  ->  plan  ->  render

`optimizer.planner.plan()` runs that pipeline; `cli.py` is a thin layer on top.
"""

__version__ = "0.1.0"
