"""The default LoRA targets: every linear layer of the language model, found in the module tree."""

from __future__ import annotations

import re

from torch import nn


def language_model_targets(model: nn.Module) -> str:
    """A regex over full module names (peft's ``target_modules``) matching the linear layers of the
    language model (``model.get_decoder()``) and nothing else: not the vision tower, not the
    projector, not the embeddings or the output layer."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = base.get_decoder()
    prefix = next((name for name, module in base.named_modules() if module is decoder), None)
    if not prefix:
        raise ValueError(f"{type(base).__name__}: the language model is not a named submodule")
    leaves = sorted(
        {name.rsplit(".", 1)[-1] for name, module in decoder.named_modules() if isinstance(module, nn.Linear)}
    )
    if not leaves:
        raise ValueError(f"{type(base).__name__}: the language model has no linear layers for LoRA")
    return rf"{re.escape(prefix)}\..*\.({'|'.join(leaves)})"
