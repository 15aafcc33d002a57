"""Request classes: the Melange-style known answer (a fractional split of one class across two GPU types), brute
force on random two-GPU instances, LP <= MILP, per-class context limits, measured entries per class, and the
single-GPU-type comparison."""

import itertools
import math

import numpy as np
import pytest
from helpers import GPU, offer, write_catalog

from optimizer.catalog import load_catalog
from optimizer.classes import expand_classes
from optimizer.errors import ProblemError
from optimizer.model.formulation import build_model
from optimizer.model.solve import solve
from optimizer.pipeline import solve_problem
from optimizer.planner import SolveOptions, plan
from optimizer.problem import parse_problem

H = 730.0
GPU_B = {**GPU, "name": "TESTGPU2", "aliases": "TG2", "notes": "synthetic second GPU type"}


def two_gpu_catalog(tmp_path, price_a=1.0, price_b=2.5, apis=()):
    # one 1-GPU on-demand offer per GPU type, same cloud; no spot, no caps
    a = offer("clouda:us-a:gpu-a", "clouda", "us-a", "us", 1, price_a)
    b = {**offer("clouda:us-a:gpu-b", "clouda", "us-a", "us", 1, price_b), "gpu": "TESTGPU2"}
    return load_catalog(write_catalog(tmp_path / "cat", offers=[a, b], apis=list(apis), gpus=[GPU, GPU_B]))


def class_problem(lams, caps, **wl):
    """Two or more classes (peak req/s lams[k]) on tiny-8b; caps[(k, gpu)] = measured req/s per replica."""
    peak = sum(lams)
    classes = [{"name": f"k{k}", "share": lam / peak, "input_tokens": 100 * (k + 1) ** 3, "output_tokens": 50}
               for k, lam in enumerate(lams)]
    w = {"name": "w", "models": ["tiny-8b"], "requests_per_month": 1_000_000, "peak_rps": peak,
         "classes": classes, "precisions": ["fp16"], **wl}
    measured = [{"workload": "w", "class": f"k{k}", "model": "tiny-8b", "gpu": g, "precision": "fp16",
                 "requests_per_s": c} for (k, g), c in caps.items()]
    return {"workloads": [w], "measured": measured, "policy": {"max_utilization": 1.0}}


MELANGE = class_problem([32.0, 15.0], {(0, "TESTGPU"): 10.0, (1, "TESTGPU"): 2.5,
                                       (0, "TESTGPU2"): 15.0, (1, "TESTGPU2"): 10.0})


def test_melange_known_answer_needs_a_fractional_split(tmp_path, solver):
    # Short class k0: 32 req/s; long class k1: 15 req/s. GPU A ($1/h): 10 short or 2.5 long per instance;
    # GPU B ($2.4/h): 15 short or 10 long. Long suits B (10 vs 2.5 per instance; $0.24 vs $0.40 per req/s):
    # 1.5 B instances, so 2 are bought and half a B instance is left: it takes 7.5 short req/s, and the other
    # 24.5 short req/s need 3 A instances (30 req/s). Cost (3 x $1 + 2 x $2.4) x 730 = $5,694/month.
    # Every other count costs more per hour: 4 A + 2 B $8.80; 1 A + 3 B $8.20 (B carries 22 short + 15 long =
    # 2.97); 2 A + 3 B $9.20; 6 A + 1 B $8.40 (5 long req/s on A need 2 A, short 3.2 A); A alone 10 A $10.00
    # (3.2 + 6); B alone 4 B $9.60 (2.13 + 1.5).
    p = plan(parse_problem(MELANGE, "t.yaml"), two_gpu_catalog(tmp_path, 1.0, 2.4), SolveOptions(solver=solver))
    assert p.status == "optimal"
    assert p.monthly_cost_usd == pytest.approx(7.8 * H)
    inst = {d.gpu: d.instances for d in p.deployments}
    assert inst == {"TESTGPU": 3, "TESTGPU2": 2}
    # with 3 A and 2 B instances the short class fits on neither type alone (3.2 A or 2.13 B instances): every
    # optimum splits it; A can take at most 30 of its 32 req/s
    short = {d.gpu: d.share for d in p.deployments if d.workload == "w/k0"}
    assert set(short) == {"TESTGPU", "TESTGPU2"} and sum(short.values()) == pytest.approx(1.0)
    assert short["TESTGPU2"] >= 2.0 / 32 - 1e-6
    # recomputed from the plan's lines: each pool's load (in instances) is within its instances
    for gpu, n in inst.items():
        load = sum(d.load_rps / (d.capacity_rps / d.instances) for d in p.deployments if d.gpu == gpu)
        assert load <= n + 1e-6
    mix = p.extras["class_mix"]
    assert mix["single_gpu_type"] == "TESTGPU2" and mix["single_gpu_monthly_cost_usd"] == pytest.approx(
        math.ceil(32 / 15 + 15 / 10) * 2.4 * H)  # 4 B instances = $7,008/month
    assert mix["mix_saves_usd"] == pytest.approx((9.6 - 7.8) * H)
    assert [c["workload"] for c in p.extras["classes"]["w"]] == ["w/k0", "w/k1"]


