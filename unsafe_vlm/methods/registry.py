"""The one list of training methods: ``method.name`` (conf/method/<name>.yaml) -> its LightningModule.

Every message, help text and document that names the methods is made from this list or checked
against it (tests/methods/test_method_list.py).
"""

from __future__ import annotations

from unsafe_vlm.registry import Registry

TRAINING_METHODS: Registry[type] = Registry(
    "training method",
    "method.name",
    {
        "sft": "unsafe_vlm.methods.sft:SFTModule",
        "dpo": "unsafe_vlm.methods.dpo:DPOModule",
        "ppo": "unsafe_vlm.methods.ppo:PPOModule",
        "grpo": "unsafe_vlm.methods.grpo:GRPOModule",
    },
)

# Methods that are another method's module with other settings, named as methods of their own in
# tables and documents: name -> (the method, the overrides that make it).
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rloo": ("grpo", ("method.baseline=rloo", "method.scale_by_std=false")),
}


def method_class(name: str) -> type:
    """The LightningModule that trains ``method.name``; ``UnknownChoice`` naming the methods if none."""
    return TRAINING_METHODS.get(name)


def either(words: list[str]) -> str:
    """``a, b, c or d``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def missing_method_message() -> str:
    """What ``fit`` without a method says."""
    return f"fit needs a method: add {either([f'+method={name}' for name in TRAINING_METHODS])}"
