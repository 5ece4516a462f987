"""A tiny random Gemma 4 (google/gemma-4-31B-it, the dense model): a Gemma 4 text model (sliding-window
layers, then a global layer whose keys double as values, with rotary positions on a quarter of each
head; image tokens attend to each other both ways) and a ViT over images at their own aspect ratio
whose patches are pooled to at most ``image_tokens`` soft tokens (70 at the least): ``<start_of_image>`` + one
``<|image|>`` per soft token + ``<end_of_image>``.

Chat template: as vLLM prompts Gemma 4, ``<bos><start_of_turn>user\\n<|image|>\\n{question}<end_of_turn>
\\n<start_of_turn>model\\n`` (vllm-project/vllm: examples/offline_inference/vision_language.py,
``run_gemma4``; https://github.com/vllm-project/vllm/blob/main/examples/offline_inference/vision_language.py),
written here as a template for the transformers chat format; the answer ends with ``<end_of_turn>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from transformers import (
    Gemma4AudioFeatureExtractor,
    Gemma4Config,
    Gemma4ForConditionalGeneration,
    Gemma4ImageProcessorPil,
    Gemma4Processor,
    PreTrainedModel,
    ProcessorMixin,
)

from unsafe_vlm.backbones.processors import images_only
from unsafe_vlm.backbones.tiny import TinyTextSizes, seeded_model, text_model_sizes
from unsafe_vlm.backbones.tiny_architectures.gemma_style import gemma_tokenizer, local_then_global
from unsafe_vlm.settings import limit

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] | trim -}}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|image|>\n' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] | trim -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<end_of_turn>\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}"
)


@dataclass(frozen=True)
class Sizes(TinyTextSizes):
    """``model.tiny`` of conf/model/tiny_gemma4.yaml."""

    architecture: Literal["gemma4"]
    num_kv_heads: int = limit(ge=1)
    sliding_window: int = limit(ge=1)  # the local layers attend this many tokens back
    vision_hidden_size: int = limit(ge=1)
    vision_layers: int = limit(ge=1)
    vision_heads: int = limit(ge=1)
    patch_size: int = limit(ge=1)
    pooling: int = limit(ge=1)  # pooling x pooling patches become one soft token
    image_tokens: Literal[70, 140, 280, 560, 1120]  # at most this many soft tokens per image


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = gemma_tokenizer(
        sizes.vocab_size,
        CHAT_TEMPLATE,
        more_special_tokens=["<|image|>", "<|video|>", "<start_of_audio>", "<end_of_audio>", "<audio_soft_token>"],
        image_token="<|image|>",
        # the audio tokens too: transformers 5.25's processor refuses any input without them
        more_named_tokens={
            "audio_token": "<audio_soft_token>",
            "boa_token": "<start_of_audio>",
            "eoa_token": "<end_of_audio>",
        },
    )
    image_processor = Gemma4ImageProcessorPil(
        patch_size=sizes.patch_size, max_soft_tokens=sizes.image_tokens, pooling_kernel_size=sizes.pooling
    )
    processor = images_only(Gemma4Processor)(
        feature_extractor=Gemma4AudioFeatureExtractor(),
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
        image_seq_length=sizes.image_tokens,
    )
    head_dim = sizes.hidden_size // sizes.num_heads
    text_config = {
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        "vocab_size_per_layer_input": len(tokenizer),
        "num_global_key_value_heads": 1,
        "head_dim": head_dim,
        "global_head_dim": head_dim * 2,
        # as in gemma-4-31B: local layers first and a global one last, whose keys are its values
        "layer_types": local_then_global(sizes.num_layers),
        "sliding_window": sizes.sliding_window,
        "attention_k_eq_v": True,
        "use_bidirectional_attention": "vision",
        "hidden_size_per_layer_input": 0,
        "final_logit_softcapping": 30.0,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
    }
    vision_config = {
        "hidden_size": sizes.vision_hidden_size,
        "intermediate_size": sizes.vision_hidden_size * 2,
        "num_hidden_layers": sizes.vision_layers,
        "num_attention_heads": sizes.vision_heads,
        "num_key_value_heads": sizes.vision_heads,
        "head_dim": sizes.vision_hidden_size // sizes.vision_heads,
        "patch_size": sizes.patch_size,
        "pooling_kernel_size": sizes.pooling,
        "position_embedding_size": 64,
        "standardize": True,
    }
    ids = tokenizer.convert_tokens_to_ids
    config = Gemma4Config(
        text_config=text_config,
        vision_config=vision_config,
        audio_config=None,
        boi_token_id=ids("<start_of_image>"),
        eoi_token_id=ids("<end_of_image>"),
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        boa_token_id=ids("<start_of_audio>"),
        eoa_token_index=ids("<end_of_audio>"),
        audio_token_id=ids("<audio_soft_token>"),
    )
    model = seeded_model(Gemma4ForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, ids("<end_of_turn>")]
    return model, processor