def test_lp_relaxation_is_below_the_milp(tmp_path):
    prob = expand_classes(parse_problem(MELANGE, "t.yaml"))
    cat = two_gpu_catalog(tmp_path, 1.0, 2.4)
    cands, model, res = solve_problem(prob, cat)
    lp = build_model(prob, cands, integer=False)
    r = solve(lp.prob, "highs")
    # LP: short on A ($0.10/h per req/s against $0.16 on B), long on B ($0.24 against $0.40): 3.2 A + 1.5 B
    assert r.objective == pytest.approx((3.2 * 1.0 + 1.5 * 2.4) * H) and r.objective <= res.objective - 1


def _brute_force(lams, caps, pa, pb):
    """Cheapest (n_A, n_B): for each pair, the fractional assignment that leaves the least load for B is greedy by
    capA/capB (fractional knapsack), so feasibility is exact."""
    k = len(lams)
    need_a = [lams[c] / caps[(c, "TESTGPU")] for c in range(k)]
    need_b = [lams[c] / caps[(c, "TESTGPU2")] for c in range(k)]
    order = sorted(range(k), key=lambda c: -caps[(c, "TESTGPU")] / caps[(c, "TESTGPU2")])
    best = None
    for na, nb in itertools.product(range(0, math.ceil(sum(need_a)) + 1), range(0, math.ceil(sum(need_b)) + 1)):
        room, left_b = float(na), 0.0
        for c in order:
            f = min(1.0, room / need_a[c]) if need_a[c] > 0 else 1.0
            room -= f * need_a[c]
            left_b += (1 - f) * need_b[c]
        if left_b <= nb + 1e-9:
            cost = (na * pa + nb * pb) * H
            best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_random_two_gpu_class_instances_match_brute_force(tmp_path, seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 4))
    lams = [float(round(rng.uniform(2, 30), 2)) for _ in range(k)]
    caps = {(c, g): float(round(rng.uniform(1, 15), 2)) for c in range(k) for g in ("TESTGPU", "TESTGPU2")}
    pa, pb = float(round(rng.uniform(0.5, 2), 2)), float(round(rng.uniform(0.5, 3), 2))
    cat = two_gpu_catalog(tmp_path, pa, pb)
    got = plan(parse_problem(class_problem(lams, caps), "t.yaml"), cat)
    assert got.monthly_cost_usd == pytest.approx(_brute_force(lams, caps, pa, pb), abs=0.02)


