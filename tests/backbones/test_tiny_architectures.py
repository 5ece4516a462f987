"""Each tiny architecture renders its family's published prompt and builds the same model every time."""

from __future__ import annotations

import importlib

import pytest
import torch
from omegaconf import OmegaConf

from unsafe_vlm.paths import CONF_DIR

QUESTION = "Is this image safe?"
ANSWER = "No, it is unsafe."

# The generation prompt of one user turn (an image, then the question) as each cited source writes it.
PUBLISHED_PROMPTS = {
    "llava_next": f"<s>[INST] <image>\n{QUESTION} [/INST]",
    "llava_onevision": f"<|im_start|>user <image>\n{QUESTION}<|im_end|><|im_start|>assistant\n",
    "qwen3_vl": (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{QUESTION}<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    "qwen3_5": (
        f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{QUESTION}<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    ),
    "gemma3": f"<bos><start_of_turn>user\n<start_of_image>{QUESTION}<end_of_turn>\n<start_of_turn>model\n",
    "gemma4": f"<bos><start_of_turn>user\n<|image|>\n{QUESTION}<end_of_turn>\n<start_of_turn>model\n",
    "internvl": f"<|im_start|>user\n<IMG_CONTEXT>\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n",
    "mllama": (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        f"<|image|>{QUESTION}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    # with GLM-4.5V's switch for enable_thinking=False
    "glm4v": (
        f"[gMASK]<sop><|user|>\n<|begin_of_image|><|image|><|end_of_image|>{QUESTION}<|assistant|>\n<think></think>\n"
    ),
}
# Mistral 3 as vLLM prompts it: the question, then the image.
MISTRAL3_PROMPT = f"<s>[INST]{QUESTION}\n[IMG][/INST]"
# What comes between the generation prompt and the answer in a rendered conversation, and what follows the
# answer: the turn's closing token ("" where the next turn's tag closes it).
ANSWER_ENDINGS = {
    "llava_next": (" ", "</s>"),
    "llava_onevision": ("", "<|im_end|>"),
    "qwen3_vl": ("", "<|im_end|>\n"),
    "gemma3": ("", "<end_of_turn>\n"),
    "gemma4": ("", "<end_of_turn>\n"),
    "internvl": ("", "<|im_end|>\n"),
    "mllama": ("", "<|eot_id|>"),
    "mistral3": ("", "</s>"),
    "glm4v": ("", ""),
    "qwen3_5": ("", "<|im_end|>\n"),
}


def _build(name: str):
    module = importlib.import_module(f"unsafe_vlm.backbones.tiny_architectures.{name}")
    sizes = module.Sizes.from_config(OmegaConf.load(CONF_DIR / "model" / f"tiny_{name}.yaml").tiny, "model.tiny")
    return module.build(sizes)


@pytest.fixture(scope="module", params=sorted({*PUBLISHED_PROMPTS, "mistral3"}))
def built(request):
    return request.param, *_build(request.param)


def _turn(text: str, *, image_first: bool = True) -> list[dict]:
    parts = [{"type": "image"}, {"type": "text", "text": text}]
    return [{"role": "user", "content": parts if image_first else parts[::-1]}]


def test_the_prompt_is_the_one_the_cited_source_publishes(built):
    name, _, processor = built
    if name == "mistral3":
        messages, expected = _turn(f"{QUESTION}\n", image_first=False), MISTRAL3_PROMPT
    else:
        messages, expected = _turn(QUESTION), PUBLISHED_PROMPTS[name]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, enable_thinking=False)
    assert prompt == expected


def test_an_answer_in_a_conversation_follows_the_prompt_and_ends_the_turn(built):
    name, _, processor = built
    prefix, ending = ANSWER_ENDINGS[name]
    messages = _turn(QUESTION)
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, enable_thinking=False)
    answered = [*messages, {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]}]
    conversation = processor.apply_chat_template(answered, tokenize=False, enable_thinking=False)
    if name == "llava_onevision":
        # as published: a past assistant turn opens "assistant \n", the generation prompt "assistant\n"
        prompt = prompt.removesuffix("assistant\n") + "assistant \n"
    assert conversation == prompt + prefix + ANSWER + ending


def test_every_marker_of_the_prompt_is_one_special_token(built):
    name, _, processor = built
    tokenizer = processor.tokenizer
    prompt = PUBLISHED_PROMPTS.get(name, MISTRAL3_PROMPT)
    special = set(tokenizer.all_special_tokens)
    markers = [token for token in special if token in prompt]
    assert markers, "the prompt has markers"
    for marker in markers:
        assert len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1, marker


def test_two_builds_are_the_same_model(built):
    name, model, _ = built
    again, _ = _build(name)
    first, second = model.state_dict(), again.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_internvl_rows_picked_from_a_batch_of_tiled_images_score_as_in_the_whole_batch():
    from PIL import Image

    from unsafe_vlm.backbones.registry import build_backbone, model_settings

    backbone = build_backbone(model_settings(OmegaConf.load(CONF_DIR / "model" / "tiny_internvl.yaml"))).eval()
    wide, square = Image.new("RGB", (64, 24), (200, 30, 30)), Image.new("RGB", (28, 28), (20, 90, 200))
    inputs = backbone.encode([QUESTION] * 3, [square, wide, square], [ANSWER, "Yes.", "No."])
    assert inputs["pixel_values"].shape[0] > 3, "the wide image is cut into tiles"
    rows = torch.tensor([1, 2])
    with torch.no_grad():
        whole = backbone.answer_logprobs(inputs)
        picked = backbone.answer_logprobs(backbone.select_rows(inputs, rows))
    torch.testing.assert_close(picked, whole[rows][:, : picked.shape[1]], atol=1e-5, rtol=0)
