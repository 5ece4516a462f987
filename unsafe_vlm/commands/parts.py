"""Build what every command needs from the composed config: settings, seed, data, backbone."""

from __future__ import annotations

import os
from dataclasses import dataclass

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.api.client import ApiModel
from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.registry import build_backbone
from unsafe_vlm.commands.checks import RunSettings, check_settings
from unsafe_vlm.data.sources import build_datamodule, data_settings


@dataclass
class Parts:
    settings: RunSettings
    backbone: VLMBackbone | ApiModel
    datamodule: L.LightningDataModule


def build_parts(cfg: DictConfig, stage: str) -> Parts:
    """Check every setting, seed everything, read the data ``stage`` needs ("fit" or "predict"),
    then build the backbone and connect the data module to it: a bad value or bad data is
    reported before any weights load."""
    settings = check_settings(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = _datamodule(cfg)
    if os.environ.get("LOCAL_RANK", "0") == "0":
        # DDP workers that Lightning starts later leave this to its own hooks (prepare_data runs on
        # local rank 0 only); Lightning's setup calls find the records built here and cached.
        datamodule.prepare_data()
        datamodule.setup(stage)
    backbone = build_backbone(settings.model)
    datamodule.connect(backbone)
    return Parts(settings=settings, backbone=backbone, datamodule=datamodule)


def _datamodule(cfg: DictConfig) -> L.LightningDataModule:
    return build_datamodule(data_settings(OmegaConf.to_container(cfg.data, resolve=True)))


@rank_zero_only
def describe_parts(cfg: DictConfig, parts: Parts) -> None:
    """A short table of what was built, printed before a run starts."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"unsafe-vlm {cfg.command}", show_header=False)
    if isinstance(parts.backbone, ApiModel):
        table.add_row("model", f"{cfg.model.name} ({parts.backbone.describe()})")
    else:
        parameters = sum(p.numel() for p in parts.backbone.parameters())
        table.add_row("model", f"{cfg.model.name} ({parts.backbone.family}, {parameters / 1e6:.2f}M parameters)")
    table.add_row("data", str(cfg.data.get("name", cfg.data.get("_target_"))))
    if parts.settings.method is not None:
        table.add_row("method", parts.settings.method.name)
    table.add_row("judge", cfg.judge.name)
    Console().print(table)
