"""Request classes: a workload with `classes:` is planned as one slice per class.

`expand_classes` turns every serving workload w with classes c_1..c_K into K serving workloads named `w/c_k`, each
with share_k x w's monthly volume and peak, the class's mean input and output tokens, and everything else of w
(models, APIs, tier, residency, profile). The rest of the pipeline plans them like any workloads: each class
gets its own capacity per pool (candidates compute it at the class's lengths, and `measured:` entries that name
a class apply to it alone), its own context-length and latency checks, and its own shares x_{w/c,o}; a pool
serving several classes adds their loads (the capacity row sum_w a_cw x_wc <= n_c), so the optimum can send long
prompts to one GPU type and short ones to another, or split a class between them.
Assumption: the class mix is the same at every moment (each class peaks at share_k x the peak).
Expansion is idempotent (an expanded problem has no classes left).
"""

from __future__ import annotations

from .problem import Problem, ServingWorkload

SEP = "/"


def class_workload(workload: str, cls: str) -> str:
    return f"{workload}{SEP}{cls}"


def has_classes(problem: Problem) -> bool:
    return any(w.classes for w in problem.serving)


def expand_classes(problem: Problem) -> Problem:
    if not has_classes(problem):
        return problem
    workloads = []
    for w in problem.workloads:
        if not isinstance(w, ServingWorkload) or not w.classes:
            workloads.append(w)
            continue
        for c in w.classes:
            workloads.append(w.model_copy(update={
                "name": class_workload(w.name, c.name), "requests_per_month": w.requests_per_month * c.share,
                "peak_rps": w.peak * c.share, "peak_to_average": None, "input_tokens": c.input_tokens,
                "output_tokens": c.output_tokens, "classes": ()}))
    measured = tuple(m.model_copy(update={"workload": class_workload(m.workload, m.class_name), "class_name": None})
                     if m.class_name is not None else m for m in problem.measured)
    return problem.model_copy(update={"workloads": tuple(workloads), "measured": measured})


def classes_section(problem: Problem) -> dict:
    """extras['classes'] of a plan: per workload with classes, each class's planned slice (for reports and for
    replaying a trace: `center` assigns a request to its class)."""
    out = {}
    for w in problem.serving:
        if w.classes:
            out[w.name] = [{"name": c.name, "workload": class_workload(w.name, c.name), "share": c.share,
                            "input_tokens": c.input_tokens, "output_tokens": c.output_tokens,
                            "center": list(c.log_center)} for c in w.classes]
    return out


__all__ = ["class_workload", "classes_section", "expand_classes", "has_classes"]
