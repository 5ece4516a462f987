"""Build what every command needs from the composed config: settings, seed, data, backbone, judge."""

from __future__ import annotations

import os
from dataclasses import dataclass

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from unsafe_vlm.api.client import ApiModel
from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.registry import build_backbone
from unsafe_vlm.commands.checks import RunSettings, check_settings
from unsafe_vlm.errors import UserError
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.judges.registry import build_judge


@dataclass
class Parts:
    settings: RunSettings
    backbone: VLMBackbone | ApiModel
    datamodule: L.LightningDataModule
    judge: Judge  # the one judge of the command: its evaluations and a PPO or GRPO reward use it


def build_parts(cfg: DictConfig, stage: str, settings: RunSettings | None = None) -> Parts:
    """Check every setting (unless the command did: ``settings``), seed everything, read the data
    ``stage`` needs ("fit" or "predict"), then build the backbone, connect the data module to it,
    and build the judge: a bad value or bad data is reported before any weights load."""
    settings = settings or check_settings(cfg)
    L.seed_everything(settings.run.seed, workers=True, verbose=False)
    datamodule = _datamodule(cfg)
    if os.environ.get("LOCAL_RANK", "0") == "0":
        # DDP workers that Lightning starts later leave this to its own hooks (prepare_data runs on
        # local rank 0 only); Lightning's setup calls find the records built here and cached.
        datamodule.prepare_data()
        datamodule.setup(stage)
    backbone = build_backbone(settings.model)
    datamodule.connect(backbone)
    return Parts(settings=settings, backbone=backbone, datamodule=datamodule, judge=build_judge(settings.judge))


def evaluation_trainer(cfg: DictConfig) -> L.Trainer:
    """A Lightning Trainer for one evaluation (``trainer.*``): no logger, no checkpoints."""
    return instantiate(
        cfg.trainer, logger=False, callbacks=[RichProgressBar()], enable_checkpointing=False, _convert_="object"
    )


def _datamodule(cfg: DictConfig) -> L.LightningDataModule:
    try:
        return instantiate(cfg.data, _recursive_=False)
    except InstantiationException as error:
        # Hydra wraps the data module's own clear errors; show those, not Hydra's wrapper.
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise


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
