"""The training objectives: the clipped PPO losses, averaged over the real tokens of a minibatch,
and the sigmoid DPO loss of chosen vs rejected answers."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unsafe_vlm.rl.masked import masked_mean


@dataclass
class PolicyLoss:
    loss: torch.Tensor
    clip_fraction: torch.Tensor  # share of tokens whose ratio was clipped
    approx_kl: torch.Tensor  # 0.5 * mean((log p_new - log p_old)^2), how far the update moved


def clipped_policy_loss(
    logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *, clip: float
) -> PolicyLoss:
    """-min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A), token mean; all inputs (B, T)."""
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped > unclipped).to(logprobs.dtype), mask)
        approx_kl = 0.5 * masked_mean(log_ratio.square(), mask)
    return PolicyLoss(loss, clip_fraction, approx_kl)


@dataclass
class ValueLoss:
    loss: torch.Tensor
    clip_fraction: torch.Tensor
    error: torch.Tensor  # mean squared error of the unclipped prediction


def clipped_value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, *, clip: float
) -> ValueLoss:
    """0.5 * max((V - R)^2, (clip(V, V_old - clip, V_old + clip) - R)^2), token mean; inputs (B, T)."""
    clipped_values = old_values + torch.clamp(values - old_values, -clip, clip)
    unclipped_error = (values - returns).square()
    clipped_error = (clipped_values - returns).square()
    loss = 0.5 * masked_mean(torch.maximum(unclipped_error, clipped_error), mask)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped_error > unclipped_error).to(values.dtype), mask)
        error = masked_mean(unclipped_error, mask)
    return ValueLoss(loss, clip_fraction, error)


@dataclass
class PreferenceLoss:
    loss: torch.Tensor  # () mean over the pairs
    chosen_reward: torch.Tensor  # (B,) implicit reward beta * (log pi - log pi_ref) of each chosen answer, detached
    rejected_reward: torch.Tensor  # (B,) the same for each rejected answer, detached


def dpo_loss(
    chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, *, beta: float
) -> PreferenceLoss:
    """-log sigmoid(beta * ((c - c_ref) - (r - r_ref))), mean over pairs; inputs (B,) summed answer log-probs
    of the policy (chosen c, rejected r) and of the reference model (c_ref, r_ref)."""
    chosen_reward = beta * (chosen - ref_chosen)
    rejected_reward = beta * (rejected - ref_rejected)
    loss = -F.logsigmoid(chosen_reward - rejected_reward).mean()
    return PreferenceLoss(loss, chosen_reward.detach(), rejected_reward.detach())


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """(B, T) entropy of the next-token distribution from logits (B, T, V)."""
    return entropy_of_log_probabilities(torch.log_softmax(logits.float(), dim=-1))


def entropy_of_log_probabilities(log_probabilities: torch.Tensor) -> torch.Tensor:
    """(B, T) entropy of next-token distributions given as log-probabilities (B, T, V)."""
    return -(log_probabilities.exp() * log_probabilities).sum(dim=-1)
