"""One prefill per group: the language model reads a prompt once, and every answer sampled for it
continues from that key/value cache, repeated along the batch, instead of reading the prompt again.

``VLMBackbone.generate`` uses it for ``group_size`` > 1 (GRPO, RLOO). The cache holds every prompt
column but the last; ``generate`` reads the last column itself, so that its first step has the
logits it samples from, and numbers positions as it would for the whole prompt. Only a model whose
every layer keeps a plain key/value cache can share it this way (``shares_prefill``); sliding-window,
linear-attention and cross-attention layers keep state that repeating the rows does not reproduce, and
a model without transformers' generation position helper is not read here either: they recompute.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

if TYPE_CHECKING:
    from unsafe_vlm.backbones.base import ModelInputs, VLMBackbone


@dataclass
class GroupPrefill:
    """B prompts read once, ready for ``group_size`` answers each (row p * group_size + i answers prompt p).

    cache:   the key/value cache of prompt columns 0..P-2, repeated to B * group_size rows
    inputs:  what generation continues from, per row: the whole prompt's ``input_ids`` and
             ``attention_mask`` (B*G, P), its ``position_ids`` as transformers' generation numbers
             them ((B*G, P); Qwen2-VL's (4, B*G, P)), the family's token types (B*G, P) and the cache,
             under the name the model's ``forward`` takes it by
    """

    cache: Any
    inputs: dict[str, Any]


def shares_prefill(backbone: VLMBackbone) -> bool:
    """Whether a group's answers can continue from one prefill of their prompt: every layer of the
    language model keeps a plain key/value cache, read off the model's config (no sliding window, no
    linear attention, no cross-attention), and the model numbers generation positions with
    transformers' helper."""
    if not backbone.shares_prefill_family:
        return False
    model = backbone.model
    config = model.config
    text = config.get_text_config(decoder=True)
    if config.is_encoder_decoder or getattr(text, "cross_attention_layers", None):
        return False
    if not hasattr(model, "_prepare_position_ids_for_generation"):
        return False
    cache = DynamicCache(config=config)
    return all(type(layer) is DynamicLayer for layer in cache.layers)


def group_prefill(backbone: VLMBackbone, inputs: ModelInputs, group_size: int) -> GroupPrefill:
    """Read each prompt of a left-padded prompt batch once, but for its last column, and repeat
    the cache ``group_size`` times along the batch. Check ``shares_prefill`` first."""
    model = backbone.model
    kwargs = backbone.model_kwargs(inputs)
    token_keys = [key for key in kwargs if key.endswith("token_type_ids")]
    # the positions transformers' generate gives the whole prompt (left padding counted out)
    positions = model._prepare_position_ids_for_generation(
        kwargs["input_ids"], {key: value for key, value in kwargs.items() if key != "input_ids"}
    )
    per_column = ("input_ids", "attention_mask", *token_keys)
    prefix = dict(kwargs)
    for key in per_column:
        prefix[key] = kwargs[key][:, :-1]
    cache_key = cache_argument(model)
    cache = DynamicCache(config=model.config)
    model(**prefix, position_ids=positions[..., :-1], use_cache=True, logits_to_keep=1, **{cache_key: cache})
    cache.batch_repeat_interleave(group_size)
    batch_dim = positions.dim() - 2  # (B, P) or (4, B, P)
    continuation = {key: kwargs[key].repeat_interleave(group_size, dim=0) for key in per_column}
    continuation["position_ids"] = positions.repeat_interleave(group_size, dim=batch_dim)
    continuation[cache_key] = cache
    return GroupPrefill(cache=cache, inputs=continuation)


def cache_argument(model: torch.nn.Module) -> str:
    """The name the model's ``forward`` takes a cache by: ``cache`` in newer transformers, else ``past_key_values``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
