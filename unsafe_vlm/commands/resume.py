"""``fit ckpt_path=...`` checked before any work: the checkpoint must exist, load, and come from
the same model, method and LoRA set-up, or the run stops with one line and its folder is left as it was."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.errors import UserError

LAST = "last"
MODEL_KEYS = ("name", "path", "revision", "tiny")


def checkpoint_path(ckpt_path: str, run_dir: Path) -> Path:
    """``last`` is the run folder's ``checkpoints/last.ckpt``; anything else is a path."""
    return run_dir / "checkpoints" / "last.ckpt" if ckpt_path == LAST else Path(ckpt_path).expanduser()


def check_resume(cfg: DictConfig, run_dir: Path) -> None:
    """Refuse a resume whose checkpoint is missing, unreadable, or made by another method or LoRA set-up."""
    if cfg.get("ckpt_path") is None:
        return
    path = checkpoint_path(str(cfg.ckpt_path), run_dir)
    if not path.is_file():
        where = "this run folder (hydra.run.dir) holds none" if cfg.ckpt_path == LAST else "no such file"
        raise UserError(f"ckpt_path={cfg.ckpt_path}: no checkpoint at {path}: {where}; resume in the run's own "
                        "hydra.run.dir, or leave ckpt_path unset to train from the start")  # fmt: skip
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: torch raises many kinds
        raise UserError(f"{path}: not a readable checkpoint ({type(error).__name__}); it may be cut short") from None
    saved = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    if not isinstance(saved, dict) or not {"method", "lora"} <= set(saved):
        raise UserError(f"{path}: not a checkpoint of unsafe-vlm's fit (no method and LoRA settings in it)")
    _same(path, "method.name", saved["method"].get("name"), cfg.method.name)
    model = model_identity(OmegaConf.to_container(cfg.model, resolve=True))
    for key, value in saved.get("model", {}).items():  # checkpoints made before the model was recorded lack it
        _same(path, f"model.{key}", value, model.get(key))
    lora = OmegaConf.to_container(cfg.model.lora, resolve=True)
    for key in sorted(set(lora) | set(saved["lora"])):
        _same(path, f"model.lora.{key}", saved["lora"].get(key), lora.get(key))


def model_identity(model: Mapping[str, Any]) -> dict[str, Any]:
    """What names the base model a checkpoint's adapters were trained on (kept in its hyper-parameters)."""
    return {key: model.get(key) for key in MODEL_KEYS}


def _same(path: Path, key: str, saved: Any, now: Any) -> None:
    if saved != now:
        raise UserError(f"{path} was made with {key}={saved!r}, this run has {now!r}; resume with the run's own "
                        "settings, or train in another hydra.run.dir")  # fmt: skip
