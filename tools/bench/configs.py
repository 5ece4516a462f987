"""The settings a benchmark runs with: a model config and a method config resolved as ``fit`` does."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.paths import CONF_DIR


def model_config(name: str) -> DictConfig:
    """conf/model/<name>.yaml."""
    return OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")


def method_settings(name: str, model: DictConfig, **changes: Any) -> dict[str, Any]:
    """conf/method/<name>.yaml with the model's tuning of it (conf/tuning/<model>_<name>.yaml, as
    ``fit`` merges it), then ``changes`` applied, as plain values."""
    method = OmegaConf.load(CONF_DIR / "method" / f"{name}.yaml")
    tuning = CONF_DIR / "tuning" / f"{model.name}_{name}.yaml"
    if tuning.is_file():
        method = OmegaConf.merge(method, OmegaConf.load(tuning).get("method", {}))
    settings = OmegaConf.to_container(method, resolve=True)
    settings.update(changes)
    return settings
