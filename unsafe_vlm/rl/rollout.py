"""One PPO iteration's experience, every field aligned to the answer span of the rollout."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from unsafe_vlm.backbones.base import ModelInputs


@dataclass
class Rollout:
    """B sampled answers and what PPO needs to learn from them (A: answer-span width).

    inputs:        prompt + answer batch in the backbone's layout (to score again each epoch), its
                   images encoded once (``VLMBackbone.encode_images``)
    mask:          (B, A) bool, real answer tokens
    logprobs:      (B, A) log-probs of the answer tokens under the policy that sampled them
    ref_logprobs:  (B, A) the same under the reference (adapters off)
    values:        (B, A) value estimates when the answers were sampled
    rewards:       (B, A) KL-shaped per-token rewards, the judge's score on the last token
    advantages:    (B, A) GAE advantages, whitened over every rank's tokens
    returns:       (B, A) advantages + values, the value head's targets
    scores:        (B,) the judge's score of each answer (after length bonus / penalty)
    lengths:       (B,) answer tokens, the stop token included
    finished:      (B,) True where the answer ended with a stop token
    correct:       (B,) True where the judge's verdict equals the gold label
    """

    inputs: ModelInputs
    mask: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    values: torch.Tensor
    rewards: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor
    finished: torch.Tensor
    correct: torch.Tensor

    @property
    def size(self) -> int:
        return self.mask.shape[0]
