"""GRPO (and RLOO): PPO's clipped objective without a value model; the baseline of each answer is
the other answers to the same prompt.

Each prompt is answered ``group_size`` times; the judge scores every answer as PPO's reward does,
and an answer's advantage is its score against its group's (``unsafe_vlm.rl.group_advantages``),
the same on each of its tokens. The KL to the reference is a loss term (k3) or comes off the
score (k1, summed over the answer). The rollout and update loop are ``on_policy``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from unsafe_vlm.backbones.base import Generation, ModelInputs
from unsafe_vlm.methods.on_policy import OnPolicyModule, OnPolicySettings
from unsafe_vlm.rl.group_advantages import group_advantages, group_stats, token_advantages
from unsafe_vlm.rl.masked import masked_mean
from unsafe_vlm.rl.rewards import kl_estimate
from unsafe_vlm.rl.rollout import Rollout, ScoredAnswers
from unsafe_vlm.settings import limit


@dataclass(frozen=True)
class GRPOSettings(OnPolicySettings):
    """conf/method/grpo.yaml (what each setting does is written there)."""

    group_size: int = limit(ge=2)  # answers sampled per prompt; the group is the baseline
    baseline: Literal["mean", "rloo"]  # mean: the group's mean (GRPO); rloo: the mean of the others
    scale_by_std: bool  # divide by the group's std (GRPO); false: Dr. GRPO, plain RLOO
    kl_penalty: Literal["loss", "reward"]  # loss: kl_coef * k3 in the loss; reward: kl_coef * sum of k1 off the score
    share_prefill: bool  # a group's answers continue from one prefill of its prompt, where the model allows


class GRPOModule(OnPolicyModule):
    settings_class = GRPOSettings
    method: GRPOSettings

    def rollout_size(self) -> int:
        return self.method.batch_size * self.method.group_size

    def sample(self, prompts: ModelInputs) -> tuple[Generation, list[int]]:
        """``group_size`` answers to each prompt, next to each other; the images are encoded once per
        prompt, and the group's samples and every later pass share those features; the language model
        reads each prompt once where it can (``method.share_prefill``, ``VLMBackbone.generate``)."""
        method = self.method
        sampled = self.generate(prompts, group_size=method.group_size, share_prefill=method.share_prefill)
        count = prompts["input_ids"].shape[0]
        return sampled, torch.arange(count).repeat_interleave(method.group_size).tolist()

    def advantages(self, answers: ScoredAnswers) -> dict[str, torch.Tensor]:
        method = self.method
        rewards = answers.scores
        if method.kl_penalty == "reward":
            kl = (kl_estimate(answers.logprobs, answers.ref_logprobs, estimator="k1") * answers.mask).sum(dim=1)
            rewards = answers.scores - method.kl_coef * kl
        advantages = group_advantages(
            rewards, method.group_size, baseline=method.baseline, scale_by_std=method.scale_by_std
        )
        return {"advantages": token_advantages(advantages, answers.mask)}

    def penalty(
        self, rollout: Rollout, rows: torch.Tensor, logprobs: torch.Tensor, values: torch.Tensor | None,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor | float, dict[str, torch.Tensor]]:
        """kl_coef * the k3 estimate of KL(policy || reference), token mean (kl_penalty: loss)."""
        if self.method.kl_penalty != "loss":
            return 0.0, {}
        kl = masked_mean(kl_estimate(logprobs, rollout.ref_logprobs[rows], estimator="k3"), mask)
        return self.method.kl_coef * kl, {"kl_loss": kl.detach()}

    def rollout_stats(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        groups = group_stats(rollout.scores, self.method.group_size)
        return {**super().rollout_stats(rollout), "reward_std": groups.reward_std, "no_signal_groups": groups.no_signal}
