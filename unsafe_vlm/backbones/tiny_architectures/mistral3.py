"""A tiny random Mistral Small 3.1 / 3.2 (mistralai/Mistral-Small-3.1-24B-Instruct-2503): a Mistral text
model and a Pixtral tower that reads each image at its own size (sides rounded to whole patches, no
square resize), with 2x2 patches merged into one token. An image becomes rows of ``[IMG]`` tokens, each
row closed by ``[IMG_BREAK]`` and the last by ``[IMG_END]``, so images of other shapes take other
numbers of tokens.

Chat template: Mistral's instruct layout as vLLM prompts Mistral-Small-3.1,
``<s>[INST]{question}\\n[IMG][/INST]`` (vllm-project/vllm@005c67723f52ceb20f6e4fc976edd82082f54aeb:
examples/offline_inference/vision_language.py, ``run_mistral3``), the answer following ``[/INST]`` and
ending with ``</s>``; written here as a template that renders a turn's parts in their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import (
    Mistral3Config,
    Mistral3ForConditionalGeneration,
    MistralConfig,
    PixtralImageProcessorPil,
    PixtralVisionConfig,
    PreTrainedModel,
    ProcessorMixin,
)

from unsafe_vlm.backbones.processors import pixtral_processor_class
from unsafe_vlm.backbones.tiny import TinyTextSizes, seeded_model, text_model_sizes
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import limit

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- '[INST]' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '[IMG]' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '[/INST]' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{%- endif -%}"
    "{{- eos_token -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
)

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]"]


@dataclass(frozen=True)
class Sizes(TinyTextSizes):
    """``model.tiny`` of conf/model/tiny_mistral3.yaml."""

    architecture: Literal["mistral3"]
    num_kv_heads: int = limit(ge=1)
    vision_hidden_size: int = limit(ge=1)
    vision_layers: int = limit(ge=1)
    vision_heads: int = limit(ge=1)
    patch_size: int = limit(ge=1)
    longest_edge: int = limit(ge=1)  # images are scaled down to fit this side, keeping their shape

    @property
    def blank_image_size(self) -> int:
        return self.longest_edge


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = train_byte_bpe(
        suite_corpus(),
        special_tokens=SPECIAL_TOKENS,
        vocab_size=sizes.vocab_size,
        pad_token="<pad>",
        eos_token="</s>",
        bos_token="<s>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": "[IMG]"},
        chat_template=CHAT_TEMPLATE,
    )
    merge = 2
    step = sizes.patch_size * merge
    image_processor = PixtralImageProcessorPil(
        size={"longest_edge": sizes.longest_edge},
        # sides in whole merged patches, so that every patch is merged
        patch_size={"height": step, "width": step},
    )
    processor = pixtral_processor_class()(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=sizes.patch_size,
        spatial_merge_size=merge,
        chat_template=CHAT_TEMPLATE,
    )
    vision_config = PixtralVisionConfig(
        hidden_size=sizes.vision_hidden_size,
        intermediate_size=sizes.vision_hidden_size * 2,
        num_hidden_layers=sizes.vision_layers,
        num_attention_heads=sizes.vision_heads,
        head_dim=sizes.vision_hidden_size // sizes.vision_heads,
        image_size=sizes.longest_edge,
        patch_size=sizes.patch_size,
    )
    text_config = MistralConfig(
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        head_dim=sizes.hidden_size // sizes.num_heads,
        sliding_window=None,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = Mistral3Config(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=tokenizer.convert_tokens_to_ids("[IMG]"),
        spatial_merge_size=merge,
        vision_feature_layer=-1,
    )
    return seeded_model(Mistral3ForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer), processor
