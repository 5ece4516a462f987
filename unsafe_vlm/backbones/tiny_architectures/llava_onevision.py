"""A tiny random LLaVA-OneVision (llava-hf/llava-onevision-qwen2-7b-ov-hf): a Qwen2 text model, a
SigLIP tower and "anyres" images (the whole image plus its tiles on a grid of pinpoints, rows of
features closed by a newline embedding).

Chat template: the ChatML layout of the llava-onevision-hf checkpoints as transformers' processor
test writes it (huggingface/transformers@1a6e6ad97a7c5f6e196300a77ff1f6618a73155c:
tests/models/llava_onevision/test_processing_llava_onevision.py, ``prepare_processor_dict``):
``<|im_start|>user <image>\\n{question}<|im_end|><|im_start|>assistant\\n{answer}<|im_end|>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import (
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    LlavaOnevisionImageProcessorPil,
    LlavaOnevisionProcessor,
    PreTrainedModel,
    ProcessorMixin,
    SiglipVisionConfig,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import TinyVLMSizes, seeded_model, vision_tower_sizes
from unsafe_vlm.backbones.tiny_architectures.qwen_style import chatml_tokenizer, qwen2_text_config
from unsafe_vlm.settings import limit

CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ '\n' + content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
    "{{'<|im_end|>'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of conf/model/tiny_llava_onevision.yaml: Qwen2, SigLIP, and the tile grid."""

    architecture: Literal["llava_onevision"]
    num_kv_heads: int = limit(ge=1)
    grid: list[list[int]]  # the (height, width) pinpoints an image is fitted to before tiling


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = chatml_tokenizer(
        sizes.vocab_size,
        CHAT_TEMPLATE,
        more_special_tokens=["<image>", "<video>"],
        named_tokens={"image_token": "<image>", "video_token": "<video>"},
    )
    side = sizes.image_size
    image_processor = LlavaOnevisionImageProcessorPil(
        size={"height": side, "width": side}, image_grid_pinpoints=sizes.grid
    )
    processor = images_only(LlavaOnevisionProcessor)(
        image_processor=image_processor,
        tokenizer=tokenizer,
        num_image_tokens=(side // sizes.patch_size) ** 2,
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
    )
    text_config = qwen2_text_config(tokenizer, sizes)
    ids = tokenizer.convert_tokens_to_ids
    config = LlavaOnevisionConfig(
        text_config=text_config,
        vision_config=SiglipVisionConfig(**vision_tower_sizes(sizes)),
        image_token_index=ids("<image>"),
        video_token_index=ids("<video>"),
        image_grid_pinpoints=sizes.grid,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
    )
    model = seeded_model(LlavaOnevisionForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    return model, processor
