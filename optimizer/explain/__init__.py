"""Explanations of a plan: breakeven, budget, what each constraint costs, alternatives, entry prices.

Every figure here is recomputed from inputs or plan lines (quantity x unit price), never read back from the
solver's objective.
"""
