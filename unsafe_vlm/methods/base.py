"""What every alignment method shares: LoRA adapters, optimiser and schedule, adapter-only checkpoints."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.lora import LoraSettings, add_lora, has_lora
from unsafe_vlm.errors import UserError
from unsafe_vlm.judges.base import Judge
from unsafe_vlm.methods.schedule import warmup_cosine_scheduler
from unsafe_vlm.settings import Settings, SettingsError, limit


@dataclass(frozen=True)
class MethodSettings(Settings):
    """What every method's node holds (``method.*``, conf/method/<name>.yaml)."""

    name: str  # sft, dpo, ppo or grpo (the module that trains)
    lr: float = limit(gt=0)  # AdamW learning rate, the peak of the warm-up-then-cosine schedule
    weight_decay: float = limit(ge=0)  # AdamW weight decay on the LoRA weights
    warmup_ratio: float = limit(ge=0, le=1)  # share of the optimiser steps spent warming up
    batch_size: int = limit(ge=1)  # training records (pairs, prompts) per batch and process


class NonFiniteLossError(UserError):
    """A loss or statistic became NaN or infinite; training stops, the last good checkpoint stays."""


class AlignmentModule(L.LightningModule):
    """Base of the SFT, DPO, PPO and GRPO modules.

    The backbone's base weights stay frozen; ``configure_model`` adds LoRA adapters (before a
    checkpoint is restored, so resuming finds them). With the adapters disabled the same
    weights are the frozen reference model. Checkpoints hold only the trainable tensors.
    """

    train_format: str = ""  # the data module's training records: sft, dpo or ppo
    settings_class: ClassVar[type[MethodSettings]] = MethodSettings  # the type of ``method``

    def __init__(self, backbone: VLMBackbone, method: MethodSettings, lora: LoraSettings):
        super().__init__()
        if not isinstance(method, self.settings_class):
            raise TypeError(f"{type(self).__name__} takes {self.settings_class.__name__}, not {type(method).__name__}")
        self.backbone = backbone
        self.method = method
        self.lora = lora
        self.strict_loading = False  # checkpoints carry the adapters only
        self.save_hyperparameters({"method": method.to_dict(), "lora": lora.to_dict()})

    @classmethod
    def build(cls, backbone: VLMBackbone, method: MethodSettings, lora: LoraSettings, judge: Judge) -> AlignmentModule:
        """The module of a ``fit`` (``judge``: the command's one judge, for methods that score answers)."""
        return cls(backbone, method, lora)

    @classmethod
    def check_data(cls, method: MethodSettings, *, train_open_ended: bool, train_replay: bool = False) -> None:
        """Refuse training data this method cannot learn from (``data.train_open_ended``; every method
        learns from replay, ``data.train_replay``)."""
        if cls.train_format != "ppo" and train_open_ended:
            raise SettingsError(
                f"data.train_open_ended: open-ended prompts have no templated answer for {cls.train_format} to "
                "learn; only ppo and grpo train on them"
            )

    def on_fit_start(self) -> None:
        self.train()  # backbones are built in eval mode; LoRA dropout needs train mode

    # ----- model and optimiser --------------------------------------------------------------

    def configure_model(self) -> None:
        if not has_lora(self.backbone):
            add_lora(self.backbone, self.lora)

    def trainable_parameters(self) -> Iterator[torch.nn.Parameter]:
        return (p for p in self.parameters() if p.requires_grad)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.AdamW(
            list(self.trainable_parameters()),
            lr=self.method.lr,
            weight_decay=self.method.weight_decay,
            foreach=True,  # one multi-tensor update for the many small LoRA tensors (CPU defaults to a loop)
        )
        scheduler = warmup_cosine_scheduler(
            optimizer, total_steps=self.total_optimizer_steps(), warmup_ratio=self.method.warmup_ratio
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def total_optimizer_steps(self) -> int:
        return max(1, int(self.trainer.estimated_stepping_batches))

    # ----- checks and checkpoints -----------------------------------------------------------

    def check_finite(self, **values: torch.Tensor) -> None:
        """Stop with the step and the offending statistic if any value is NaN or infinite.

        All values are checked on their device and read back once (one device sync per call).
        """
        finite = torch.stack([torch.isfinite(value.detach()).all() for value in values.values()])
        if bool(finite.all()):
            return
        for (name, value), ok in zip(values.items(), finite.tolist(), strict=True):
            if not ok:
                raise NonFiniteLossError(
                    f"step {self.global_step}: {name} is {value.detach().float().mean().item()}; "
                    "training stopped, the last good checkpoint is kept (lower method.lr, or check the data)"
                )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        trainable = {name for name, p in self.named_parameters() if p.requires_grad}
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in trainable}
        checkpoint[RNG_KEY] = rng_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Restored at the first batch, not now: building the resumed run's loader draws from the
        # generator too, which the uninterrupted run did before the checkpoint was saved.
        self._rng_to_restore = checkpoint.get(RNG_KEY)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        state, self._rng_to_restore = getattr(self, "_rng_to_restore", None), None
        if state is not None:
            set_rng_state(state)

    def save_adapter(self, folder: str | Path) -> Path:
        """The LoRA adapter in the peft layout (``PeftModel.from_pretrained`` loads it), naming its base."""
        return self.backbone.save_adapter(folder)

    def log_stats(self, stats: Mapping[str, torch.Tensor | float], *, batch_size: int) -> None:
        self.log_dict({f"train/{k}": v for k, v in stats.items()}, batch_size=batch_size, sync_dist=False)


RNG_KEY = "unsafe_vlm_rng"  # the random generators' states when a checkpoint was saved (sampling, dropout)


def rng_state() -> dict[str, Any]:
    """This process's generator states: torch's (CPU, and CUDA when there is one) and Python's."""
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_as_tuple(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    """Python's generator state back from a checkpoint, which may turn its tuples into lists."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def mean_over_tokens(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)
