"""Explanations of a plan, recomputed from the plan and the catalog (breakeven, budget, constraint costs, diff)."""
