"""``python tests/helpers/ddp_ranks.py METHOD OUT``: train METHOD on the tiny model with Lightning's ``ddp``
on 2 CPU processes (gloo). Each process is seeded by its rank (so its LoRA starts from other
random numbers) and gets other records (Lightning's distributed sampler); each writes its
trainable tensors as training starts and ends, to ``OUT/rank{r}.{start,end}.pt`` (GRPO too), and PPO its
gradients of the first update before and after averaging (``OUT/rank{r}.grads.pt``), for
tests/methods/test_ddp_ranks.py to compare. Lightning starts the second process by running this
script again, with its rank in the environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import lightning as L
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: tests/, where helpers/ is
from helpers.trainers import quiet_trainer  # noqa: E402
from unsafe_vlm.backbones.lora import LoraSettings
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.base import Collator
from unsafe_vlm.data.records import SAFE, UNSAFE, Record
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.methods.on_policy import OnPolicyModule
from unsafe_vlm.methods.ppo import PPOModule
from unsafe_vlm.methods.registry import method_class
from unsafe_vlm.paths import CONF_DIR

RECORDS = 12  # 3 batches of 2 per process
CHANGES = {  # small, fast, and every update large enough to see
    "sft": {},
    "dpo": {},
    "ppo": {"minibatch_size": 1, "ppo_epochs": 2, "max_new_tokens": 4},  # 4 averaged updates per batch
    "grpo": {"group_size": 2, "minibatch_size": 2, "ppo_epochs": 1, "max_new_tokens": 4},  # 2 per batch
}


class SaveTrainable(L.Callback):
    """Each rank's trainable tensors as training starts (after DDP's set-up) and as it ends."""

    def __init__(self, out: Path):
        self.out = out

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._save(module, "start")

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._save(module, "end")

    def _save(self, module: L.LightningModule, when: str) -> None:
        tensors = {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}
        torch.save(tensors, self.out / f"rank{module.global_rank}.{when}.pt")


class GradientRecordingPPO(PPOModule):
    """PPO that writes the first update's gradients: this rank's own, then the averaged ones."""

    out: Path

    def manual_backward(self, loss: torch.Tensor, *args, **kwargs) -> None:
        super().manual_backward(loss, *args, **kwargs)  # PPO's _backward runs it without DDP's averaging
        self.local_grads = _grads(self)

    def _backward(self, loss: torch.Tensor) -> None:
        super()._backward(loss)
        path = self.out / f"rank{self.global_rank}.grads.pt"
        if not path.exists():
            torch.save({"local": self.local_grads, "averaged": _grads(self)}, path)


def _grads(module: L.LightningModule) -> dict[str, torch.Tensor]:
    return {name: p.grad.detach().clone() for name, p in module.named_parameters() if p.grad is not None}


def records(method: str) -> list[Record]:
    """Text-only training records, each with its own question (so every rank's gradient differs);
    ``method`` is a training format (GRPO trains on PPO's records)."""
    made = []
    for i in range(RECORDS):
        gold = UNSAFE if i % 2 else SAFE
        answer, rejected = ("Unsafe.", "Safe.") if gold == UNSAFE else ("Safe.", "Unsafe.")
        made.append(Record(
            id=f"{method}/{i}", task=method, question=f"Question {i}: is this image safe?", image=None,
            concept="Swastika", category="Hate" if gold == UNSAFE else "Safe", gold=gold,
            answer=None if method == "ppo" else answer, rejected=rejected if method == "dpo" else None,
        ))  # fmt: skip
    return made


def module_for(method: str, out: Path) -> L.LightningModule:
    model = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    values = OmegaConf.merge(OmegaConf.load(CONF_DIR / "method" / f"{method}.yaml"), CHANGES[method])
    values.update(lr=1e-2, warmup_ratio=0.0, batch_size=2)
    cls = method_class(method)
    settings = cls.settings_class.from_config(values, "method")
    backbone = build_backbone(model_settings(model))
    lora = LoraSettings.from_config(model.lora, "model.lora")
    if cls is PPOModule:
        module = GradientRecordingPPO(backbone, settings, lora, judge=RuleJudge(smoothing=0.1))
        module.out = out
        return module
    if issubclass(cls, OnPolicyModule):
        return cls(backbone, settings, lora, judge=RuleJudge(smoothing=0.1))
    return cls(backbone, settings, lora)


def main(method: str, out: Path) -> None:
    L.seed_everything(int(os.environ.get("LOCAL_RANK", 0)), verbose=False)
    module = module_for(method, out)
    train_format = module.train_format
    loader = DataLoader(records(train_format), batch_size=2, collate_fn=Collator(module.backbone, train_format))
    trainer = quiet_trainer(devices=2, strategy="ddp", callbacks=[SaveTrainable(out)])
    trainer.fit(module, train_dataloaders=loader)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
