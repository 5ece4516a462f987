"""PPO on the tiny model: the reward a judge gives can be learnt, and a judge that cannot judge
alignment answers is refused up front."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from helpers.method_settings import lora_settings
from helpers.policy_learning import QUESTIONS, FirstWordJudge, most_frequent_first_word, sharp_tiny_backbone
from helpers.trainers import quiet_trainer
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from bench.configs import method_settings
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.records import UNSAFE, Record, RecordBatch
from unsafe_vlm.errors import UserError
from unsafe_vlm.judges.rule import RuleJudge
from unsafe_vlm.methods.ppo import PPOModule, PPOSettings
from unsafe_vlm.paths import CONF_DIR


def ppo_settings(**changes) -> PPOSettings:
    method = method_settings("ppo", OmegaConf.load(CONF_DIR / "model" / "tiny.yaml"))
    method.update(batch_size=len(QUESTIONS), minibatch_size=8, ppo_epochs=2, max_new_tokens=4, warmup_ratio=0.0)
    method.update(changes)
    return PPOSettings.from_config(method, "method")


@pytest.mark.slow
@pytest.mark.parametrize("value_adapter", ["separate", "frozen"])
def test_ppo_learns_the_reward_of_its_judge(value_adapter):
    L.seed_everything(0, verbose=False)
    backbone, cfg = sharp_tiny_backbone()
    inputs = backbone.encode(QUESTIONS, [None] * len(QUESTIONS))
    judge = FirstWordJudge(most_frequent_first_word(backbone, inputs))
    records = RecordBatch(
        Record(id=f"ppo/{i}", task="ppo", question=q, image=None, concept="Swastika", category="Hate", gold=UNSAFE)
        for i, q in enumerate(QUESTIONS)
    )
    batch = {"records": records, "inputs": inputs}
    iterations = 12
    loader = DataLoader(range(iterations), batch_size=None, collate_fn=lambda _: batch)
    settings = ppo_settings(lr=3e-4, value_adapter=value_adapter)
    module = PPOModule(backbone, settings, lora_settings(cfg.lora), judge=judge)
    trainer = quiet_trainer()
    trainer.fit(module, train_dataloaders=loader)

    rates = judge.hit_rates
    assert len(rates) == iterations
    first, last = sum(rates[:2]) / 2, sum(rates[-3:]) / 3
    assert last >= 0.6, rates
    assert last >= first + 0.3, rates


def test_ppo_refuses_a_judge_without_alignment_verdicts():
    cfg = OmegaConf.load(CONF_DIR / "model" / "tiny.yaml")
    backbone = build_backbone(model_settings(cfg))

    class PerceptionOnly(RuleJudge):
        tasks = ("perception",)

    with pytest.raises(UserError, match="judge 'perception-only' cannot judge alignment answers"):
        PPOModule(backbone, ppo_settings(), lora_settings(cfg.lora), judge=PerceptionOnly(name="perception-only"))

    class NoAlignment:
        name = "letters"

        def judge_perception(self, responses, options):
            return torch.zeros(len(responses), 5)

    with pytest.raises(UserError, match="judge 'letters' cannot judge alignment answers"):
        PPOModule(backbone, ppo_settings(), lora_settings(cfg.lora), judge=NoAlignment())


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_rollout_logprobs_are_those_of_the_distribution_that_sampled(temperature):
    """PPO's ratios and KL must be those of the policy that drew the answers: at temperature T,
    softmax(logits / T)."""
    torch.manual_seed(0)
    backbone, cfg = sharp_tiny_backbone()
    settings = ppo_settings(temperature=temperature)
    module = PPOModule(backbone, settings, lora_settings(cfg.lora), judge=FirstWordJudge("a"))
    module.configure_model()
    inputs = backbone.encode(QUESTIONS[:4], [None] * 4)
    rollout = module.collect_rollout(inputs, [UNSAFE] * 4)

    with torch.no_grad():
        logits = backbone(rollout.inputs).logits / temperature
        with backbone.reference():
            ref_logits = backbone(rollout.inputs).logits / temperature
    tokens = rollout.inputs["input_ids"][:, rollout.inputs["prompt_length"] :]

    def picked(scores: torch.Tensor) -> torch.Tensor:
        logprobs = torch.log_softmax(scores.float(), dim=-1).gather(-1, tokens[..., None]).squeeze(-1)
        return logprobs.masked_fill(~rollout.mask, 0.0)

    torch.testing.assert_close(rollout.logprobs, picked(logits))
    torch.testing.assert_close(rollout.ref_logprobs, picked(ref_logits))


def test_the_schedule_counts_iterations_while_max_steps_counts_optimiser_steps():
    from unsafe_vlm.methods.on_policy import ppo_iterations

    assert ppo_iterations(batches=10, max_steps=12, updates_per_iteration=4) == 3
    assert ppo_iterations(batches=10, max_steps=13, updates_per_iteration=4) == 4  # the last one is cut short
    assert ppo_iterations(batches=10, max_steps=-1, updates_per_iteration=4) == 10
