"""Pieces the Qwen-style tiny architectures share (qwen2_vl, qwen2_5_vl, qwen3_vl, qwen3_5; glm4v's
sizes): the ``model.tiny`` keys of a text model with a patch-merging ViT that reads images at their
own aspect ratio, Qwen's special tokens and byte-level BPE, the image processor and the config's
image token ids. InternVL and LLaVA-OneVision, whose text models are Qwen2, take the ChatML
tokenizer and the Qwen2 text config. Each architecture keeps its own chat template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2VLImageProcessorPil

from unsafe_vlm.backbones.tiny import TinyTextSizes, text_model_sizes
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus
from unsafe_vlm.settings import limit

CHATML_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VISION_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


@dataclass(frozen=True)
class QwenStyleSizes(TinyTextSizes):
    """A text model's keys, then a patch-merging ViT's and the pixel area images are resized to."""

    num_kv_heads: int = limit(ge=1)
    vision_hidden_size: int = limit(ge=1)
    vision_layers: int = limit(ge=1)
    vision_heads: int = limit(ge=1)
    patch_size: int = limit(ge=1)
    min_pixels: int = limit(ge=1)  # images are resized to sides that are multiples of 2 * patch_size,
    max_pixels: int = limit(ge=1)  # with an area between min_pixels and max_pixels

    @property
    def blank_image_size(self) -> int:
        return math.isqrt(self.min_pixels)  # the smallest square image the processor keeps at its size


def chatml_tokenizer(
    vocab_size: int, chat_template: str, *, more_special_tokens: list[str], named_tokens: dict[str, str]
) -> PreTrainedTokenizerFast:
    """A byte-level BPE on the suite's vocabulary with Qwen's ChatML tokens, then ``more_special_tokens``;
    pads with ``<|endoftext|>``, ends a turn on ``<|im_end|>``; the processor finds ``named_tokens`` by name."""
    return train_byte_bpe(
        suite_corpus(),
        special_tokens=[*CHATML_TOKENS, *more_special_tokens],
        vocab_size=vocab_size,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        extra_special_tokens=named_tokens,
        chat_template=chat_template,
    )


def qwen_tokenizer(vocab_size: int, chat_template: str) -> PreTrainedTokenizerFast:
    """The ChatML tokenizer with Qwen-VL's image and video tokens."""
    return chatml_tokenizer(
        vocab_size,
        chat_template,
        more_special_tokens=VISION_TOKENS,
        named_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
    )


def qwen2_text_config(tokenizer: PreTrainedTokenizerFast, sizes: Any) -> Qwen2Config:
    """A Qwen2 language model over the tokenizer's vocabulary, as wide and deep as ``sizes`` say."""
    return Qwen2Config(
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_kv_heads),
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )


def qwen_image_processor(sizes: QwenStyleSizes, **normalisation: Any) -> Qwen2VLImageProcessorPil:
    """Qwen2-VL's image processor: 2x2 patches merge into one token, two frames into one temporal patch."""
    return Qwen2VLImageProcessorPil(
        min_pixels=sizes.min_pixels,
        max_pixels=sizes.max_pixels,
        patch_size=sizes.patch_size,
        merge_size=2,
        temporal_patch_size=2,
        **normalisation,
    )


def qwen_image_token_ids(tokenizer: PreTrainedTokenizerFast) -> dict[str, int]:
    """The keyword arguments of a Qwen-VL config naming its image and video tokens."""
    ids = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }


def qwen3_vision_config(sizes: QwenStyleSizes) -> dict[str, Any]:
    """Qwen3-VL's ViT (Qwen3.5 uses it too), with a learnt grid of position embeddings interpolated
    to each image's patch grid."""
    side = math.isqrt(sizes.max_pixels) // sizes.patch_size
    return {
        "depth": sizes.vision_layers,
        "hidden_size": sizes.vision_hidden_size,
        "intermediate_size": sizes.vision_hidden_size * 2,
        "num_heads": sizes.vision_heads,
        "patch_size": sizes.patch_size,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": sizes.hidden_size,
        "num_position_embeddings": side * side,
    }


def split_rotary(half: int, time: int) -> list[int]:
    """``mrope_section``: ``half`` rotary frequencies split over time, height and width, ``time`` of
    them to time and the rest shared by the other two (height gets the smaller half)."""
    height = (half - time) // 2
    return [time, height, half - time - height]
