"""GRPO's and RLOO's advantages: each answer's reward against the other answers to its prompt.

Rewards come as (B,) with B = prompts x G, the G answers to one prompt next to each other
(row ``p * G + i`` is answer i to prompt p). No value model: the group is the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BASELINES = ("mean", "rloo")
NO_SIGNAL = 1e-6  # a group whose rewards span no more than this taught nothing


def group_advantages(
    rewards: torch.Tensor, group_size: int, *, baseline: str = "mean", scale_by_std: bool = True, eps: float = 1e-6
) -> torch.Tensor:
    """(B,) advantage of each answer from its group of ``group_size``.

    baseline ``mean`` (GRPO): r_i - mean(r of the group);
    baseline ``rloo``: r_i - mean(r_j, j != i), the mean of the other G - 1 answers;
    scale_by_std: divided by (std of the group's rewards + eps), the std unbiased (G - 1);
    Dr. GRPO leaves it out. A group of equal rewards gets 0 for every answer, never NaN.
    """
    groups = _grouped(rewards.float(), group_size)
    if baseline == "mean":
        centred = groups - groups.mean(dim=1, keepdim=True)
    elif baseline == "rloo":
        others = (groups.sum(dim=1, keepdim=True) - groups) / (group_size - 1)
        centred = groups - others
    else:
        raise ValueError(f"method.baseline: unknown baseline {baseline!r}; use {' or '.join(BASELINES)}")
    if scale_by_std:
        centred = centred / (groups.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)


def token_advantages(advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T): each answer's advantage (B,) on every one of its real tokens, 0 on padding."""
    return advantages.to(torch.float32).unsqueeze(1) * mask.to(torch.float32)


@dataclass
class GroupStats:
    reward_std: torch.Tensor  # () mean over groups of the std of their rewards (unbiased)
    no_signal: torch.Tensor  # () share of groups whose rewards were all equal (zero advantages)


def group_stats(rewards: torch.Tensor, group_size: int) -> GroupStats:
    """How much the answers to one prompt differ in reward, over the prompts of a rollout."""
    groups = _grouped(rewards.float(), group_size)
    span = groups.max(dim=1).values - groups.min(dim=1).values
    return GroupStats(groups.std(dim=1).mean(), (span <= NO_SIGNAL).float().mean())


def _grouped(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    if group_size < 2:
        raise ValueError(f"method.group_size: {group_size} must be at least 2 (one answer has no group to compare)")
    if rewards.dim() != 1 or rewards.shape[0] % group_size:
        raise ValueError(f"rewards of shape {tuple(rewards.shape)} do not split into groups of {group_size}")
    return rewards.reshape(-1, group_size)
