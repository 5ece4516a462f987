"""Pieces the Gemma tiny architectures share (gemma3, gemma4): Gemma's special tokens and byte-level
BPE, and the text model's layout of sliding-window layers before a global one. Each architecture
keeps its own image tokens, chat template, text and vision config.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerFast

from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus

SPECIAL_TOKENS = [
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
]


def gemma_tokenizer(
    vocab_size: int,
    chat_template: str,
    *,
    more_special_tokens: list[str],
    image_token: str,
    more_named_tokens: dict[str, str] | None = None,
) -> PreTrainedTokenizerFast:
    """A byte-level BPE on the suite's vocabulary with Gemma's special tokens, then ``more_special_tokens``;
    the processor finds ``image_token``, the image's start and end and ``more_named_tokens`` by name."""
    return train_byte_bpe(
        suite_corpus(),
        special_tokens=[*SPECIAL_TOKENS, *more_special_tokens],
        vocab_size=vocab_size,
        pad_token="<pad>",
        eos_token="<eos>",
        bos_token="<bos>",
        unk_token="<unk>",
        extra_special_tokens={
            "image_token": image_token,
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            **(more_named_tokens or {}),
        },
        chat_template=chat_template,
    )


def local_then_global(num_layers: int) -> list[str]:
    """``layer_types`` as in the real models: sliding-window layers first and a global one last."""
    return ["sliding_attention"] * (num_layers - 1) + ["full_attention"]
