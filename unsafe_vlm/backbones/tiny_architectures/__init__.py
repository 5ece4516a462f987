"""Tiny random instances of VLM architectures, one file each, named by ``model.tiny.architecture``.

A file ``<name>.py`` holds ``Sizes`` (the typed ``model.tiny`` keys, a ``TinySizes`` subclass
from ``backbones/tiny.py`` with its ``architecture`` field) and ``build(sizes)``, which returns
the seeded model and its processor, the processor carrying the architecture's chat template.
The backbone family then derives the rest (end of turn, answer prefix, LoRA targets) as it does
for a checkpoint. ``qwen_style.py`` and ``gemma_style.py`` hold what several of them share (no
architecture of their own).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from unsafe_vlm.backbones.tiny_sizes import TinySizes
from unsafe_vlm.errors import ConfigValueError
from unsafe_vlm.registry import Registry

if TYPE_CHECKING:
    from transformers import PreTrainedModel, ProcessorMixin

Builder = Callable[[Any], "tuple[PreTrainedModel, ProcessorMixin]"]

TINY_ARCHITECTURES: Registry[Builder] = Registry(
    "tiny architecture",
    "model.tiny.architecture",
    {
        "llava": "unsafe_vlm.backbones.tiny_architectures.llava:build",
        "qwen2_vl": "unsafe_vlm.backbones.tiny_architectures.qwen2_vl:build",
        "qwen2_5_vl": "unsafe_vlm.backbones.tiny_architectures.qwen2_5_vl:build",
        "idefics3": "unsafe_vlm.backbones.tiny_architectures.idefics3:build",
        "instructblip": "unsafe_vlm.backbones.tiny_architectures.instructblip:build",
        "llava_next": "unsafe_vlm.backbones.tiny_architectures.llava_next:build",
        "llava_onevision": "unsafe_vlm.backbones.tiny_architectures.llava_onevision:build",
        "qwen3_vl": "unsafe_vlm.backbones.tiny_architectures.qwen3_vl:build",
        "qwen3_5": "unsafe_vlm.backbones.tiny_architectures.qwen3_5:build",
        "gemma3": "unsafe_vlm.backbones.tiny_architectures.gemma3:build",
        "gemma4": "unsafe_vlm.backbones.tiny_architectures.gemma4:build",
        "internvl": "unsafe_vlm.backbones.tiny_architectures.internvl:build",
        "mllama": "unsafe_vlm.backbones.tiny_architectures.mllama:build",
        "mistral3": "unsafe_vlm.backbones.tiny_architectures.mistral3:build",
        "glm4v": "unsafe_vlm.backbones.tiny_architectures.glm4v:build",
    },
)


def sizes_class(node: Any, prefix: str) -> type[TinySizes]:
    """The ``Sizes`` of the architecture a ``model.tiny`` node names (its module holds ``build`` and ``Sizes``)."""
    if not isinstance(node, Mapping) and not hasattr(node, "get"):
        raise ConfigValueError(f"{prefix}: {node!r} is not a mapping of keys to values")
    name = node.get("architecture")
    if name is None:
        raise ConfigValueError(f"{prefix}.architecture: is missing; choose one of: {', '.join(TINY_ARCHITECTURES)}")
    builder = TINY_ARCHITECTURES.get(str(name))
    sizes = getattr(importlib.import_module(builder.__module__), "Sizes", None)
    if not (isinstance(sizes, type) and issubclass(sizes, TinySizes)):
        raise ConfigValueError(f"{prefix}.architecture: {builder.__module__} defines no Sizes (a TinySizes subclass)")
    return sizes


def build_tiny_architecture(sizes: TinySizes) -> tuple[PreTrainedModel, ProcessorMixin]:
    """The seeded model and processor of ``sizes.architecture``."""
    return TINY_ARCHITECTURES.get(sizes.architecture)(sizes)
