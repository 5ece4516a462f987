"""One on-policy iteration's experience (PPO, GRPO), every field aligned to the answer span of the rollout."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from unsafe_vlm.backbones.base import ModelInputs


@dataclass(frozen=True)
class ScoredAnswers:
    """What a method computes a rollout's advantages from: B judged answers of A answer-span tokens.

    scores:        (B,) the judge's score of each answer
    logprobs:      (B, A) under the policy that sampled them
    ref_logprobs:  (B, A) under the reference (adapters off)
    values:        (B, A) the value estimates, or None without a value model
    mask:          (B, A) bool, real answer tokens
    """

    scores: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    values: torch.Tensor | None
    mask: torch.Tensor


@dataclass
class Rollout:
    """B sampled answers and what PPO or GRPO needs to learn from them (A: answer-span width).

    inputs:        prompt + answer batch in the backbone's layout (to score again each epoch), its
                   images encoded once (``VLMBackbone.encode_images``)
    mask:          (B, A) bool, real answer tokens
    logprobs:      (B, A) log-probs of the answer tokens under the policy that sampled them
    ref_logprobs:  (B, A) the same under the reference (adapters off)
    advantages:    (B, A) PPO: GAE advantages, whitened over every rank's tokens; GRPO: each
                   answer's advantage from its group, the same on all its tokens
    scores:        (B,) the judge's score of each answer (after length bonus / penalty)
    lengths:       (B,) answer tokens, the stop token included
    finished:      (B,) True where the answer ended with a stop token
    correct:       (B,) True where the judge's verdict equals the gold label
    scored:        (B,) True where the judge's verdict counts (a yes/no question), or None: every
                   answer (method.mask_open_ended off)
    values:        (B, A) PPO only: value estimates when the answers were sampled
    rewards:       (B, A) PPO only: KL-shaped per-token rewards, the judge's score at method.score_position
    returns:       (B, A) PPO only: advantages + values, the value head's targets
    value_features: (B, A, H) PPO with ``value_adapter: frozen`` only: the frozen base's last
                   hidden states, what the value head reads in every update
    """

    inputs: ModelInputs
    mask: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    advantages: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor
    finished: torch.Tensor
    correct: torch.Tensor
    scored: torch.Tensor | None = None
    values: torch.Tensor | None = None
    rewards: torch.Tensor | None = None
    returns: torch.Tensor | None = None
    value_features: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return self.mask.shape[0]