def test_context_limit_applies_per_class(tmp_path):
    from helpers import api
    short_api = {**api("apix/tiny-8b", "apix", "global", 1.0, 2.0), "max_context": 2000}
    cat = two_gpu_catalog(tmp_path, apis=[short_api])
    # k0: 100 in + 50 out fits the API's 2,000-token context; k1: 800 + 50 fits; k2: 2,700 + 50 does not
    # each class needs a whole instance ($730/month or more); the API costs well under $1,000/month per class
    p = class_problem([1.0, 1.0, 1.0], {(c, g): 1.0 for c in range(3) for g in ("TESTGPU", "TESTGPU2")},
                      apis=["tiny-8b"])
    got = plan(parse_problem(p, "t.yaml"), cat)
    api_classes = {a.workload for a in got.api}
    assert api_classes == {"w/k0", "w/k1"}
    assert {d.workload for d in got.deployments} == {"w/k2"}
    assert got.candidates["excluded"]["w/k2"]["context_length"] == 1


def test_measured_entries_name_their_class():
    bad = class_problem([1.0, 1.0], {(0, "TESTGPU"): 10.0})
    bad["measured"][0].pop("class")
    with pytest.raises(ProblemError, match="must name its class"):
        parse_problem(bad, "t.yaml")
    bad["measured"][0]["class"] = "k9"
    with pytest.raises(ProblemError, match="class 'k9'"):
        parse_problem(bad, "t.yaml")


def test_class_shares_must_add_up_and_defaults_fill_in():
    p = class_problem([1.0, 3.0], {})
    w = parse_problem(p, "t.yaml").serving[0]
    assert (w.input_tokens, w.output_tokens) == (round(0.25 * 100 + 0.75 * 800), 50)  # share-weighted means
    p["workloads"][0]["classes"][0]["share"] = 0.5
    with pytest.raises(ProblemError, match="add up to"):
        parse_problem(p, "t.yaml")


def test_expansion_splits_volume_and_peak():
    prob = parse_problem(MELANGE, "t.yaml")
    ex = expand_classes(prob)
    assert [w.name for w in ex.workloads] == ["w/k0", "w/k1"]
    assert [round(w.peak, 9) for w in ex.serving] == [32.0, 15.0]
    assert sum(w.requests_per_month for w in ex.serving) == pytest.approx(1_000_000)
    assert {m.workload for m in ex.measured} == {"w/k0", "w/k1"} and expand_classes(ex) == ex


def test_report_shows_classes_and_what_the_mix_saves(tmp_path):
    from optimizer.render.markdown import to_markdown
    from optimizer.render.table import to_table
    p = plan(parse_problem(MELANGE, "t.yaml"), two_gpu_catalog(tmp_path, 1.0, 2.4))
    text = to_table(p)
    assert "w class k0: 68.1% of requests" in text
    assert "best single GPU type: TESTGPU2 ($7,008.00); the mix saves $1,314.00 (18.8%)" in text
    assert "## Request classes" in to_markdown(p)


def test_from_trace_merges_classes_into_a_problem(tmp_path):
    from click.testing import CliRunner

    from optimizer.cli import main
    from optimizer.problem import load_problem
    prob = tmp_path / "p.yaml"
    prob.write_text("workloads:\n  - name: chat\n    models: [llama-3.1-8b]\n    requests_per_month: 1000\n"
                    "    peak_rps: 5\n    input_tokens: 10\n    output_tokens: 10\n")
    trace = "catalogs/_sources/traces/AzureLLMInferenceTrace_conv.csv.gz"
    out = tmp_path / "merged.yaml"
    r = CliRunner().invoke(main, ["workload", "from-trace", trace, "--classes", "3", "--scale-to", "20000000",
                                  "--into", str(prob), "-o", str(out)])
    assert r.exit_code == 0, r.output
    w = load_problem(out).serving[0]
    assert w.requests_per_month == 20_000_000 and w.peak_rps is None and len(w.classes) == 3
    assert w.input_tokens == 1155 and w.classes[0].center is not None
