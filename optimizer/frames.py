"""A plan as pandas DataFrames: deployments, API lines, workloads and categories.

One row per line of the plan's JSON, one column per field of the line's model (the plan's own field names, so
units stay in the column names: `monthly_cost_usd`, `hourly_usd_per_instance`), in the model's field order.
An empty section gives an empty frame with the same columns, so code that filters or sums a column works on
every plan. Values are the plan's own (no re-computation): `frames.deployments(p).monthly_cost_usd.sum()`
+ `apis(p)` + `p.fixed` adds up to `p.monthly_cost_usd` as the plan's invariant says.
"""

from __future__ import annotations

import pandas as pd

from .result import ApiLine, CategoryLine, Deployment, Plan, WorkloadLine


def _plan(plan: Plan | dict) -> Plan:
    return plan if isinstance(plan, Plan) else Plan.model_validate(plan)


def _frame(rows, model) -> pd.DataFrame:
    cols = list(model.model_fields)
    return pd.DataFrame([r.model_dump() for r in rows], columns=cols)


def deployments(plan: Plan | dict) -> pd.DataFrame:
    """One row per (pool, workload it serves) and per fixed-hours block (`share` is NaN/None for a block)."""
    return _frame(_plan(plan).deployments, Deployment)


def apis(plan: Plan | dict, *, standby: bool = False) -> pd.DataFrame:
    """One row per API line; `standby=True` appends the failover-only APIs (share 0, no cost) with a `standby`
    column telling them apart."""
    p = _plan(plan)
    df = _frame(p.api, ApiLine)
    if not standby:
        return df
    df.insert(len(df.columns), "standby", False)
    sb = _frame(p.standby_api, ApiLine)
    sb.insert(len(sb.columns), "standby", True)
    return pd.concat([df, sb], ignore_index=True) if len(sb) else df


def workloads(plan: Plan | dict) -> pd.DataFrame:
    """One row per workload with its monthly cost (and, for serving workloads, its volume and targets)."""
    return _frame(_plan(plan).workloads, WorkloadLine)


def categories(plan: Plan | dict) -> pd.DataFrame:
    """One row per budget category with its monthly cost and percent of the total."""
    return _frame(_plan(plan).categories, CategoryLine)


def frames(plan: Plan | dict) -> dict[str, pd.DataFrame]:
    """All four frames: {'deployments', 'apis', 'workloads', 'categories'}."""
    p = _plan(plan)
    return {"deployments": deployments(p), "apis": apis(p), "workloads": workloads(p), "categories": categories(p)}
