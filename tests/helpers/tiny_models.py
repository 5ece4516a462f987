"""The tiny sizes of a conf/model/tiny*.yaml as its family's typed settings, for tests that build one by hand."""

from __future__ import annotations

from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import model_settings
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.settings import Settings


def tiny_sizes(config: str = "tiny", **changes: object) -> Settings:
    """``conf/model/<config>.yaml``'s ``model.tiny``, with ``changes`` (checked again)."""
    sizes = model_settings(OmegaConf.load(CONF_DIR / "model" / f"{config}.yaml")).tiny
    return sizes.with_changes(**changes) if changes else sizes
