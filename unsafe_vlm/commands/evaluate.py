"""``python -m unsafe_vlm evaluate``: perception, image and text alignment, the modality gap."""

from __future__ import annotations

from omegaconf import DictConfig

from unsafe_vlm.commands.parts import build_parts, describe_parts
from unsafe_vlm.errors import UserError


def evaluate(cfg: DictConfig) -> None:
    parts = build_parts(cfg)
    parts.datamodule.setup("predict")
    describe_parts(cfg, parts)
    raise UserError("evaluate: the evaluation module is not built yet (issue 4)")
