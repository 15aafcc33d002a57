"""Exact fingerprints of candidates and models, to show that a faster build gives the same result.

`tests/fixtures/build_digests.json` holds the fingerprints recorded from the code before the candidate and model
build were made faster (regenerate only for an intended change of results: `python tests/digests.py`, or from another checkout's code with
`DIGESTS_CODE=<checkout> python tests/digests.py`).
A fingerprint records every float by its repr, so any change in a capacity, a coefficient, a bound, a name or
the order of rows and entries shows."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "build_digests.json"
PROBLEMS = ["portfolio", "eu_only", "seed_chatbot_8m", "seed_chatbot_8m_rent_vs_buy", "seed_budget",
            "seed_breakeven", "seed_exercise_33_5_2", "cost_techniques", "portfolio_daily", "trace_conv"]
LARGE = (6, 10)  # bench/large_problem.py sizes (failover, spot cap, five jurisdiction sets)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def candidates_digest(c) -> dict:
    """Pool ids in order with every capacity (repr), pruned count, eligible lists and exclusion counts."""
    pools = [(p.id, sorted((w, repr(k)) for w, k in p.capacity.items())) for p in c.pools]
    return {"pools": len(pools), "pools_sha": _sha(repr(pools)), "pruned": c.pruned,
            "eligible": _sha(repr(sorted(c.eligible.items()))),
            "excluded": {w: list(map(list, cnt.items())) for w, cnt in c.excluded.items()},  # in order: plans show it
            "why_not": _sha(repr([(k, list(v.items())) for k, v in c.why_not.items()]))}


def model_digest(m) -> dict:
    """Per constraint family: a hash of its rows in order (name, sense, constant, entries in order); the
    variables (name, bounds, type) and the objective."""
    fam: dict[str, list] = {}
    by_id = {id(con): key for key, con in m.registry.items()}
    for con in m.prob.constraints():
        name = con.name
        key = by_id.get(id(con), ("unregistered", name))
        fam.setdefault(key[0], []).append(repr((name, repr(key[1]), con.sense, repr(con.constant),
                                                [(v.name, repr(a)) for v, a in con.items()])))
    out = {f: _sha("\n".join(rows)) for f, rows in sorted(fam.items())}
    out["variables"] = _sha("\n".join(repr((v.name, v.lowBound, v.upBound, v.cat)) for v in m.prob.variables()))
    obj = m.prob.objective
    out["objective"] = _sha(repr((repr(obj.constant), [(v.name, repr(a)) for v, a in obj.items()])))
    return out


def highs_digest(lp) -> str:
    """A hash of the HiGHS LP handed over: costs, bounds, row bounds, the row-wise matrix and integrality."""
    import numpy as np
    h = hashlib.sha256()
    for arr in (lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_):
        h.update(np.asarray(arr, dtype=float).tobytes())
    for arr in (lp.a_matrix_.start_, lp.a_matrix_.index_):
        h.update(np.asarray(arr, dtype=np.int64).tobytes())
    h.update(np.asarray(lp.a_matrix_.value_, dtype=float).tobytes())
    h.update(repr([int(t) for t in lp.integrality_]).encode())
    return h.hexdigest()


def cases():
    """(name, problem) of every fingerprinted case."""
    sys.path.insert(0, str(ROOT / "bench"))
    from large_problem import large_problem

    from optimizer.problem import Problem, load_problem
    for name in PROBLEMS:
        yield name, load_problem(ROOT / "problems" / f"{name}.yaml")
    for n in LARGE:
        yield f"large{n}", Problem.model_validate(large_problem(n=n))


def digests(name: str, problem) -> dict:
    from optimizer.candidates import build_candidates
    from optimizer.catalog import load_catalog
    from optimizer.model.formulation import build_model
    from optimizer.model.solve import highs_model

    cat = load_catalog(ROOT / "catalogs" / "2026-12-03")
    c = build_candidates(problem, cat)
    m = build_model(problem, c)
    out = {"candidates": candidates_digest(c), "model": model_digest(m), "highs": highs_digest(highs_model(m.prob)[0])}
    if problem.policy.failover is not None:  # elastic: the slacks of the failover rows
        out["elastic"] = model_digest(build_model(problem, c, elastic=True))
    return out


if __name__ == "__main__":
    os.environ.setdefault("LLMPLAN_TODAY", "2026-12-03")
    sys.path.insert(0, os.environ.get("DIGESTS_CODE", str(ROOT)))  # a checkout of the code to record from
    out = {name: digests(name, p) for name, p in cases()}
    FIXTURE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE} ({len(out)} cases)", file=sys.stderr)
