"""The memory estimator against a case worked by hand, and the shapes against the 7B models' known sizes."""

from __future__ import annotations

from bench.memory_model import (
    LLAVA15_7B,
    QWEN25_VL_7B,
    ModelShape,
    Setup,
    Sizes,
    TextShape,
    estimate,
    layer_activation_bytes,
)
from memory_estimate import table

# hidden 8, MLP 16, 2 layers, 2 heads sharing 1 key-value head (kv width 4), vocabulary 10
TEXT = TextShape(hidden=8, intermediate=16, layers=2, heads=2, kv_heads=1, vocab=10)
MODEL = ModelShape("toy", "by hand", TEXT, vision_parameters=100, image_tokens=4, text_tokens=1)
SIZES = Sizes(lora_rank=2, answer_tokens=3, rollout=2, minibatch=1, batch=1)


def test_parameters_and_lora_parameters_are_counted_layer_by_layer():
    # a layer: q 64 + k 32 + v 32 + o 64 + MLP 3 x 128 + two norms 16 = 592; embeddings and output 2 x 80; norm 8
    assert TEXT.parameters() == 2 * 592 + 160 + 8
    # r x (in + out): q 16, k 12, v 12, o 16, gate 24, up 24, down 24 = 128 per unit of rank and layer
    assert TEXT.lora_parameters(rank=2) == 2 * 2 * 128


def test_one_layer_keeps_norms_attention_mlp_and_each_lora_branch_per_token():
    # norms 2 x 16, q k v 32 + output 16, MLP 3 x 32, six branches reading 8 (16 + mask 8 + A's output 4),
    # one reading 16 (32 + 16 + 4)
    assert layer_activation_bytes(TEXT, rank=2, dropout=True) == 32 + 48 + 96 + 6 * 28 + 52
    assert layer_activation_bytes(TEXT, rank=2, dropout=False) == 32 + 48 + 96 + 6 * 20 + 36


def test_sft_peak_is_weights_adapters_and_one_pass_of_activations_and_logits():
    plain = estimate(MODEL, Setup("SFT", "sft"), SIZES, checkpointing=False)
    assert plain.weights == (1352 + 100) * 2
    assert plain.adapters == 512 * 16  # fp32 weight, gradient and two AdamW moments
    # autocast's bf16 adapters 1024; 8 tokens x 2 layers x 396; 4 logit positions x 10 x (2 + 4 + 4)
    assert plain.phases == {"update": 1024 + 8 * 2 * 396 + 400}
    assert plain.peak == 2904 + 8192 + 7760
    checkpointed = estimate(MODEL, Setup("SFT", "sft"), SIZES, checkpointing=True)
    # each layer keeps its input (16 bytes a token), and one layer is recomputed at a time
    assert checkpointed.phases == {"update": 1024 + 8 * (2 * 16 + 396) + 400}


def test_grpo_phases_are_generation_rollout_passes_and_the_update():
    result = estimate(MODEL, Setup("GRPO", "grpo"), SIZES, checkpointing=False)
    working = 2 * (16 + 8 + 48)  # q, output, k, v, gate, up, product per token
    assert result.phases == {
        # keys and values: 2 x 2 layers x 4 x 2 bytes x 2 rows x 8 tokens; prefill of 5 tokens; last logits
        "generation": 512 + 2 * 5 * working + 2 * 10 * 4,
        "rollout passes": 2 * 8 * working + 2 * 40 * 10,
        # the entropy adds two float tensors to the logits
        "update": 1024 + 8 * 2 * 396 + 40 * 18,
    }
    assert result.peak_phase == "update"


def test_a_separate_value_adapter_doubles_the_adapters_and_adds_a_pass_without_logits():
    shared = estimate(MODEL, Setup("shared", "ppo"), SIZES, checkpointing=False)
    separate = estimate(MODEL, Setup("separate", "ppo", adapters=2, grad_passes=2), SIZES, checkpointing=False)
    assert separate.adapters == 2 * shared.adapters
    assert separate.phases["update"] - shared.phases["update"] == 1024 + 8 * 2 * 396


def test_the_7b_shapes_have_the_published_parameter_counts():
    assert round(LLAVA15_7B.parameters() / 1e9, 2) == 7.06  # llava-hf/llava-1.5-7b-hf: 7,063,427,072
    assert round(QWEN25_VL_7B.parameters() / 1e9, 2) == 8.29  # Qwen2.5-VL-7B-Instruct: 8,292,166,656
    assert LLAVA15_7B.image_tokens == (336 // 14) ** 2


def test_checkpointing_lowers_every_7b_peak_and_the_table_has_a_row_per_set_up():
    text = table("llava15_7b", capacity_gib=74.5)
    assert len(text.splitlines()) == 2 + 6
    assert "PPO, separate value adapter" in text
    for setup in (Setup("SFT", "sft"), Setup("DPO", "dpo"), Setup("GRPO", "grpo")):
        plain = estimate(LLAVA15_7B, setup, checkpointing=False)
        assert estimate(LLAVA15_7B, setup, checkpointing=True).peak < plain.peak
