"""DPO: the sigmoid loss against values worked out by hand, and the module on a tiny model."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from method_settings import settings_for
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone
from unsafe_vlm.data.collate import Collator
from unsafe_vlm.data.records import Record
from unsafe_vlm.methods.dpo import DPOModule, dpo_loss
from unsafe_vlm.paths import CONF_DIR


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_dpo_loss_of_one_pair_by_hand():
    # chosen -1 vs ref -1.5: reward 0.1 * 0.5 = 0.05; rejected -2 vs ref -1.5: reward -0.05
    # loss = -log sigmoid(0.05 - (-0.05)) = log(1 + e^-0.1)
    loss, chosen, rejected = dpo_loss(t(-1.0), t(-2.0), t(-1.5), t(-1.5), beta=0.1)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-0.1)), abs=1e-6)
    assert loss.item() == pytest.approx(0.6443967, abs=1e-6)
    torch.testing.assert_close(chosen, t(0.05))
    torch.testing.assert_close(rejected, t(-0.05))


def test_dpo_loss_is_the_mean_over_pairs_and_scales_with_beta():
    # pair 2, beta 0.5: chosen -3 vs ref -2 -> -0.5; rejected -1 vs ref -2 -> +0.5;
    # margin -1, loss log(1 + e^1) = 1.3132617. Pair 1 at beta 0.5: margin 0.5, loss log(1 + e^-0.5).
    loss, chosen, rejected = dpo_loss(t(-1.0, -3.0), t(-2.0, -1.0), t(-1.5, -2.0), t(-1.5, -2.0), beta=0.5)
    expected = (math.log(1 + math.exp(-0.5)) + math.log(1 + math.exp(1.0))) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    torch.testing.assert_close(chosen, t(0.25, -0.5))
    torch.testing.assert_close(rejected, t(-0.25, 0.5))
    margin = chosen - rejected
    assert (margin > 0).float().mean().item() == 0.5  # reward accuracy: one pair of two ranked right
    assert margin.mean().item() == pytest.approx(-0.25)  # reward margin: (0.5 - 1) / 2


def test_dpo_loss_is_log_two_when_the_policy_is_the_reference():
    logps = t(-4.0, -7.5, -0.3)
    loss, chosen, rejected = dpo_loss(logps, logps - 1, logps, logps - 1, beta=0.1)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-7)
    assert chosen.abs().max().item() == 0 and rejected.abs().max().item() == 0


def test_dpo_rewards_carry_no_gradient_but_the_loss_does():
    chosen = t(-1.0).requires_grad_()
    loss, chosen_reward, _ = dpo_loss(chosen, t(-2.0), t(-1.5), t(-1.5), beta=0.1)
    loss.backward()
    # d/dc of -log sigmoid(beta * (c - r) + const) = -beta * (1 - sigmoid(0.1))
    assert chosen.grad.item() == pytest.approx(-0.1 * (1 - 1 / (1 + math.exp(-0.1))), abs=1e-7)
    assert not chosen_reward.requires_grad


# ----- the module on the tiny model ---------------------------------------------------------


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
    module = RecordingDPO(build_backbone(cfg), settings_for("dpo", lr=1e-2, beta=0.1, warmup_ratio=0.0), cfg.lora)
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
    separate, _, _ = dpo_loss(
        module.summed_logprobs(chosen), module.summed_logprobs(rejected), ref_chosen, ref_rejected, beta=0.1
    )
    assert abs(loss.item() - math.log(2)) > 1e-3
    torch.testing.assert_close(loss, separate)
    pair_chosen, pair_rejected = module.pair_logprobs(batch["pairs"])
    torch.testing.assert_close(pair_chosen, module.summed_logprobs(chosen))
    torch.testing.assert_close(pair_rejected, module.summed_logprobs(rejected))
