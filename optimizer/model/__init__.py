"""The optimization model: formulation (PuLP) and solve (HiGHS or CBC). Only this package imports pulp."""
