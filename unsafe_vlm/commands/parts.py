"""Build what every command needs from the composed config: settings, seed, data, backbone, judge."""

from __future__ import annotations

import os
from dataclasses import dataclass

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from unsafe_vlm.api.client import ApiModel
from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.preflight import check_model
from unsafe_vlm.backbones.registry import build_backbone
from unsafe_vlm.commands.checks import RunSettings, check_settings
from unsafe_vlm.commands.progress import StageBar, announce_evaluation
from unsafe_vlm.data.sources import build_datamodule
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.judges.registry import build_judge


@dataclass
class Parts:
    settings: RunSettings
    backbone: VLMBackbone | ApiModel
    datamodule: L.LightningDataModule
    judge: Judge  # the one judge of the command: its evaluations and a PPO or GRPO reward use it


def build_parts(cfg: DictConfig, stage: str, settings: RunSettings | None = None) -> Parts:
    """Check every setting (unless the command did: ``settings``) and that the model can be loaded,
    seed everything, read the data ``stage`` needs ("fit" or "predict"), then build the backbone,
    connect the data module to it, and build the judge: a bad value, an unreachable model or bad
    data is reported before any weights load."""
    settings = settings or check_settings(cfg)
    check_model(settings.model)
    L.seed_everything(settings.run.seed, workers=True, verbose=False)
    datamodule = build_datamodule(settings.data)
    if os.environ.get("LOCAL_RANK", "0") == "0":
        # DDP workers that Lightning starts later leave this to its own hooks (prepare_data runs on
        # local rank 0 only); Lightning's setup calls find the records built here and cached.
        datamodule.prepare_data()
        datamodule.setup(stage)
    backbone = build_backbone(settings.model)
    datamodule.connect(backbone)
    return Parts(settings=settings, backbone=backbone, datamodule=datamodule, judge=build_judge(settings.judge))


def evaluation_trainer(cfg: DictConfig, stage: str, datamodule: L.LightningDataModule) -> L.Trainer:
    """A Lightning Trainer for one evaluation (``trainer.*``): no logger, no checkpoints, its bar
    labelled ``stage``, which is announced with the number of queries it asks."""
    announce_evaluation(stage, datamodule)
    return instantiate(
        cfg.trainer, logger=False, callbacks=[StageBar(stage)], enable_checkpointing=False, _convert_="object"
    )


@rank_zero_only
def describe_parts(parts: Parts) -> None:
    """A short table of what was built, printed before a run starts."""
    from rich.console import Console
    from rich.table import Table

    settings = parts.settings
    table = Table(title=f"unsafe-vlm {settings.command}", show_header=False)
    if isinstance(parts.backbone, ApiModel):
        table.add_row("model", f"{settings.model.name} ({parts.backbone.describe()})")
    else:
        parameters = sum(p.numel() for p in parts.backbone.parameters())
        table.add_row("model", f"{settings.model.name} ({parts.backbone.family}, {parameters / 1e6:.2f}M parameters)")
    table.add_row("data", parts.datamodule.settings.name)
    if settings.method is not None:
        table.add_row("method", settings.method.name)
    table.add_row("judge", settings.judge.name)
    Console().print(table)
