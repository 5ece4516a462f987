"""Idefics3 (SmolVLM) specifics, on the tiny instance: image expansion, chat format, LoRA targets."""

from __future__ import annotations

import re

import pytest
from helpers.tiny_models import tiny_sizes
from omegaconf import OmegaConf

from unsafe_vlm.backbones.auto import AutoBackbone
from unsafe_vlm.backbones.lora import LoraSettings, add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

TEXT_LAYER_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture(scope="module")
def backbone() -> AutoBackbone:
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / "tiny_idefics3.yaml"))).eval()


def test_prompt_expands_the_image_into_a_global_block(backbone):
    inputs = backbone.encode(["Is it safe?"], [None])
    tokens = backbone.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    image_seq_len = backbone.model.model.image_seq_len
    assert backbone.processor.image_seq_len == image_seq_len
    block = ["<fake_token_around_image>", "<global-img>"] + ["<image>"] * image_seq_len + ["<fake_token_around_image>"]
    starts = [i for i, token in enumerate(tokens) if token == "<fake_token_around_image>"]
    assert tokens[starts[0] : starts[0] + len(block)] == block
    assert tokens.count("<image>") == image_seq_len
    # image splitting is off: one global view per prompt, no <row_i_col_j> tiles
    assert inputs["pixel_values"].shape[:2] == (1, 1)
    assert not any(token.startswith("<row_") for token in tokens)


def test_chat_format_matches_smolvlm(backbone):
    assert backbone.prompt_text("Q?", has_image=True) == "<|im_start|>User:<image>Q?<end_of_utterance>\nAssistant:"
    assert backbone.prompt_text("Q?", has_image=False) == "<|im_start|>User: Q?<end_of_utterance>\nAssistant:"
    conversation = backbone.message("Q?", has_image=True) + [
        {"role": "assistant", "content": [{"type": "text", "text": "No."}]}
    ]
    rendered = backbone.processor.apply_chat_template(conversation, tokenize=False)
    prompt = backbone.prompt_text("Q?", has_image=True)
    assert rendered == prompt + backbone.answer_prefix + "No." + backbone.end_of_turn + "\n"


def test_processor_images_are_one_list_per_prompt(backbone):
    blank = backbone.blank_image()
    assert backbone.processor_images([blank, blank]) == [[blank], [blank]]


def test_lora_targets_only_the_text_model(backbone):
    pattern = re.compile(backbone.lora_target_modules)
    names = [name for name, _ in backbone.model.named_modules()]
    matched = [name for name in names if pattern.fullmatch(name)]
    assert not [n for n in matched if "vision_model" in n or "connector" in n or "lm_head" in n]
    layers = backbone.model.config.text_config.num_hidden_layers
    for layer in range(layers):
        prefix = f"model.text_model.layers.{layer}."
        found = {name.rsplit(".", 1)[-1] for name in matched if name.startswith(prefix)}
        assert found >= set(TEXT_LAYER_LINEARS), (layer, found)
    # the vision tower's own q/k/v projections exist, and stay out
    assert any(n.startswith("model.vision_model.") and n.endswith(".q_proj") for n in names)


def test_peft_wraps_exactly_the_text_model_linears():
    fresh = AutoBackbone.build_tiny(tiny_sizes("tiny_idefics3"))
    add_lora(fresh, LoraSettings(r=2, alpha=4, dropout=0.0, target_modules=None))
    wrapped = {name for name, module in fresh.model.named_modules() if hasattr(module, "lora_A")}
    layers = fresh.model.config.text_config.num_hidden_layers
    assert len(wrapped) == layers * len(TEXT_LAYER_LINEARS)
    assert all(".text_model.layers." in name for name in wrapped)


def test_tiny_sizes_must_fit_the_pixel_shuffle():
    with pytest.raises(ValueError, match="scale_factor"):
        AutoBackbone.build_tiny(tiny_sizes("tiny_idefics3", image_size=24, patch_size=8, scale_factor=2))
