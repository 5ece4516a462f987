"""``python -m unsafe_vlm fit +method=NAME``: align a VLM, evaluating before and after."""

from __future__ import annotations

from omegaconf import DictConfig

from unsafe_vlm.commands.parts import build_parts, describe_parts
from unsafe_vlm.errors import UserError


def fit(cfg: DictConfig) -> None:
    if "method" not in cfg:
        raise UserError("fit needs a method: add +method=sft, +method=dpo or +method=ppo")
    parts = build_parts(cfg)
    parts.datamodule.setup("fit")
    describe_parts(cfg, parts)
    raise UserError(f"method {cfg.method.name!r}: the training modules are not built yet (issue 5)")
