"""Models defined inline in a problem (`models:`): schema, defaults, name clashes, and that they plan exactly
like the catalog row they mirror. Encoder estimates carry their measured correction and say "uncalibrated"."""

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.catalog.inline import to_model_spec, with_problem_models
from optimizer.errors import ProblemError
from optimizer.perf.encoder import ENCODER_EFFICIENCY, MEASURED_SEQ_S
from optimizer.perf.estimate import estimate
from optimizer.planner import plan
from optimizer.problem import InlineModel, parse_problem

# Llama 3.1 8B's config.json fields (meta-llama/Llama-3.1-8B), under a fine-tune's name
LLAMA_8B_CONFIG = {"name": "acme-support-8b", "hf_id": "acme/support-8b", "num_hidden_layers": 32, "hidden_size": 4096,
                   "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
                   "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": False,
                   "torch_dtype": "bfloat16"}
# Mixtral 8x7B's config.json (mistralai/Mixtral-8x7B-v0.1): 46.7 B parameters, 12.9 B active (its model card)
MIXTRAL_CONFIG = {"name": "my-mixtral", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
                  "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
                  "max_position_embeddings": 32768, "num_local_experts": 8, "num_experts_per_tok": 2}


def problem(models, workload_models=("acme-support-8b",)):
    return parse_problem({"name": "inline", "models": models, "workloads": [
        {"name": "chat", "models": list(workload_models), "requests_per_month": 3_000_000, "peak_to_average": 3,
         "input_tokens": 500, "output_tokens": 200, "precisions": ["fp16"]}]}, "inline.yaml")


def test_config_json_names_and_defaults():
    m = InlineModel.model_validate(LLAMA_8B_CONFIG)
    assert (m.layers, m.attention_heads, m.kv_heads, m.max_context, m.dtype) == (32, 32, 8, 131072, "bfloat16")
    spec = to_model_spec(m)
    assert spec.params_b == pytest.approx(8.03, abs=0.005)  # the model card's 8.03 B, from the architecture alone
    assert spec.active_params_b == spec.params_b and spec.head_dim == 128
    assert "computed from the architecture" in spec.source


def test_moe_parameters_from_architecture():
    spec = to_model_spec(InlineModel.model_validate(MIXTRAL_CONFIG))
    assert spec.params_b == pytest.approx(46.7, abs=0.05)
    assert spec.active_params_b == pytest.approx(12.9, abs=0.05)
    assert spec.kv_heads == 8 and spec.moe_experts == 8 and spec.moe_active_experts == 2


def test_mha_default_and_given_params():
    m = InlineModel.model_validate({**LLAMA_8B_CONFIG, "num_key_value_heads": None, "params_b": 8.5})
    spec = to_model_spec(m)
    assert spec.kv_heads == 32 and spec.params_b == 8.5 and "computed" not in spec.source


@pytest.mark.parametrize("bad, msg", [
    ({"layers": 32}, "not both"),
    ({"num_local_experts": 8}, "both moe_experts and moe_active_experts"),
    ({"num_key_value_heads": 5}, "not a multiple of kv_heads"),
    ({"rope_theta": 5e5}, "unknown field"),
])
def test_bad_inline_models_name_the_field(bad, msg):
    with pytest.raises(ProblemError, match=msg) as e:
        problem([{**LLAMA_8B_CONFIG, **bad}])
    assert "models[0]" in str(e.value)


def test_inline_model_plans_like_the_catalog_row_it_mirrors(default_catalog):
    """Same architecture as the catalog's llama-3.1-8b: the same plan cost, the inline name in the plan."""
    inline = plan(problem([LLAMA_8B_CONFIG]), default_catalog)
    catalog = plan(problem([], ["llama-3.1-8b"]), default_catalog)
    assert inline.monthly_cost_usd == pytest.approx(catalog.monthly_cost_usd)
    assert {d.model for d in inline.deployments} == {"acme-support-8b"}
    assert {d.hf_id for d in inline.deployments} == {"acme/support-8b"}


@pytest.mark.parametrize("clash", [{"name": "llama-3.1-8b"}, {"hf_id": "meta-llama/Llama-3.1-8B-Instruct"},
                                   {"aliases": ["Llama 3.1 8B"]}])
def test_name_clash_with_catalog_is_an_error(default_catalog, clash):
    p = problem([{**LLAMA_8B_CONFIG, **clash}], [clash.get("name", "acme-support-8b")])
    with pytest.raises(ProblemError, match="names catalog model 'llama-3.1-8b'") as e:
        with_problem_models(default_catalog, p, "inline.yaml")
    assert "models[0]" in str(e.value) and "rename" in str(e.value)


def test_duplicate_inline_names():
    with pytest.raises(ProblemError, match="unique"):
        problem([LLAMA_8B_CONFIG, LLAMA_8B_CONFIG])


def test_estimate_cli_reads_inline_models(tmp_path):
    import yaml
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump({"models": [LLAMA_8B_CONFIG], "workloads": [
        {"name": "chat", "models": ["acme-support-8b"], "requests_per_month": 1000, "peak_to_average": 2,
         "input_tokens": 100, "output_tokens": 100}]}))
    r = CliRunner().invoke(main, ["estimate", "--problem", str(f), "--model", "acme-support-8b", "--gpu", "H100",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    r2 = CliRunner().invoke(main, ["estimate", "--model", "acme-support-8b", "--gpu", "H100"])
    assert r2.exit_code == 2 and "unknown model" in r2.output


def test_encoder_correction_reproduces_its_measurement(default_catalog):
    """The one published encoder row (bge-large on an L4, TEI 0.6: 138.24 sequences/s of 449 tokens) is what the
    corrected model gives; the estimate says the figure is uncalibrated."""
    e = estimate(default_catalog, "bge-large-en-v1.5", "L4", isl=449, osl=0, engine="tgi")  # TEI: the HF server
    assert e.requests_per_s == pytest.approx(MEASURED_SEQ_S, rel=0.01)
    assert 0.5 < ENCODER_EFFICIENCY < 0.9
    assert any(n.startswith("uncalibrated") for n in e.notes)
    d = estimate(default_catalog, "llama-3.1-8b", "L4", isl=449, osl=100)
    assert not any(n.startswith("uncalibrated") for n in d.notes)


def test_plan_warns_when_an_encoder_capacity_is_uncalibrated(default_catalog):
    from optimizer.problem import load_problem
    from pathlib import Path
    p = plan(load_problem(Path(__file__).resolve().parents[1] / "problems" / "portfolio.yaml"), default_catalog)
    assert any(d.model == "bge-large-en-v1.5" and d.share for d in p.deployments)
    assert any(w.startswith("bge-large-en-v1.5: uncalibrated") for w in p.warnings)
