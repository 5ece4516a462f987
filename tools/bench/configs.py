"""The settings a benchmark runs with: a model config and a method config resolved as ``fit`` does."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.paths import CONF_DIR


def model_config(name: str) -> DictConfig:
    """conf/model/<name>.yaml."""
    return OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")


def method_settings(name: str, model: DictConfig, **changes: Any) -> dict[str, Any]:
    """conf/method/<name>.yaml resolved against the model config (a model may tune a method's settings,
    ``${oc.select:model.training...}``), then ``changes`` applied, as plain values."""
    composed = OmegaConf.create({"model": model, "method": OmegaConf.load(CONF_DIR / "method" / f"{name}.yaml")})
    settings = OmegaConf.to_container(composed.method, resolve=True)
    settings.update(changes)
    return settings
