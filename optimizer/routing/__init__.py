"""From plan to traffic: route tables built from a plan, the seed's router, exports to real routers and a
failure simulation.

- `targets`: what a router can send a workload's requests to (pools and APIs), with the plan's shares as weights,
  limits, unit costs, latencies and the solver's failover re-routing. Pure functions of a `Plan`.
- `router`: the seed chapter's weighted router (health, current/max RPS) with six strategies, deterministic under
  a seed.
- `export`: LiteLLM proxy config, Portkey gateway configs and OpenRouter provider preferences from a plan.
- `simulate`: a discrete-event replay of the plan's traffic through the router and the planned capacity, with
  outages and spot reclaims injected; `report` renders its result.

Data flows one way: plan -> targets -> (router, export, simulate) -> report. Nothing here re-reads the problem.
"""
