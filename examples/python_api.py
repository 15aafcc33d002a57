# %% [markdown]
# # llmplan from Python
#
# The notebook version of `llmplan solve problems/portfolio.yaml`: solve the portfolio example, look at the
# plan as pandas DataFrames, then ask the follow-up questions a review asks (what does each workload cost,
# where is the breakeven, what would a change cost). Run it as a script (`python examples/python_api.py`) or
# open it as a notebook (the `# %%` markers are cells in VS Code, Jupytext and Spyder). The test suite runs it.

# %%
from pathlib import Path

import pandas as pd

import optimizer

ROOT = Path(__file__).resolve().parents[1]
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 12)

# %% [markdown]
# ## Solve
# A problem can be a file, a dict or YAML text; the catalog defaults to the newest dated folder in catalogs/.

# %%
catalog = optimizer.load_catalog(ROOT / "catalogs" / "2026-11-24")
problem = optimizer.load_problem(ROOT / "problems" / "portfolio.yaml")
plan = optimizer.plan(problem, catalog)
print(f"{plan.problem}: {plan.status}, ${plan.monthly_cost_usd:,.2f}/month (catalog {plan.catalog['version']})")

# %% [markdown]
# ## The plan as DataFrames

# %%
deployments = optimizer.deployments_frame(plan)
print(deployments[["workload", "model", "gpu", "instances", "replicas", "precision", "capacity_type", "cloud",
                   "region", "share", "monthly_cost_usd"]].to_string(index=False))

# %%
apis = optimizer.apis_frame(plan, standby=True)  # standby: APIs that take traffic only after a failure
if len(apis):
    print(apis[["workload", "api_id", "mode", "share", "standby", "monthly_cost_usd"]].to_string(index=False))
else:
    print("no API lines: every workload is self-hosted")

# %%
workloads = optimizer.workloads_frame(plan)
print(workloads[["name", "category", "kind", "monthly_cost_usd", "usd_per_1k_requests"]].to_string(index=False))
print(optimizer.categories_frame(plan).to_string(index=False))

# %%
# The line items add up to the plan's total (the plan's own invariant, checked here from the frames).
fixed = sum(f.monthly_cost_usd for f in plan.fixed)
total = deployments.monthly_cost_usd.sum() + apis.monthly_cost_usd.sum() + fixed
print(f"deployments + APIs + shared = ${total:,.2f} (plan: ${plan.monthly_cost_usd:,.2f})")

# %% [markdown]
# ## Follow-up questions

# %%
# What if chat traffic doubles? Change the problem as a dict and solve again.
bigger = problem.model_dump(mode="json", exclude_none=True)
for w in bigger["workloads"]:
    if w["name"] == "chat":
        w["requests_per_month"] *= 2
doubled = optimizer.plan(optimizer.parse_problem(bigger, "portfolio, chat x2"), catalog)
print(f"chat x2: ${doubled.monthly_cost_usd:,.2f}/month ({doubled.monthly_cost_usd - plan.monthly_cost_usd:+,.2f})")

# %%
for b in optimizer.breakeven(problem, catalog, workload="chat"):
    print(f"breakeven for {b.workload}: {b.verdict}")

# %%
est = optimizer.estimate("llama-3.1-8b", "L40S", isl=800, osl=300)
print(f"Llama 3.1 8B on one L40S: {est.kv_tokens:,} KV tokens, {est.requests_per_s:.2f} req/s, "
      f"TTFT {est.ttft_ms:.0f} ms")
