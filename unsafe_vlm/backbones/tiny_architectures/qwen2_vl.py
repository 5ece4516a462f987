"""A tiny random Qwen2-VL (``model=tiny_qwen2_vl``): a Qwen2 text model with 3-D (time, height,
width) rotary positions and a ViT vision tower at toy sizes, with a tokenizer trained offline on
the suite's vocabulary and the ChatML template of the instruct models.

An image becomes ``<|vision_start|>``, one ``<|image_pad|>`` per merged patch, ``<|vision_end|>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformers import PreTrainedModel, Qwen2VLConfig, Qwen2VLForConditionalGeneration

from unsafe_vlm.backbones.qwen2_vl import Qwen2VLImageTextProcessor
from unsafe_vlm.backbones.tiny import seeded_model, text_model_sizes
from unsafe_vlm.backbones.tiny_architectures.qwen_style import (
    QwenStyleSizes,
    qwen_image_processor,
    qwen_image_token_ids,
    qwen_tokenizer,
    split_rotary,
)

# The ChatML layout the Qwen2-VL instruct models were trained on, written for this suite:
# "<|im_start|>system\n...<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>
# {question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n". The processor expands the
# single <|image_pad|> into one per merged patch.
QWEN2_VL_CHAT_TEMPLATE = (
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

@dataclass(frozen=True)
class Sizes(QwenStyleSizes):
    """``model.tiny`` of a Qwen2-VL or Qwen2.5-VL (conf/model/tiny_qwen2_vl.yaml, tiny_qwen2_5_vl.yaml)."""


def build(sizes: Sizes) -> tuple[PreTrainedModel, Qwen2VLImageTextProcessor]:
    return build_qwen(sizes, Qwen2VLConfig, Qwen2VLForConditionalGeneration, vision_config(sizes))


def build_qwen(
    sizes: Sizes, config_class: type, model_class: type[PreTrainedModel], vision: dict[str, Any]
) -> tuple[PreTrainedModel, Qwen2VLImageTextProcessor]:
    """A Qwen2-VL-style model (``config_class``/``model_class``) with this vision config, and its processor."""
    tokenizer = qwen_tokenizer(sizes.vocab_size, QWEN2_VL_CHAT_TEMPLATE)
    image_processor = qwen_image_processor(sizes)
    processor = Qwen2VLImageTextProcessor(image_processor, tokenizer, chat_template=QWEN2_VL_CHAT_TEMPLATE)
    head_dim = sizes.hidden_size // sizes.num_heads
    text_config = {
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope_section(head_dim)},
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": None,
    }
    config = config_class(text_config=text_config, vision_config=vision, **qwen_image_token_ids(tokenizer))
    model = seeded_model(model_class, config, seed=sizes.seed, tokenizer=tokenizer)
    # the instruct checkpoints stop on <|im_end|> and on <|endoftext|>
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    return model, processor


def mrope_section(head_dim: int) -> list[int]:
    """Split the head's rotary frequencies (head_dim / 2) over time, height and width the way
    the real models do (16, 24, 24 of 64): a quarter to time, the rest shared by the other two."""
    half = head_dim // 2
    return split_rotary(half, half // 4)


def vision_config(sizes: Sizes) -> dict[str, Any]:
    return {
        "depth": sizes.vision_layers,
        "num_heads": sizes.vision_heads,
        "patch_size": sizes.patch_size,
        "spatial_merge_size": 2,
        "embed_dim": sizes.vision_hidden_size,
        "mlp_ratio": 2,
        "hidden_size": sizes.hidden_size,
    }
