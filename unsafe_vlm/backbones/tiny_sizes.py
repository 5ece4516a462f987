"""The typed ``model.tiny`` keys: which tiny architecture, then its sizes (read without importing any model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unsafe_vlm.settings import Settings, limit

DEFAULT_BLANK_IMAGE_SIZE = 336


@dataclass(frozen=True)
class TinySizes(Settings):
    """``model.tiny``: which tiny architecture (``tiny_architectures/<architecture>.py``), then its sizes.

    ``TinySizes.from_config`` reads ``architecture`` and checks the node against that module's
    ``Sizes`` (a subclass); every architecture's ``Sizes`` derives from this class.
    """

    architecture: str  # a module of unsafe_vlm/backbones/tiny_architectures

    @classmethod
    def from_config(cls, node: Any, prefix: str, *, partial: bool = False) -> TinySizes:
        if cls is not TinySizes:
            return super().from_config(node, prefix, partial=partial)
        from unsafe_vlm.backbones.tiny_architectures import sizes_class

        return sizes_class(node, prefix).from_config(node, prefix, partial=partial)

    @property
    def blank_image_size(self) -> int:
        """The side of the white image a tiny instance built by hand shows (``model.blank_image_size`` wins)."""
        return DEFAULT_BLANK_IMAGE_SIZE


@dataclass(frozen=True)
class TinyTextSizes(TinySizes):
    """The ``model.tiny`` keys of a random Llama-like text model (an architecture's own sizes come after)."""

    seed: int  # draws the random weights
    vocab_size: int = limit(ge=1)
    hidden_size: int = limit(ge=1)
    num_layers: int = limit(ge=1)
    num_heads: int = limit(ge=1)


@dataclass(frozen=True)
class TinyVisionSizes(Settings):
    """The ``model.tiny`` keys of a ViT-style vision tower (CLIP, SigLIP, BLIP)."""

    vision_hidden_size: int = limit(ge=1)
    vision_layers: int = limit(ge=1)
    vision_heads: int = limit(ge=1)
    image_size: int = limit(ge=1)
    patch_size: int = limit(ge=1)

    @property
    def blank_image_size(self) -> int:
        return self.image_size


@dataclass(frozen=True)
class TinyVLMSizes(TinyVisionSizes, TinyTextSizes):
    """The architecture, a Llama text model's keys, then a ViT-style tower's; an architecture adds its own."""
