"""Method names (``conf/method/*.yaml``'s ``name``) and their LightningModules."""

from __future__ import annotations

import importlib

from unsafe_vlm.errors import UserError

TRAINING_METHODS = {
    "sft": "unsafe_vlm.methods.sft:SFTModule",
    "dpo": "unsafe_vlm.methods.dpo:DPOModule",
    "ppo": "unsafe_vlm.methods.ppo:PPOModule",
    "grpo": "unsafe_vlm.methods.grpo:GRPOModule",  # RLOO too: method.baseline=rloo
}


def method_class(name: str) -> type:
    target = TRAINING_METHODS.get(name)
    if target is None:
        raise UserError(f"method {name!r} cannot train; use one of: {', '.join(TRAINING_METHODS)}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
