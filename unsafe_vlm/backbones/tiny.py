"""Pieces every tiny test instance shares: typed sizes (``tiny_sizes.py``, importable without
transformers' models), the text config keys they all set, a small Llama text config and seeded construction.

Each architecture is one file under ``tiny_architectures/`` holding its ``Sizes`` and ``build``;
``model.tiny.architecture`` names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from unsafe_vlm.backbones.tiny_sizes import TinySizes, TinyTextSizes, TinyVisionSizes, TinyVLMSizes
from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.backbones.vocabulary import suite_corpus

__all__ = [
    "TinySizes", "TinyTextSizes", "TinyVLMSizes", "TinyVisionSizes",
    "llama_style_tokenizer", "seeded_model", "text_model_sizes", "tiny_llama_config", "vision_tower_sizes",
]

if TYPE_CHECKING:  # transformers' models take seconds to import; checking the sizes needs none of them
    from transformers import LlamaConfig, PreTrainedModel

LLAMA_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]


def vision_tower_sizes(sizes: TinyVisionSizes) -> dict[str, int]:
    """The keyword arguments of a ViT-style vision config (``CLIPVisionConfig(**...)``) for these sizes."""
    return {
        "hidden_size": sizes.vision_hidden_size,
        "intermediate_size": sizes.vision_hidden_size * 2,
        "num_hidden_layers": sizes.vision_layers,
        "num_attention_heads": sizes.vision_heads,
        "image_size": sizes.image_size,
        "patch_size": sizes.patch_size,
    }


def llama_style_tokenizer(
    vocab_size: int, *, chat_template: str | None = None, more_special_tokens: tuple[str, ...] = ()
) -> Any:
    """A byte-level BPE on the suite's vocabulary with Llama's special tokens and an ``<image>`` token,
    then ``more_special_tokens``."""
    return train_byte_bpe(
        suite_corpus(),
        special_tokens=[*LLAMA_SPECIAL_TOKENS, *more_special_tokens],
        vocab_size=vocab_size,
        pad_token="<pad>",
        eos_token="</s>",
        bos_token="<s>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"},
        chat_template=chat_template,
    )


def text_model_sizes(tokenizer: Any, sizes: TinyTextSizes, *, kv_heads: int) -> dict[str, Any]:
    """The keyword arguments every tiny text config shares: the tokenizer's vocabulary and padding,
    and the model as wide and deep as ``sizes`` say, with ``kv_heads`` key/value heads."""
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": sizes.hidden_size,
        "intermediate_size": sizes.hidden_size * 2,
        "num_hidden_layers": sizes.num_layers,
        "num_attention_heads": sizes.num_heads,
        "num_key_value_heads": kv_heads,
        "max_position_embeddings": 1024,
        "pad_token_id": tokenizer.pad_token_id,
    }


def tiny_llama_config(tokenizer: Any, sizes: Any) -> LlamaConfig:
    """A Llama language model over the tokenizer's vocabulary, as wide and deep as a family's tiny
    sizes say (``hidden_size``, ``num_layers``, ``num_heads``)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        **text_model_sizes(tokenizer, sizes, kv_heads=sizes.num_heads),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )

def seeded_model(model_class: type[PreTrainedModel], config: Any, *, seed: int, tokenizer: Any) -> PreTrainedModel:
    """Random weights drawn from ``seed`` without touching the global RNG; in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model.eval()
