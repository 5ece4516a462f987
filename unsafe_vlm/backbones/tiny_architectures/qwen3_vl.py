"""A tiny random Qwen3-VL (Qwen/Qwen3-VL-4B-Instruct and kin): a Qwen3 text model (q/k norms) with
interleaved 3-D rotary positions, and a ViT whose middle layers also feed the language model
("deepstack"). An image becomes ``<|vision_start|>``, one ``<|image_pad|>`` per merged 2x2 patch,
``<|vision_end|>``.

Chat template: ChatML as vLLM's example prompts Qwen3-VL-Instruct,
``<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n<|vision_start|>
<|image_pad|><|vision_end|>{question}<|im_end|>\\n<|im_start|>assistant\\n`` (vllm-project/vllm:
examples/offline_inference/vision_language.py, ``run_qwen3_vl``;
https://github.com/vllm-project/vllm/blob/main/examples/offline_inference/vision_language.py),
written here as a template for the transformers chat format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from transformers import (
    PreTrainedModel,
    ProcessorMixin,
    Qwen2VLImageProcessorPil,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import TinyTextSizes, seeded_model
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import limit

CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'video' -%}{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}"
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


@dataclass(frozen=True)
class Sizes(TinyTextSizes):
    """``model.tiny`` of conf/model/tiny_qwen3_vl.yaml."""

    architecture: Literal["qwen3_vl"]
    num_kv_heads: int = limit(ge=1)
    vision_hidden_size: int = limit(ge=1)
    vision_layers: int = limit(ge=1)
    vision_heads: int = limit(ge=1)
    patch_size: int = limit(ge=1)
    min_pixels: int = limit(ge=1)  # images are resized to sides that are multiples of 2 * patch_size,
    max_pixels: int = limit(ge=1)  # with an area between min_pixels and max_pixels

    @property
    def blank_image_size(self) -> int:
        return math.isqrt(self.min_pixels)  # the smallest square image the processor keeps at its size


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = train_byte_bpe(
        suite_corpus(),
        special_tokens=SPECIAL_TOKENS,
        vocab_size=sizes.vocab_size,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
        chat_template=CHAT_TEMPLATE,
    )
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=sizes.min_pixels,
        max_pixels=sizes.max_pixels,
        patch_size=sizes.patch_size,
        merge_size=2,
        temporal_patch_size=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    processor = images_only(Qwen3VLProcessor)(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)
    head_dim = sizes.hidden_size // sizes.num_heads
    half = head_dim // 2
    time = half // 4
    text_config = {
        "vocab_size": len(tokenizer),
        "hidden_size": sizes.hidden_size,
        "intermediate_size": sizes.hidden_size * 2,
        "num_hidden_layers": sizes.num_layers,
        "num_attention_heads": sizes.num_heads,
        "num_key_value_heads": sizes.num_kv_heads,
        "head_dim": head_dim,
        "max_position_embeddings": 1024,
        # the real models split 64 frequencies 24/20/20 over time/height/width, interleaved
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [time, (half - time) // 2, half - time - (half - time) // 2],
            "mrope_interleaved": True,
        },
        "pad_token_id": tokenizer.pad_token_id,
    }
    # a learnt grid of position embeddings, interpolated to each image's patch grid
    side = math.isqrt(sizes.max_pixels) // sizes.patch_size
    vision_config = {
        "depth": sizes.vision_layers,
        "hidden_size": sizes.vision_hidden_size,
        "intermediate_size": sizes.vision_hidden_size * 2,
        "num_heads": sizes.vision_heads,
        "patch_size": sizes.patch_size,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": sizes.hidden_size,
        "num_position_embeddings": side * side,
        "deepstack_visual_indexes": [0],
    }
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen3VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    model = seeded_model(Qwen3VLForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    return model, processor
