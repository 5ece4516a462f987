"""Build what every command needs from the composed config: seed, backbone, data."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.registry import build_backbone
from unsafe_vlm.errors import UserError


@dataclass
class Parts:
    backbone: VLMBackbone
    datamodule: L.LightningDataModule


def build_parts(cfg: DictConfig) -> Parts:
    """Seed everything, then build the backbone and connect the data module to it."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    backbone = build_backbone(cfg.model)
    try:
        datamodule = instantiate(cfg.data, _recursive_=False)
    except InstantiationException as error:
        # Hydra wraps the data module's own clear errors; show those, not Hydra's wrapper.
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise
    datamodule.connect(backbone)
    return Parts(backbone=backbone, datamodule=datamodule)


@rank_zero_only
def describe_parts(cfg: DictConfig, parts: Parts) -> None:
    """A short table of what was built, printed before a run starts."""
    from rich.console import Console
    from rich.table import Table

    parameters = sum(p.numel() for p in parts.backbone.parameters())
    table = Table(title=f"unsafe-vlm {cfg.command}", show_header=False)
    table.add_row("model", f"{cfg.model.name} ({parts.backbone.family}, {parameters / 1e6:.2f}M parameters)")
    table.add_row("data", str(cfg.data.get("name", cfg.data.get("_target_"))))
    if "method" in cfg:
        table.add_row("method", cfg.method.name)
    table.add_row("judge", cfg.judge.name)
    Console().print(table)
