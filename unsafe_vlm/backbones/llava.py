"""LLaVA-1.5 in the transformers format (llava-hf/llava-1.5-7b-hf and -13b-hf): the paper's main models.

The tiny instance (``model=tiny``) is the same architecture, a small Llama language model
and a small CLIP vision tower, with a tokenizer trained offline on the suite's vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
)

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.tiny import (
    TinyVLMSizes,
    llama_style_tokenizer,
    seeded_model,
    tiny_llama_config,
    vision_tower_sizes,
)
from unsafe_vlm.settings import Settings

# "USER: <image>\n{question} ASSISTANT: {answer}</s>", as LLaVA-1.5 was trained.
LLAVA_15_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- 'USER: ' -}}"
    "{%- for part in message['content'] if part['type'] == 'image' -%}{{- '<image>\n' -}}{%- endfor -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- ' ASSISTANT: ' -}}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{{- '</s>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- ' ASSISTANT:' -}}{%- endif -%}"
)


@dataclass(frozen=True)
class LlavaTiny(TinyVLMSizes):
    """``model.tiny`` of a LLaVA (conf/model/tiny.yaml): a Llama text model and a CLIP vision tower."""


class LlavaBackbone(VLMBackbone):
    family: ClassVar[str] = "llava"
    end_of_turn: ClassVar[str] = "</s>"
    answer_prefix: ClassVar[str] = " "
    default_chat_template: ClassVar[str] = LLAVA_15_CHAT_TEMPLATE
    tiny_settings: ClassVar[type[Settings]] = LlavaTiny

    @classmethod
    def build_tiny(cls, sizes: LlavaTiny) -> LlavaBackbone:
        tokenizer = llama_style_tokenizer(sizes.vocab_size, chat_template=LLAVA_15_CHAT_TEMPLATE)
        image_processor = CLIPImageProcessorPil(
            size={"shortest_edge": sizes.image_size},
            crop_size={"height": sizes.image_size, "width": sizes.image_size},
        )
        processor = LlavaProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            patch_size=sizes.patch_size,
            vision_feature_select_strategy="default",
            num_additional_image_tokens=1,
            chat_template=LLAVA_15_CHAT_TEMPLATE,
            image_token="<image>",
        )
        text_config = tiny_llama_config(tokenizer, sizes)
        vision_config = CLIPVisionConfig(**vision_tower_sizes(sizes))
        config = LlavaConfig(
            text_config=text_config,
            vision_config=vision_config,
            image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
            vision_feature_layer=-1,
            vision_feature_select_strategy="default",
            pad_token_id=tokenizer.pad_token_id,
        )
        model = seeded_model(LlavaForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
        return cls(model, processor, blank_image_size=sizes.image_size)
