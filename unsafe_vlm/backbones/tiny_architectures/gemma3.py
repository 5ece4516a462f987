"""A tiny random Gemma 3 (google/gemma-3-4b-it and kin): a Gemma 3 text model (sliding-window and
global layers, q/k norms) and a SigLIP tower whose patches are average-pooled to a fixed number of
image tokens: ``\\n\\n<start_of_image>`` + that many ``<image_soft_token>`` + ``<end_of_image>\\n\\n``.

Chat template: Gemma 3's, copied from transformers' processor test
(huggingface/transformers@033522b1258853e6fbb389b1f646aa5361aca958:tests/models/gemma3/test_processing_gemma3.py,
``prepare_processor_dict``); vLLM prompts the same layout, ``<bos><start_of_turn>user\\n<start_of_image>
{question}<end_of_turn>\\n<start_of_turn>model\\n`` (vllm-project/vllm@005c67723f52ceb20f6e4fc976edd82082f54aeb:
examples/offline_inference/vision_language.py, ``run_gemma3``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from transformers import (
    Gemma3Config,
    Gemma3ForConditionalGeneration,
    Gemma3ImageProcessorPil,
    Gemma3Processor,
    PreTrainedModel,
    ProcessorMixin,
    SiglipVisionConfig,
)

from unsafe_vlm.backbones.tiny import TinyVLMSizes, seeded_model, text_model_sizes, vision_tower_sizes
from unsafe_vlm.backbones.tiny_architectures.gemma_style import gemma_tokenizer, local_then_global
from unsafe_vlm.settings import Refused, limit

CHAT_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\n'}}\n"
    "{%- endif -%}\n"
)


def _square(value: int) -> str | None:
    return None if math.isqrt(value) ** 2 == value else "must be a square number (tokens on a square grid)"


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of conf/model/tiny_gemma3.yaml."""

    architecture: Literal["gemma3"]
    num_kv_heads: int = limit(ge=1)
    sliding_window: int = limit(ge=1)  # the local layers attend this many tokens back
    image_tokens: int = limit(ge=1, check=_square)  # the tower's patches are pooled to this many tokens

    def check(self) -> None:
        patches = self.image_size // self.patch_size
        if patches % math.isqrt(self.image_tokens):
            raise Refused("image_tokens", f"the side of its grid must divide the {patches} patches of a side")


def build(sizes: Sizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    tokenizer = gemma_tokenizer(
        sizes.vocab_size, CHAT_TEMPLATE, more_special_tokens=["<image_soft_token>"], image_token="<image_soft_token>"
    )
    side = sizes.image_size
    image_processor = Gemma3ImageProcessorPil(
        size={"height": side, "width": side}, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]
    )
    processor = Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
        image_seq_length=sizes.image_tokens,
    )
    head_dim = sizes.hidden_size // sizes.num_heads
    text_config = {
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        "head_dim": head_dim,
        "query_pre_attn_scalar": head_dim,
        "sliding_window": sizes.sliding_window,
        # as in the real models, local layers first and a global one last
        "layer_types": local_then_global(sizes.num_layers),
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
    }
    ids = tokenizer.convert_tokens_to_ids
    config = Gemma3Config(
        text_config=text_config,
        vision_config=SiglipVisionConfig(**vision_tower_sizes(sizes)),
        mm_tokens_per_image=sizes.image_tokens,
        boi_token_index=ids("<start_of_image>"),
        eoi_token_index=ids("<end_of_image>"),
        image_token_index=ids("<image_soft_token>"),
    )
    model = seeded_model(Gemma3ForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    # gemma-3-it's generation config stops on <eos> and on <end_of_turn>
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, ids("<end_of_turn>")]
    return model, processor
