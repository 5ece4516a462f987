"""``fit ckpt_path=...`` checked before any work: the checkpoint must exist, load, and come from
the same model, method and LoRA set-up, and from the same settings of everything else that changes
what is trained (``training_fingerprint``), or the run stops with one line and its folder is left as
it was.

What may change on a resume: how long it trains (``trainer.max_steps``, ``trainer.max_epochs``),
where and on how many devices (``trainer.accelerator``, ``devices``, ``num_nodes``, ``strategy``: a
requeue on other nodes), logging and paths, ``checkpoint_every``, the evaluations around training
(``evaluate_before``, ``evaluate_after``, ``generation.*``, ``max_error_share``; their answers have
fingerprints of their own), the data loaders (``data.eval_batch_size``, ``num_workers``, ``cache_dir``,
``verify_images``, ``val_tasks``, ``image_cache_mib``), and ``model.gradient_checkpointing`` and
``model.device_map``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from unsafe_vlm.errors import UserError

LAST = "last"
MODEL_KEYS = ("name", "path", "revision", "tiny")
FINGERPRINT = "trained_with"  # the checkpoint's hyper-parameter holding ``training_fingerprint``
_LOADER_KEYS = ("eval_batch_size", "num_workers", "cache_dir", "verify_images", "val_tasks", "image_cache_mib")
_TRAINER_KEYS = ("precision", "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm",
                 "limit_train_batches", "deterministic")  # fmt: skip


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
    if FINGERPRINT in saved:  # checkpoints made before it was recorded lack it
        now = training_fingerprint(cfg)
        for key in sorted(set(now) | set(saved[FINGERPRINT])):
            _same(path, key, saved[FINGERPRINT].get(key, _ABSENT), now.get(key, _ABSENT))


def training_fingerprint(cfg: DictConfig) -> dict[str, Any]:
    """Every setting besides the model and LoRA that changes what a fit trains, flattened to its key
    (``method.lr``, ``data.limit_per_task``, ``seed``; ``judge.*`` for methods that score answers)."""
    from unsafe_vlm.methods.on_policy import OnPolicyModule
    from unsafe_vlm.methods.registry import method_class

    parts: dict[str, Any] = {"seed": cfg.get("seed"), "model.dtype": cfg.model.get("dtype")}
    parts |= _flat("method", OmegaConf.to_container(cfg.method, resolve=True))
    data = OmegaConf.to_container(cfg.data, resolve=True)
    parts |= _flat("data", {key: value for key, value in data.items() if key not in _LOADER_KEYS})
    trainer = cfg.get("trainer") or {}
    parts |= {f"trainer.{key}": trainer.get(key) for key in _TRAINER_KEYS if key in trainer}
    if issubclass(method_class(cfg.method.name), OnPolicyModule):  # the judge gives the rewards
        parts |= _flat("judge", OmegaConf.to_container(cfg.judge, resolve=True))
    return json.loads(json.dumps(parts, default=str))  # as it reads back from the checkpoint


def _flat(prefix: str, tree: Any) -> dict[str, Any]:
    if not isinstance(tree, Mapping):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat |= _flat(f"{prefix}.{key}", value)
    return flat


class _Absent:
    def __repr__(self) -> str:
        return "nothing"


_ABSENT = _Absent()


def model_identity(model: Mapping[str, Any]) -> dict[str, Any]:
    """What names the base model a checkpoint's adapters were trained on (kept in its hyper-parameters)."""
    return {key: model.get(key) for key in MODEL_KEYS}


def _same(path: Path, key: str, saved: Any, now: Any) -> None:
    if saved != now:
        raise UserError(f"{path} was made with {key}={saved!r}, this run has {now!r}; resume with the run's own "
                        "settings, or train in another hydra.run.dir")  # fmt: skip
