"""From a judge's verdict on each answer to the per-token rewards PPO optimises."""

from __future__ import annotations

import torch


def judge_scores(probabilities: torch.Tensor, gold: torch.Tensor, *, kind: str = "neg_cross_entropy") -> torch.Tensor:
    """A scalar score per answer from the judge's class probabilities.

    probabilities: (B, C) from the judge; gold: (B,) class index of the right verdict.
    kind: ``neg_cross_entropy`` (the paper: -CE of the judge against the gold label, min-max
    normalised over the batch to [0, 1]) or ``gold_probability`` (the gold class's probability).
    """
    picked = probabilities.gather(1, gold.unsqueeze(1)).squeeze(1)
    if kind == "gold_probability":
        return picked
    if kind != "neg_cross_entropy":
        raise ValueError(f"method.reward: unknown reward {kind!r}; use neg_cross_entropy or gold_probability")
    return min_max_normalise(torch.log(picked.clamp(min=1e-8)))


def min_max_normalise(scores: torch.Tensor) -> torch.Tensor:
    """Scale to [0, 1] over the batch; a batch of equal scores gives 0.5 everywhere (no signal)."""
    low, high = scores.min(), scores.max()
    span = high - low
    spread = span > 1e-12  # decided on the device: no host sync
    return torch.where(spread, (scores - low) / span.clamp(min=1e-12), torch.full_like(scores, 0.5))


def kl_estimate(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, *, estimator: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from sampled tokens, (B, T).

    k1 = log p - log q (unbiased, can be negative); k3 = (q/p - 1) - log(q/p) (unbiased, >= 0).
    """
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"method.kl_estimator: unknown estimator {estimator!r}; use k1 or k3")


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """(B,) index of each row's last real token in a right-padded (B, T) mask (0 if empty)."""
    return (mask.long().sum(dim=1) - 1).clamp(min=0)


def shaped_rewards(
    scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, *, kl_coef: float
) -> torch.Tensor:
    """Per-token rewards: -kl_coef * KL on every answer token, plus the score on the last real one.

    scores: (B,); kl, mask: (B, T). Returns (B, T), 0 on padding.
    """
    rewards = -kl_coef * kl * mask.to(kl.dtype)
    rows = torch.arange(scores.shape[0], device=scores.device)
    rewards[rows, last_token_index(mask)] += scores.to(rewards.dtype)
    return rewards * mask.to(rewards.dtype)


def adjusted_scores(
    scores: torch.Tensor,
    lengths: torch.Tensor,
    finished: torch.Tensor,
    *,
    length_bonus: float,
    unfinished_penalty: float,
) -> torch.Tensor:
    """Scores with an optional bonus per answer token and a penalty for answers that never ended."""
    return scores + length_bonus * lengths.to(scores.dtype) - unfinished_penalty * (~finished).to(scores.dtype)
