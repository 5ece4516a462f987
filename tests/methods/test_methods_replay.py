"""Replay on a real model: the organism answers the replayed capability questions before training, SFT
and DPO train on exactly those answers, and PPO and GRPO score them with the KL alone."""

from __future__ import annotations

import pytest
import torch
from helpers.datamodules import shipped_datamodule
from helpers.method_settings import lora_settings, settings_for
from omegaconf import OmegaConf

from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.base import Collator
from unsafe_vlm.data.replay import opposite_answer
from unsafe_vlm.evaluation.generation import GenerationSettings
from unsafe_vlm.evaluation.replay import reference_answers
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.methods.registry import method_class
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.settings import SettingsError

REPLAYED = 8


@pytest.fixture(scope="module")
def organism():
    cfg = OmegaConf.load(CONF_DIR / "model" / "organism.yaml")
    return build_backbone(model_settings(cfg)).eval(), cfg


@pytest.fixture(scope="module")
def generation() -> GenerationSettings:
    return GenerationSettings.from_config(OmegaConf.load(CONF_DIR / "generation" / "default.yaml"), "generation")


def replaying_data(data_cache):
    return shipped_datamodule(
        "synthetic", cache_dir=str(data_cache), train_replay=["capability"], limit_per_task=REPLAYED
    )


@pytest.mark.parametrize("train_format", ["sft", "dpo"])
def test_sft_and_dpo_train_on_the_models_own_answers_from_before_training(
    organism, generation, data_cache, train_format
):
    backbone, _ = organism
    data = replaying_data(data_cache)
    questions = data.replay_questions()
    answers = reference_answers(backbone, questions, generation, batch_size=3)
    alone = backbone.generate(Collator(backbone, "eval")(questions[:1])["inputs"], **generation.to_dict()).texts
    assert answers[questions[0].id] == alone[0], "batched as the evaluations batch, the same greedy answer"
    assert {a.split(",")[0].split(".")[0] for a in answers.values()} <= {"Yes", "No"}, answers
    data.give_replay_answers(answers)
    data.connect(backbone, train_format=train_format, batch_size=64)
    replay = [r for batch in data.train_dataloader() for r in batch["records"] if "/replay/" in r.id]
    assert sorted(r.answer for r in replay) == sorted(answers.values())
    if train_format == "dpo":
        assert all(r.rejected == opposite_answer(r.answer) != r.answer for r in replay)


@pytest.mark.parametrize("method", ["ppo", "grpo"])
def test_ppo_and_grpo_give_the_replayed_answers_no_judge_score(organism, data_cache, method):
    backbone, cfg = organism
    data = replaying_data(data_cache)
    records = data.records("ppo")
    records = [r for r in records if r.yes_no][:4] + [r for r in records if not r.yes_no][:4]
    settings = settings_for(method, "organism", mask_open_ended=True, max_new_tokens=6, batch_size=len(records))
    module = method_class(method).build(backbone, settings, lora_settings(cfg.lora), RuleJudge())
    module.configure_model()
    torch.manual_seed(0)
    batch = Collator(backbone, "ppo")(records)
    gold, yes_no = [r.gold for r in records], [r.yes_no for r in records]
    rollout = module.collect_rollout(batch["inputs"], gold, yes_no)
    repeats = len(rollout.scored) // len(records)  # GRPO answers each prompt group_size times
    assert int(rollout.scored.sum()) == 4 * repeats == int((~rollout.scored).sum())
    assert torch.all(rollout.scores[~rollout.scored] == 0), "no judge score, no length bonus: only the KL acts"


@pytest.mark.parametrize("method", ["ppo", "grpo"])
def test_on_policy_replay_needs_the_reward_mask_and_the_mask_is_then_accepted(method):
    module_class = method_class(method)
    with pytest.raises(SettingsError, match="method.mask_open_ended: false, but data.train_replay adds capability"):
        module_class.check_data(settings_for(method), train_open_ended=False, train_replay=True)
    module_class.check_data(settings_for(method, mask_open_ended=True), train_open_ended=False, train_replay=True)
