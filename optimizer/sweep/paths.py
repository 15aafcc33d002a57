"""Problem-field paths: `workloads.chat.requests_per_month`, `workloads[0].input_tokens`, `policy.budget_monthly_usd`.

A path walks the problem as a plain dict (the validated problem dumped with every default filled in, so a field
left out of the file, such as `policy.budget_monthly_usd`, can still be varied). Segments are separated by dots;
a list is entered by index (`workloads[0]`, `quotes[1]`) or by the `name` of an element (`workloads.chat`). A
scenario is the dumped dict with the leaves set, validated again as a whole problem, so every sweep value passes
the same checks as a value written in the file.

Fields that are alternatives (`peak_rps` / `peak_to_average`, `requests_per_s` / `requests_per_hour`): setting one
clears the other.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from ..errors import ProblemError, did_you_mean
from ..problem import Problem, parse_problem

ALTERNATIVES = {"peak_rps": "peak_to_average", "peak_to_average": "peak_rps",
                "requests_per_s": "requests_per_hour", "requests_per_hour": "requests_per_s"}
_SEGMENT = re.compile(r"^([^.\[\]]+)((?:\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")


def problem_data(problem: Problem) -> dict:
    """The problem as a plain dict with every default filled in (what paths walk)."""
    return problem.model_dump(mode="python")


def _steps(path: str) -> list[str | int]:
    """'workloads[0].input_tokens' -> ['workloads', 0, 'input_tokens']."""
    if not path or path.startswith(".") or path.endswith(".") or ".." in path:
        raise ProblemError(f"'{path}' is not a field path", where="--vary",
                           fix="write it like workloads.chat.requests_per_month or workloads[0].input_tokens")
    out: list[str | int] = []
    for seg in path.split("."):
        m = _SEGMENT.match(seg)
        if not m:
            raise ProblemError(f"'{path}': cannot read segment '{seg}'", where="--vary",
                               fix="segments are field names, workload names or [index], separated by dots")
        out.append(m.group(1))
        out += [int(i) for i in _INDEX.findall(m.group(2))]
    return out


@dataclass(frozen=True)
class FieldPath:
    """A path resolved against one problem: the steps (list indexes resolved) and the leaf's current value."""

    text: str
    steps: tuple[str | int, ...]
    current: object

    @property
    def is_int(self) -> bool:
        return isinstance(self.current, int) and not isinstance(self.current, bool)


def resolve(data: dict, path: str) -> FieldPath:
    """Resolve `path` in the dumped problem; clear errors (with near misses) for names that do not exist."""
    node: object = data
    done: list[str] = []
    steps: list[str | int] = []
    for step in _steps(path):
        here = ".".join(done) or "the problem"
        if isinstance(node, (list, tuple)):
            if isinstance(step, int):
                if step >= len(node):
                    raise ProblemError(f"'{path}': {here} has {len(node)} entries, no [{step}]", where="--vary",
                                       fix=f"use an index from 0 to {len(node) - 1}")
                idx = step
            else:
                names = [e.get("name") for e in node if isinstance(e, dict) and e.get("name")]
                if step not in names:
                    raise ProblemError(f"'{path}': no entry of {here} is named '{step}'."
                                       f"{did_you_mean(step, names)}", where="--vary",
                                       fix=f"use one of: {', '.join(names)} (or an index like {done[-1]}[0])"
                                       if names else f"use an index like {done[-1]}[0]")
                idx = names.index(step)
            steps.append(idx)
            done[-1] = f"{done[-1]}[{idx}]"
            node = node[idx]
            continue
        if isinstance(step, int):
            raise ProblemError(f"'{path}': {here} is not a list", where="--vary", fix="remove the [index]")
        if node is None:
            raise ProblemError(f"'{path}': {here} is not set in the problem", where="--vary",
                               fix=f"add {here} to the problem file first, then vary its fields")
        if not isinstance(node, dict):
            raise ProblemError(f"'{path}': {here} is a value, it has no field '{step}'", where="--vary",
                               fix=f"vary {here} itself")
        if step not in node:
            raise ProblemError(f"'{path}': {here} has no field '{step}'.{did_you_mean(step, node)}", where="--vary",
                               fix=f"use one of: {', '.join(node)}")
        steps.append(step)
        done.append(step)
        node = node[step]
    if isinstance(node, (dict, list, tuple)):
        kind = "a mapping" if isinstance(node, dict) else "a list"
        fields = f" one of its fields: {', '.join(node)}" if isinstance(node, dict) else " one entry, e.g. [0]"
        raise ProblemError(f"'{path}' is {kind}, not a single value", where="--vary", fix=f"vary{fields}")
    return FieldPath(path, tuple(steps), node)


def set_values(data: dict, assignments: list[tuple[FieldPath, object]]) -> dict:
    """A deep copy of `data` with each path's leaf set (clearing the leaf's alternative field, if any)."""
    out = copy.deepcopy(data)
    for fp, value in assignments:
        node = out
        for step in fp.steps[:-1]:
            node = node[step]
        leaf = fp.steps[-1]
        node[leaf] = value
        other = ALTERNATIVES.get(leaf) if isinstance(leaf, str) else None
        if other and other in node and value is not None:
            node[other] = None
    return out


def scenario_problem(data: dict, assignments: list[tuple[FieldPath, object]], source: str) -> Problem:
    """The problem with the assignments applied, validated like a problem file (ProblemError when invalid)."""
    return parse_problem(set_values(data, assignments), source)
