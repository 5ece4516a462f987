"""A tiny random GLM-4.1V / GLM-4.5V (zai-org/GLM-4.1V-9B-Thinking and kin): a GLM-4 text model with
3-D rotary positions on half of each head, and a ViT over images at their own aspect ratio whose
2x2 patches merge into one token. An image becomes ``<|begin_of_image|>``, one ``<|image|>`` per
merged patch, ``<|end_of_image|>``. An assistant turn has no closing token of its own: the model
ends it by starting the next turn (``<|user|>``), which the generation config lists as a stop token.

Chat template: GLM's, ``[gMASK]<sop><|user|>\\n<|begin_of_image|><|image|><|end_of_image|>{question}
<|assistant|>\\n``, after vLLM's example for GLM-4.1V (vllm-project/vllm:
examples/offline_inference/vision_language.py, ``run_glm4_1v``;
https://github.com/vllm-project/vllm/blob/main/examples/offline_inference/vision_language.py), without
its system turn, with GLM-4.5V's thinking switch: ``enable_thinking=False`` appends an empty
``<think></think>\\n`` after ``<|assistant|>\\n``, and a past answer follows such an empty block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from transformers import (
    Glm4vConfig,
    Glm4vForConditionalGeneration,
    Glm4vImageProcessorPil,
    Glm4vProcessor,
    PreTrainedModel,
    ProcessorMixin,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import seeded_model, text_model_sizes
from unsafe_vlm.backbones.tiny_architectures.qwen_style import QwenStyleSizes, split_rotary
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus

CHAT_TEMPLATE = (
    "{{- '[gMASK]<sop>' -}}"
    "{%- for message in messages -%}"
    "{{- '<|' + message['role'] + '|>\n' -}}"
    "{%- if message['role'] == 'assistant' -%}{{- '<think></think>\n' -}}{%- endif -%}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|begin_of_image|><|image|><|end_of_image|>' -}}"
    "{%- elif part['type'] == 'video' -%}{{- '<|begin_of_video|><|video|><|end_of_video|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|assistant|>\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think></think>\n' -}}{%- endif -%}"
    "{%- endif -%}"
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "[gMASK]",
    "<sop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|begin_of_image|>",
    "<|end_of_image|>",
    "<|begin_of_video|>",
    "<|end_of_video|>",
    "<|image|>",
    "<|video|>",
]


@dataclass(frozen=True)
class Sizes(QwenStyleSizes):
    """``model.tiny`` of conf/model/tiny_glm4v.yaml: the keys of a Qwen-style model."""

    architecture: Literal["glm4v"]


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = train_byte_bpe(
        suite_corpus(),
        special_tokens=SPECIAL_TOKENS,
        vocab_size=sizes.vocab_size,
        pad_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>", "video_token": "<|video|>"},
        chat_template=CHAT_TEMPLATE,
    )
    # as in GLM's tokenizers, the thinking tags are added tokens but not special ones: decoded answers keep them
    tokenizer.add_tokens(["<think>", "</think>"], special_tokens=False)
    image_processor = Glm4vImageProcessorPil(
        size={"shortest_edge": sizes.min_pixels, "longest_edge": sizes.max_pixels},
        patch_size=sizes.patch_size,
        merge_size=2,
        temporal_patch_size=2,
    )
    processor = images_only(Glm4vProcessor)(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)
    head_dim = sizes.hidden_size // sizes.num_heads
    half = head_dim // 4  # rotary positions on half of each head, as in the real models
    time = half // 4
    text_config = {
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        # the real models split 32 frequencies 8/12/12 over time/height/width
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.5,
            "mrope_section": split_rotary(half, time),
        },
    }
    vision_config = {
        "depth": sizes.vision_layers,
        "hidden_size": sizes.vision_hidden_size,
        "intermediate_size": sizes.hidden_size * 2,
        "num_heads": sizes.vision_heads,
        # learnt position embeddings on this square grid, interpolated to each image's patches
        "image_size": math.isqrt(sizes.max_pixels),
        "patch_size": sizes.patch_size,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": sizes.hidden_size,
    }
    ids = tokenizer.convert_tokens_to_ids
    config = Glm4vConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        image_start_token_id=ids("<|begin_of_image|>"),
        image_end_token_id=ids("<|end_of_image|>"),
        video_start_token_id=ids("<|begin_of_video|>"),
        video_end_token_id=ids("<|end_of_video|>"),
    )
    model = seeded_model(Glm4vForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    # GLM-4.1V's generation config stops on <|endoftext|>, <|user|> and <|observation|>
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, ids("<|user|>"), ids("<|observation|>")]
    return model, processor
