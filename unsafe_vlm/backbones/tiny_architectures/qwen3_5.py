"""A tiny random Qwen3.5 (Qwen/Qwen3.5-9B and kin, natively multimodal): a hybrid text model, gated
delta-rule linear-attention layers (a recurrent state and a short causal convolution) between
full-attention layers with interleaved 3-D rotary positions on part of each head, and Qwen3-VL's
ViT. An image becomes ``<|vision_start|>``, one ``<|image_pad|>`` per merged 2x2 patch,
``<|vision_end|>``.

Chat template: Qwen3's ChatML with Qwen3-VL's image placeholder and the hybrid-thinking switch
of the Qwen3 / Qwen3.5 templates: no default system turn; the generation prompt
``<|im_start|>assistant\\n`` opens a thinking block (``<think>\\n``) unless ``enable_thinking=False``
closes it empty (``<think>\\n\\n</think>\\n\\n``), so that the answer follows at once; a past answer
is rendered after such an empty block, as Qwen3's template renders answers without reasoning. The switch as
the official Qwen3 template writes it (https://huggingface.co/Qwen/Qwen3-8B/blob/main/tokenizer_config.json,
``chat_template``), with the ``<think>\\n`` branch the Qwen3.5 checkpoints add; the image placeholder
as vLLM prompts Qwen3-VL (https://github.com/vllm-project/vllm/blob/main/examples/offline_inference/vision_language.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from transformers import (
    PreTrainedModel,
    ProcessorMixin,
    Qwen2VLImageProcessorPil,
    Qwen3_5Config,
    Qwen3_5ForConditionalGeneration,
    Qwen3VLProcessor,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import TinyTextSizes, seeded_model
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import limit

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\n' -}}"
    "{%- if message['role'] == 'assistant' -%}{{- '<think>\n\n</think>\n\n' -}}{%- endif -%}"
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
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\n\n</think>\n\n' -}}"
    "{%- else -%}{{- '<think>\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
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
    """``model.tiny`` of conf/model/tiny_qwen3_5.yaml."""

    architecture: Literal["qwen3_5"]
    num_kv_heads: int = limit(ge=1)
    layer_types: list[Literal["linear_attention", "full_attention"]]  # one per layer
    linear_heads: int = limit(ge=1)  # key heads of a linear-attention layer (twice as many value heads)
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
    # as in Qwen's tokenizers, the thinking tags are added tokens but not special ones: decoded answers keep them
    tokenizer.add_tokens(["<think>", "</think>"], special_tokens=False)
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
    half = head_dim // 8  # rotary positions on a quarter of each head, as in the real models
    time = half // 2
    text_config = {
        "vocab_size": len(tokenizer),
        "hidden_size": sizes.hidden_size,
        "intermediate_size": sizes.hidden_size * 2,
        "num_hidden_layers": sizes.num_layers,
        "num_attention_heads": sizes.num_heads,
        "num_key_value_heads": sizes.num_kv_heads,
        "head_dim": head_dim,
        "layer_types": sizes.layer_types,
        "linear_num_key_heads": sizes.linear_heads,
        "linear_num_value_heads": sizes.linear_heads * 2,
        "linear_key_head_dim": head_dim // 2,
        "linear_value_head_dim": head_dim // 2,
        "linear_conv_kernel_dim": 4,
        "max_position_embeddings": 1024,
        # the real models split 32 frequencies 11/11/10 over time/height/width, interleaved
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.25,
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
    }
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen3_5Config(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    model = seeded_model(Qwen3_5ForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    return model, processor
