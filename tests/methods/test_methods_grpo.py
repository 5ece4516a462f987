"""GRPO on the tiny model: the reward a judge gives can be learnt; each prompt is answered
group_size times from images encoded once; every token of an answer carries its advantage; no
value head; and a run resumed from its last checkpoint ends where an uninterrupted one does."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import lightning as L
import pytest
import torch
from helpers.method_settings import lora_settings
from helpers.policy_learning import QUESTIONS, FirstWordJudge, most_frequent_first_word, sharp_tiny_backbone
from helpers.trainers import quiet_trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import OmegaConf
from PIL import Image
from torch.utils.data import DataLoader

from bench.configs import method_settings
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.records import UNSAFE, Record, RecordBatch
from unsafe_vlm.judges.base import label
from unsafe_vlm.methods.grpo import GRPOModule, GRPOSettings
from unsafe_vlm.paths import CONF_DIR


def grpo_settings(**changes) -> GRPOSettings:
    method = method_settings("grpo", OmegaConf.load(CONF_DIR / "model" / "tiny.yaml"))
    method.update(batch_size=8, group_size=4, minibatch_size=16, ppo_epochs=2, max_new_tokens=4, warmup_ratio=0.0)
    method.update(changes)
    return GRPOSettings.from_config(method, "method")


def batch_of(backbone, questions: Sequence[str], images=None) -> dict:
    records = RecordBatch(
        Record(id=f"ppo/{i}", task="ppo", question=q, image=None, concept="Swastika", category="Hate", gold=UNSAFE)
        for i, q in enumerate(questions)
    )
    return {"records": records, "inputs": backbone.encode(list(questions), images or [None] * len(questions))}


def repeating(batch: dict, iterations: int) -> DataLoader:
    return DataLoader(range(iterations), batch_size=None, collate_fn=lambda _: batch)


class AlternatingJudge:
    """Unsafe (0.9) for even answers of a rollout, Safe for odd ones; or one verdict for all."""

    name = "alternating"

    def __init__(self, constant: bool = False):
        self.constant = constant

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        hits = torch.tensor([self.constant or i % 2 == 0 for i in range(len(responses))], dtype=torch.float32)
        unsafe = 0.1 + 0.8 * hits
        return torch.stack([1 - unsafe, unsafe, torch.zeros_like(unsafe)], dim=1)

    def label(self, probs: torch.Tensor) -> list[str]:
        return label(probs)


@pytest.mark.slow
@pytest.mark.parametrize("baseline", ["mean", "rloo"])
def test_grpo_learns_the_reward_of_its_judge(baseline):
    L.seed_everything(0, verbose=False)
    backbone, cfg = sharp_tiny_backbone()
    batch = batch_of(backbone, QUESTIONS)
    judge = FirstWordJudge(most_frequent_first_word(backbone, batch["inputs"]))
    iterations = 12
    settings = grpo_settings(lr=3e-4, batch_size=16, group_size=2, baseline=baseline, scale_by_std=baseline == "mean")
    module = GRPOModule(backbone, settings, lora_settings(cfg.lora), judge=judge)
    quiet_trainer().fit(module, train_dataloaders=repeating(batch, iterations))

    rates = judge.hit_rates
    assert len(rates) == iterations
    first, last = sum(rates[:2]) / 2, sum(rates[-3:]) / 3
    assert last >= 0.6, rates
    assert last >= first + 0.3, rates


def test_each_prompt_is_answered_group_size_times_from_images_encoded_once():
    torch.manual_seed(0)
    backbone, cfg = sharp_tiny_backbone()
    module = GRPOModule(backbone, grpo_settings(group_size=3), lora_settings(cfg.lora), judge=AlternatingJudge())
    module.configure_model()
    images = [Image.new("RGB", (32, 32), (60 * i, 0, 0)) for i in range(2)]
    prompts = backbone.encode(QUESTIONS[:2], images)
    encoder_rows = []
    vision = backbone.model.get_image_features

    @functools.wraps(vision)  # encode_images reads its signature
    def counting(*args, **kwargs):
        encoder_rows.append(kwargs["pixel_values"].shape[0])
        return vision(*args, **kwargs)

    backbone.model.get_image_features = counting
    rollout = module.collect_rollout(prompts, [UNSAFE] * 2)
    del backbone.model.get_image_features
    assert encoder_rows == [2]  # one pass over the 2 prompts' images, not one per answer
    assert rollout.size == 6 and "image_features" in rollout.inputs
    width = prompts["input_ids"].shape[1]
    rows = torch.arange(2).repeat_interleave(3)
    assert torch.equal(rollout.inputs["input_ids"][:, :width], prompts["input_ids"][rows])  # answers 3p..3p+2: prompt p

    with torch.no_grad():  # the shared features give what the images themselves give
        fresh = dict(backbone.select_rows(prompts, rows))
        for key in ("input_ids", "attention_mask", "answer_mask", "prompt_length"):
            fresh[key] = rollout.inputs[key]
        logprobs = backbone(fresh).token_logprobs()
    torch.testing.assert_close(rollout.logprobs, logprobs)


def test_a_rollout_from_one_prefill_per_group_is_the_rollout_that_rereads_each_prompt():
    backbone, cfg = sharp_tiny_backbone()
    prompts = backbone.encode(QUESTIONS[:3], [Image.new("RGB", (32, 32), (60 * i, 0, 0)) for i in range(3)])
    rollouts = []
    for share in (True, False):
        settings = grpo_settings(share_prefill=share)
        module = GRPOModule(backbone, settings, lora_settings(cfg.lora), judge=AlternatingJudge())
        module.configure_model()
        torch.manual_seed(0)
        rollouts.append(module.collect_rollout(prompts, [UNSAFE] * 3))
        backbone.model = backbone.model.unload()  # the next module adds its own LoRA to the same weights
    shared, reread = rollouts
    assert torch.equal(shared.inputs["input_ids"], reread.inputs["input_ids"])
    torch.testing.assert_close(shared.logprobs, reread.logprobs)
    torch.testing.assert_close(shared.advantages, reread.advantages)


@pytest.mark.parametrize("kl_penalty", ["loss", "reward"])
def test_every_token_of_an_answer_carries_its_advantage_and_a_group_without_signal_none(kl_penalty):
    torch.manual_seed(0)
    backbone, cfg = sharp_tiny_backbone()
    prompts = backbone.encode(QUESTIONS[:2], [None] * 2)
    settings = grpo_settings(group_size=2, reward="gold_probability", kl_penalty=kl_penalty)
    module = GRPOModule(backbone, settings, lora_settings(cfg.lora), judge=AlternatingJudge())
    module.configure_model()  # LoRA starts at zero: policy = reference, so the KL in the reward is 0
    rollout = module.collect_rollout(prompts, [UNSAFE] * 2)
    # groups [0.9, 0.1]: mean 0.5, std sqrt(0.32) -> +-0.4 / 0.56569 = +-0.70711 on every real token
    expected = torch.tensor([1.0, -1.0, 1.0, -1.0]) * 0.4 / (0.32**0.5 + 1e-6)
    assert torch.equal(rollout.advantages.masked_select(~rollout.mask), torch.zeros(int((~rollout.mask).sum())))
    for row in range(4):
        tokens = rollout.advantages[row][rollout.mask[row]]
        torch.testing.assert_close(tokens, expected[row].expand_as(tokens), atol=1e-4, rtol=0)
    assert module.rollout_stats(rollout)["no_signal_groups"].item() == 0.0

    module.judge = AlternatingJudge(constant=True)
    rollout = module.collect_rollout(prompts, [UNSAFE] * 2)
    assert torch.equal(rollout.advantages, torch.zeros_like(rollout.advantages))
    assert module.rollout_stats(rollout)["no_signal_groups"].item() == 1.0


def test_grpo_has_no_value_head_or_value_adapter():
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    backbone = build_backbone(model_settings(cfg))
    module = GRPOModule(backbone, grpo_settings(), lora_settings(cfg.lora), judge=AlternatingJudge())
    module.configure_model()
    names = [name for name, p in module.named_parameters() if p.requires_grad]
    assert names and all("lora_" in name and ".default." in name for name in names)


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    """Two of four iterations, then ckpt_path=last: sampling and updates continue from the
    checkpoint's random state, so the weights are bit for bit those of one run of four."""

    class StopAfter(L.Callback):
        def __init__(self, steps: int):
            self.steps = steps

        def on_train_batch_end(self, trainer, *args) -> None:
            trainer.should_stop = trainer.should_stop or trainer.global_step >= self.steps

    def run(folder, *callbacks, ckpt_path=None) -> dict[str, torch.Tensor]:
        L.seed_everything(0, verbose=False)
        backbone, cfg = sharp_tiny_backbone()
        settings = grpo_settings(batch_size=2, group_size=2, minibatch_size=4, ppo_epochs=1, lr=1e-2)
        module = GRPOModule(backbone, settings, lora_settings(cfg.lora), judge=FirstWordJudge("a"))
        checkpoints = ModelCheckpoint(dirpath=folder, save_last=True, save_top_k=0, every_n_train_steps=1)
        trainer = quiet_trainer(max_steps=4, enable_checkpointing=True, callbacks=[checkpoints, *callbacks])
        trainer.fit(module, train_dataloaders=repeating(batch_of(backbone, QUESTIONS[:2]), 4), ckpt_path=ckpt_path)
        return {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}

    whole = run(tmp_path / "whole")
    halfway = run(tmp_path / "resumed", StopAfter(2))
    resumed = run(tmp_path / "resumed", ckpt_path=tmp_path / "resumed" / "last.ckpt")
    assert torch.load(tmp_path / "resumed" / "last.ckpt", weights_only=False)["global_step"] == 4
    assert any(not torch.equal(halfway[name], whole[name]) for name in whole)  # the first run stopped short
    assert all(torch.equal(resumed[name], whole[name]) for name in whole)
