"""Tiny backbones built from ``conf/model`` with changes, and a LoRA adapter moved off its zero start and
saved as ``fit`` saves it (the adapter identity and API round-trip tests)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.lora import LoraSettings, add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.paths import CONF_DIR

LORA = LoraSettings(r=4, alpha=8, dropout=0.0, target_modules=None)


def model_config(name: str = "tiny", **changes):
    cfg = OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")
    for key, value in changes.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def tiny(seed: int = 0, **changes) -> VLMBackbone:
    return build_backbone(model_settings(model_config(**{"tiny.seed": seed, **changes}))).eval()


def trained_adapter(backbone: VLMBackbone, folder: Path) -> Path:
    """LoRA added and moved off its zero start (as training would), then saved as fit saves it."""
    add_lora(backbone, LORA)
    with torch.no_grad():
        for name, param in backbone.model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    return backbone.save_adapter(folder)
