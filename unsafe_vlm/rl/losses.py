"""The clipped PPO objectives, averaged over the real tokens of a minibatch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

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


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """(B, T) entropy of the next-token distribution from logits (B, T, V)."""
    return entropy_of_log_probabilities(torch.log_softmax(logits.float(), dim=-1))


def entropy_of_log_probabilities(log_probabilities: torch.Tensor) -> torch.Tensor:
    """(B, T) entropy of next-token distributions given as log-probabilities (B, T, V)."""
    return -(log_probabilities.exp() * log_probabilities).sum(dim=-1)
