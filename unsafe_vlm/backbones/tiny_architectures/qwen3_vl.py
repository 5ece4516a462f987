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

from dataclasses import dataclass
from typing import Literal

from transformers import (
    PreTrainedModel,
    ProcessorMixin,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import seeded_model, text_model_sizes
from unsafe_vlm.backbones.tiny_architectures.qwen_style import (
    QwenStyleSizes,
    qwen3_vision_config,
    qwen_image_processor,
    qwen_image_token_ids,
    qwen_tokenizer,
    split_rotary,
)

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


@dataclass(frozen=True)
class Sizes(QwenStyleSizes):
    """``model.tiny`` of conf/model/tiny_qwen3_vl.yaml."""

    architecture: Literal["qwen3_vl"]


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = qwen_tokenizer(sizes.vocab_size, CHAT_TEMPLATE)
    image_processor = qwen_image_processor(sizes, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    processor = images_only(Qwen3VLProcessor)(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)
    head_dim = sizes.hidden_size // sizes.num_heads
    half = head_dim // 2
    time = half // 4
    text_config = {
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        "head_dim": head_dim,
        # the real models split 64 frequencies 24/20/20 over time/height/width, interleaved
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": split_rotary(half, time),
            "mrope_interleaved": True,
        },
    }
    # deepstack: the first vision layer's output also feeds the language model
    vision_config = {**qwen3_vision_config(sizes), "deepstack_visual_indexes": [0]}
    config = Qwen3VLConfig(text_config=text_config, vision_config=vision_config, **qwen_image_token_ids(tokenizer))
    model = seeded_model(Qwen3VLForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    return model, processor
