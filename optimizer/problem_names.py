"""The names a problem uses, checked against the catalog before anything is planned.

An unknown jurisdiction, provider or GPU name is bad input (exit 2) with "did you mean", never an empty option set
that later reads as an infeasible residency constraint or a policy that silently admits everything.
"""

from __future__ import annotations

from .catalog import Catalog
from .catalog.regions import jurisdiction_hint, known_jurisdictions
from .errors import ProblemError, did_you_mean
from .problem import Problem


def check_names(problem: Problem, catalog: Catalog) -> None:
    """Raise ProblemError naming the field, the unknown name and the nearest known ones."""
    jur = known_jurisdictions() | {o.jurisdiction for o in catalog.offers} | {
        j for a in catalog.apis for j in a.jurisdictions} | {q.jurisdiction for q in problem.quotes}
    for i, w in enumerate(problem.workloads):
        for k, j in enumerate(w.jurisdictions):
            if j not in jur:
                raise ProblemError(f"unknown jurisdiction '{j}'.{jurisdiction_hint(j) or did_you_mean(j, jur)}",
                                   where=f"workloads[{i}] ({w.name}).jurisdictions[{k}]",
                                   fix="use 'any', 'eu', 'us', 'us-gov', 'uk' or an ISO country code such as 'ch', "
                                       "'ca', 'jp' (EU member states are 'eu')")
    providers = {o.provider for o in catalog.offers} | {a.provider for a in catalog.apis} | {
        q.provider for q in problem.quotes}
    pol = problem.policy
    for field, names in (("exclude_providers", pol.exclude_providers), ("include_providers", pol.include_providers)):
        for k, p in enumerate(names or ()):
            if p not in providers:
                raise ProblemError(f"unknown provider '{p}'.{did_you_mean(p, providers)}",
                                   where=f"policy.{field}[{k}]",
                                   fix="use a cloud or API provider from `llmplan catalog list offers` / "
                                       "`llmplan catalog list apis`")
    for k, g in enumerate(pol.include_gpus or ()):
        try:
            catalog.gpu(g)
        except KeyError as e:
            raise ProblemError(e.args[0], where=f"policy.include_gpus[{k}]",
                               fix="use a GPU from `llmplan catalog list gpus`") from None
