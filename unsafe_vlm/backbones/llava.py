"""LLaVA-1.5 in the transformers format (llava-hf/llava-1.5-7b-hf and -13b-hf): the paper's main models.

The tiny instance (``model=tiny``) is the same architecture, a small Llama language model
and a small CLIP vision tower, with a tokenizer trained offline on the suite's vocabulary.
"""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
)

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.tiny import llama_style_tokenizer, seeded_model, tiny_llama_config

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



class LlavaBackbone(VLMBackbone):
    family: ClassVar[str] = "llava"
    end_of_turn: ClassVar[str] = "</s>"
    answer_prefix: ClassVar[str] = " "
    default_chat_template: ClassVar[str] = LLAVA_15_CHAT_TEMPLATE

    @classmethod
    def build_tiny(
        cls,
        *,
        seed: int = 0,
        vocab_size: int = 1024,
        hidden_size: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
        vision_hidden_size: int = 32,
        vision_layers: int = 2,
        vision_heads: int = 2,
        image_size: int = 32,
        patch_size: int = 8,
        **_: Any,
    ) -> LlavaBackbone:
        tokenizer = llama_style_tokenizer(vocab_size, chat_template=LLAVA_15_CHAT_TEMPLATE)
        image_processor = CLIPImageProcessorPil(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        )
        processor = LlavaProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            patch_size=patch_size,
            vision_feature_select_strategy="default",
            num_additional_image_tokens=1,
            chat_template=LLAVA_15_CHAT_TEMPLATE,
            image_token="<image>",
        )
        text_config = tiny_llama_config(tokenizer, hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads)
        vision_config = CLIPVisionConfig(
            hidden_size=vision_hidden_size,
            intermediate_size=vision_hidden_size * 2,
            num_hidden_layers=vision_layers,
            num_attention_heads=vision_heads,
            image_size=image_size,
            patch_size=patch_size,
        )
        config = LlavaConfig(
            text_config=text_config,
            vision_config=vision_config,
            image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
            vision_feature_layer=-1,
            vision_feature_select_strategy="default",
            pad_token_id=tokenizer.pad_token_id,
        )
        model = seeded_model(LlavaForConditionalGeneration, config, seed=seed, tokenizer=tokenizer)
        return cls(model, processor, blank_image_size=image_size)
