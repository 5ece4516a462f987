"""Typed method settings for tests: conf/method/<name>.yaml as ``fit`` reads it for a model, with changes."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from bench.configs import method_settings
from unsafe_vlm.backbones.lora import LoraSettings
from unsafe_vlm.methods.base import MethodSettings
from unsafe_vlm.methods.registry import method_class
from unsafe_vlm.paths import CONF_DIR


def settings_for(name: str, model: str = "tiny", **changes: Any) -> MethodSettings:
    """The checked settings of method ``name`` on ``conf/model/<model>.yaml``, ``changes`` applied."""
    values = method_settings(name, OmegaConf.load(CONF_DIR / "model" / f"{model}.yaml"), **changes)
    return method_class(name).settings_class.from_config(values, "method")


def lora_settings(node: Any) -> LoraSettings:
    """``model.lora`` of a model config (or any mapping of its keys), checked as ``fit`` checks it."""
    return LoraSettings.from_config(node, "model.lora")
