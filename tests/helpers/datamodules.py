"""Data modules as a config builds them: the shipped ``conf/data/<name>.yaml`` with a test's overrides."""

from __future__ import annotations

from typing import Any

from unsafe_vlm.data.image_safety import ImageSafetyDataModule
from unsafe_vlm.data.mme import MMEDataModule
from unsafe_vlm.data.settings import shipped_data_config
from unsafe_vlm.data.unsafe_concepts import SafetyDataModule


def benchmark_module(root: str | None = None, safe_root: str | None = None, **overrides: Any) -> SafetyDataModule:
    """``data=unsafe_concepts`` reading ``root`` (and ``safe_root``)."""
    return SafetyDataModule(**shipped_data_config("unsafe_concepts", root=root, safe_root=safe_root, **overrides))


def image_safety_module(path: str | None = None, **overrides: Any) -> ImageSafetyDataModule:
    return ImageSafetyDataModule(**shipped_data_config("image_safety", path=path, **overrides))


def mme_module(path: str | None = None, **overrides: Any) -> MMEDataModule:
    return MMEDataModule(**shipped_data_config("mme", path=path, **overrides))
