"""Model families by name, and building a backbone from its config (``conf/model/*.yaml``)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.lora import load_adapter
from unsafe_vlm.errors import ConfigValueError
from unsafe_vlm.paths import REPO_DIR

FAMILIES = {
    "llava": "unsafe_vlm.backbones.llava:LlavaBackbone",
    "qwen2_vl": "unsafe_vlm.backbones.qwen2_vl:Qwen2VLBackbone",
    "idefics3": "unsafe_vlm.backbones.idefics3:Idefics3Backbone",
}


def resolve_family(family: str) -> type[VLMBackbone]:
    """A registered family name, or ``package.module:Class`` for an adapter of your own."""
    target = FAMILIES.get(family, family)
    if ":" not in target:
        known = ", ".join(sorted(FAMILIES))
        raise ConfigValueError(f"model.family: unknown family {family!r}; use one of {known} or 'module:Class'")
    module_name, class_name = target.split(":", 1)
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, VLMBackbone)):
        raise ConfigValueError(f"model.family: {target!r} is not a VLMBackbone subclass")
    return cls


def resolve_model_path(path: str) -> str:
    """A folder relative to the repository (``data/organism``: the checkout's, or the copy an installed
    wheel carries; see ``unsafe_vlm.paths``) wherever the command runs; else as given (an absolute or
    working-directory path, or a hub id)."""
    shipped = REPO_DIR / path
    if not Path(path).is_absolute() and not Path(path).exists() and shipped.is_dir():
        return str(shipped)
    return str(path)


def build_backbone(cfg: Any) -> VLMBackbone:
    """Build the backbone a ``model`` config describes: a checkpoint, or the tiny architecture.

    cfg keys: family, path (hub id or folder; null builds ``tiny``), tiny (sizes and seed),
    dtype, device_map, trust_remote_code, revision, blank_image_size, adapter (LoRA folder).
    """
    cls = resolve_family(cfg.family)
    if cfg.get("path"):
        backbone = cls.from_pretrained(
            resolve_model_path(cfg.path),
            dtype=cfg.get("dtype"),
            device_map=cfg.get("device_map"),
            trust_remote_code=bool(cfg.get("trust_remote_code", False)),
            revision=cfg.get("revision"),
            blank_image_size=cfg.get("blank_image_size", 336),
        )
    else:
        backbone = cls.build_tiny(**dict(cfg.get("tiny") or {}))
        backbone.blank_image_size = cfg.get("blank_image_size", backbone.blank_image_size)
    if cfg.get("adapter"):
        load_adapter(backbone, cfg.adapter)
    return backbone
