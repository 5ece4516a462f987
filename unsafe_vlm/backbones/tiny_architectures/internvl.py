"""A tiny random InternVL 3 / 3.5 in the transformers format (OpenGVLab/InternVL3-1B-hf and kin): an
InternViT tower whose patches are pixel-shuffled to a quarter as many tokens, and a Qwen2 text model.
An image is cut into tiles on a grid (plus a thumbnail of the whole image when there are several),
each tile ``<img>`` + ``<IMG_CONTEXT>`` x tokens per tile + ``</img>``; every tile is one row of
``pixel_values``, so a batch holds more rows of pixels than prompts.

Chat template: ChatML with ``<IMG_CONTEXT>\\n`` in place of an image, the template transformers
gives InternVL checkpoints when converting them to its format
(huggingface/transformers@18a290761052c04f8c8efc41a06ae80b95f7e26a:
src/transformers/models/internvl/convert_internvl_weights_to_hf.py, ``chat_template``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import (
    GotOcr2ImageProcessorPil,
    InternVLConfig,
    InternVLForConditionalGeneration,
    InternVLProcessor,
    InternVLVisionConfig,
    PreTrainedModel,
    ProcessorMixin,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import TinyVLMSizes, seeded_model
from unsafe_vlm.backbones.tiny_architectures.qwen_style import chatml_tokenizer, qwen2_text_config
from unsafe_vlm.settings import Refused, limit

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}"
    "{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}"
    "{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}"
    "{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "{{'<|im_end|>\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "{{'<|im_start|>assistant\n' }}"
    "{% endif %}"
)


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of conf/model/tiny_internvl.yaml (``image_size``: the side of one tile)."""

    architecture: Literal["internvl"]
    num_kv_heads: int = limit(ge=1)
    max_tiles: int = limit(ge=1)  # tiles an image may be cut into (1: the whole image, resized)

    def check(self) -> None:
        if (self.image_size // self.patch_size) % 2:
            raise Refused("patch_size", "a tile's patches must be even on a side: they are shuffled 2x2 into one token")


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = chatml_tokenizer(
        sizes.vocab_size,
        CHAT_TEMPLATE,
        more_special_tokens=["<img>", "</img>", "<IMG_CONTEXT>", "<video>"],
        named_tokens={
            "context_image_token": "<IMG_CONTEXT>",
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "video_token": "<video>",
        },
    )
    side = sizes.image_size
    image_processor = GotOcr2ImageProcessorPil(
        size={"height": side, "width": side},
        crop_to_patches=sizes.max_tiles > 1,
        min_patches=1,
        max_patches=sizes.max_tiles,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    tokens_per_tile = (side // sizes.patch_size) ** 2 // 4
    processor = images_only(InternVLProcessor)(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_length=tokens_per_tile,
        chat_template=CHAT_TEMPLATE,
    )
    text_config = qwen2_text_config(tokenizer, sizes)
    vision_config = InternVLVisionConfig(
        hidden_size=sizes.vision_hidden_size,
        intermediate_size=sizes.vision_hidden_size * 2,
        num_hidden_layers=sizes.vision_layers,
        num_attention_heads=sizes.vision_heads,
        image_size=[side, side],
        patch_size=[sizes.patch_size, sizes.patch_size],
    )
    config = InternVLConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=tokens_per_tile,
        downsample_ratio=0.5,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    return seeded_model(InternVLForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer), processor
