"""A tiny random Llama 3.2 Vision (meta-llama/Llama-3.2-11B-Vision-Instruct): a Llama 3 text model
with cross-attention layers that read the image, and a two-stage ViT over up to ``max_tiles``
tiles. The prompt holds a single ``<|image|>`` token; ``cross_attention_mask`` (batch, tokens,
images, tiles) says which tokens see which tiles.

Chat template: Llama 3's headers, ``<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n
<|image|>{question}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n{answer}<|eot_id|>``,
copied from transformers' processor test (huggingface/transformers@060988b644b98c9e87b381c6000f29c4ab8477ba:
tests/models/mllama/test_processing_mllama.py, ``prepare_processor_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import (
    MllamaConfig,
    MllamaForConditionalGeneration,
    MllamaImageProcessorPil,
    MllamaProcessor,
    PreTrainedModel,
    ProcessorMixin,
)
from transformers.models.mllama.configuration_mllama import MllamaTextConfig, MllamaVisionConfig
from transformers.models.mllama.image_processing_pil_mllama import get_all_supported_aspect_ratios

from unsafe_vlm.backbones.tiny import TinyVLMSizes, seeded_model, text_model_sizes
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import limit

CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.index0 == 0 %}{{ bos_token }}{% endif %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<|image|>' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

SPECIAL_TOKENS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|finetune_right_pad_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|image|>",
]


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of conf/model/tiny_mllama.yaml (``image_size``: the side of one tile)."""

    architecture: Literal["mllama"]
    num_kv_heads: int = limit(ge=1)
    max_tiles: int = limit(ge=1)  # tiles an image may be cut into


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = train_byte_bpe(
        suite_corpus(),
        special_tokens=SPECIAL_TOKENS,
        vocab_size=sizes.vocab_size,
        pad_token="<|finetune_right_pad_id|>",
        eos_token="<|eot_id|>",
        bos_token="<|begin_of_text|>",
        extra_special_tokens={"image_token": "<|image|>"},
        chat_template=CHAT_TEMPLATE,
    )
    side = sizes.image_size
    image_processor = MllamaImageProcessorPil(
        size={"height": side, "width": side},
        max_image_tiles=sizes.max_tiles,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    processor = MllamaProcessor(image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)
    # the second stage ("global" layers) reads the last layer and one intermediate layer, concatenated
    vision_config = MllamaVisionConfig(
        hidden_size=sizes.vision_hidden_size,
        num_hidden_layers=sizes.vision_layers,
        num_global_layers=1,
        attention_heads=sizes.vision_heads,
        intermediate_size=sizes.vision_hidden_size * 2,
        vision_output_dim=sizes.vision_hidden_size * 2,
        intermediate_layers_indices=[0],
        image_size=side,
        patch_size=sizes.patch_size,
        max_num_tiles=sizes.max_tiles,
        supported_aspect_ratios=[list(ratio) for ratio in get_all_supported_aspect_ratios(sizes.max_tiles)],
    )
    ids = tokenizer.convert_tokens_to_ids
    text_config = MllamaTextConfig(
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        cross_attention_layers=[sizes.num_layers - 1],
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config = MllamaConfig(vision_config=vision_config, text_config=text_config, image_token_index=ids("<|image|>"))
    model = seeded_model(MllamaForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    # Llama-3.2-Vision-Instruct's generation config stops on <|end_of_text|>, <|eom_id|> and <|eot_id|>
    model.generation_config.eos_token_id = [ids("<|end_of_text|>"), ids("<|eom_id|>"), tokenizer.eos_token_id]
    return model, processor
