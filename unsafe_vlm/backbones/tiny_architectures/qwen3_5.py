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

from dataclasses import dataclass
from typing import Literal

from transformers import (
    PreTrainedModel,
    ProcessorMixin,
    Qwen3_5Config,
    Qwen3_5ForConditionalGeneration,
    Qwen3VLProcessor,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import TinyTextSizes, seeded_model, text_model_sizes
from unsafe_vlm.backbones.tiny_architectures.qwen_style import (
    QwenStyleSizes,
    qwen3_vision_config,
    qwen_image_processor,
    qwen_image_token_ids,
    qwen_tokenizer,
    split_rotary,
)
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


@dataclass(frozen=True)
class Sizes(TinyTextSizes):
    """``model.tiny`` of conf/model/tiny_qwen3_5.yaml: a Qwen-style model's keys (``QwenStyleSizes``), with
    the hybrid layers' between the text and the vision keys, in the order of the config."""

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

    blank_image_size = QwenStyleSizes.blank_image_size


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = qwen_tokenizer(sizes.vocab_size, CHAT_TEMPLATE)
    # as in Qwen's tokenizers, the thinking tags are added tokens but not special ones: decoded answers keep them
    tokenizer.add_tokens(["<think>", "</think>"], special_tokens=False)
    image_processor = qwen_image_processor(sizes, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    processor = images_only(Qwen3VLProcessor)(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)
    head_dim = sizes.hidden_size // sizes.num_heads
    half = head_dim // 8  # rotary positions on a quarter of each head, as in the real models
    time = half // 2
    text_config = {
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        "head_dim": head_dim,
        "layer_types": sizes.layer_types,
        "linear_num_key_heads": sizes.linear_heads,
        "linear_num_value_heads": sizes.linear_heads * 2,
        "linear_key_head_dim": head_dim // 2,
        "linear_value_head_dim": head_dim // 2,
        "linear_conv_kernel_dim": 4,
        # the real models split 32 frequencies 11/11/10 over time/height/width, interleaved
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.25,
            "mrope_section": split_rotary(half, time),
            "mrope_interleaved": True,
        },
    }
    vision_config = qwen3_vision_config(sizes)
    config = Qwen3_5Config(text_config=text_config, vision_config=vision_config, **qwen_image_token_ids(tokenizer))
    model = seeded_model(Qwen3_5ForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    return model, processor
