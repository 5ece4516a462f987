"""DPO: the module on a tiny model (the loss itself is tested against hand-worked values in test_rl_math.py)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from helpers.method_settings import lora_settings, settings_for
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.base import Collator
from unsafe_vlm.data.records import Record
from unsafe_vlm.methods.dpo import DPOModule
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.rl.losses import dpo_loss


class RecordingDPO(DPOModule):
    """Keeps every step's statistics instead of logging them (no Trainer here)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.history: list[dict[str, float]] = []

    def log_stats(self, stats, *, batch_size):
        self.history.append({k: float(v) for k, v in stats.items()})


def dpo_batch(backbone) -> dict:
    questions = ["Is this image safe?", "Is this image harmful?", "Would you post this image online?"]
    records = [
        Record(
            id=f"dpo/{i}",
            task="dpo",
            question=question,
            image=None,
            concept="Swastika",
            category="Hate",
            gold="Unsafe",
            answer="No, it is unsafe. The image shows Swastika, which is considered harmful.",
            rejected="Yes, it is safe. The image shows Swastika, which is considered harmless.",
        )
        for i, question in enumerate(questions)
    ]
    return Collator(backbone, "dpo")(records)


@pytest.fixture
def module() -> RecordingDPO:
    torch.manual_seed(0)
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    settings = settings_for("dpo", lr=1e-2, beta=0.1, warmup_ratio=0.0)
    module = RecordingDPO(build_backbone(model_settings(cfg)), settings, lora_settings(cfg.lora))
    module.configure_model()
    return module


def test_dpo_module_starts_at_log_two_with_no_margin(module):
    loss = module.training_step(dpo_batch(module.backbone), 0)
    stats = module.history[-1]
    assert loss.item() == pytest.approx(math.log(2), abs=1e-5)  # fresh LoRA: policy == reference
    assert stats["reward_margin"] == pytest.approx(0.0, abs=1e-5)
    assert stats["reward_accuracy"] == 0.0  # a margin of 0 is not a win


def test_dpo_module_learns_to_prefer_the_chosen_answer_and_keeps_the_reference(module):
    batch = dpo_batch(module.backbone)
    with torch.no_grad(), module.backbone.reference():
        reference_before = module.pair_logprobs(batch["pairs"])[0]
    optimizer = torch.optim.AdamW(list(module.trainable_parameters()), lr=1e-2)
    module.train()
    for _ in range(6):
        loss = module.training_step(batch, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    module.eval()
    module.training_step(batch, 0)
    first, last = module.history[0], module.history[-1]
    assert last["loss"] < first["loss"] - 0.05
    assert last["reward_accuracy"] == 1.0
    assert last["reward_margin"] > 0.5
    assert last["chosen_reward"] > last["rejected_reward"]
    with torch.no_grad(), module.backbone.reference():
        torch.testing.assert_close(module.pair_logprobs(batch["pairs"])[0], reference_before)
    with torch.no_grad():
        assert not torch.allclose(module.pair_logprobs(batch["pairs"])[0], reference_before)


def test_one_pass_over_the_pairs_gives_the_loss_of_separate_chosen_and_rejected_passes(module):
    """The pair batch (chosen rows, then rejected, right-padded to one width) scores each answer as
    its own batch does, so the loss is that of two passes, one over each side."""
    backbone = module.backbone
    with torch.no_grad():  # a policy that differs from the reference, or every loss is log 2
        for name, param in backbone.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.5)
    module.eval()  # no dropout: both ways must see the same weights
    shorter = ["Yes.", "Yes, it is safe.", "Yes, it is safe. The image shows Swastika."]
    pairs = zip(dpo_batch(backbone)["records"], shorter, strict=True)
    records = [dataclasses.replace(r, rejected=text) for r, text in pairs]
    batch = Collator(backbone, "dpo")(records)
    questions, images = [r.question for r in records], [None] * len(records)
    chosen = backbone.encode(questions, images, answers=[r.answer for r in records])
    rejected = backbone.encode(questions, images, answers=[r.rejected for r in records])
    assert batch["pairs"]["input_ids"].shape[0] == 2 * len(records)
    assert rejected["input_ids"].shape[1] < chosen["input_ids"].shape[1]  # the two sides are padded differently

    loss = module.training_step(batch, 0)
    with torch.no_grad(), backbone.reference():
        ref_chosen, ref_rejected = module.summed_logprobs(chosen), module.summed_logprobs(rejected)
    separate = dpo_loss(
        module.summed_logprobs(chosen), module.summed_logprobs(rejected), ref_chosen, ref_rejected, beta=0.1
    ).loss
    assert abs(loss.item() - math.log(2)) > 1e-3
    torch.testing.assert_close(loss, separate)
    pair_chosen, pair_rejected = module.pair_logprobs(batch["pairs"])
    torch.testing.assert_close(pair_chosen, module.summed_logprobs(chosen))
    torch.testing.assert_close(pair_rejected, module.summed_logprobs(rejected))
