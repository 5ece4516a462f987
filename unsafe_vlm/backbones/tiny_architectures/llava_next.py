"""A tiny random LLaVA-NeXT (LLaVA-1.6: llava-hf/llava-v1.6-mistral-7b-hf): a Llama text model, a CLIP
tower and "anyres" images, cut into tiles on a grid of pinpoints and shown as the whole image
plus its tiles, with a newline embedding closing each row of image features.

Chat template: the Mistral-instruct layout of llava-v1.6-mistral-7b-hf,
``[INST] <image>\\n{question} [/INST] {answer}</s>``, as vLLM's example prompts it
(vllm-project/vllm@005c67723f52ceb20f6e4fc976edd82082f54aeb:examples/offline_inference/vision_language.py,
``run_llava_next``), written here as a template for the transformers chat format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import (
    CLIPVisionConfig,
    LlavaNextConfig,
    LlavaNextForConditionalGeneration,
    LlavaNextImageProcessorPil,
    LlavaNextProcessor,
    PreTrainedModel,
    ProcessorMixin,
)

from unsafe_vlm.backbones.tiny import (
    TinyVLMSizes,
    llama_style_tokenizer,
    seeded_model,
    tiny_llama_config,
    vision_tower_sizes,
)

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- '[INST] ' -}}"
    "{%- for part in message['content'] if part['type'] == 'image' -%}{{- '<image>\n' -}}{%- endfor -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{{- ' [/INST]' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- ' ' + part['text'] -}}{%- endfor -%}"
    "{{- eos_token -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
)


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of conf/model/tiny_llava_next.yaml: Llama, CLIP, and the tile grid."""

    architecture: Literal["llava_next"]
    grid: list[list[int]]  # the (height, width) pinpoints an image is fitted to before tiling


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = llama_style_tokenizer(
        sizes.vocab_size, chat_template=CHAT_TEMPLATE, more_special_tokens=("[INST]", "[/INST]")
    )
    side = sizes.image_size
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": side},
        crop_size={"height": side, "width": side},
        image_grid_pinpoints=sizes.grid,
    )
    processor = LlavaNextProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=sizes.patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
        image_token="<image>",
    )
    config = LlavaNextConfig(
        text_config=tiny_llama_config(tokenizer, sizes),
        vision_config=CLIPVisionConfig(**vision_tower_sizes(sizes)),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_grid_pinpoints=sizes.grid,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        pad_token_id=tokenizer.pad_token_id,
    )
    return seeded_model(LlavaNextForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer), processor
