"""Qwen2-VL and Qwen2.5-VL specifics, on the tiny instances: ChatML, image tokens, 3-D positions, LoRA targets."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.base import append_answers
from unsafe_vlm.backbones.lora import LoraSettings, add_lora
from unsafe_vlm.backbones.qwen2_vl import Qwen2VLBackbone
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

TEXT_LAYER_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture(scope="module", params=["tiny_qwen2_vl", "tiny_qwen2_5_vl"])
def backbone(request) -> Qwen2VLBackbone:
    return build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / f"{request.param}.yaml"))).eval()


def _picture(height: int = 40, width: int = 48) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def test_prompt_is_chatml_with_the_image_expanded_between_vision_marks(backbone):
    inputs = backbone.encode(["Is it safe?"], [_picture()])
    grid = inputs["image_grid_thw"][0]
    image_tokens = int(grid.prod()) // 4  # 2x2 patches merge into one token
    assert image_tokens > 1
    text = backbone.tokenizer.decode(inputs["input_ids"][0])
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|>" + "<|image_pad|>" * image_tokens + "<|vision_end|>Is it safe?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_an_answer_turn_renders_as_prompt_answer_end_of_turn(backbone):
    conversation = backbone.message("Q?", has_image=True) + [
        {"role": "assistant", "content": [{"type": "text", "text": "No."}]}
    ]
    rendered = backbone.processor.apply_chat_template(conversation, tokenize=False)
    prompt = backbone.prompt_text("Q?", has_image=True)
    assert rendered == prompt + backbone.answer_prefix + "No." + backbone.end_of_turn + "\n"


def test_generation_stops_on_end_of_turn_and_end_of_text(backbone):
    ids = backbone.tokenizer.convert_tokens_to_ids
    assert backbone.stop_token_ids == sorted([ids("<|im_end|>"), ids("<|endoftext|>")])


def test_lora_targets_every_text_layer_and_nothing_in_the_vision_tower(backbone):
    pattern = re.compile(backbone.lora_target_modules)
    names = [name for name, _ in backbone.model.named_modules()]
    matched = {name for name in names if pattern.fullmatch(name)}
    assert not [n for n in matched if ".visual." in n or "lm_head" in n or "embed" in n]
    layers = backbone.model.config.text_config.num_hidden_layers
    for layer in range(layers):
        prefix = f"model.language_model.layers.{layer}."
        for linear in TEXT_LAYER_LINEARS:
            group = "self_attn" if linear.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else "mlp"
            assert f"{prefix}{group}.{linear}" in matched
    assert len(matched) == layers * len(TEXT_LAYER_LINEARS)


def test_peft_wraps_exactly_the_matched_layers(backbone):
    import copy

    fresh = Qwen2VLBackbone(copy.deepcopy(backbone.model), backbone.processor)
    add_lora(fresh, LoraSettings(r=2, alpha=4, dropout=0.0, target_modules=None))
    wrapped = [name for name, module in fresh.model.named_modules() if hasattr(module, "lora_A")]
    layers = backbone.model.config.text_config.num_hidden_layers
    assert len(wrapped) == layers * len(TEXT_LAYER_LINEARS)
    assert not [n for n in wrapped if ".visual." in n]


def test_cached_generation_scores_match_one_forward_pass(backbone):
    """Rows with images of different sizes and different left padding: the 3-D positions that
    generation carries forward step by step must equal those one pass over prompt+answer computes."""
    images = [_picture(40, 48), None, _picture(90, 30)]
    questions = ["Is it safe?", "If an image shows a cat, is it safe to post?", "Which? A: cat B: dog"]
    prompts = backbone.encode(questions, images)
    assert len(set(prompts["attention_mask"].sum(-1).tolist())) == 3, "rows must be padded differently"
    generated = backbone.model.generate(
        **backbone.model_kwargs(prompts),
        max_new_tokens=6,
        do_sample=False,
        eos_token_id=[],  # never stop: every row scores all six steps
        pad_token_id=backbone.tokenizer.pad_token_id,
        temperature=None,
        top_p=None,
        top_k=None,
        output_logits=True,
        return_dict_in_generate=True,
    )
    answers = generated.sequences[:, prompts["prompt_length"] :].tolist()
    scored = append_answers(prompts, answers, pad_token_id=backbone.tokenizer.pad_token_id)
    with torch.no_grad():
        outputs = backbone(scored)
    torch.testing.assert_close(torch.stack(generated.logits, dim=1), outputs.logits, atol=1e-5, rtol=1e-5)


def test_image_tokens_are_marked_over_prompt_and_answer(backbone):
    inputs = backbone.encode(["Is it safe?"], [None], ["No."])
    token_types = backbone.model_kwargs(inputs)["mm_token_type_ids"]
    assert token_types.shape == inputs["input_ids"].shape
    image_token_id = backbone.model.config.image_token_id
    assert torch.equal(token_types == 1, inputs["input_ids"] == image_token_id)
    assert not token_types[:, inputs["prompt_length"] :].any()


@pytest.mark.slow
def test_loads_a_checkpoint_laid_out_like_the_hub(backbone, tmp_path):
    """The hub checkpoints keep the image processor in preprocessor_config.json and the chat
    template in chat_template.json, and name the stock processor, which needs torchvision."""
    backbone.save_pretrained(tmp_path)
    processor_config = json.loads((tmp_path / "processor_config.json").read_text())
    image_config = processor_config["image_processor"]
    size = image_config.pop("size")
    image_config.update(
        min_pixels=size["shortest_edge"], max_pixels=size["longest_edge"], processor_class="Qwen2VLProcessor"
    )
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(image_config))
    (tmp_path / "processor_config.json").unlink()
    template = tmp_path / "chat_template.jinja"
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": template.read_text()}))
    template.unlink()

    loaded = Qwen2VLBackbone.from_pretrained(tmp_path, blank_image_size=backbone.blank_image_size)
    inputs = backbone.encode(["Is it safe?"], [_picture()], ["No."])
    again = loaded.encode(["Is it safe?"], [_picture()], ["No."])
    assert torch.equal(inputs["input_ids"], again["input_ids"])
    torch.testing.assert_close(inputs["pixel_values"], again["pixel_values"])
    with torch.no_grad():
        torch.testing.assert_close(loaded.answer_logprobs(again), backbone.answer_logprobs(inputs))
