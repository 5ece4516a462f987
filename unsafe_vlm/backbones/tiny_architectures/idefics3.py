"""A tiny random Idefics3 (``model=tiny_idefics3``, the SmolVLM architecture): a Llama text model,
a SigLIP vision tower and a pixel-shuffle connector at toy sizes, with image splitting off so an
image costs a handful of tokens.

Each image becomes ``<fake_token_around_image><global-img><image>...<fake_token_around_image>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import (
    Idefics3Config,
    Idefics3ForConditionalGeneration,
    Idefics3ImageProcessorPil,
    Idefics3Processor,
    Idefics3VisionConfig,
)

from unsafe_vlm.backbones.tiny import (
    TinyVLMSizes,
    seeded_model,
    tiny_llama_config,
    vision_tower_sizes,
)
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import Refused, limit

# "<|im_start|>User:<image>{question}<end_of_utterance>\nAssistant: {answer}<end_of_utterance>\n",
# the SmolVLM layout: a turn that opens with an image takes no space after the colon.
IDEFICS3_CHAT_TEMPLATE = (
    "{{- '<|im_start|>' -}}"
    "{%- for message in messages -%}"
    "{{- message['role'] | capitalize -}}"
    "{%- if message['content'][0]['type'] == 'image' -%}{{- ':' -}}{%- else -%}{{- ': ' -}}{%- endif -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<image>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{{- '<end_of_utterance>\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant:' -}}{%- endif -%}"
)

# The processor emits <row_i_col_j> tags for the tiles of a split image, up to a 6 x 6 grid.
TILE_TOKENS = [f"<row_{row}_col_{col}>" for row in range(1, 7) for col in range(1, 7)]
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<end_of_utterance>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
    *TILE_TOKENS,
]


@dataclass(frozen=True)
class Sizes(TinyVLMSizes):
    """``model.tiny`` of an Idefics3 (conf/model/tiny_idefics3.yaml): Llama text model, SigLIP tower, pixel shuffle."""

    scale_factor: int = limit(ge=1)  # pixel shuffle: (image_size / patch_size / scale_factor)^2 tokens per image

    def check(self) -> None:
        side = self.image_size // self.patch_size
        if self.image_size % self.patch_size or side % self.scale_factor:
            raise Refused(
                "image_size",
                f"{self.image_size} must be a multiple of patch_size {self.patch_size}, "
                f"and the {side} x {side} patch grid a multiple of scale_factor {self.scale_factor}",
            )


def build(sizes: Sizes) -> tuple[Idefics3ForConditionalGeneration, Idefics3Processor]:
    side = sizes.image_size // sizes.patch_size
    tokenizer = train_byte_bpe(
        suite_corpus(),
        special_tokens=SPECIAL_TOKENS,
        vocab_size=sizes.vocab_size,
        pad_token="<|endoftext|>",
        eos_token="<end_of_utterance>",
        bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<image>"},
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": sizes.image_size},
        max_image_size={"longest_edge": sizes.image_size},
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=(side // sizes.scale_factor) ** 2,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )
    text_config = tiny_llama_config(tokenizer, sizes)
    vision_config = Idefics3VisionConfig(**vision_tower_sizes(sizes))
    config = Idefics3Config(
        text_config=text_config,
        vision_config=vision_config,
        scale_factor=sizes.scale_factor,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = seeded_model(Idefics3ForConditionalGeneration, config, seed=sizes.seed, tokenizer=tokenizer)
    return model, processor
