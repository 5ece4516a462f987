"""Data modules as a config builds them: the shipped ``conf/data/<name>.yaml`` with a test's overrides."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.sources import build_datamodule, data_settings
from unsafe_vlm.data.sources.image_safety import ImageSafetyDataModule
from unsafe_vlm.data.sources.mme import MMEDataModule
from unsafe_vlm.data.sources.unsafe_concepts import SafetyDataModule
from unsafe_vlm.paths import CONF_DIR


def shipped_data_config(config: str, /, **overrides: Any) -> dict[str, Any]:
    """The ``data`` node of ``conf/data/<config>.yaml`` with ``overrides``, as plain values; the prompts
    are the shipped default's (None)."""
    node = OmegaConf.load(CONF_DIR / "data" / f"{config}.yaml")
    if "prompts" in node:
        node.prompts = None
    unknown = sorted(set(overrides) - set(node))
    if unknown:
        raise DataConfigError(f"conf/data/{config}.yaml has no key {unknown[0]!r}; its keys: {', '.join(node)}")
    return {**OmegaConf.to_container(node, resolve=True), **overrides}


def shipped_datamodule(config: str, /, **overrides: Any) -> Any:
    """The data module of ``conf/data/<config>.yaml`` with ``overrides``."""
    return build_datamodule(data_settings(shipped_data_config(config, **overrides)))


def datamodule_of(cfg) -> Any:
    """The data module of a composed config, as the commands build it."""
    return build_datamodule(data_settings(OmegaConf.to_container(cfg.data, resolve=True)))


def benchmark_module(root: str | None = None, safe_root: str | None = None, **overrides: Any) -> SafetyDataModule:
    """``data=unsafe_concepts`` reading ``root`` (and ``safe_root``)."""
    return shipped_datamodule("unsafe_concepts", root=root, safe_root=safe_root, **overrides)


def image_safety_module(path: str | None = None, **overrides: Any) -> ImageSafetyDataModule:
    return shipped_datamodule("image_safety", path=path, **overrides)


def mme_module(path: str | None = None, **overrides: Any) -> MMEDataModule:
    return shipped_datamodule("mme", path=path, **overrides)
